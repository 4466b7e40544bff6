"""What `pulumi package add` reads from the running plugin: its version and its schema."""

from __future__ import annotations

import json
import tomllib
from collections.abc import Iterator
from typing import Any

import pytest
from google.protobuf import empty_pb2
from pulumi.runtime.proto import provider_pb2

from plugin.wire import REPOSITORY, Plugin

COMPONENT_TYPES = [
    "docpipe:index:QueueFunction",
    "docpipe:index:DocumentStore",
    "docpipe:index:ResultsTable",
    "docpipe:index:ScheduledTrigger",
    "docpipe:index:DocumentWorkflow",
    "docpipe:index:DocumentPipeline",
]


@pytest.fixture(scope="module")
def schema(plugin: Plugin) -> Any:
    return json.loads(plugin.stub.GetSchema(provider_pb2.GetSchemaRequest(version=0)).schema)


def project_version() -> str:
    return tomllib.loads((REPOSITORY / "pyproject.toml").read_text())["project"]["version"]


def descriptions(node: Any, path: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "description" and isinstance(value, str):
                yield path, value
            else:
                yield from descriptions(value, f"{path}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from descriptions(value, f"{path}/{index}")


def test_the_plugin_serves_every_component(schema: Any) -> None:
    assert schema["name"] == "docpipe"
    assert sorted(schema["resources"]) == sorted(COMPONENT_TYPES)
    assert all(schema["resources"][token]["isComponent"] for token in COMPONENT_TYPES)


def test_the_version_is_the_distributions(plugin: Plugin, schema: Any) -> None:
    info = plugin.stub.GetPluginInfo(empty_pb2.Empty())
    assert (info.version, schema["version"]) == (project_version(), project_version())


def test_descriptions_carry_no_docstring_indentation(schema: Any) -> None:
    indented = [
        path for path, text in descriptions(schema) if "\n " in text or text != text.strip()
    ]
    assert indented == []
    code = schema["resources"]["docpipe:index:QueueFunction"]["inputProperties"]["code"]
    assert code["description"].splitlines()[1] == (
        "Exactly one of `code` and `image_uri` is required."
    )


def test_category_examples_are_optional(schema: Any) -> None:
    # keywords too: a category may be defined by examples alone (the one category validator,
    # contract/categories.py, needs keywords or examples)
    assert schema["types"]["docpipe:index:CategoryArgs"]["required"] == ["name"]

"""The component package's provider: serves docpipe's components to programs in any language.

`components/__main__.py` runs `serve()` when the engine starts the plugin. It is the SDK's
experimental component host (`pulumi.provider.experimental`) with two narrow corrections for
what pulumi 3.272's host gets wrong, each documented in docs/components.md:

- Integer inputs. The host converts an integer input with `int()` and then overwrites the
  result with the raw value on the next line, so integers arrive as floats; and `int()` on an
  Output (a value from another resource, a secret, an unknown in preview) raises TypeError
  before the component runs (pulumi/sdk/python/lib/pulumi/provider/experimental/component.py,
  `map_input_properties`, added by https://github.com/pulumi/pulumi/pull/21944). Here integer
  inputs pass through untouched and every component coerces them at its boundary
  (`components.validation.coerce`), Outputs included.
- Descriptions. The schema analyzer copies docstrings verbatim, so a multi-line docstring keeps
  its source indentation in every generated SDK's documentation; here they are cleaned the way
  `inspect.cleandoc` cleans docstrings.

The package's version is the installed distribution's (pyproject.toml), not the host's 0.0.0.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import sys
from importlib import metadata
from typing import Any

from pulumi.provider import main
from pulumi.provider.experimental.analyzer import PropertyDefinition, PropertyType
from pulumi.provider.experimental.component import ComponentProvider

from components import COMPONENTS

PACKAGE = "docpipe"  # the type tokens' package: docpipe:index:<Component>
DISTRIBUTION = "docpipe"  # the Python distribution that ships the components


def package_version() -> str:
    return metadata.version(DISTRIBUTION)


def clean_descriptions(node: Any) -> Any:
    """Every `description` in a schema, without docstring indentation."""
    if isinstance(node, dict):
        return {
            key: inspect.cleandoc(value)
            if key == "description" and isinstance(value, str)
            else clean_descriptions(value)
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [clean_descriptions(item) for item in node]
    return node


class DocpipeProvider(ComponentProvider):
    def __init__(self) -> None:
        super().__init__(COMPONENTS, PACKAGE, version=package_version())
        if self.schema:
            self.schema = json.dumps(clean_descriptions(json.loads(self.schema)))

    def map_input_properties(
        self,
        inputs: Any,
        properties: dict[str, PropertyDefinition],
        mapping: dict[str, str],
        component_name: str,
        property_path: str,
    ) -> Any:
        """The host's mapping, with integers handed over as numbers (as they came): the host's
        own integer conversion is lost on floats and fails on Outputs (module docstring)."""
        as_numbers = {
            name: dataclasses.replace(definition, type=PropertyType.NUMBER)
            if definition.type == PropertyType.INTEGER
            else definition
            for name, definition in properties.items()
        }
        return super().map_input_properties(
            inputs, as_numbers, mapping, component_name, property_path
        )


def serve() -> None:
    """Start the gRPC server and print its port: what the engine waits for."""
    main(DocpipeProvider(), sys.argv[1:])

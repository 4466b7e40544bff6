"""Policy configuration the way the Pulumi CLI resolves it before calling `Configure`.

A config file is what `pulumi preview --policy-config FILE` takes:
`{"all": "advisory", "<policy>": "disabled", "<policy>": {"enforcementLevel": ..., "<key>": ...}}`.
Each policy starts from its `config_schema` defaults, takes the file's values, and is validated
against its schema (the CLI refuses invalid config; so do we).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
from pulumi_policy import EnforcementLevel, Policy

ALL = "all"


@dataclass(frozen=True)
class PolicySettings:
    level: EnforcementLevel
    properties: dict[str, Any]


class PolicyConfigError(ValueError):
    """The config names an unknown policy, an unknown level, or breaks a policy's schema."""


def load_config_file(path: str | Path) -> dict[str, Any]:
    try:
        document = json.loads(Path(path).read_text())
    except (OSError, ValueError) as error:
        raise PolicyConfigError(f"cannot read policy config {path}: {error}") from error
    if not isinstance(document, dict):
        raise PolicyConfigError(f"policy config {path} must be a JSON object")
    return document


def _level(value: Any, where: str) -> EnforcementLevel:
    try:
        return EnforcementLevel(value)
    except ValueError:
        levels = ", ".join(level.value for level in EnforcementLevel)
        raise PolicyConfigError(
            f"{where}: enforcement level {value!r} is not one of {levels}"
        ) from None


def _schema_defaults(policy: Policy) -> dict[str, Any]:
    if policy.config_schema is None:
        return {}
    return {
        key: spec["default"]
        for key, spec in policy.config_schema.properties.items()
        if "default" in spec
    }


def _validate(policy: Policy, properties: Mapping[str, Any]) -> None:
    schema: dict[str, Any] = {"type": "object", "properties": {}}
    if policy.config_schema is not None:
        schema["properties"] = policy.config_schema.properties
        schema["required"] = policy.config_schema.required or []
    errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(dict(properties)), key=str)
    if errors:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e.absolute_path) or '(root)'}: {e.message}" for e in errors
        )
        raise PolicyConfigError(f"policy {policy.name}: {problems}")


def resolve(
    policies: Sequence[Policy], document: Mapping[str, Any] | None = None
) -> dict[str, PolicySettings]:
    document = dict(document or {})
    names = {policy.name for policy in policies}
    unknown = sorted(set(document) - names - {ALL})
    if unknown:
        raise PolicyConfigError(f"policy config names unknown policies: {', '.join(unknown)}")
    default_level = _level(document[ALL], ALL) if ALL in document else None

    settings = {}
    for policy in policies:
        entry = document.get(policy.name)
        level = default_level or policy.enforcement_level or EnforcementLevel.ADVISORY
        properties = _schema_defaults(policy)
        if isinstance(entry, str):
            level = _level(entry, policy.name)
        elif isinstance(entry, Mapping):
            overrides = dict(entry)
            if "enforcementLevel" in overrides:
                level = _level(overrides.pop("enforcementLevel"), policy.name)
            properties.update(overrides)
        elif entry is not None:
            raise PolicyConfigError(f"policy {policy.name}: expected a level or an object")
        _validate(policy, properties)
        settings[policy.name] = PolicySettings(level, properties)
    return settings

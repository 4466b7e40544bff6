"""Plays `pulumi up` for a Pulumi YAML program that uses docpipe's components.

There is no Pulumi CLI here, so this reads the consumer's `Pulumi.yaml` the way the engine and
the YAML language host do, for the subset the tests use: `packages` (a package name -> the
path of a component plugin, as `pulumi package add <path>` records it), explicit providers
(`pulumi:providers:<pkg>`), the consumer's own AWS resources, component resources whose
package is one of `packages` (Constructed through that plugin, started from that path with the
project directory as working directory), `options.providers`, whole-value `${resource}` and
`${resource.property}` references (sent as output values carrying the resource's URN), and
`outputs`. Anything else is refused rather than guessed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from graphlib import TopologicalSorter
from pathlib import Path
from typing import Any

import yaml
from pulumi.runtime import MockResourceArgs

from mockrun import RealisticMocks
from plugin.wire import (
    PROJECT,
    STACK,
    Constructed,
    Engine,
    Plugin,
    construct,
    decode,
    output,
    plain,
    start_plugin,
)

REFERENCE = re.compile(r"^\$\{([A-Za-z][\w-]*)(?:\.([A-Za-z]\w*))?\}$")


class UnsupportedProgram(Exception):
    """The program uses YAML features this harness does not play."""


@dataclass
class ProgramRun:
    plugins: dict[str, Plugin] = field(default_factory=dict)
    components: dict[str, Constructed] = field(default_factory=dict)
    provider_refs: dict[str, str] = field(default_factory=dict)
    urns: dict[str, str] = field(default_factory=dict)
    states: dict[str, dict[str, Any]] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)
    duplicate_urns: list[str] = field(default_factory=list)

    def stop(self) -> None:
        for plugin in self.plugins.values():
            plugin.stop()


def run_yaml_program(project_dir: Path, engine: Engine) -> ProgramRun:
    project = yaml.safe_load((project_dir / "Pulumi.yaml").read_text())
    if project.get("runtime") != "yaml":
        raise UnsupportedProgram(f"runtime {project.get('runtime')!r} is not yaml")
    run = ProgramRun()
    try:
        for package, source in (project.get("packages") or {}).items():
            plugin_dir = (project_dir / source).resolve()
            if not (plugin_dir / "PulumiPlugin.yaml").is_file():
                raise UnsupportedProgram(
                    f"package {package}: {plugin_dir} has no PulumiPlugin.yaml"
                )
            run.plugins[package] = start_plugin(
                engine.engine_address, project_dir, plugin_dir=plugin_dir
            )
        resources: dict[str, Any] = project.get("resources") or {}
        order = TopologicalSorter(
            {name: _references(spec) & set(resources) for name, spec in resources.items()}
        ).static_order()
        for name in order:
            _create(run, engine, name, resources[name])
        run.duplicate_urns = list(engine.monitor.duplicates)
        run.outputs = {
            key: plain(decode(_resolve(run, value)))
            for key, value in (project.get("outputs") or {}).items()
        }
    except BaseException:
        run.stop()
        raise
    return run


def _references(node: Any) -> set[str]:
    if isinstance(node, str):
        match = REFERENCE.match(node)
        return {match.group(1)} if match else set()
    if isinstance(node, dict):
        return set().union(*(_references(v) for v in node.values()))
    if isinstance(node, list):
        return set().union(*(_references(v) for v in node))
    return set()


def _resolve(run: ProgramRun, node: Any) -> Any:
    """Properties as the engine sends them: references become output values with the
    referenced resource's URN as their dependency."""
    if isinstance(node, str):
        match = REFERENCE.match(node)
        if match is None:
            if "${" in node:
                raise UnsupportedProgram(f"interpolation {node!r}")
            return node
        resource, attribute = match.groups()
        if attribute is None:
            raise UnsupportedProgram(f"{node!r}: a whole resource is only supported as a provider")
        value = run.states[resource][attribute]
        return output(plain(value), dependencies=(run.urns[resource],))
    if isinstance(node, dict):
        return {key: _resolve(run, value) for key, value in node.items()}
    if isinstance(node, list):
        return [_resolve(run, value) for value in node]
    return node


def _create(run: ProgramRun, engine: Engine, name: str, spec: dict[str, Any]) -> None:
    token: str = spec["type"]
    unsupported = set(spec.get("options") or {}) - {"providers"}
    if unsupported:
        raise UnsupportedProgram(f"{name}: options {sorted(unsupported)}")
    properties = _resolve(run, spec.get("properties") or {})
    package = token.split(":")[0]
    if token.startswith("pulumi:providers:"):
        run.provider_refs[name] = engine.monitor.add_provider(name, token.split(":")[2], properties)
    elif package in run.plugins:
        built = construct(
            engine,
            run.plugins[package],
            token,
            name,
            properties,
            providers=_providers(run, spec),
        )
        run.components[name] = built
        run.urns[name], run.states[name] = built.urn, plain(built.state)
    elif package == "aws":  # the consumer's own resource, created by the AWS provider
        resource_id, state = RealisticMocks().new_resource(
            MockResourceArgs(token, name, properties, custom=True)
        )
        run.urns[name] = f"urn:pulumi:{STACK}::{PROJECT}::{token}::{name}"
        run.states[name] = {"id": resource_id, **state}
    else:
        raise UnsupportedProgram(f"{name}: type {token}")


def _providers(run: ProgramRun, spec: dict[str, Any]) -> dict[str, str]:
    """`options.providers: [${eu}]` -> {"aws": <eu's reference>} (keyed by package)."""
    chosen = {}
    for reference in (spec.get("options") or {}).get("providers", []):
        match = REFERENCE.match(reference)
        if match is None or match.group(1) not in run.provider_refs:
            raise UnsupportedProgram(f"provider {reference!r}")
        ref = run.provider_refs[match.group(1)]
        chosen[ref.split("::")[2].split(":")[2]] = ref
    return chosen

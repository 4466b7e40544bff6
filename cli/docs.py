"""`docpipe docs [--check]`: regenerate the parts of the documentation that the code defines.

Each generated part sits between `<!-- BEGIN name -->` and `<!-- END name -->` in its file:

    README.md, docs/configuration.md   config table          from Pulumi.yaml
    README.md                          data-flow graph       from the dev stack (docpipe graph)
    docs/components.md                 reference tables      from the components' schema
    docs/runtime-contract.md           stages, environment   from contract/
    policies/README.md                 policy table          from the policy pack

`make docs` rewrites them; `--check` (and the test suite) fails when one is stale.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
REGION = re.compile(r"(<!-- BEGIN (?P<name>[\w -]+?) -->\n).*?(\n<!-- END (?P=name) -->)", re.S)


def _cell(text: Any) -> str:
    return " ".join(str(text or "").split()).replace("|", "\\|")


# -- config table (Pulumi.yaml) -------------------------------------------------------------


def config_table() -> str:
    import yaml

    project = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())
    lines = ["| key | type | default | description |", "|---|---|---|---|"]
    for key, spec in project["config"].items():
        default = spec["default"]
        shown = default if isinstance(default, str) else json.dumps(default)
        lines.append(
            f"| `docpipe:{key}` | {spec['type']} | `{_cell(shown) or chr(34) * 2}` "
            f"| {_cell(spec['description'])} |"
        )
    return "\n".join(lines)


# -- data-flow graph (the dev stack) --------------------------------------------------------


def data_flow_graph() -> str:
    from mockrun import run_program
    from ops.graph import build_graph, to_mermaid

    return f"```mermaid\n{to_mermaid(build_graph(run_program('dev').registrations))}\n```"


# -- component reference tables (the schema `pulumi package add` sees) ----------------------


def _schema_type(prop: Any) -> str:
    if prop.ref:
        return str(prop.ref.split("/")[-1])
    kind = str(prop.type.value)
    if kind == "array" and prop.items is not None:
        return f"list[{_schema_type(prop.items)}]"
    if kind == "object" and prop.additional_properties is not None:
        return f"map[{_schema_type(prop.additional_properties)}]"
    return kind


def _argument_rows(properties: dict[str, Any], mapping: dict[str, str]) -> list[str]:
    return [
        f"| `{mapping[camel]}`{'' if prop.optional else ' (required)'} | {_schema_type(prop)} "
        f"| {_cell(prop.description)} |"
        for camel, prop in properties.items()
    ]


def component_reference(name: str) -> str:
    schema = _component_schema()
    if name in schema["component_definitions"]:
        definition = schema["component_definitions"][name]
        lines = [f"`docpipe:index:{name}`", "", "| argument | type | meaning and default |"]
        lines += ["|---|---|---|", *_argument_rows(definition.inputs, definition.inputs_mapping)]
        lines += ["", "| output | type | meaning |", "|---|---|---|"]
        lines += [
            f"| `{definition.outputs_mapping[k]}` | {_schema_type(v)} | {_cell(v.description)} |"
            for k, v in definition.outputs.items()
        ]
        return "\n".join(lines)
    definition = schema["type_definitions"][name]
    lines = ["| field | type | meaning and default |", "|---|---|---|"]
    return "\n".join(lines + _argument_rows(definition.properties, definition.properties_mapping))


_SCHEMA: dict[str, Any] = {}


def _component_schema() -> Any:
    if not _SCHEMA:
        from pulumi.provider.experimental.analyzer import Analyzer

        from components import COMPONENTS

        _SCHEMA.update(Analyzer("docpipe").analyze(COMPONENTS))
    return _SCHEMA


# -- the runtime contract (contract/) -------------------------------------------------------


def stage_table() -> str:
    from contract import stages

    lines = [
        "| stage | handler | fed by | reads | writes | sends to | table | purpose |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for stage in stages.TABLE:
        areas = [
            ", ".join(f"`{p.path}`" for p in (*stage.reads, *stage.lists)) or "-",
            ", ".join(f"`{p.path}`" for p in stage.writes) or "-",
        ]
        table = ", ".join(sorted({a for actions in stage.table.values() for a in actions}))
        lines.append(
            f"| {stage.name} | `{stage.handler}` | {stage.fed_by} | {areas[0]} | {areas[1]} "
            f"| {stage.next or '-'} | {table or '-'} | {_cell(stage.description)} |"
        )
    return "\n".join(lines)


def environment_table() -> str:
    from contract import stages

    users: dict[str, list[str]] = {}
    variables = {}
    for stage in stages.TABLE:
        for variable in stage.variables:
            users.setdefault(variable.name, []).append(stage.name)
            variables[variable.name] = variable
    lines = ["| variable | stages | default | meaning |", "|---|---|---|---|"]
    everyone = len(stages.TABLE.names)
    for name, variable in variables.items():
        who = "all" if len(users[name]) == everyone else ", ".join(users[name])
        default = (
            "set by the stack" if variable.default is None else variable.encode(variable.default)
        )
        if len(default) > 40:
            default = f"{default[:37]}..."
        lines.append(f"| `{name}` | {who} | `{_cell(default)}` | {_cell(variable.doc)} |")
    return "\n".join(lines)


# -- the policy pack --------------------------------------------------------------------------


def policy_table() -> str:
    from pulumi_policy import StackValidationPolicy

    from policies.pack import POLICIES

    lines = [
        "| policy | kind | level | severity | matches | settings (defaults) |",
        "|---|---|---|---|---|---|",
    ]
    for policy in POLICIES:
        kind = "stack" if isinstance(policy, StackValidationPolicy) else "resource"
        level = policy.enforcement_level.value if policy.enforcement_level else ""
        severity = policy.severity.value if policy.severity else ""
        framework = policy.framework
        matches = f"{framework.name} `{framework.reference}`" if framework else ""
        schema = policy.config_schema.properties if policy.config_schema else {}
        settings = ", ".join(
            f"`{key}`={json.dumps(spec.get('default'))}" for key, spec in schema.items()
        )
        lines.append(
            f"| `{policy.name}` | {kind} | {level} | {severity} | {matches} | {_cell(settings)} |"
        )
    return "\n".join(lines)


# -- the generated regions ------------------------------------------------------------------

GENERATORS: dict[str, Callable[[str], str]] = {
    "config table": lambda _: config_table(),
    "data-flow graph": lambda _: data_flow_graph(),
    "stage table": lambda _: stage_table(),
    "environment table": lambda _: environment_table(),
    "policy table": lambda _: policy_table(),
}
DOCUMENTS = (
    ROOT / "README.md",
    ROOT / "docs" / "configuration.md",
    ROOT / "docs" / "components.md",
    ROOT / "docs" / "runtime-contract.md",
    ROOT / "policies" / "README.md",
)


def _generate(name: str) -> str:
    if name.endswith(" reference"):
        return component_reference(name.removesuffix(" reference"))
    if name not in GENERATORS:
        raise KeyError(f"no generator for the region {name!r}")
    return GENERATORS[name](name)


def render(text: str) -> str:
    """The text with every generated region rewritten."""
    return REGION.sub(lambda m: f"{m.group(1)}{_generate(m.group('name'))}{m.group(3)}", text)


def regions(path: Path) -> list[str]:
    return [m.group("name") for m in REGION.finditer(path.read_text())]


def stale_documents() -> list[Path]:
    return [path for path in DOCUMENTS if render(path.read_text()) != path.read_text()]


def run(args: argparse.Namespace) -> int:
    stale = stale_documents()
    if args.check:
        for path in stale:
            print(f"stale: {path.relative_to(ROOT)} (run `make docs`)", file=sys.stderr)
        return 1 if stale else 0
    for path in stale:
        path.write_text(render(path.read_text()))
        print(f"rewrote {path.relative_to(ROOT)}")
    return 0


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "docs", help="regenerate the documentation the code defines", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    parser.add_argument("--check", action="store_true", help="exit 1 when a part is stale")
    parser.set_defaults(run=run)

"""The stack's components and data flow, derived from the registrations of a mock run.

Nothing here is drawn by hand: every arrow comes from a resource property that makes the flow
happen (a bucket notification, an event source mapping, a redrive policy, a schedule target, a
function's environment, a pipe), so the picture cannot drift from the stack. A state machine is
drawn as its states, from its definition: each Task with the function it invokes, each Choice
with where it goes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from contract import settings
from mockrun import Registration
from policies import resource_types as t

COMPONENT_PREFIX = "docpipe:index:"
# The resources that carry data, and how each is drawn.
NODE_TYPES = {
    t.BUCKET: "bucket",
    t.QUEUE: "queue",
    t.FUNCTION: "function",
    t.TABLE: "table",
    t.SCHEDULE: "schedule",
}


# How each state of a definition is drawn.
STATE_KINDS = {"Task": "task", "Choice": "choice", "Succeed": "end", "Fail": "end"}


@dataclass(frozen=True)
class StateNode:
    """A state of a state machine, drawn inside the machine's component (not a resource)."""

    urn: str
    """`<state machine URN>#<state>`: unique, and never a resource's URN."""
    name: str
    """`<state machine name>/<state>`."""
    state: str
    type: str
    """The ASL state type (Task, Choice, Succeed, Fail, ...)."""
    parent: str
    """The state machine's parent (its component)."""


Node = Registration | StateNode


@dataclass(frozen=True)
class Edge:
    source: str  # URN
    target: str  # URN
    label: str = ""


@dataclass
class FlowGraph:
    nodes: dict[str, Node] = field(default_factory=dict)
    components: dict[str, Registration] = field(default_factory=dict)
    edges: list[Edge] = field(default_factory=list)

    def kind(self, urn: str) -> str:
        node = self.nodes[urn]
        if isinstance(node, StateNode):
            return STATE_KINDS.get(node.type, "task")
        return NODE_TYPES[node.type]

    def label(self, urn: str) -> str:
        node = self.nodes[urn]
        return node.state if isinstance(node, StateNode) else node.name

    def by_parent(self) -> dict[str, list[str]]:
        """Node URNs grouped under the resource that parents them, sorted: runs register
        resources in varying order, the picture must not vary."""
        groups: dict[str, list[str]] = {}
        for urn in sorted(self.nodes):
            groups.setdefault(self.nodes[urn].parent, []).append(urn)
        return dict(sorted(groups.items()))


def _identifiers(registration: Registration) -> set[str]:
    """Every value another resource may use to point at this one."""
    state = registration.state
    values = {registration.id, state.get("arn"), state.get("url"), state.get("name")}
    values.add(state.get("bucket"))
    return {v for v in values if isinstance(v, str) and v}


def _json(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return {}
    return value or {}


def build_graph(registrations: list[Registration]) -> FlowGraph:
    graph = FlowGraph()
    lookup: dict[str, str] = {}
    for r in registrations:
        if r.type.startswith(COMPONENT_PREFIX):
            graph.components[r.urn] = r
        elif r.type in NODE_TYPES:
            graph.nodes[r.urn] = r
            for value in _identifiers(r):
                lookup.setdefault(value, r.urn)

    def link(source: Any, target: Any, label: str = "") -> None:
        source_urn = lookup.get(source) if isinstance(source, str) else None
        target_urn = lookup.get(target) if isinstance(target, str) else None
        if source_urn and target_urn:
            graph.edges.append(Edge(source_urn, target_urn, label))

    for r in registrations:
        _add_edges(r, link)
        if r.type == t.STATE_MACHINE:
            _add_states(r, graph, lookup, link)
    _add_storage_edges(registrations, link)
    graph.edges.sort(key=lambda e: (e.source, e.target, e.label))
    return graph


def _add_states(machine: Registration, graph: FlowGraph, lookup: dict[str, str], link: Any) -> None:
    """The machine's states as nodes, with the arrows its definition draws between them and
    to the functions its Tasks invoke; a pipe's arrow goes to its first state."""
    definition = _json(machine.inputs.get("definition"))
    states = definition.get("States") or {}
    ids = {name: f"{machine.urn}#{name}" for name in states}
    for name, state in states.items():
        node = StateNode(ids[name], f"{machine.name}/{name}", name, state["Type"], machine.parent)
        graph.nodes[node.urn] = node
        lookup.setdefault(node.urn, node.urn)
    start = ids.get(definition.get("StartAt", ""))
    for value in _identifiers(machine):
        if start:
            lookup.setdefault(value, start)
    for name, state in states.items():
        here = ids[name]
        function = (state.get("Parameters") or {}).get("FunctionName")
        link(here, function, "invoke")
        link(here, ids.get(state.get("Next", "")), "")
        for choice in state.get("Choices") or []:
            condition = choice.get("StringEquals", "")
            link(here, ids.get(choice.get("Next", "")), f"{condition}")
        link(here, ids.get(state.get("Default", "")), "otherwise")
        for catch in state.get("Catch") or []:
            link(here, ids.get(catch.get("Next", "")), "catch")


def _policy_statements(registrations: list[Registration]) -> dict[str, list[dict[str, Any]]]:
    """Each role's allow statements, keyed by the role's ARN."""
    arn_by_name = {
        r.state.get("name"): r.state.get("arn") for r in registrations if r.type == t.ROLE
    }
    statements: dict[str, list[dict[str, Any]]] = {}
    for r in registrations:
        if r.type == t.ROLE_POLICY:
            role_arn = arn_by_name.get(r.inputs.get("role"))
            document = _json(r.inputs.get("policy"))
            if role_arn:
                statements.setdefault(role_arn, []).extend(document.get("Statement", []))
    return statements


def _as_list(value: Any) -> list[Any]:
    """IAM allows a string or a list for Action and Resource."""
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _add_storage_edges(registrations: list[Registration], link: Any) -> None:
    """Reads and writes of the bucket and table, from what each function's role allows:
    the role is the one place that says what a function may touch."""
    statements = _policy_statements(registrations)
    for function in (r for r in registrations if r.type == t.FUNCTION):
        for statement in statements.get(function.inputs.get("role", ""), []):
            actions = set(_as_list(statement.get("Action")))
            for resource in _as_list(statement.get("Resource")):
                _link_storage(function.state.get("arn"), actions, str(resource), link)


def _link_storage(function_arn: Any, actions: set[str], resource: str, link: Any) -> None:
    if ":s3:::" in resource and "/" in resource:  # any partition: aws, aws-cn, aws-us-gov
        bucket, prefix = resource.split(":s3:::", 1)[1].split("/", 1)
        if "s3:PutObject" in actions:
            link(function_arn, bucket, f"put {prefix}")
        if "s3:GetObject" in actions:
            link(bucket, function_arn, f"get {prefix}")
    elif ":dynamodb:" in resource:
        table = resource.rsplit("/", 1)[-1]
        if actions & {"dynamodb:PutItem", "dynamodb:UpdateItem"}:
            link(function_arn, table, "write")
        elif actions & {"dynamodb:GetItem", "dynamodb:BatchGetItem"}:
            link(table, function_arn, "read")


def _add_edges(r: Registration, link: Any) -> None:
    inputs = r.inputs
    if r.type == t.BUCKET_NOTIFICATION:
        for queue in inputs.get("queues") or []:
            link(inputs.get("bucket"), queue.get("queueArn"), queue.get("filterPrefix", ""))
    elif r.type == t.MAPPING:
        link(inputs.get("eventSourceArn"), inputs.get("functionName"), "poll")
    elif r.type == t.QUEUE:
        target = _json(inputs.get("redrivePolicy")).get("deadLetterTargetArn")
        link(r.state.get("arn"), target, "redrive")
    elif r.type == t.SCHEDULE:
        link(r.state.get("arn"), (inputs.get("target") or {}).get("arn"), "tick")
    elif r.type == t.FUNCTION:
        env = (inputs.get("environment") or {}).get("variables") or {}
        link(r.state.get("arn"), env.get(settings.NEXT_QUEUE_URL.name), "send")
    elif r.type == t.PIPE:
        link(inputs.get("source"), inputs.get("target"), "pipe")


def _node_id(urn: str) -> str:
    return "n_" + "".join(c if c.isalnum() else "_" for c in urn.split("::")[-1])


MERMAID_SHAPES = {
    "bucket": ("[(", ")]"),
    "queue": ("[[", "]]"),
    "function": ("(", ")"),
    "table": ("[(", ")]"),
    "schedule": ("{{", "}}"),
    "task": ("([", "])"),
    "choice": ("{", "}"),
    "end": ("((", "))"),
}


def to_mermaid(graph: FlowGraph) -> str:
    lines = ["flowchart TD"]
    for parent, urns in graph.by_parent().items():
        component = graph.components.get(parent)
        if component:
            lines.append(f'  subgraph {_node_id(parent)}["{component.name}: {component.type}"]')
        for urn in urns:
            left, right = MERMAID_SHAPES[graph.kind(urn)]
            lines.append(f'    {_node_id(urn)}{left}"{graph.label(urn)}"{right}')
        if component:
            lines.append("  end")
    for edge in graph.edges:
        label = f"|{edge.label}|" if edge.label else ""
        lines.append(f"  {_node_id(edge.source)} -->{label} {_node_id(edge.target)}")
    return "\n".join(lines) + "\n"


DOT_SHAPES = {
    "bucket": "cylinder",
    "queue": "box",
    "function": "ellipse",
    "table": "cylinder",
    "schedule": "hexagon",
    "task": "box",
    "choice": "diamond",
    "end": "doublecircle",
}


def to_dot(graph: FlowGraph) -> str:
    lines = ["digraph docpipe {", "  rankdir=TB;"]
    for parent, urns in graph.by_parent().items():
        component = graph.components.get(parent)
        if component:
            lines.append(f"  subgraph cluster_{_node_id(parent)} {{")
            lines.append(f'    label="{component.name}: {component.type}";')
        for urn in urns:
            shape = DOT_SHAPES[graph.kind(urn)]
            lines.append(f'    {_node_id(urn)} [label="{graph.label(urn)}", shape={shape}];')
        if component:
            lines.append("  }")
    for edge in graph.edges:
        lines.append(
            f'  {_node_id(edge.source)} -> {_node_id(edge.target)} [label="{edge.label}"];'
        )
    lines.append("}")
    return "\n".join(lines) + "\n"


def to_json(graph: FlowGraph) -> dict[str, Any]:
    """Components, data-carrying resources and arrows, by logical name, for machines."""
    return {
        "components": sorted(
            ({"name": c.name, "type": c.type} for c in graph.components.values()),
            key=lambda c: c["name"],
        ),
        "nodes": [
            {
                "name": graph.nodes[urn].name,
                "kind": graph.kind(urn),
                "component": graph.components[parent].name if parent in graph.components else None,
            }
            for parent, urns in graph.by_parent().items()
            for urn in urns
        ],
        "edges": [
            {
                "from": graph.nodes[e.source].name,
                "to": graph.nodes[e.target].name,
                "label": e.label,
            }
            for e in graph.edges
        ],
    }

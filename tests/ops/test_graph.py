"""The data-flow graph of the real stack: every component and every arrow, derived."""

from __future__ import annotations

import json
from typing import Any

from stack_helpers import stack_run

from cli.main import main
from mockrun import StackRun
from ops.graph import build_graph, to_dot, to_mermaid


def logical(run: StackRun, urn: str) -> str:
    """A resource's logical name without the stack prefix, e.g. `ocr-queue`."""
    return run.monitor.get(urn).name.removeprefix("docpipe-")


def arrows(run: StackRun) -> set[tuple[str, str, str]]:
    graph = build_graph(run.registrations)
    return {(logical(run, e.source), logical(run, e.target), e.label) for e in graph.edges}


def test_dev_graph_holds_every_arrow_of_the_data_flow() -> None:
    run = stack_run("dev")
    assert arrows(run) == {
        ("store-bucket", "ocr-queue", "incoming/"),
        ("store-bucket", "ocr-function", "get incoming/*"),
        ("store-bucket", "summarize-function", "get text/*"),
        ("store-bucket", "classify-function", "get text/*"),
        ("store-bucket", "classify-function", "get summaries/*"),
        ("ocr-function", "store-bucket", "put text/*"),
        ("ocr-function", "store-bucket", "put incoming/children/*"),
        ("ocr-function", "store-bucket", "put processed/*"),
        ("ocr-function", "store-bucket", "put rejected/*"),
        ("summarize-function", "store-bucket", "put summaries/*"),
        ("ocr-function", "summarize-queue", "send"),
        ("summarize-function", "classify-queue", "send"),
        ("sweep-function", "ocr-queue", "send"),
        ("ocr-function", "results-table", "write"),
        ("summarize-function", "results-table", "write"),
        ("classify-function", "results-table", "write"),
        ("results-table", "sweep-function", "read"),
        ("sweep-function", "results-table", "write"),
        ("sweep-schedule-schedule", "sweep-queue", "tick"),
        *{
            (f"{s}-queue", f"{s}-function", "poll")
            for s in ("ocr", "summarize", "classify", "sweep")
        },
        *{(f"{s}-queue", f"{s}-dlq", "redrive") for s in ("ocr", "summarize", "classify", "sweep")},
    }


def test_mermaid_and_dot_show_every_component_and_arrow() -> None:
    run = stack_run("dev")
    graph = build_graph(run.registrations)
    mermaid, dot = to_mermaid(graph), to_dot(graph)
    components = [r for r in run.registrations if r.type.startswith("docpipe:index:")]
    # DocumentPipeline parents the others and holds no data resource itself: not a box.
    boxed = [c for c in components if c.type != "docpipe:index:DocumentPipeline"]
    assert len(boxed) == 7
    for component in boxed:
        assert f'["{component.name}: {component.type}"]' in mermaid
        assert f'label="{component.name}: {component.type}";' in dot
    assert mermaid.count(" -->") == dot.count(" -> ") == len(graph.edges) == 27
    assert mermaid.startswith("flowchart TD\n") and dot.startswith("digraph docpipe {")


def test_graph_is_the_same_on_every_run() -> None:
    first, second = (to_mermaid(build_graph(stack_run("dev").registrations)) for _ in range(2))
    assert first == second


def test_json_names_every_component_node_and_arrow(capsys: Any) -> None:
    run = stack_run("dev")
    graph = build_graph(run.registrations)

    assert main(["graph", "--stack", "dev", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)

    assert {c["name"] for c in shown["components"]} == {
        r.name for r in run.registrations if r.type.startswith("docpipe:index:")
    }
    assert len(shown["nodes"]) == len(graph.nodes) == 15  # 8 queues, 4 functions, 3 more
    assert {"name": "docpipe-ocr-queue", "kind": "queue", "component": "docpipe-ocr"} in shown[
        "nodes"
    ]
    assert {(e["from"], e["to"], e["label"]) for e in shown["edges"]} == {
        (f"docpipe-{s}", f"docpipe-{t}", label) for s, t, label in arrows(run)
    }


def test_the_workflow_is_drawn_as_its_states_from_the_definition() -> None:
    from mockrun import run_program
    from ops.graph import StateNode

    run = run_program("dev", {"orchestration": "stepfunctions"})
    graph = build_graph(run.registrations)

    def name(urn: str) -> str:
        node = graph.nodes[urn]
        return f"state {node.state}" if isinstance(node, StateNode) else logical(run, urn)

    edges = {(name(e.source), name(e.target), e.label) for e in graph.edges}
    states = {n.state: graph.kind(u) for u, n in graph.nodes.items() if isinstance(n, StateNode)}
    assert states == {
        "ocr": "task",
        "after ocr": "choice",
        "summarize": "task",
        "after summarize": "choice",
        "classify": "task",
        "settled": "end",
        "failed": "end",
    }
    workflow = {
        ("ocr-queue", "state ocr", "pipe"),
        ("state ocr", "state after ocr", ""),
        ("state after ocr", "state summarize", "document"),
        ("state after ocr", "state settled", "otherwise"),
        ("state summarize", "state after summarize", ""),
        ("state after summarize", "state classify", "document"),
        ("state after summarize", "state settled", "otherwise"),
        *{(f"state {s}", f"{s}-function", "invoke") for s in ("ocr", "summarize", "classify")},
        *{(f"state {s}", "state failed", "catch") for s in ("ocr", "summarize", "classify")},
    }
    assert workflow <= edges
    # no queue feeds the chain's functions any more, and none sends to a queue but the sweep
    assert {(s, t) for s, t, label in edges if label in ("poll", "send")} == {
        ("sweep-queue", "sweep-function"),
        ("sweep-function", "ocr-queue"),
    }
    mermaid = to_mermaid(graph)
    assert '(["ocr"])' in mermaid and '{"after ocr"}' in mermaid and '(("settled"))' in mermaid
    assert '["docpipe-workflow: docpipe:index:DocumentWorkflow"]' in mermaid

"""`docpipe preview --stack S`: the resource tree of a stack, the offline `pulumi preview`.

It runs the unchanged `__main__.py` under Pulumi's mock runtime and prints every component
with its children, their type and the settings a reviewer looks at first.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from typing import Any

from rich.console import Console
from rich.tree import Tree

from mockrun import Registration, StackRun, run_program
from policies import resource_types as t

# For each type token, the inputs worth showing (wire names) and how to label them.
KEY_SETTINGS: dict[str, dict[str, str]] = {
    t.FUNCTION: {
        "runtime": "runtime",
        "architectures": "arch",
        "memorySize": "memory MB",
        "timeout": "timeout s",
        "reservedConcurrentExecutions": "reserved",
        "packageType": "package",
    },
    t.QUEUE: {
        "visibilityTimeoutSeconds": "visibility s",
        "messageRetentionSeconds": "retention s",
        "sqsManagedSseEnabled": "SSE-SQS",
        "kmsMasterKeyId": "KMS",
        "receiveWaitTimeSeconds": "long poll s",
    },
    t.MAPPING: {
        "batchSize": "batch",
        "maximumBatchingWindowInSeconds": "window s",
        "scalingConfig": "scaling",
        "functionResponseTypes": "responses",
    },
    t.LOG_GROUP: {"retentionInDays": "retention days"},
    t.TABLE: {
        "billingMode": "billing",
        "pointInTimeRecovery": "PITR",
        "deletionProtectionEnabled": "deletion protection",
    },
    t.SCHEDULE: {"scheduleExpression": "schedule"},
    t.METRIC_ALARM: {
        "metricName": "metric",
        "threshold": "threshold",
    },
}


def _plain(value: Any) -> Any:
    """Engine-shaped inputs carry every number as a float: show 20, not 20.0."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


def _format_value(value: Any) -> str:
    value = _plain(value)
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def key_settings(registration: Registration) -> dict[str, str]:
    """The labelled settings of one resource that `preview` shows, in a stable order."""
    wanted = KEY_SETTINGS.get(registration.type, {})
    settings = {
        label: _format_value(registration.inputs[key])
        for key, label in wanted.items()
        if registration.inputs.get(key) is not None
    }
    if registration.protect:
        settings["protect"] = "true"
    if registration.retain_on_delete:
        settings["retain on delete"] = "true"
    return settings


def _label(registration: Registration) -> str:
    settings = key_settings(registration)
    details = "  ".join(f"[dim]{k}[/]={v}" for k, v in settings.items())
    kind = "[bold cyan]" if not registration.custom else "[green]"
    return f"{kind}{registration.name}[/]  [dim]{registration.type}[/]  {details}".rstrip()


def render_tree(run: StackRun) -> Tree:
    tree = Tree(f"[bold]docpipe[/] stack [bold]{run.stack}[/]: {len(run.registrations)} resources")
    nodes: dict[str, Tree] = {}
    for registration in run.registrations:  # parents always register before their children
        parent = nodes.get(registration.parent, tree)
        nodes[registration.urn] = parent.add(_label(registration))
    return tree


def as_json(run: StackRun) -> dict[str, Any]:
    return {
        "stack": run.stack,
        "resources": [
            {
                "urn": r.urn,
                "type": r.type,
                "name": r.name,
                "parent": r.parent,
                "settings": key_settings(r),
            }
            for r in run.registrations
        ],
        "counts": dict(sorted(run.count_by_type().items())),
        "outputs": run.outputs,
    }


def preview(args: argparse.Namespace, print_json: Callable[[str], None] = print) -> int:
    run = run_program(args.stack)
    if args.json:
        print_json(json.dumps(as_json(run), indent=2, sort_keys=True))
        return 0
    console = Console()
    console.print(render_tree(run))
    counts = run.count_by_type()
    console.print(
        "\n".join(f"  {count:3d}  {token}" for token, count in sorted(counts.items())),
        highlight=False,
    )
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "preview",
        help="show the stack's resource tree from an offline mock run",
        description=__doc__,
    )
    parser.add_argument("--stack", default="dev", help="stack name (Pulumi.<stack>.yaml)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a tree")
    parser.set_defaults(run=preview)

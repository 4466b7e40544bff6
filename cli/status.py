"""Operator commands on a running pipeline: `status`, `dlq`, `send`.

Each works against a deployed stack (`--outputs FILE` from `pulumi stack output --json`, AWS
credentials from the environment) or against local mode (`--local`, the default when
`docpipe local up` is running), and offers `--json`.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from ops import operate
from ops.executions import WorkflowStatus, workflow_status
from ops.target import Target, TargetError, from_local_state, from_outputs_file


def _target(args: argparse.Namespace) -> Target:
    if args.outputs:
        return from_outputs_file(Path(args.outputs), region=args.region)
    return from_local_state()


def _print_json(value: Any) -> None:
    print(json.dumps(value, indent=2, default=str))


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:g}"


def status(args: argparse.Namespace) -> int:
    target = _target(args)
    rows = operate.status(target)
    workflow = workflow_status(target)
    if args.json:
        stage_rows = [row.to_dict() for row in rows]
        # the stage rows alone, as ever; beside the workflow's status when there is one
        if workflow is None:
            _print_json(stage_rows)
        else:
            _print_json({"stages": stage_rows, "workflow": workflow.to_dict()})
        return 0
    table = Table(title="docpipe status")
    for column in (
        "stage",
        "queued",
        "in flight",
        "DLQ",
        "oldest age s",
        "errors 1h",
        "throttles 1h",
    ):
        table.add_column(column, justify="left" if column == "stage" else "right")
    for row in rows:
        dlq = f"[bold red]{row.dead_letters}[/]" if row.dead_letters else "0"
        table.add_row(
            row.stage,
            str(row.queued),
            str(row.in_flight),
            dlq,
            _number(row.oldest_age_s),
            _number(row.errors_1h),
            _number(row.throttles_1h),
        )
    Console().print(table)
    if workflow is not None:
        Console().print(_workflow_table(workflow))
    return 0


def _workflow_table(workflow: WorkflowStatus) -> Table:
    ended = workflow.ended_1h
    failed = ended["FAILED"] + ended["TIMED_OUT"] + ended["ABORTED"]
    bound = "+" if workflow.capped else ""
    table = Table(
        title=(
            f"workflow {workflow.state_machine_arn.rsplit(':', 1)[-1]}: "
            f"{workflow.running}{bound} running; last hour {ended['SUCCEEDED']}{bound} "
            f"succeeded, {'[bold red]' if failed else ''}{ended['FAILED']} failed, "
            f"{ended['TIMED_OUT']} timed out, {ended['ABORTED']} aborted"
            f"{'[/]' if failed else ''}"
        )
    )
    for column in ("step", "errors 1h", "throttles 1h"):
        table.add_column(column, justify="left" if column == "step" else "right")
    for step in workflow.steps:
        table.add_row(step.stage, _number(step.errors_1h), _number(step.throttles_1h))
    return table


def _confirmed(args: argparse.Namespace, question: str) -> bool:
    if args.yes:
        return True
    if not sys.stdin.isatty():
        print(f"{question}: refusing without a terminal to confirm on; pass --yes", file=sys.stderr)
        return False
    return input(f"{question} Type 'yes' to confirm: ").strip() == "yes"


def dlq(args: argparse.Namespace) -> int:
    target = _target(args)
    if args.action in ("list", "show"):
        letters = operate.dlq_show(target, args.stage, limit=args.limit)
        if args.json:
            _print_json([letter.to_dict() for letter in letters])
            return 0
        table = Table(title=f"dead letters of {args.stage}")
        for column in ("message id", "receives", "sent at", "body"):
            table.add_column(column)
        for letter in letters:
            body = letter.body if args.action == "show" else letter.body[:60]
            table.add_row(letter.message_id, str(letter.receive_count), letter.sent_at, body)
        Console().print(table)
        return 0
    if args.action == "redrive":
        result = operate.dlq_redrive(target, args.stage)
        if args.json:
            _print_json(result.__dict__)
        else:
            print(f"{args.stage}: moved {result.moved} dead letters back ({result.method})")
        return 0
    if not _confirmed(args, f"Delete every dead letter of {args.stage}?"):
        print("purge cancelled", file=sys.stderr)
        return 1
    purged = operate.dlq_purge(target, args.stage)
    if args.json:
        _print_json({"stage": args.stage, "purged": purged})
    else:
        print(f"{args.stage}: purged {purged} dead letters")
    return 0


def send(args: argparse.Namespace) -> int:
    target = _target(args)
    if args.event:
        message_id = operate.send_test_event(target, args.event)
        result = {"sent": "test-event", "file": args.event, "message_id": message_id}
    else:
        key = operate.send_file(target, Path(args.path), key=args.key)
        result = {"sent": "upload", "bucket": target.outputs["bucket_name"], "key": key}
    if args.json:
        _print_json(result)
    else:
        print(" ".join(f"{k}={v}" for k, v in result.items()))
    return 0


def _with_errors(handler: Any) -> Any:
    """Turn a missing target or a bad argument into one clear line and exit status 2."""

    def run(args: argparse.Namespace) -> int:
        try:
            return int(handler(args))
        except (TargetError, FileNotFoundError, ValueError) as error:
            print(f"docpipe {args.command}: {error}", file=sys.stderr)
            return 2

    return run


def _target_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--outputs", help="JSON of `pulumi stack output --json` (deployed stack)")
    parser.add_argument("--region", help="AWS region of the deployed stack")
    parser.add_argument("--json", action="store_true", help="print JSON")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("status", help="queue depths, dead letters, function errors")
    _target_options(parser)
    parser.set_defaults(run=_with_errors(status))

    parser = subparsers.add_parser("dlq", help="inspect, redrive or purge a stage's dead letters")
    parser.add_argument("action", choices=("list", "show", "redrive", "purge"))
    parser.add_argument("stage", help="ocr, summarize, classify or sweep")
    parser.add_argument("--limit", type=int, default=10, help="dead letters to list or show")
    parser.add_argument("--yes", action="store_true", help="purge without asking")
    _target_options(parser)
    parser.set_defaults(run=_with_errors(dlq))

    parser = subparsers.add_parser("send", help="upload a document, or send the test event")
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("path", nargs="?", help="a document to upload under incoming/")
    group.add_argument("--file", dest="event", help="send {'file': KEY} for an uploaded object")
    parser.add_argument("--key", help="object key for the upload (default incoming/<name>)")
    _target_options(parser)
    parser.set_defaults(run=_with_errors(send))

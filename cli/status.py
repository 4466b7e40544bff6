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
        "failed 1h",
        "rejected 1h",
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
            _number(row.failed_1h),
            _number(row.rejected_1h),
            _number(row.throttles_1h),
        )
    _console().print(table)
    if workflow is not None:
        _console().print(_workflow_table(workflow))
    print(
        "errors: failed invocations (timeouts, crashes); failed: records retried by SQS; "
        "rejected: documents settled with a reason (`docpipe results list --status rejected`)"
    )
    return 0


def _console() -> Console:
    """Rich's console; piped output gets a width that never cuts a row (80 by default)."""
    return Console(width=None if sys.stdout.isatty() else 200)


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
        elif args.action == "show":
            _print_dead_letters(letters)
        else:
            _list_dead_letters(args.stage, letters)
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


def _list_dead_letters(stage: str, letters: list[operate.DeadLetter]) -> None:
    table = Table(title=f"dead letters of {stage}")
    for column in ("message id", "deliveries", "sent at", "reason", "body"):
        table.add_column(column, overflow="ellipsis", no_wrap=column != "reason")
    for letter in letters:
        table.add_row(
            letter.message_id,
            str(letter.receive_count),
            letter.sent_at,
            letter.reason or "-",
            letter.body[:60],
        )
    _console().print(table)


def _print_dead_letters(letters: list[operate.DeadLetter]) -> None:
    """Each dead letter whole, as plain text: a pipe gets every character of the body."""
    for letter in letters:
        print(f"message id:  {letter.message_id}")
        print(f"deliveries:  {letter.receive_count} (before it was dead-lettered)")
        print(f"sent at:     {letter.sent_at}")
        if letter.dead_lettered_at:
            print(f"dead-lettered at: {letter.dead_lettered_at}")
        print(f"reason:      {letter.reason or 'not recorded (see the function log)'}")
        print(f"body:        {letter.body}")
        print()


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
    """Turn a missing target or a bad argument into one clear line and exit status 2, and an
    error from AWS (refused, unreachable, no credentials) into one clear line and status 1."""
    from botocore.exceptions import BotoCoreError, ClientError

    def run(args: argparse.Namespace) -> int:
        try:
            return int(handler(args))
        except (TargetError, FileNotFoundError, ValueError) as error:
            print(f"docpipe {args.command}: {error}", file=sys.stderr)
            return 2
        except (ClientError, BotoCoreError) as error:
            print(f"docpipe {args.command}: {aws_error(error)}", file=sys.stderr)
            return 1

    return run


def aws_error(error: Exception) -> str:
    """One line for an AWS error: the code and message of a refusal, or botocore's text."""
    from botocore.exceptions import ClientError, EndpointConnectionError

    if isinstance(error, ClientError):
        details = error.response.get("Error", {})
        code, message = details.get("Code", "?"), details.get("Message", "")
        if str(code).isdigit() and "<Code>" in str(message):  # an XML body botocore kept raw
            code = str(message).split("<Code>", 1)[1].split("<", 1)[0]
            message = str(message).split("<Message>", 1)[-1].split("<", 1)[0]
        text = f"AWS refused {error.operation_name}: {code}: {message}"
    elif isinstance(error, EndpointConnectionError):
        text = f"{error}: is the deployment up (`docpipe local up` for local mode)?"
    else:
        text = str(error)
    return " ".join(text.split())


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

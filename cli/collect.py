"""`docpipe collect SOURCE [--timeout S] [--json]`: run one source now and print its run.

Sends the collect queue the message the source's schedule sends, waits for the run the
collector records, and prints documents found, new, changed, failed and the last error.
Exit 0 when the run listed its source and fetched every document it chose; 1 on a failed
run, a run not recorded in time, or a source the stack does not have (the message names the
ones it has); 2 when the target cannot be reached. Like `status`, it acts on local mode's
running deployment, or on a deployed stack with `--outputs FILE` and your AWS credentials.
"""

from __future__ import annotations

import argparse
import json
import sys

from cli.status import _target, _target_options, _with_errors
from ops import collect
from ops.collect import RunTimeoutError, SourceError, SourceRun

MAX_FAILURES_SHOWN = 5


def run(args: argparse.Namespace) -> int:
    target = _target(args)
    if not args.json:
        print(f"collecting {args.source} now (waiting up to {args.timeout:.0f} s) ...", flush=True)
    try:
        result = collect.run_now(target, args.source, timeout_s=args.timeout)
    except (SourceError, RunTimeoutError) as error:
        print(f"docpipe collect: {error}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(result.to_dict(), indent=2))
    else:
        print_run(result)
    return 0 if result.ok else 1


def print_run(result: SourceRun) -> None:
    print(
        f"{result.source} ({result.kind}) run started {result.started_at}: found {result.found}, "
        f"new {result.new}, changed {result.changed}, unchanged {result.unchanged}, "
        f"deferred {result.deferred}, failed {result.failed}"
    )
    for failure in result.failures[:MAX_FAILURES_SHOWN]:
        print(f"  failed: {failure.get('url')}: {failure.get('reason')}")
    if result.failed > MAX_FAILURES_SHOWN:
        print(f"  ... {result.failed - MAX_FAILURES_SHOWN} more (`docpipe sources --json`)")
    print(f"last error: {result.last_error or 'none'}")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "collect",
        help="run one source now; its documents found, new and failed (exit 1 on failure)",
    )
    parser.add_argument("source", help="a source name from docpipe:sources")
    parser.add_argument(
        "--timeout",
        type=float,
        default=collect.DEFAULT_TIMEOUT_S,
        help=f"seconds to wait for the run (default {collect.DEFAULT_TIMEOUT_S:.0f})",
    )
    _target_options(parser)
    parser.set_defaults(run=_with_errors(run))

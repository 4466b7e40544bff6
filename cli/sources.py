"""`docpipe sources [--json]`: each configured source's last run.

One row per source of `docpipe:sources` (the stack's `sources` output): when it last ran,
documents found, new, changed and failed, and its last error (the listing's, else the first
document that failed). Read from the collector's run items, one GetItem per source. Like
`status`, it acts on local mode's running deployment, or on a deployed stack with
`--outputs FILE` and your AWS credentials.
"""

from __future__ import annotations

import argparse
import json
import sys

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from cli.status import _target, _target_options, _with_errors
from ops import collect
from ops.collect import SourceError

COUNTS = ("found", "new", "changed", "failed")


def run(args: argparse.Namespace) -> int:
    try:
        runs = collect.last_runs(_target(args))
    except SourceError as error:
        print(f"docpipe sources: {error}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps([r.to_dict() for r in runs], indent=2))
        return 0
    console = Console(width=None if sys.stdout.isatty() else 200)
    table = Table(title=f"docpipe sources ({len(runs)})")
    for column in ("source", "kind", "schedule", "last run", "found", "new", "changed", "failed"):
        table.add_column(column, justify="right" if column in COUNTS else "left")
    table.add_column("last error", overflow="fold")
    for r in runs:
        counts = [str(getattr(r, name)) if r.ran else "-" for name in COUNTS]
        failed = f"[bold red]{r.failed}[/]" if r.failed else counts[-1]
        problem = f"[red]{escape(r.problem)}[/]" if r.problem else "-"
        table.add_row(
            r.source, r.kind, r.schedule, r.started_at or "never", *counts[:-1], failed, problem
        )
    console.print(table)
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "sources", help="each configured source's last run: found, new, failed, last error"
    )
    _target_options(parser)
    parser.set_defaults(run=_with_errors(run))

"""`docpipe local`: the pipeline on an embedded AWS emulator (docs/local-mode.md).

run PATH...   deploy, push the documents through the real handlers, report, tear down
              (--collect: also collect from a test web site on 127.0.0.1, docs/collection.md)
up / down     keep a deployment running in the background / stop it
send          send the manual test event {"file": KEY} to the running deployment
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from collections import Counter
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from cli.options import add_config_option, config_overrides

if TYPE_CHECKING:
    from local.run import Input
from contract import stages
from contract.layout import CHILDREN, INCOMING

SUMMARY_CHARS = 60


def register(subparsers: Any) -> None:
    local = subparsers.add_parser(
        "local", help="run the pipeline on an embedded AWS emulator, no AWS account needed"
    )
    commands = local.add_subparsers(dest="local_command", required=True, metavar="COMMAND")
    _register_run(commands)
    _register_up(commands)
    down = commands.add_parser("down", help="stop the deployment started by `local up`")
    down.add_argument(
        "--force",
        action="store_true",
        help="stop even though queued work, dead letters or uploads would be discarded",
    )
    down.add_argument(
        "--persist",
        action="store_true",
        help="save the emulator's state first; `local up --persist` carries on from it",
    )
    down.set_defaults(run=run_down)
    send = commands.add_parser("send", help="send the manual test event to the OCR queue")
    send.add_argument("--file", required=True, help="object key, e.g. incoming/x.pdf")
    send.set_defaults(run=run_send)


def _add_session_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--stack", default="dev", help="stack to deploy (default: dev)")
    add_config_option(parser)
    parser.add_argument(
        "--max-workers",
        type=int,
        default=None,
        help="worker processes per function at most (default 4; the mapping's limit applies)",
    )
    parser.add_argument(
        "--schedule-interval",
        type=float,
        default=60.0,
        help="seconds between local schedule ticks (0: never)",
    )
    parser.add_argument(
        "--collect",
        action="store_true",
        help="serve sample documents, a feed and a sitemap on 127.0.0.1 and deploy the "
        "collect stage with them as its sources",
    )


def _register_run(commands: Any) -> None:
    run = commands.add_parser(
        "run",
        help="deploy, process documents, report, tear down; exit 1 unless every document "
        "is done or rejected",
    )
    run.add_argument(
        "paths", nargs="*", type=Path, metavar="PATH", help="files or directories (or --collect)"
    )
    _add_session_options(run)
    run.add_argument("--json", action="store_true", help="print one JSON object")
    run.add_argument(
        "--timeout", type=float, default=600.0, help="seconds to wait for results (default 600)"
    )
    run.set_defaults(run=run_local)


def _register_up(commands: Any) -> None:
    up = commands.add_parser("up", help="deploy and keep the emulator and workers running")
    _add_session_options(up)
    up.add_argument("--foreground", action="store_true", help="run in this process until ^C")
    up.add_argument(
        "--persist",
        action="store_true",
        help="carry on from the state the last `down` saved, and save it again on `down`",
    )
    up.set_defaults(run=run_up)


def _session_options(args: argparse.Namespace, stack: ExitStack | None = None) -> Any:
    """The session the arguments ask for; with --collect, the test site is started on
    `stack` (it lives as long as the caller keeps the stack open)."""
    from local.runtime import RuntimeOptions
    from local.session import SessionOptions

    overrides = config_overrides(args)
    runtime = RuntimeOptions(schedule_interval_s=args.schedule_interval)
    if args.max_workers:
        runtime.local_concurrency = args.max_workers
    options = SessionOptions(stack=args.stack, config_overrides=overrides, runtime=runtime)
    if not args.collect:
        return options
    from local.collect import with_site
    from local.site import DocumentSite

    assert stack is not None, "--collect needs a context to run the test site in"
    return with_site(options, stack.enter_context(DocumentSite()))


# -- run --------------------------------------------------------------------------------------


def run_local(args: argparse.Namespace) -> int:
    from local.run import inputs

    err = Console(stderr=True)
    try:
        files = inputs(args.paths)
    except (FileNotFoundError, ValueError) as exc:  # ValueError: two files for one key
        err.print(f"[red]error:[/] {exc}")
        return 2
    if not files and not args.collect:
        err.print("[red]error:[/] no documents found (of the kinds in handlers/formats/model.py)")
        return 2
    with ExitStack() as stack:
        try:
            options = _session_options(args, stack)
        except ValueError as exc:
            err.print(f"[red]error:[/] {exc}")
            return 2
        return _run_session(args, options, files, err)
    return 2  # not reached (mypy cannot tell that ExitStack swallows no exception)


def _run_session(args: argparse.Namespace, options: Any, files: list[Input], err: Console) -> int:
    from local.collect import run_collected
    from local.run import run_documents
    from local.session import DeployError, LocalSession

    try:
        with err.status("starting the emulator and deploying the stack..."):
            session = LocalSession(options).start()
    except DeployError as exc:
        err.print(f"[red]error:[/] {exc}")
        return 2
    try:
        for note in session.deployment.notes:
            err.print(f"[yellow]note:[/] {note}")
        with ProgressDisplay(err) as on_progress:
            if args.collect:
                report: Any = run_collected(session, files, args.timeout, on_progress)
            else:
                report = run_documents(session, files, args.timeout, on_progress)
    except TimeoutError as exc:  # a source that did not finish its run in time
        err.print(f"[red]error:[/] {exc}")
        return 1
    finally:
        with err.status("tearing down..."):
            session.stop()
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
    elif args.collect:
        _print_sources(report.sources)
        _print_report(report.documents)
    else:
        _print_report(report)
    return 0 if report.answered else 1


class ProgressDisplay:
    """A rich progress bar fed by `local.run.Progress` ticks (on stderr: --json stays clean)."""

    def __init__(self, console: Console) -> None:
        self.progress = Progress(
            TextColumn("[bold]settled"),
            BarColumn(bar_width=20),
            MofNCompleteColumn(),
            TextColumn("{task.fields[detail]}"),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        )
        self.task = self.progress.add_task("documents", total=None, detail="")

    def __enter__(self) -> Any:
        self.progress.start()
        return self.update

    def __exit__(self, *_exc: object) -> None:
        self.progress.stop()

    def update(self, tick: Any) -> None:
        # Short enough for 80 columns: invocations per stage, then dead letters.
        invoked = " ".join(f"{_label(stage)}:{n}" for stage, n in tick.invocations.items() if n)
        detail = f"runs {invoked or '-'} dlq:{tick.dead_lettered}"
        self.progress.update(self.task, completed=tick.settled, total=tick.total, detail=detail)


def _label(stage: str) -> str:
    """The stage's short label from the stage table (progress lines fit 80 columns)."""
    return stages.TABLE[stage].label if stage in stages.TABLE else stage


def _format_timings(timings: dict[str, float]) -> str:
    return " ".join(f"{_label(stage)} {seconds:.2f}s" for stage, seconds in timings.items())


STATUS_STYLES = {
    "done": "green",
    "rejected": "magenta",
    "dead-lettered": "yellow",
    "in-progress": "cyan",
    "lost": "red",
}


def _print_sources(runs: Any) -> None:
    console = Console(width=None if sys.stdout.isatty() else 160)
    table = Table(title="collected", show_lines=False)
    for column in ("source", "kind", "found", "new", "unchanged", "failed", "last error"):
        table.add_column(column, no_wrap=column != "last error")
    for run in runs:
        style = "green" if run.ok else "red"
        table.add_row(
            run.source,
            run.kind,
            str(run.found),
            str(run.new),
            str(run.unchanged),
            f"[{style}]{run.failed}[/]",
            escape(run.problem or "-"),
        )
    console.print(table)


def _document_labels(documents: list[Any]) -> list[str]:
    """Each document's key below incoming/; one found inside another as `parent > name`
    (the report's source names the upload by the path given, the table by its key)."""
    keys = {
        doc.source: doc.key.removeprefix(INCOMING.path)
        for doc in documents
        if not doc.key.startswith(CHILDREN.path)
    }
    labels = []
    for doc in documents:
        upload, found, inside = str(doc.source).partition(" > ")
        child = doc.key.startswith(CHILDREN.path)
        labels.append(f"{keys.get(upload, upload)}{found}{inside}" if child else keys[doc.source])
    return labels


def _print_report(report: Any) -> None:
    # Piped output gets 80 columns by default: too narrow for one row per document.
    console = Console(width=None if sys.stdout.isatty() else 200)
    table = Table(title="docpipe local run", show_lines=False)
    table.add_column("document", no_wrap=True)
    for column in ("status", "category", "confidence", "pages"):
        table.add_column(column, no_wrap=True, min_width=len(column))
    table.add_column("summary", no_wrap=True, overflow="ellipsis", max_width=SUMMARY_CHARS)
    table.add_column("time per stage", no_wrap=True)
    for doc, label in zip(report.documents, _document_labels(report.documents), strict=True):
        style = STATUS_STYLES.get(doc.status, "red")
        # A rejected document shows why in the summary's place.
        summary = (doc.summary or doc.reason or "").replace("\n", " ")
        table.add_row(
            label,
            f"[{style}]{doc.status}[/]",
            doc.category or "-",
            f"{doc.confidence:.2f}" if doc.confidence is not None else "-",
            str(doc.pages) if doc.pages is not None else "-",
            summary[:SUMMARY_CHARS] + ("..." if len(summary) > SUMMARY_CHARS else ""),
            _format_timings(doc.timings),
        )
    console.print(table)
    dlq = ", ".join(f"{stage} {n}" for stage, n in report.dlq.items() if n) or "none"
    counts = Counter(doc.status for doc in report.documents)
    settled = ", ".join(f"{status} {counts[status]}" for status in STATUS_STYLES if counts[status])
    console.print(
        f"{len(report.documents)} documents in {report.elapsed_s:.1f} s: {settled}; "
        f"dead letters: {dlq}; lost: {report.lost}"
    )


# -- up / down / send -----------------------------------------------------------------------


def run_up(args: argparse.Namespace) -> int:
    from local.persistence import SnapshotError
    from local.state import StateError, serve, start_detached

    err = Console(stderr=True)
    if args.foreground:
        with ExitStack() as stack:
            try:
                options = _session_options(args, stack)
                return serve(options, persist=args.persist)
            except (ValueError, SnapshotError) as exc:
                err.print(f"[red]error:[/] {exc}")
                return 2
    forwarded = ["--stack", args.stack, "--schedule-interval", str(args.schedule_interval)]
    if args.collect:
        forwarded.append("--collect")
    for pair in args.config:
        forwarded += ["--config", pair]
    if args.max_workers:
        forwarded += ["--max-workers", str(args.max_workers)]
    if args.persist:
        forwarded.append("--persist")
    try:
        state = start_detached(forwarded)
    except StateError as exc:
        err.print(f"[red]error:[/] {exc}")
        return 1
    print(f"docpipe local is up (pid {state.pid}), stack {state.stack}")
    if state.persist:
        print(f"state:    {state.persist}  (kept across `local down` / `local up --persist`)")
    print(f"endpoint: {state.endpoint}")
    print(f"bucket:   {state.outputs['bucket_name']}  (upload under incoming/)")
    print(f"table:    {state.outputs['table_name']}")
    print(f"logs:     {state.log_dir}")
    if state.outputs.get("sources"):
        names = ", ".join(source["name"] for source in state.outputs["sources"])
        print(f"sources:  {names}  (`docpipe collect NAME`, `docpipe sources`)")
    print("\n# use with boto3 or the AWS CLI:")
    for key, value in state.environment.items():
        print(f"export {key}={shlex.quote(value)}")
    bucket = state.outputs["bucket_name"]
    print(f"\n# e.g. aws s3 cp samples/x.pdf s3://{bucket}/incoming/x.pdf")
    print("# stop it with: docpipe local down")
    return 0


def run_down(args: argparse.Namespace) -> int:
    from local.state import PendingWork, StateError, stop_running

    err = Console(stderr=True)
    try:
        state = stop_running(force=args.force, persist=args.persist)
    except PendingWork as pending:
        err.print("[red]refused:[/] stopping now would discard work the emulator holds:")
        for line in pending.lines:
            err.print(f"  - {line}", markup=False)
        err.print("  - and every result the table holds")
        err.print(
            "Keep it all: `docpipe local down --persist` (then `docpipe local up --persist`); "
            "discard it: `docpipe local down --force`."
        )
        return 1
    except StateError as exc:
        err.print(f"[red]error:[/] {exc}")
        return 1
    saved = args.persist or state.persist is not None
    kept = " (its state saved: `docpipe local up --persist` carries on)" if saved else ""
    print(f"docpipe local stopped (pid {state.pid}){kept}")
    return 0


def run_send(args: argparse.Namespace) -> int:
    from contract.messages import manual_event
    from ops.operate import send_test_event
    from ops.target import TargetError, from_local_state

    try:
        manual_event(args.file)  # a bad key is refused before looking for the deployment
        message_id = send_test_event(from_local_state(), args.file)
    except (TargetError, ValueError) as exc:
        Console(stderr=True).print(f"[red]error:[/] {exc}")
        return 1
    print(f"sent {{'file': {args.file!r}}} to the first stage's queue (message {message_id})")
    return 0

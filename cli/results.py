"""`docpipe results list|show` and `docpipe retry`: the document ledger for operators.

    docpipe results list [--status S] [--category C] [--since T] [--limit N] [--json|--csv]
    docpipe results show DOC [--json]
    docpipe retry DOC ... | --status rejected [--since T]

Like `status`, each acts on local mode's running deployment, or on a deployed stack with
`--outputs FILE` and your AWS credentials.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from typing import Any

from rich.console import Console
from rich.table import Table

from cli.status import _target, _target_options, _with_errors
from contract import ledger
from contract.ledger import Attr
from ops import results

COLUMNS = (
    ledger.KEY,
    Attr.STATUS,
    Attr.UPDATED_AT,
    Attr.SOURCE_KEY,
    Attr.STAGE,
    Attr.CATEGORY,
    Attr.CONFIDENCE,
    Attr.ERROR_TYPE,
    Attr.ERROR_MESSAGE,
)


def list_command(args: argparse.Namespace) -> int:
    documents = results.list_documents(
        _target(args), args.status, args.category, args.since, args.limit
    )
    if args.json:
        print(json.dumps(documents, indent=2, default=str))
    elif args.csv:
        writer = csv.DictWriter(sys.stdout, fieldnames=COLUMNS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(documents)
    else:
        _print_table(documents)
    return 0


def _print_table(documents: list[dict[str, Any]]) -> None:
    console = Console(width=None if sys.stdout.isatty() else 200)
    table = Table(title=f"docpipe results ({len(documents)})")
    for column in ("document", "status", "updated", "key", "category / reason"):
        table.add_column(column, overflow="fold")
    for doc in documents:
        reason = doc.get(Attr.ERROR_MESSAGE)
        detail = f"{doc.get(Attr.ERROR_TYPE)}: {reason}" if reason else doc.get(Attr.CATEGORY)
        table.add_row(
            doc[ledger.KEY][:12],
            doc[Attr.STATUS],
            doc.get(Attr.UPDATED_AT, "-"),
            doc.get(Attr.SOURCE_KEY, "-"),
            detail or "-",
        )
    console.print(table)


def show_command(args: argparse.Namespace) -> int:
    document = results.show_document(_target(args), args.doc_id)
    if args.json:
        print(json.dumps(document, indent=2, default=str))
        return 0
    for key in sorted(document):
        print(f"{key}: {document[key]}")
    return 0


def retry_command(args: argparse.Namespace) -> int:
    target = _target(args)
    doc_ids = list(args.doc_ids)
    if args.status:
        listed = results.list_documents(target, args.status, since=args.since)
        doc_ids += [doc[ledger.KEY] for doc in listed]
    if not doc_ids:
        raise ValueError("nothing to retry: give document ids or --status")
    done = [results.retry(target, doc_id) for doc_id in doc_ids]
    if args.json:
        print(json.dumps([vars(r) for r in done], indent=2))
    else:
        for r in done:
            print(f"retried {r.doc_id}: {r.copied_from} -> {r.key}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("results", help="the document ledger: list or show documents")
    actions = parser.add_subparsers(dest="action", required=True)
    listing = actions.add_parser("list", help="documents by status and time (the status index)")
    listing.add_argument("--status", help=f"one of {', '.join(ledger.statuses())}")
    listing.add_argument("--category", help="only done documents of this category")
    listing.add_argument("--since", help="updated at or after this ISO 8601 date or time (UTC)")
    listing.add_argument("--limit", type=int, help="at most this many documents")
    listing.add_argument("--csv", action="store_true", help="print CSV")
    _target_options(listing)
    listing.set_defaults(run=_with_errors(list_command))
    show = actions.add_parser("show", help="one document's whole ledger item")
    show.add_argument("doc_id")
    _target_options(show)
    show.set_defaults(run=_with_errors(show_command))

    retry = subparsers.add_parser("retry", help="send documents through the pipeline again")
    retry.add_argument("doc_ids", nargs="*", metavar="DOC", help="document ids")
    retry.add_argument("--status", help="every document with this status (e.g. rejected)")
    retry.add_argument("--since", help="with --status: updated at or after this time")
    _target_options(retry)
    retry.set_defaults(run=_with_errors(retry_command))

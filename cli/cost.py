"""`docpipe cost --stack S --docs-per-month N`: monthly estimate beside the managed alternative."""

from __future__ import annotations

import argparse
import json

from rich.console import Console
from rich.table import Table

from mockrun import run_program
from ops.cost import PRICES_FILE, Assumptions, Estimate, estimate, load_json


def _table(result: Estimate) -> Table:
    table = Table(title="docpipe: estimated USD per month")
    table.add_column("line item")
    table.add_column("USD / month", justify="right")
    for name, usd in result.lines.items():
        table.add_row(name, f"{usd:,.4f}")
    table.add_row("[bold]total[/]", f"[bold]{result.total_usd_per_month:,.2f}[/]")
    table.add_section()
    for name, usd in result.managed_lines.items():
        table.add_row(f"managed: {name}", f"{usd:,.4f}")
    table.add_row(
        "[bold]managed alternative total[/]",
        f"[bold]{result.managed_alternative_usd_per_month:,.2f}[/]",
    )
    return table


def cost(args: argparse.Namespace) -> int:
    if args.docs_per_month < 0 or args.pages_per_doc <= 0:
        raise SystemExit("docpipe cost: --docs-per-month must be >= 0 and --pages-per-doc > 0")
    assumptions = Assumptions(
        docs_per_month=args.docs_per_month,
        pages_per_doc=args.pages_per_doc,
        mb_per_doc=args.mb_per_doc,
    )
    result = estimate(run_program(args.stack).registrations, assumptions)
    prices = load_json(PRICES_FILE)
    if args.json:
        payload = {"stack": args.stack, **result.to_dict(), "prices_as_of": prices["as_of"]}
        print(json.dumps(payload, indent=2))
        return 0
    console = Console()
    console.print(_table(result))
    console.print(f"prices: {prices['region']}, as of {prices['as_of']} ({PRICES_FILE.name})")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "cost", help="estimate the stack's monthly cost", description=__doc__
    )
    parser.add_argument("--stack", default="dev", help="stack name (Pulumi.<stack>.yaml)")
    parser.add_argument("--docs-per-month", type=int, required=True)
    parser.add_argument("--pages-per-doc", type=float, default=2.0)
    parser.add_argument("--mb-per-doc", type=float, default=1.0)
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.set_defaults(run=cost)

"""`docpipe cost --stack S --docs-per-month N`: monthly estimate beside the managed alternative,
and the same volume under each orchestration (queues, Step Functions Standard and Express)."""

from __future__ import annotations

import argparse
import json

from rich.console import Console
from rich.table import Table

from cli.options import add_config_option, config_overrides
from mockrun import run_program
from ops.cost import (
    PRICES_FILE,
    Assumptions,
    Estimate,
    compare_orchestrations,
    estimate,
    load_json,
)

# The lines that differ between orchestrations (the rest is the same work).
ORCHESTRATION_LINES = (
    "sqs requests",
    "pipes requests",
    "step functions state transitions",
    "step functions express requests",
    "step functions express duration",
)


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
    overrides = config_overrides(args)
    result = estimate(run_program(args.stack, overrides).registrations, assumptions)
    compared = compare_orchestrations(args.stack, assumptions, overrides)
    prices = load_json(PRICES_FILE)
    if args.json:
        payload = {
            "stack": args.stack,
            **result.to_dict(),
            "orchestrations": _comparison_json(compared),
            "prices_as_of": prices["as_of"],
        }
        print(json.dumps(payload, indent=2))
        return 0
    console = Console()
    console.print(_table(result))
    console.print(_comparison_table(compared, assumptions))
    console.print(f"prices: {prices['region']}, as of {prices['as_of']} ({PRICES_FILE.name})")
    return 0


def _comparison_json(compared: dict[str, Estimate | str]) -> dict[str, object]:
    return {
        name: (
            {
                "total_usd_per_month": result.total_usd_per_month,
                "orchestration_lines_usd_per_month": {
                    k: round(v, 4) for k, v in result.lines.items() if k in ORCHESTRATION_LINES
                },
            }
            if isinstance(result, Estimate)
            else {"not_possible": result}
        )
        for name, result in compared.items()
    }


def _comparison_table(compared: dict[str, Estimate | str], a: Assumptions) -> Table:
    table = Table(title=f"the same {a.docs_per_month:,} documents a month by orchestration")
    table.add_column("orchestration")
    table.add_column("orchestration lines (USD / month)")
    table.add_column("total USD / month", justify="right")
    for name, result in compared.items():
        if not isinstance(result, Estimate):
            table.add_row(name, f"not possible: {result}", "-")
            continue
        lines = ", ".join(
            f"{k} {v:,.4f}" for k, v in result.lines.items() if k in ORCHESTRATION_LINES
        )
        table.add_row(name, lines, f"{result.total_usd_per_month:,.2f}")
    return table


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "cost", help="estimate the stack's monthly cost", description=__doc__
    )
    parser.add_argument("--stack", default="dev", help="stack name (Pulumi.<stack>.yaml)")
    add_config_option(parser)
    parser.add_argument("--docs-per-month", type=int, required=True)
    parser.add_argument("--pages-per-doc", type=float, default=2.0)
    parser.add_argument("--mb-per-doc", type=float, default=1.0)
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.set_defaults(run=cost)

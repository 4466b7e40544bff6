"""`docpipe graph --stack S [--format mermaid|dot|json]`: components and data flow of a stack."""

from __future__ import annotations

import argparse
import json

from cli.options import add_config_option, config_overrides
from mockrun import run_program
from ops.graph import build_graph, to_dot, to_json, to_mermaid


def graph(args: argparse.Namespace) -> int:
    flow = build_graph(run_program(args.stack, config_overrides(args)).registrations)
    if args.json or args.format == "json":
        print(json.dumps(to_json(flow), indent=2))
    else:
        print(to_dot(flow) if args.format == "dot" else to_mermaid(flow), end="")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "graph", help="print the stack's components and data flow", description=__doc__
    )
    parser.add_argument("--stack", default="dev", help="stack name (Pulumi.<stack>.yaml)")
    add_config_option(parser)
    parser.add_argument("--format", choices=("mermaid", "dot", "json"), default="mermaid")
    parser.add_argument("--json", action="store_true", help="same as --format json")
    parser.set_defaults(run=graph)

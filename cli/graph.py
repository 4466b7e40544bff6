"""`docpipe graph --stack S [--format mermaid|dot]`: components and data flow of a stack."""

from __future__ import annotations

import argparse

from mockrun import run_program
from ops.graph import build_graph, to_dot, to_mermaid


def graph(args: argparse.Namespace) -> int:
    flow = build_graph(run_program(args.stack).registrations)
    print(to_dot(flow) if args.format == "dot" else to_mermaid(flow), end="")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "graph", help="print the stack's components and data flow", description=__doc__
    )
    parser.add_argument("--stack", default="dev", help="stack name (Pulumi.<stack>.yaml)")
    parser.add_argument("--format", choices=("mermaid", "dot"), default="mermaid")
    parser.set_defaults(run=graph)

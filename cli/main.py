"""`docpipe`: offline preview, policy checks and local mode for the docpipe stack.

Each sub-command lives in its own module with `register(subparsers)`; the module's handler is
stored as the parser's `run` default and returns the process exit code.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

# Modules under cli/ that provide sub-commands, in the order `docpipe --help` lists them.
COMMAND_MODULES = (
    "preview", "check", "local", "status", "results", "smoke", "collect", "sources", "graph",
    "cost", "docs",
)  # fmt: skip


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="docpipe",
        description="Document pipeline on AWS serverless: preview, check and run it offline.",
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module_name in COMMAND_MODULES:
        importlib.import_module(f"cli.{module_name}").register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.run(args))


if __name__ == "__main__":
    sys.exit(main())

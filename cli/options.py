"""Options several commands share."""

from __future__ import annotations

import argparse
import sys


def add_config_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a stack config value as `pulumi config set` would (repeatable), e.g. "
        'orchestration=stepfunctions or sources="$(cat samples/sources.json)"',
    )


def config_overrides(args: argparse.Namespace) -> dict[str, str]:
    """`--config KEY=VALUE` options as a mapping; a malformed one is a usage error."""
    from mockrun.program import config_overrides as parse

    try:
        return parse(args.config)
    except ValueError as exc:
        print(f"docpipe: {exc}", file=sys.stderr)
        raise SystemExit(2) from None  # a usage error, as argparse exits

"""Options several commands share."""

from __future__ import annotations

import argparse


def add_config_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a stack config value (repeatable), e.g. orchestration=stepfunctions",
    )


def config_overrides(args: argparse.Namespace) -> dict[str, str]:
    """`--config KEY=VALUE` options as a mapping; a malformed one is a usage error."""
    overrides = {}
    for pair in args.config:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise SystemExit(f"docpipe: --config expects KEY=VALUE, got {pair!r}")
        overrides[key] = value
    return overrides

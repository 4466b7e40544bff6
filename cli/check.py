"""`docpipe check`: evaluate the policy pack offline, on a mock run or on a state export."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from cli.options import add_config_option

# Exit code for usage problems (bad config, unreadable export), as argparse uses.
USAGE_ERROR = 2


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "check",
        help="evaluate the policy pack without the Pulumi CLI or cloud credentials",
        description=(
            "Run the stack under Pulumi mocks (or read a `pulumi stack export`) and evaluate "
            "every policy in policies/. Exit 1 on any mandatory violation."
        ),
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--stack", help="stack to run under mocks (dev, prod)")
    source.add_argument("--state", type=Path, help="a `pulumi stack export` JSON (v3) file")
    add_config_option(parser)
    parser.add_argument("--format", choices=("text", "json", "sarif"), default="text")
    parser.add_argument("--policy-config", type=Path, help="policy config JSON, as the CLI takes")
    parser.add_argument("--output", type=Path, help="write the report here instead of stdout")
    parser.set_defaults(run=run_check)


def _model(args: argparse.Namespace) -> Any:
    from policies.gate.model import from_stack_run, from_state_export

    if args.state is not None:
        if args.config:
            raise ValueError("--config applies to --stack: a state export has its config")
        return from_state_export(json.loads(args.state.read_text()))
    from mockrun.program import config_overrides, run_program

    return from_stack_run(run_program(args.stack, config_overrides(args.config)))


def run_check(args: argparse.Namespace) -> int:
    from policies.gate.config import PolicyConfigError, load_config_file
    from policies.gate.evaluate import evaluate
    from policies.gate.report import REPORTERS

    try:
        config = load_config_file(args.policy_config) if args.policy_config else None
        model = _model(args)
        result = evaluate(model, config)
    except (PolicyConfigError, FileNotFoundError, ValueError) as error:
        print(f"docpipe check: {error}", file=sys.stderr)
        return USAGE_ERROR
    report = REPORTERS[args.format](result)
    if args.output:
        args.output.write_text(report)
    else:
        sys.stdout.write(report)
    return result.exit_code

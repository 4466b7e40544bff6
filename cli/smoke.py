"""`docpipe smoke [--outputs FILE] [--timeout S] [--json]`: after a deploy, one test page through
the pipeline; prints its category and text, or the exact failure. Exit 0 on success, 1 on a
failure, 2 when the target cannot be reached (no outputs file, no local deployment)."""

from __future__ import annotations

import argparse
import json

from cli.status import _target, _target_options, _with_errors
from ops import smoke


def run(args: argparse.Namespace) -> int:
    target = _target(args)
    print(f"sending the test page to {target.outputs['bucket_name']} ...", flush=True)
    report = smoke.run(target, timeout_s=args.timeout)
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
    elif report.ok:
        print(
            f"ok in {report.seconds:.0f} s: {report.key} -> category {report.category} "
            f"(confidence {report.confidence}), doc_id {report.doc_id}\ntext: {report.text!r}"
        )
    else:
        print(f"FAILED after {report.seconds:.0f} s: {report.key} (doc_id {report.doc_id})")
        print(report.failure)
    return 0 if report.ok else 1


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "smoke", help="send a built-in test page through the pipeline; its result or failure"
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=smoke.DEFAULT_TIMEOUT_S,
        help="seconds to wait for the result (default 300: a cold start of every stage)",
    )
    _target_options(parser)
    parser.set_defaults(run=_with_errors(run))

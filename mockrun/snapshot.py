"""Snapshots of a stack's registrations, and the difference between two of them.

A refactor must not make an existing stack replace or delete resources. Take a snapshot
before the change and one after, then compare:

    python -m mockrun.snapshot --stack dev > before.json
    ... change the code ...
    python -m mockrun.snapshot --stack dev > after.json
    python -m mockrun.snapshot --compare before.json after.json

The comparison lists resources removed (the engine would delete them, or replace them when
a resource of the same type appears under another name), resources added, and, per
resource kept, every input, dependency or option that changed. Exit code 1 when any
resource was removed.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pulumi

from mockrun.capture import Registration


def _plain(value: Any) -> Any:
    """Inputs as JSON: archives and assets by their paths, nested values recursively."""
    if isinstance(value, pulumi.FileArchive | pulumi.FileAsset):
        return {"file": value.path}
    if isinstance(value, pulumi.AssetArchive):
        return {"assets": {k: _plain(v) for k, v in value.assets.items()}}
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def snapshot(registrations: Sequence[Registration]) -> dict[str, Any]:
    """URN -> what the engine would compare between two deployments."""
    return {
        r.urn: {
            "type": r.type,
            "parent": r.parent,
            "inputs": _plain(r.inputs),
            "dependencies": sorted(r.dependencies),
            "options": {
                "delete_before_replace": r.delete_before_replace,
                "protect": r.protect,
                "retain_on_delete": r.retain_on_delete,
                "ignore_changes": sorted(r.ignore_changes),
            },
        }
        for r in registrations
    }


def _changes(path: str, before: Any, after: Any) -> list[str]:
    if isinstance(before, dict) and isinstance(after, dict):
        lines = []
        for key in sorted(set(before) | set(after)):
            lines += _changes(f"{path}.{key}", before.get(key), after.get(key))
        return lines
    if before == after:
        return []
    old, new = (json.dumps(v, sort_keys=True) for v in (before, after))
    return [f"  {path}: {old} -> {new}"]


def compare(before: dict[str, Any], after: dict[str, Any]) -> tuple[list[str], bool]:
    """Report lines, and whether any resource was removed."""
    removed = sorted(set(before) - set(after))
    added = sorted(set(after) - set(before))
    lines = [f"removed {urn}" for urn in removed] + [f"added {urn}" for urn in added]
    for urn in sorted(set(before) & set(after)):
        changed = _changes("", before[urn], after[urn])
        if changed:
            lines += [f"changed {urn}", *changed]
    return lines, bool(removed)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mockrun.snapshot", description=__doc__)
    parser.add_argument("--stack", help="take a snapshot of this stack (JSON on stdout)")
    parser.add_argument("--config", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--compare", nargs=2, metavar=("BEFORE", "AFTER"), type=Path)
    args = parser.parse_args(argv)
    if args.compare:
        before, after = (json.loads(p.read_text()) for p in args.compare)
        lines, removed = compare(before, after)
        print("\n".join(lines) if lines else "no difference")
        return 1 if removed else 0
    if not args.stack:
        parser.error("give --stack or --compare")
    from mockrun.program import config_overrides, run_program

    run = run_program(args.stack, config_overrides(args.config))
    json.dump(snapshot(run.registrations), sys.stdout, indent=1, sort_keys=True)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())

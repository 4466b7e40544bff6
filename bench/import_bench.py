"""Cold import time of each handler vs `import boto3` alone.

Run: `.venv/bin/python bench/import_bench.py [--repeats 7]`

Each figure is the median over fresh interpreters (`python -c`) of:
- module:       `import handlers.<stage>` (what Lambda's init phase pays)
- first call:   the module plus everything its first invocation imports lazily (Powertools
                batch/logger/metrics, boto3 and the clients' service models, the stage's
                pure-logic dependencies), i.e. the whole cold-start import bill
- baseline:     `import boto3`, and `import boto3` + creating one S3 client
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

TIMER = "import time; t = time.perf_counter()\n{code}\nprint(time.perf_counter() - t)"
FIRST_CALL = {
    "ocr": "import handlers.ocr, handlers.ocr_engine, PIL.Image, pypdfium2, pytesseract",
    "summarize": "import handlers.summarize; from handlers.summarizer import _punkt, stop_words; "
    "_punkt(); stop_words()",
    "classify": "import json, handlers.classify; from handlers.classifier import classifier_for; "
    "from contract.categories import DEFAULT_CATEGORIES; "
    "classifier_for(json.dumps(DEFAULT_CATEGORIES))",
    "sweep": "import handlers.sweep",
}
AWS_FIRST_CALL = (
    "\nimport boto3; boto3.session.Session().client('s3', region_name='us-east-1')"
    "\nfrom aws_lambda_powertools import Logger, Metrics"
    "\nfrom aws_lambda_powertools.utilities.batch import BatchProcessor, process_partial_response"
)


def cold_seconds(code: str, repeats: int, env: dict[str, str]) -> float:
    samples = []
    for _ in range(repeats):
        result = subprocess.run(
            [sys.executable, "-c", TIMER.format(code=code)],
            capture_output=True, text=True, check=True, cwd=ROOT, env=env,
        )  # fmt: skip
        samples.append(float(result.stdout.strip().splitlines()[-1]))
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from packager.nltk_data import bundle

    env = {**os.environ, "NLTK_DATA": str(bundle()), "AWS_ACCESS_KEY_ID": "x",
           "AWS_SECRET_ACCESS_KEY": "x"}  # fmt: skip
    boto3 = cold_seconds("import boto3", args.repeats, env)
    client = cold_seconds(
        "import boto3; boto3.client('s3', region_name='us-east-1')", args.repeats, env
    )
    print(f"median of {args.repeats} fresh interpreters, Python {sys.version.split()[0]}")
    print(f"  {'import boto3':34} {boto3 * 1000:7.1f} ms")
    print(f"  {'import boto3 + one S3 client':34} {client * 1000:7.1f} ms")
    for stage, first_call in FIRST_CALL.items():
        module = cold_seconds(f"import handlers.{stage}", args.repeats, env)
        full = cold_seconds(first_call + AWS_FIRST_CALL, args.repeats, env)
        print(
            f"  {'handlers.' + stage:20} module {module * 1000:6.1f} ms"
            f"  ({module / boto3:4.2f}x boto3)   first call {full * 1000:7.1f} ms"
        )


if __name__ == "__main__":
    main()

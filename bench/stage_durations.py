"""Per-stage durations for `docpipe cost`: what one document costs each stage, measured here.

Run: `.venv/bin/python bench/stage_durations.py [--repeats 3]`
Writes `bench/stage_durations.json` (read by ops/cost.py) and prints the figures.

- ocr: `ocr_engine.extract_text`, seconds per page, OMP_THREAD_LIMIT=1 as on Lambda, on two
  full 300 DPI text pages (the figure the estimate uses) and on the short scanned samples;
- summarize, classify: the pure functions on the samples' OCR text, seconds per document;
- sweep: one `sweep.sweep()` run over 200 uploads (100 with results) in moto, per upload:
  the sweep lists and looks up every stored upload on each run.
One core of this machine stands for Lambda's one vCPU at 1,769 MB; ops/cost.py scales below.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
OUTPUT = Path(__file__).with_name("stage_durations.json")
SCANNED = ("invoice.jpg", "letter.png", "report.tiff")
SWEPT = 200  # uploads under incoming/ in the sweep measurement, half of them with a result


def median_seconds(run: Callable[[], Any], repeats: int) -> float:
    timings = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        timings.append(time.perf_counter() - start)
    return statistics.median(timings)


def ocr_seconds_per_page(documents: dict[str, bytes], repeats: int) -> float:
    from handlers.ocr_engine import extract_text

    pages = sum(extract_text(data, name).pages for name, data in documents.items())
    seconds = median_seconds(
        lambda: [extract_text(data, name) for name, data in documents.items()], repeats
    )
    return seconds / pages


def full_pages() -> dict[str, bytes]:
    """Two full 300 DPI pages of running text, the page ocr_bench.py measures: the samples
    are short, and a typical document page is not."""
    import ocr_bench  # beside this file; it brings the test renderers

    render = ocr_bench.render
    return {
        f"page-{i}.png": render.to_bytes(render.render_page(ocr_bench.TEXT), "PNG") for i in (1, 2)
    }


def sample_texts() -> list[str]:
    from handlers.ocr_engine import extract_text

    return [extract_text((ROOT / "samples" / name).read_bytes(), name).text for name in SCANNED]


def per_document(run: Callable[[str], Any], texts: list[str], repeats: int) -> float:
    return median_seconds(lambda: [run(text) for text in texts], repeats) / len(texts)


def sweep_seconds_per_run(repeats: int) -> float:
    import boto3
    from moto import mock_aws

    os.environ.update(
        AWS_DEFAULT_REGION="us-east-1",
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        DOCPIPE_BUCKET="bench-bucket",
        DOCPIPE_TABLE="bench-results",
        SWEEP_MIN_AGE_MINUTES="0",
        SWEEP_MAX_PER_RUN="1000",
    )
    with mock_aws():
        s3, sqs = boto3.client("s3"), boto3.client("sqs")
        dynamodb = boto3.client("dynamodb")
        s3.create_bucket(Bucket="bench-bucket")
        dynamodb.create_table(
            TableName="bench-results",
            KeySchema=[{"AttributeName": "doc_id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "doc_id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        os.environ["DOCPIPE_NEXT_QUEUE_URL"] = sqs.create_queue(QueueName="ocr")["QueueUrl"]
        from contract.messages import doc_id_for

        for index in range(SWEPT):
            key = f"incoming/doc-{index}.png"
            etag = s3.put_object(Bucket="bench-bucket", Key=key, Body=b"x")["ETag"]
            if index % 2:
                doc_id = doc_id_for("bench-bucket", key, etag)
                dynamodb.put_item(TableName="bench-results", Item={"doc_id": {"S": doc_id}})
        from handlers.sweep import sweep

        later = datetime.now(UTC) + timedelta(minutes=1)
        return median_seconds(lambda: sweep(later), repeats)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    os.environ["OMP_THREAD_LIMIT"] = "1"
    os.environ["NLTK_DATA"] = str(_nltk_data())
    from handlers.classifier import classifier_for
    from handlers.summarizer import summarize
    from mockrun import load_stack_config

    texts = sample_texts()
    classifier = classifier_for(load_stack_config("dev")["docpipe:categories"])
    samples = {name: (ROOT / "samples" / name).read_bytes() for name in SCANNED}
    figures = {
        "ocr_seconds_per_page": round(ocr_seconds_per_page(full_pages(), args.repeats), 4),
        "ocr_seconds_per_sample_page": round(ocr_seconds_per_page(samples, args.repeats), 4),
        "summarize_seconds_per_doc": round(per_document(summarize, texts, args.repeats), 5),
        "classify_seconds_per_doc": round(
            per_document(classifier.classify, texts, args.repeats), 5
        ),
        "sweep_seconds_per_object": round(sweep_seconds_per_run(args.repeats) / SWEPT, 6),
        "measured_on": str(date.today()),
        "machine": f"{os.cpu_count()} cores, Python {platform.python_version()}",
        "command": ".venv/bin/python bench/stage_durations.py",
    }
    OUTPUT.write_text(json.dumps(figures, indent=2) + "\n")
    print(json.dumps(figures, indent=2))


def _nltk_data() -> Path:
    from packager.nltk_data import bundle

    return bundle(ROOT / "dist" / "nltk_data")


if __name__ == "__main__":
    main()

"""OCR seconds per page: the handler's engines vs the raw tesseract CLI vs untuned pytesseract.

Run: `.venv/bin/python bench/ocr_bench.py [--pages 3] [--repeats 3]`

Same 300 DPI pages (rendered from known text) for every contender:
- cli:          `tesseract page.png out tsv` with OMP_THREAD_LIMIT=1 (the baseline)
- tesserocr:    `extract_text` on the PNG bytes, in-process engine (OCR_ENGINE=tesserocr,
                the default: one API object per process, pixels fed directly); goal: at most
                0.85x the cli's seconds per page
- binary:       `extract_text` on the PNG bytes through the tesseract binary
                (OCR_ENGINE=pytesseract: what runs when a user brings tesseract)
- handler:      `handlers.ocr.process_object` on an S3 event in moto (download, validate,
                OCR, write text, send the envelope): everything the Lambda does per document,
                with the default engine
- pdf:          the same pages as an image-only PDF through `extract_text` (rasterize + OCR)
- pytesseract:  `pytesseract.image_to_string(PIL image)` with OpenMP's default threads
Figures are medians per page; the machine is shared, so they are noisy. The in-process
engine loads its model once, on the first call: the warm-up run below pays it, as a cold
Lambda does once.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "handlers")]

import render  # noqa: E402

TEXT = (
    "Quarterly report for the third quarter. Revenue grew by twelve percent compared with the "
    "same period last year, while operating costs remained stable. The analysis below covers "
    "sales, margins and the results of the new regional offices. Our findings show that "
    "customers in the northern region ordered more often, and that delivery times fell from "
    "five days to three. We recommend extending the pilot to the western region.\n"
) * 4


GOAL = 0.85  # the in-process engine's seconds per page, at most this times the cli's


def median_seconds(run: Callable[[], object], repeats: int) -> float:
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def cli(paths: list[Path], tmp: Path) -> None:
    env = {**os.environ, "OMP_THREAD_LIMIT": "1"}
    for path in paths:
        subprocess.run(
            ["tesseract", str(path), str(tmp / path.stem), "tsv"],
            check=True, env=env, capture_output=True,
        )  # fmt: skip


def pytesseract_default_threads(paths: list[Path]) -> None:
    """In a child process whose environment has no OMP_THREAD_LIMIT at all."""
    code = (
        "import sys, pytesseract\nfrom PIL import Image\n"
        "for p in sys.argv[1:]:\n    pytesseract.image_to_string(Image.open(p))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "OMP_THREAD_LIMIT"}
    subprocess.run([sys.executable, "-c", code, *map(str, paths)], check=True, env=env)


def handler_in_moto(datas: list[bytes]) -> Callable[[], None]:
    """A closure that runs the OCR handler on each page as an uploaded object."""
    os.environ.update(
        AWS_DEFAULT_REGION="us-east-1", AWS_ACCESS_KEY_ID="x", AWS_SECRET_ACCESS_KEY="x",
        DOCPIPE_BUCKET="bench-docs", OMP_THREAD_LIMIT="1", POWERTOOLS_METRICS_DISABLED="true",
    )  # fmt: skip
    from moto import mock_aws

    from handlers import envelope, ocr, runtime

    mock = mock_aws()
    mock.start()
    runtime.reset_clients()
    s3 = runtime.client("s3")
    s3.create_bucket(Bucket="bench-docs")
    queue = runtime.client("sqs").create_queue(QueueName="bench-summarize")["QueueUrl"]
    os.environ["DOCPIPE_NEXT_QUEUE_URL"] = queue
    for n, data in enumerate(datas):
        s3.put_object(Bucket="bench-docs", Key=f"incoming/page{n}.png", Body=data)

    def run() -> None:
        for n in range(len(datas)):
            ocr.process_object(envelope.ObjectRef("bench-docs", f"incoming/page{n}.png"))

    return run


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pages", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    os.environ["OMP_THREAD_LIMIT"] = "1"
    from handlers.config import OcrLimits
    from handlers.ocr_engine import extract_text

    inproc, binary = OcrLimits(engine="tesserocr"), OcrLimits(engine="pytesseract")

    images = [render.render_page(TEXT) for _ in range(args.pages)]
    datas = [render.to_bytes(image, "PNG") for image in images]
    pdf = render.image_pdf(images)
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        paths = []
        for n, data in enumerate(datas):
            paths.append(tmp / f"page{n}.png")
            paths[-1].write_bytes(data)
        handler = handler_in_moto(datas)
        extract_text(datas[0], "warm-up.png", inproc)  # loads the model, as a cold start does
        results = {
            "cli": median_seconds(lambda: cli(paths, tmp), args.repeats),
            "tesserocr": median_seconds(
                lambda: [extract_text(d, "p.png", inproc) for d in datas], args.repeats
            ),
            "binary": median_seconds(
                lambda: [extract_text(d, "p.png", binary) for d in datas], args.repeats
            ),
            "handler": median_seconds(handler, args.repeats),
            "pdf": median_seconds(lambda: extract_text(pdf, "p.pdf", inproc), args.repeats),
            "pytesseract": median_seconds(lambda: pytesseract_default_threads(paths), args.repeats),
        }
    per_page = {name: seconds / args.pages for name, seconds in results.items()}
    print(f"{args.pages} pages at 300 DPI, median of {args.repeats}, {os.cpu_count()} cores")
    for name, seconds in per_page.items():
        ratio = seconds / per_page["cli"]
        print(f"  {name:12} {seconds:6.3f} s/page  ({ratio:5.2f}x cli)")
    ratio = per_page["tesserocr"] / per_page["cli"]
    verdict = "met" if ratio <= GOAL else "missed"
    print(
        f"in-process engine: {ratio:.2f}x the cli's seconds per page (goal <= {GOAL}x: {verdict})"
    )


if __name__ == "__main__":
    main()

"""Peak memory per page pixel while a page is OCR'd: the factor behind the pixel budgets.

Run: `.venv/bin/python bench/pixel_bench.py`

Each case runs `extract_text` once in a fresh interpreter that first loads everything a warm
OCR function holds (boto3, Powertools, PIL, pypdfium2, the engine and its model, a tiny page
OCR'd): its peak RSS then is the baseline. The case's peak RSS above that baseline, divided
by the page's pixels, is the bytes per pixel that contract/ocr.py budgets with
(BYTES_PER_PIXEL); the baseline plus the largest document's bytes is RESERVED_MB. For the
tesseract binary, its own peak (RUSAGE_CHILDREN) adds to ours: Lambda counts every process.
Also the hostile PDF of issue 12 (three blank 200 x 200 inch pages, under 600 bytes) under
the budgets of a 512 MB and a 2048 MB function, and under the old limit (20,000 px a side).

Peaks are VmHWM (Linux: reset by exec, unlike ru_maxrss). The tesseract binary's peak is
ru_maxrss of the children, which also counts the Python process it was forked from: an upper
bound, added to ours as if both peaked at once.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CASE = """
import json, resource, sys, time
sys.path[:0] = [{root!r}, {root!r} + "/tests/handlers"]
import boto3, aws_lambda_powertools.utilities.batch, render
from handlers.config import OcrLimits
from handlers.ocr_engine import extract_text

limits = OcrLimits(engine={engine!r}, max_page_pixels={page_budget!r}, max_document_pixels=10**12)
tiny = render.to_bytes(render.render_page("warm up").crop((0, 0, 800, 400)), "PNG")
extract_text(tiny, "warm.png", limits)
data = open({path!r}, "rb").read()
def high_water_mb():  # this process's peak RSS since exec (ru_maxrss survives exec on Linux)
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
base = high_water_mb()
start = time.perf_counter()
result = extract_text(data, "case", limits)
seconds = time.perf_counter() - start
peak = high_water_mb()
children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
print(json.dumps({{"base": base, "peak": peak, "children": children, "seconds": seconds,
                  "bytes": len(data), "pages": result.pages}}))
"""


def document(kind: str, megapixels: float, folder: Path) -> tuple[Path, int]:
    """A dense text page tiled up to `megapixels`, written as `kind`; its path and pixels."""
    import render
    from PIL import Image

    page = render.render_page("Quarterly report for the third quarter, revenue and costs. " * 40)
    scale = (megapixels * 1e6 / (page.width * page.height)) ** 0.5
    size = (int(page.width * scale), int(page.height * scale))
    image = Image.new("L", size, 255)
    for x in range(0, size[0], page.width):
        for y in range(0, size[1], page.height):
            image.paste(page, (x, y))
    if kind == "rgb-jpeg":
        data = render.to_bytes(image.convert("RGB"), "JPEG", quality=80)
    elif kind == "gray-pdf":
        data = render.image_pdf([image])
    else:
        data = render.to_bytes(image, "PNG")
    path = folder / f"{kind}-{megapixels}"
    path.write_bytes(data)
    return path, size[0] * size[1]


def run(path: Path, engine: str, page_budget: int) -> dict[str, float]:
    code = CASE.format(root=str(ROOT), path=str(path), engine=engine, page_budget=page_budget)
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def main() -> None:
    sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "handlers")]
    import render

    from contract.ocr import BYTES_PER_PIXEL, RESERVED_MB, page_pixel_budget

    big = 10**10  # no page budget: measure the page as it is
    print(f"{'case':34} {'MP':>6} {'base MB':>8} {'peak MB':>8} {'B/pixel':>8} {'s':>6}")
    with tempfile.TemporaryDirectory() as tmp:
        cases = [
            (kind, *document(kind, megapixels, Path(tmp)))
            for kind in ("gray-png", "rgb-jpeg", "gray-pdf")
            for megapixels in (8.7, 35.0)
        ]
        for engine in ("tesserocr", "pytesseract"):
            for kind, path, pixels in cases:
                r = run(path, engine, big)
                # the binary's peak is its own process: it adds to ours while it runs
                peak = r["peak"] + (r["children"] if engine == "pytesseract" else 0)
                per_pixel = (peak - r["base"]) * 1024 * 1024 / pixels
                print(
                    f"{engine + ' ' + kind:34} {pixels / 1e6:6.1f} {r['base']:8.0f} "
                    f"{peak:8.0f} {per_pixel:8.1f} {r['seconds']:6.2f}"
                )
        print(f"\nbudget: {BYTES_PER_PIXEL} bytes per pixel above {RESERVED_MB} MB reserved")
        print("hostile PDF: 3 blank pages of 200 x 200 inches")
        hostile = Path(tmp) / "hostile.pdf"
        hostile.write_bytes(render.blank_pdf(3, 14400, 14400))
        for label, budget in (
            ("512 MB function", page_pixel_budget(512)),
            ("2048 MB function", page_pixel_budget(2048)),
            ("old limit (20,000 px a side)", 400_000_000),
        ):
            r = run(hostile, "tesserocr", budget)
            print(
                f"  {label:30} page budget {budget / 1e6:6.1f} MP  {r['bytes']:.0f} bytes  "
                f"peak {r['peak']:6.0f} MB (base {r['base']:.0f})  {r['seconds']:6.2f} s"
            )


if __name__ == "__main__":
    main()

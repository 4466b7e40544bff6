"""The OCR function's tesseract: from its own layer by default, or one the user brings.

Without `ocr_layer_arn` or `ocr_image_uri`, `make build` put tesserocr (libtesseract and
leptonica inside its wheel) and the traineddata of every language of `ocr_language` in the OCR
function's own dependency layer: the function runs tesseract in process
(`OCR_ENGINE=tesserocr`) and finds the models at `TESSDATA_PREFIX` (/opt/python/tessdata).
With either override the user brings a `tesseract` binary: `OCR_ENGINE=pytesseract`, and the
binary finds its own models.

Also here: the pixel budgets the OCR function gets from its memory and page limit
(handlers/config.py says how they are measured), and the checks that the built layers match
the stack (Python version, OCR languages) beside the architecture check in pipeline.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pulumi

from components.queue_function import DEFAULT_RUNTIME
from components.validation import Problems, is_known
from handlers.config import (
    MAX_DOCUMENT_PIXELS_ENV,
    MAX_PAGE_PIXELS_ENV,
    OCR_ENGINE_ENV,
    TESSDATA_ENV,
    document_pixel_budget,
    page_pixel_budget,
)
from packager.build import OCR_LANGUAGES_FILE, PYTHON_VERSION_FILE
from packager.tessdata import LAMBDA_TESSDATA_PREFIX, TessdataError, languages


def brings_own_tesseract(s: Mapping[str, Any]) -> bool:
    return s.get("ocr_layer_arn") is not None or s.get("ocr_image_uri") is not None


def engine(s: Mapping[str, Any]) -> str:
    """tesserocr from the function's own layer, unless the user brings a tesseract binary."""
    return "pytesseract" if brings_own_tesseract(s) else "tesserocr"


def environment(
    s: Mapping[str, Any], memory_size: Any, max_pages: pulumi.Input[str]
) -> dict[str, pulumi.Input[str]]:
    """The OCR function's engine variables and pixel budgets (docs/runtime-contract.md)."""
    env: dict[str, pulumi.Input[str]] = {
        OCR_ENGINE_ENV: engine(s),
        MAX_PAGE_PIXELS_ENV: _apply(memory_size, page_pixel_budget),
        MAX_DOCUMENT_PIXELS_ENV: _apply(max_pages, document_pixel_budget),
    }
    if engine(s) == "tesserocr":
        env[TESSDATA_ENV] = LAMBDA_TESSDATA_PREFIX
    return env


def _apply(value: Any, budget: Any) -> pulumi.Input[str]:
    if is_known(value):
        return str(budget(int(value)))
    return pulumi.Output.from_input(value).apply(lambda known: str(budget(int(known))))


def check_language(problems: Problems, s: Mapping[str, Any]) -> None:
    try:
        languages(s["ocr_language"])
    except TessdataError as exc:
        problems.add("ocr_language", str(exc))


def check_built_layers(problems: Problems, s: Mapping[str, Any]) -> None:
    """The layers' wheels are for one CPython (tesserocr and Pillow are compiled per version),
    and the OCR layer holds the traineddata of the languages it was built with: a mismatch
    fails at import or on the first document, after the deploy succeeded."""
    build_dir = s["build_dir"]
    python = DEFAULT_RUNTIME.removeprefix("python")
    built = _record(build_dir, PYTHON_VERSION_FILE)
    if built != python:
        found = f"was built for Python {built}" if built else f"has no {PYTHON_VERSION_FILE} record"
        problems.add(
            "build_dir",
            f"{build_dir} {found}, the functions run {DEFAULT_RUNTIME}: run "
            f"`python -m packager --python-version {python}`",
        )
    if engine(s) != "tesserocr":
        return
    try:
        wanted = languages(s["ocr_language"])
    except TessdataError:
        return  # check_language reports it
    held = _record(build_dir, OCR_LANGUAGES_FILE)
    missing = [lang for lang in wanted if lang not in (held or "").split("+")]
    if missing:
        problems.add(
            "build_dir",
            f"{build_dir}'s OCR layer holds {held or 'no recorded languages'}, the stack's "
            f"ocr_language {s['ocr_language']!r} needs {'+'.join(missing)} too: run "
            f"`make build OCR_LANGUAGE={s['ocr_language']}`",
        )


def _record(build_dir: str, name: str) -> str | None:
    path = Path(build_dir, name)
    return path.read_text().strip() if path.is_file() else None

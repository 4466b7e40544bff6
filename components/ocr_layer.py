"""The OCR function's tesseract: from its own layer by default, or one the user brings.

Without `ocr_layer_arn` or `ocr_image_uri`, `make build` puts tesserocr (libtesseract and
leptonica inside its wheel) and the traineddata of every language of `ocr_language` in the OCR
function's own dependency layer: the function runs tesseract in process (`OCR_ENGINE`
tesserocr) and finds the models at `TESSDATA_PREFIX` (/opt/python/tessdata). With either
override the user brings a `tesseract` binary: `OCR_ENGINE` pytesseract, the binary finds its
own models, and `OMP_THREAD_LIMIT` 1 keeps its OpenMP threads from fighting over 1-2 vCPUs.

Also here: the pixel budgets from the function's memory and page limit (contract/ocr.py), and
the checks that the built layers match the stack (Python version, OCR languages) beside the
architecture check.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi

from components.validation import Problems, is_known
from contract import ocr
from contract.build import OCR_LANGUAGES_FILE, read_record


def brings_own_tesseract(s: Mapping[str, Any]) -> bool:
    return s.get("ocr_layer_arn") is not None or s.get("ocr_image_uri") is not None


def engine(s: Mapping[str, Any]) -> str:
    """tesserocr from the function's own layer, unless the user brings a tesseract binary."""
    return "pytesseract" if brings_own_tesseract(s) else ocr.DEFAULT_ENGINE


def settings(s: Mapping[str, Any], memory_size: Any, max_pages: Any) -> dict[str, Any]:
    """The OCR function's engine settings and pixel budgets, by the names the stage table
    gives them (None: the variable is not written)."""
    in_process = engine(s) == "tesserocr"
    return {
        "ocr_engine": engine(s),
        "tessdata_prefix": ocr.LAMBDA_TESSDATA if in_process else None,
        "omp_thread_limit": None if in_process else 1,
        "ocr_max_page_pixels": _apply(memory_size, ocr.page_pixel_budget),
        "ocr_max_document_pixels": _apply(max_pages, ocr.document_pixel_budget),
    }


def _apply(value: Any, budget: Any) -> Any:
    if is_known(value):
        return budget(int(value))
    return pulumi.Output.from_input(value).apply(lambda known: budget(int(known)))


def check_language(problems: Problems, s: Mapping[str, Any]) -> None:
    try:
        ocr.languages(s["ocr_language"])
    except ValueError as exc:
        problems.add("ocr_language", str(exc))


def check_built_languages(problems: Problems, s: Mapping[str, Any]) -> None:
    """The OCR layer holds the traineddata of the languages it was built with: a language it
    lacks fails on the first document, after the deploy succeeded."""
    if engine(s) != "tesserocr":
        return
    try:
        wanted = ocr.languages(s["ocr_language"])
    except ValueError:
        return  # check_language reports it
    held = read_record(s["build_dir"], OCR_LANGUAGES_FILE)
    missing = [lang for lang in wanted if lang not in (held or "").split("+")]
    if missing:
        problems.add(
            "build_dir",
            f"{s['build_dir']}'s OCR layer holds {held or 'no recorded languages'}, the stack's "
            f"ocr_language {s['ocr_language']!r} needs {'+'.join(missing)} too: run "
            f"`make build OCR_LANGUAGE={s['ocr_language']}`",
        )

"""The environment of every function: each variable's name, type, bounds and default, once.

The stack writes them (`Variable.encode`), the handlers read them (`Variable.read`). Which
function gets which variable is the stage table's business (`contract.stages`). A malformed
value is a deployment bug, not bad input: `read` raises `ValueError` naming the variable.
Values are read per call (cheap), so tests and local mode can change them without reloading.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from contract import ocr
from contract.categories import DEFAULT_CATEGORIES

Kind = Literal["str", "int", "float", "bool", "json"]
_TRUE, _FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off"}


@dataclass(frozen=True, eq=False)  # compared and hashed by identity: one object per variable
class Variable:
    name: str
    default: Any = None
    """The value when the variable is unset or empty; None: the stack always sets it."""
    kind: Kind = "str"
    minimum: float | None = None
    maximum: float | None = None
    doc: str = ""

    def encode(self, value: Any) -> str:
        """The variable's text as the stack writes it (JSON for lists and objects)."""
        if self.kind == "json":
            return json.dumps(value)
        if self.kind == "int":
            return str(int(value))
        if self.kind == "bool":
            return "true" if value else "false"
        return str(value)

    def read(self, environ: Mapping[str, str] | None = None) -> Any:
        raw = (os.environ if environ is None else environ).get(self.name, "")
        if raw == "":
            if self.default is None:
                raise ValueError(f"environment variable {self.name} is not set")
            return self.default
        value = self._parse(raw)
        self._check_bounds(value)
        return value

    def _parse(self, raw: str) -> Any:
        try:
            if self.kind == "int":
                return int(raw)
            if self.kind == "float":
                return float(raw)
            if self.kind == "bool":
                return _boolean(raw.strip().lower())
            if self.kind == "json":
                return json.loads(raw)
        except ValueError as exc:
            expected = {
                "int": "an integer",
                "float": "a number",
                "bool": "a boolean (true or false)",
                "json": "JSON",
            }[self.kind]
            raise ValueError(f"{self.name}={raw!r} is not {expected}") from exc
        return raw

    def _check_bounds(self, value: Any) -> None:
        if self.minimum is not None and value < self.minimum:
            raise ValueError(f"{self.name} must be at least {self.minimum:g}, got {value}")
        if self.maximum is not None and value > self.maximum:
            raise ValueError(f"{self.name} must be at most {self.maximum:g}, got {value}")


def _boolean(raw: str) -> bool:
    if raw in _TRUE | _FALSE:
        return raw in _TRUE
    raise ValueError(raw)


# -- every function ------------------------------------------------------------------------
STAGE = Variable("DOCPIPE_STAGE", doc="the stage this function runs")
BUCKET = Variable("DOCPIPE_BUCKET", doc="the document bucket")
SERVICE_NAME = Variable("POWERTOOLS_SERVICE_NAME", doc="`docpipe-<stage>`: logs and metrics")
METRICS_NAMESPACE = Variable(
    "POWERTOOLS_METRICS_NAMESPACE", default="docpipe", doc="the pipeline's CloudWatch namespace"
)
# -- by what the stage table says a stage does ---------------------------------------------
TABLE = Variable("DOCPIPE_TABLE", doc="the results table (stages with table access)")
NEXT_QUEUE_URL = Variable("DOCPIPE_NEXT_QUEUE_URL", doc="the queue of the stage this one feeds")
# -- stage settings --------------------------------------------------------------------------
OCR_LANGUAGE = Variable("OCR_LANGUAGE", default="eng", doc="tesseract language(s), e.g. eng+deu")
OCR_MAX_BYTES = Variable(
    "OCR_MAX_BYTES",
    default=26_214_400,  # 25 MiB: above the 20 MB the pipeline promises to accept
    kind="int",
    minimum=1,
    doc="largest upload accepted, in bytes",
)
OCR_MAX_PAGES = Variable(
    "OCR_MAX_PAGES",
    default=69,  # what the OCR stage's default timeout and memory allow (contract.ocr)
    kind="int",
    minimum=1,
    doc="longest document accepted, in pages",
)
OCR_ENGINE = Variable(
    "OCR_ENGINE",
    default=ocr.DEFAULT_ENGINE,
    doc="`tesserocr` (in process, from the function's layer) or `pytesseract` (a tesseract "
    "binary the user brings)",
)
TESSDATA_PREFIX = Variable(
    "TESSDATA_PREFIX",
    default="",
    doc="tesseract's folder of `<lang>.traineddata` (with tesserocr: the layer's); unset, "
    "the tessdata packages' folder in this environment",
)
OCR_MAX_PAGE_PIXELS = Variable(
    "OCR_MAX_PAGE_PIXELS",
    default=ocr.page_pixel_budget(ocr.DEFAULT_MEMORY_MB),
    kind="int",
    minimum=1,
    doc="largest page image OCR'd, from the function's memory (contract/ocr.py)",
)
OCR_MAX_DOCUMENT_PIXELS = Variable(
    "OCR_MAX_DOCUMENT_PIXELS",
    default=ocr.document_pixel_budget(OCR_MAX_PAGES.default),
    kind="int",
    minimum=1,
    doc="pixels OCR'd per document: the page limit's worth of A4 pages at 300 DPI",
)
OMP_THREAD_LIMIT = Variable(
    "OMP_THREAD_LIMIT",
    default=1,
    kind="int",
    minimum=1,
    doc="tesseract's OpenMP threads: one is 5-7x faster than the default on 1-2 vCPUs",
)
# What one document may unpack (handlers/formats/limits.py): its children (e-mail
# attachments, archive members) and the parts read from a ZIP container (DOCX, ODT, ZIP).
DOCUMENT_MAX_CHILDREN = Variable(
    "DOCUMENT_MAX_CHILDREN",
    default=100,
    kind="int",
    minimum=1,
    doc="attachments or archive members one document may yield",
)
DOCUMENT_MAX_DESCENDANTS = Variable(
    "DOCUMENT_MAX_DESCENDANTS",
    default=1000,
    kind="int",
    minimum=1,
    doc="documents one upload may yield in all, every level counted",
)
DOCUMENT_MAX_TOTAL_BYTES = Variable(
    "DOCUMENT_MAX_TOTAL_BYTES",
    default=100 * 1024 * 1024,
    kind="int",
    minimum=1,
    doc="decompressed bytes one document yields or reads: its children, or a DOCX's or "
    "ODT's XML parts",
)
DOCUMENT_MAX_MEMBER_BYTES = Variable(
    "DOCUMENT_MAX_MEMBER_BYTES",
    default=25 * 1024 * 1024,  # a child above the first stage's own OCR_MAX_BYTES is refused
    kind="int",
    minimum=1,
    doc="one member, attachment or XML part, decompressed",
)
DOCUMENT_MAX_COMPRESSION_RATIO = Variable(
    "DOCUMENT_MAX_COMPRESSION_RATIO",
    default=100,  # text deflates 3-10x, OOXML parts up to about 30x; 42.zip-style bombs 1000s
    kind="int",
    minimum=1,
    doc="decompressed / compressed size of one ZIP member",
)
DOCUMENT_MAX_DEPTH = Variable(
    "DOCUMENT_MAX_DEPTH",
    default=3,
    kind="int",
    minimum=0,  # 0: an upload may not yield any child
    doc="how deep below its upload (depth 0) a document may sit and still yield children",
)
DOCUMENT_EXPAND_ARCHIVES = Variable(
    "DOCUMENT_EXPAND_ARCHIVES",
    default=False,
    kind="bool",
    doc="whether a ZIP archive's members become documents; off, a ZIP is refused",
)
SUMMARY_MAX_SENTENCES = Variable(
    "SUMMARY_MAX_SENTENCES", default=5, kind="int", minimum=1, doc="sentences in a summary"
)
SUMMARY_MAX_CHARS = Variable(
    "SUMMARY_MAX_CHARS", default=1200, kind="int", minimum=1, doc="characters in a summary"
)
NLTK_DATA = Variable(
    "NLTK_DATA",
    default="/opt/python/nltk_data",  # the layer's data: not on nltk's default path in Lambda
    doc="nltk's data directory (punkt_tab)",
)
CLASSIFY_CATEGORIES = Variable(
    "CLASSIFY_CATEGORIES",
    default=DEFAULT_CATEGORIES,
    kind="json",
    doc='JSON list of {"name", "keywords": [...], "examples": [...]}',
)
CLASSIFY_THRESHOLD = Variable(
    "CLASSIFY_THRESHOLD",
    default=0.3,
    kind="float",
    minimum=0.0,
    maximum=1.0,
    doc="confidence below which a document is `unclassified`",
)
SWEEP_MIN_AGE_MINUTES = Variable(
    "SWEEP_MIN_AGE_MINUTES",
    default=120,
    kind="int",
    minimum=0,
    doc="re-enqueue, once, uploads older than this with no result",
)
SWEEP_MAX_AGE_MINUTES = Variable(
    "SWEEP_MAX_AGE_MINUTES",
    default=1440,
    kind="int",
    minimum=1,
    doc="uploads older than this are not looked up (swept already)",
)
COLLECT_SOURCES = Variable(
    "COLLECT_SOURCES",
    doc="the validated sources (contract/sources.py), compact JSON; Lambda caps a function's "
    "whole environment at 4 KB",
)
COLLECT_TIME_BUDGET_SECONDS = Variable(
    "COLLECT_TIME_BUDGET_SECONDS",
    default=600,
    kind="int",
    minimum=1,
    doc="seconds a run may start fetching; the function's timeout is this plus a fetch's "
    "worst case",
)
COLLECT_CONTACT = Variable(
    "COLLECT_CONTACT",
    default="",
    doc="who runs the collector (a URL or mailto:), in its User-Agent",
)
COLLECT_ALLOW_LOOPBACK = Variable(
    "COLLECT_ALLOW_LOOPBACK",
    default="",
    doc="`1` lets the collector reach loopback addresses: LOCAL MODE ONLY (its test web "
    "site on 127.0.0.1); a deployed stack never sets it",
)
SWEEP_MAX_PER_RUN = Variable(
    "SWEEP_MAX_PER_RUN", default=100, kind="int", minimum=1, doc="re-enqueues per sweep run"
)

"""Text from document bytes: tesseract for images, the text layer or tesseract for PDFs.

Pure: bytes in, `OcrResult` out, no AWS. PIL, pypdfium2 and pytesseract are imported on
first use so that importing this module (and the ocr handler) stays cheap.
"""

from __future__ import annotations

import io
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from contract import settings as env
from contract.errors import (
    CorruptImageError,
    CorruptPdfError,
    DocumentTooLargeError,
    EmptyDocumentError,
    EncryptedPdfError,
    UnsupportedTypeError,
)
from handlers.config import OcrLimits

RENDER_DPI = 300
# A page wider or taller than this many pixels at 300 DPI (about 1.7 m) is rendered smaller:
# tesseract gains nothing from it and the bitmap could exhaust the function's memory.
MAX_RENDER_SIDE_PX = 20_000
# A PDF page whose text layer holds fewer letters and digits than this is treated as a scan
# (a lone page number or a stray header is not the page's text).
MIN_TEXT_LAYER_CHARS = 16
PAGE_SEPARATOR = "\f"  # form feed, as tesseract and pdftotext separate pages

_NO_PAGES = re.compile(
    rb"/Type\s*/Pages\b[^>]*/Count\s+0(?![0-9])|/Count\s+0(?![0-9])[^>]*/Type\s*/Pages\b"
)
_SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"\xff\xd8\xff", "jpeg"),
    (b"II*\x00", "tiff"),
    (b"MM\x00*", "tiff"),
    (b"%PDF-", "pdf"),
)


@dataclass(frozen=True)
class PageText:
    text: str
    method: str  # "text-layer" or "ocr"
    words: int
    confidence_sum: float  # sum of word confidences in [0, 1]; 0 for text-layer pages


@dataclass(frozen=True)
class OcrResult:
    text: str
    pages: int
    confidence: float
    media_type: str
    page_methods: list[str]

    @property
    def ocr_pages(self) -> int:
        return self.page_methods.count("ocr")

    def to_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "pages": self.pages,
            "confidence": self.confidence,
            "media_type": self.media_type,
            "page_methods": self.page_methods,
            "ocr_pages": self.ocr_pages,
        }


def detect_type(data: bytes, source: str) -> str:
    """The document type from its first bytes; names and Content-Type can lie."""
    if not data:
        raise EmptyDocumentError("zero-byte file", source)
    for signature, kind in _SIGNATURES:
        if data.startswith(signature):
            return kind
    raise UnsupportedTypeError(
        f"unsupported file type (starts with {data[:8]!r}); expected PNG, JPEG, TIFF or PDF",
        source,
    )


def extract_text(data: bytes, source: str, limits: OcrLimits | None = None) -> OcrResult:
    """Text, page count and mean OCR confidence of one document.

    `confidence` is the mean tesseract word confidence over OCR'd words, in [0, 1]; text
    taken from a PDF text layer is exact, so a document without OCR'd words scores 1.0
    when it has text and 0.0 when it has none.
    """
    limits = limits or OcrLimits()
    if len(data) > limits.max_bytes:
        raise DocumentTooLargeError(
            f"{len(data)} bytes exceeds the {limits.max_bytes} limit", source
        )
    kind = detect_type(data, source)
    # tesseract's OpenMP threads fight each other on Lambda's 1-2 vCPUs: 5-7x slower.
    os.environ.setdefault(env.OMP_THREAD_LIMIT.name, str(env.OMP_THREAD_LIMIT.default))
    pages = (
        _pdf_pages(data, source, limits)
        if kind == "pdf"
        else _image_pages(data, kind, source, limits)
    )
    return _combine(pages, kind)


def _combine(pages: list[PageText], kind: str) -> OcrResult:
    words = sum(p.words for p in pages)
    text = PAGE_SEPARATOR.join(p.text for p in pages)
    if words:
        confidence = sum(p.confidence_sum for p in pages) / words
    else:
        confidence = 1.0 if text.strip() and any(p.method == "text-layer" for p in pages) else 0.0
    return OcrResult(
        text=text,
        pages=len(pages),
        confidence=round(confidence, 4),
        media_type=kind,
        page_methods=[p.method for p in pages],
    )


# --- images ------------------------------------------------------------------------------


def _image_pages(data: bytes, kind: str, source: str, limits: OcrLimits) -> list[PageText]:
    frames = _validate_image(data, kind, source, limits)
    with tempfile.TemporaryDirectory(prefix="docpipe-ocr-") as tmp:
        path = Path(tmp) / f"input.{kind}"
        path.write_bytes(data)
        # tesseract reads every page of a multi-page TIFF itself: one process, one model load.
        pages = _tesseract(path, limits.language)
    if len(pages) != frames:
        raise CorruptImageError(f"tesseract read {len(pages)} of {frames} pages", source)
    return pages


def _validate_image(data: bytes, kind: str, source: str, limits: OcrLimits) -> int:
    """Decode every frame once: a truncated file fails here with a clear message."""
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as image:
            frames = int(getattr(image, "n_frames", 1))
            if frames > limits.max_pages:
                raise DocumentTooLargeError(
                    f"{frames} pages exceeds the {limits.max_pages} page limit", source
                )
            for index in range(frames):
                image.seek(index)
                image.load()
    except Image.DecompressionBombError as exc:
        raise DocumentTooLargeError(f"image too large to decode safely ({exc})", source) from exc
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise CorruptImageError(f"cannot decode {kind.upper()} image ({exc})", source) from exc
    if frames == 0:
        raise EmptyDocumentError(f"{kind.upper()} image has no pages", source)
    return frames


def _tesseract(path: Path, language: str) -> list[PageText]:
    """OCR a file; one PageText per page (every page of a multi-page TIFF, blank ones too).

    One tesseract run writes TSV only: it holds each word with its page, block, paragraph,
    line and confidence, which is all the plain-text output holds, aligned to pages.
    """
    import pytesseract

    pytesseract.pytesseract.tesseract_cmd = os.environ.get("TESSERACT_CMD", "tesseract")
    tsv = pytesseract.image_to_data(str(path), lang=language)
    return pages_from_tsv(tsv)


def pages_from_tsv(tsv: str) -> list[PageText]:
    """Rebuild each page's text (lines, blank line between paragraphs) and word statistics."""
    pages: dict[int, dict[tuple[int, int], dict[int, list[str]]]] = {}
    stats: dict[int, list[float]] = {}
    for line in tsv.splitlines()[1:]:
        cells = line.split("\t")
        if len(cells) < 12:
            continue
        level, page = int(cells[0]), int(cells[1])
        paragraphs = pages.setdefault(page, {})
        if level != 5 or not cells[11].strip():
            continue  # level 1-4 rows are pages, blocks, paragraphs, lines; 5 are words
        paragraph = (int(cells[2]), int(cells[3]))
        paragraphs.setdefault(paragraph, {}).setdefault(int(cells[4]), []).append(cells[11])
        confidence = float(cells[10])
        if confidence >= 0:
            stats.setdefault(page, []).append(confidence / 100.0)
    return [
        PageText(
            text="\n\n".join(
                "\n".join(" ".join(words) for words in lines.values())
                for lines in pages[number].values()
            ),
            method="ocr",
            words=len(stats.get(number, [])),
            confidence_sum=sum(stats.get(number, [])),
        )
        for number in sorted(pages)
    ]


def _tidy(text: str) -> str:
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    return "\n".join(lines).strip("\n")


# --- PDF ---------------------------------------------------------------------------------


def _pdf_pages(data: bytes, source: str, limits: OcrLimits) -> list[PageText]:
    import pypdfium2 as pdfium

    pdf = _open_pdf(data, source)
    try:
        count = len(pdf)
        if count == 0:
            raise EmptyDocumentError("PDF has no pages", source)
        if count > limits.max_pages:
            raise DocumentTooLargeError(
                f"{count} pages exceeds the {limits.max_pages} page limit", source
            )
        with tempfile.TemporaryDirectory(prefix="docpipe-ocr-") as tmp:
            return [_pdf_page(pdf[i], Path(tmp), i, limits.language) for i in range(count)]
    except pdfium.PdfiumError as exc:
        raise CorruptPdfError(f"cannot read PDF page ({exc})", source) from exc
    finally:
        pdf.close()


def _open_pdf(data: bytes, source: str) -> Any:
    import pypdfium2 as pdfium
    import pypdfium2.raw as pdfium_c

    try:
        return pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        # PDFium's error code is process-global and can be stale (a page-less PDF fails with
        # the previous document's code), so confirm it against the file itself.
        encrypted = b"/Encrypt" in data
        if encrypted and exc.err_code == pdfium_c.FPDF_ERR_SECURITY:
            raise EncryptedPdfError("PDF uses an unsupported encryption scheme", source) from exc
        if encrypted:
            raise EncryptedPdfError("PDF is encrypted and needs a password", source) from exc
        if _NO_PAGES.search(data):
            raise EmptyDocumentError("PDF has no pages", source) from exc
        raise CorruptPdfError(f"cannot parse PDF ({exc})", source) from exc


def _pdf_page(page: Any, tmp: Path, index: int, language: str) -> PageText:
    try:
        text_page = page.get_textpage()
        try:
            text = _tidy(text_page.get_text_range())
        finally:
            text_page.close()
        if sum(ch.isalnum() for ch in text) >= MIN_TEXT_LAYER_CHARS:
            return PageText(text=text, method="text-layer", words=0, confidence_sum=0.0)
        image_path = _render(page, tmp / f"page-{index:04d}.png")
    finally:
        page.close()
    (ocr_page,) = _tesseract(image_path, language) or [PageText("", "ocr", 0, 0.0)]
    image_path.unlink()
    return ocr_page


def _render(page: Any, path: Path) -> Path:
    width, height = page.get_size()  # PDF points, 72 per inch
    scale = min(RENDER_DPI / 72, MAX_RENDER_SIDE_PX / max(width, height, 1))
    bitmap = page.render(scale=scale, grayscale=True)
    try:
        image = bitmap.to_pil()
        # PNG level 1: a tenth of level 6's encoding time, and the file never leaves /tmp.
        image.save(path, format="PNG", compress_level=1, dpi=(round(72 * scale),) * 2)
    finally:
        bitmap.close()
    return path

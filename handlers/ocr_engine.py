"""Text from document bytes: tesseract for images, the text layer or tesseract for PDFs.

Pure: bytes in, `OcrResult` out, no AWS. PIL, pypdfium2 and the OCR engine (handlers.tesseract:
tesserocr in process, or the tesseract binary) load on first use so that importing this module
(and the ocr handler) stays cheap.

Pixel budgets (OcrLimits, set by the stack from the function's memory and page limit) keep a
small hostile file from exhausting the function: a PDF page larger than the page budget is
rendered at a lower resolution, an image page larger than it is refused (decoding it to scale
it down would already cost the memory the budget protects), and a document whose pages add up
to more than the document budget is refused before any page is OCR'd.
"""

from __future__ import annotations

import io
import math
import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

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
from handlers.formats.sniff import SCAN_SIGNATURES
from handlers.tesseract import Engine, PageText, engine, pages_from_tsv

if TYPE_CHECKING:
    from PIL import Image

__all__ = ["OcrResult", "PageText", "detect_type", "extract_text", "pages_from_tsv"]

RENDER_DPI = 300
# A page wider or taller than this many pixels is rendered smaller whatever the budget:
# tesseract keeps coordinates in 16 bits and gains nothing from more.
MAX_RENDER_SIDE_PX = 20_000
# A PDF page whose text layer holds fewer letters and digits than this is treated as a scan
# (a lone page number or a stray header is not the page's text).
MIN_TEXT_LAYER_CHARS = 16
PAGE_SEPARATOR = "\f"  # form feed, as tesseract and pdftotext separate pages

_NO_PAGES = re.compile(
    rb"/Type\s*/Pages\b[^>]*/Count\s+0(?![0-9])|/Count\s+0(?![0-9])[^>]*/Type\s*/Pages\b"
)
# The engine's kinds by their magic numbers: `png`, `jpeg`, `tiff`, `pdf` (the subtype).
_SIGNATURES = tuple((magic, media.split("/")[1]) for magic, media in SCAN_SIGNATURES)


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
    reader = engine(limits.engine, limits.language)
    pages = (
        _pdf_pages(data, source, limits, reader)
        if kind == "pdf"
        else _image_pages(data, kind, source, limits, reader)
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


def _check_document_pixels(pixels: int, source: str, limits: OcrLimits) -> None:
    if pixels > limits.max_document_pixels:
        raise DocumentTooLargeError(
            f"its pages add up to {_megapixels(pixels)} megapixels, above this function's "
            f"document budget of {_megapixels(limits.max_document_pixels)} "
            f"({env.OCR_MAX_DOCUMENT_PIXELS.name}={limits.max_document_pixels}, "
            "the work its timeout allows)",
            source,
        )


def _megapixels(pixels: int) -> str:
    return f"{pixels / 1e6:.1f}"


# --- images ------------------------------------------------------------------------------


def _image_pages(
    data: bytes, kind: str, source: str, limits: OcrLimits, reader: Engine
) -> list[PageText]:
    from PIL import Image

    # PIL refuses to open an image above twice MAX_IMAGE_PIXELS and warns above it: as an
    # error, the warning stops anything above the page budget before a pixel is decoded.
    Image.MAX_IMAGE_PIXELS = limits.max_page_pixels
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        with _open_image(data, kind, source, limits) as image:
            count = _check_frames(image, kind, source, limits)
            pages = reader.read_image_file(data, kind, _decoded(image, count, kind, source))
    if len(pages) != count:
        raise CorruptImageError(f"tesseract read {len(pages)} of {count} pages", source)
    return pages


def _open_image(data: bytes, kind: str, source: str, limits: OcrLimits) -> Image.Image:
    from PIL import Image

    try:
        return Image.open(io.BytesIO(data))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise _page_too_large(str(exc), source, limits) from exc
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise CorruptImageError(f"cannot decode {kind.upper()} image ({exc})", source) from exc


def _check_frames(image: Image.Image, kind: str, source: str, limits: OcrLimits) -> int:
    """The page count, each page's and the document's pixels checked against the limits from
    the file's headers only (a TIFF's pages are seeked, not decoded)."""
    try:
        count = int(getattr(image, "n_frames", 1))
        if count > limits.max_pages:
            raise DocumentTooLargeError(
                f"{count} pages exceeds the {limits.max_pages} page limit", source
            )
        total = 0
        for index in range(count):
            image.seek(index)
            width, height = image.size
            if width * height > limits.max_page_pixels:
                raise _page_too_large(
                    f"page {index + 1} is {width}x{height} pixels", source, limits
                )
            total += width * height
        image.seek(0)
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise CorruptImageError(f"cannot decode {kind.upper()} image ({exc})", source) from exc
    if count == 0:
        raise EmptyDocumentError(f"{kind.upper()} image has no pages", source)
    _check_document_pixels(total, source, limits)
    return count


def _page_too_large(what: str, source: str, limits: OcrLimits) -> DocumentTooLargeError:
    return DocumentTooLargeError(
        f"{what}: above this function's page budget of "
        f"{_megapixels(limits.max_page_pixels)} megapixels ({env.OCR_MAX_PAGE_PIXELS.name}="
        f"{limits.max_page_pixels}, from its memory); scan at 300 DPI or give the ocr "
        "function more memory",
        source,
    )


def _decoded(image: Image.Image, count: int, kind: str, source: str) -> Iterator[Image.Image]:
    """Each page in turn, decoded: a truncated or damaged page fails here, typed."""
    for index in range(count):
        try:
            image.seek(index)
            image.load()
        except (OSError, SyntaxError, ValueError, EOFError) as exc:
            raise CorruptImageError(
                f"cannot decode {kind.upper()} image, page {index + 1} ({exc})", source
            ) from exc
        yield image


def _tidy(text: str) -> str:
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    return "\n".join(lines).strip("\n")


# --- PDF ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _PdfPagePlan:
    """A page's text layer, or the scale it will be rendered at for OCR."""

    text: PageText | None
    scale: float = 0.0
    pixels: int = 0


def _pdf_pages(data: bytes, source: str, limits: OcrLimits, reader: Engine) -> list[PageText]:
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
        # Plan every page first (text layer or render size): a document over its pixel budget
        # is refused before the first page is rendered.
        plans = [_plan(pdf[index], limits) for index in range(count)]
        _check_document_pixels(sum(plan.pixels for plan in plans), source, limits)
        return [
            plan.text or _ocr_pdf_page(pdf, i, plan.scale, reader) for i, plan in enumerate(plans)
        ]
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


def _plan(page: Any, limits: OcrLimits) -> _PdfPagePlan:
    try:
        text_page = page.get_textpage()
        try:
            text = _tidy(text_page.get_text_range())
        finally:
            text_page.close()
        if sum(ch.isalnum() for ch in text) >= MIN_TEXT_LAYER_CHARS:
            return _PdfPagePlan(
                PageText(text=text, method="text-layer", words=0, confidence_sum=0.0)
            )
        width, height = page.get_size()  # PDF points, 72 per inch
    finally:
        page.close()
    scale = render_scale(width, height, limits.max_page_pixels)
    return _PdfPagePlan(None, scale, math.ceil(width * scale) * math.ceil(height * scale))


def render_scale(width_pt: float, height_pt: float, max_pixels: int) -> float:
    """300 DPI, or less for a page that would be larger than `max_pixels` or than
    MAX_RENDER_SIDE_PX a side (rounded down: the rendered bitmap stays within both)."""
    width, height = max(width_pt, 1.0), max(height_pt, 1.0)
    fits = min(math.sqrt(max_pixels / (width * height)), MAX_RENDER_SIDE_PX / max(width, height))
    return min(RENDER_DPI / 72, fits * 0.999)


def _ocr_pdf_page(pdf: Any, index: int, scale: float, reader: Engine) -> PageText:
    page = pdf[index]
    try:
        bitmap = page.render(scale=scale, grayscale=True)
    finally:
        page.close()
    try:
        image = bitmap.to_pil()
        image.info["dpi"] = (round(72 * scale),) * 2
        return reader.read_page(image)
    finally:
        bitmap.close()

"""One entry point for every kind: detect by content, then extract by kind."""

from __future__ import annotations

from contract.errors import DocumentTooLargeError, UnsupportedTypeError
from handlers.config import OcrLimits
from handlers.formats.limits import ENV_NAMES, DocumentLimits
from handlers.formats.model import Extracted, MediaType
from handlers.formats.sniff import detect


def extract_document(
    data: bytes,
    source: str,
    limits: DocumentLimits | None = None,
    *,
    ocr_limits: OcrLimits | None = None,
    depth: int = 0,
) -> Extracted:
    """The text of one document of any accepted kind, and its children.

    `source` names the document in errors. `depth` is how far below its upload the document
    sits (0 for an upload, its children 1, ...): past `limits.max_depth` it may not have
    children. `ocr_limits` bound every kind's size and the OCR engine's pages and language.
    Raises a `DocumentError` subclass for anything wrong with the document itself.
    """
    limits = limits or DocumentLimits()
    ocr_limits = ocr_limits or OcrLimits()
    if len(data) > ocr_limits.max_bytes:
        raise DocumentTooLargeError(
            f"{len(data)} bytes exceeds the {ocr_limits.max_bytes} limit", source
        )
    kind = detect(data, source)
    if kind.needs_ocr_engine:
        return _scanned(data, source, kind, ocr_limits)
    if kind in (MediaType.TEXT, MediaType.MARKDOWN):
        return _plain(data, kind)
    if kind in (MediaType.HTML, MediaType.XHTML):
        from handlers.formats import htmltext

        return htmltext.extract(data, source, kind)
    if kind is MediaType.EMAIL:
        from handlers.formats import mail

        return mail.extract(data, source, limits, depth)
    if kind is MediaType.DOCX:
        from handlers.formats import docx

        return docx.extract(data, source, limits)
    if kind is MediaType.ODT:
        from handlers.formats import odt

        return odt.extract(data, source, limits)
    return _archive(data, source, limits, depth)


def _scanned(data: bytes, source: str, kind: MediaType, ocr_limits: OcrLimits) -> Extracted:
    from handlers.ocr_engine import extract_text

    result = extract_text(data, source, ocr_limits)
    return Extracted(
        text=result.text,
        pages=result.pages,
        confidence=result.confidence,
        media_type=kind,
        method="+".join(sorted(set(result.page_methods), reverse=True)) or "ocr",
        ocr_pages=result.ocr_pages,
    )


def _plain(data: bytes, kind: MediaType) -> Extracted:
    from handlers.formats.textcodec import decode_text

    decoded = decode_text(data)
    assert decoded is not None, "detect() returns TEXT or MARKDOWN only for decodable bytes"
    text = decoded.text.replace("\r\n", "\n").replace("\r", "\n")
    return Extracted(text=text.strip(), pages=1, confidence=1.0, media_type=kind,
                     method="decoded", encoding=decoded.encoding)  # fmt: skip


def _archive(data: bytes, source: str, limits: DocumentLimits, depth: int) -> Extracted:
    if not limits.expand_archives:
        raise UnsupportedTypeError(
            f"ZIP archive: archive expansion is off ({ENV_NAMES['expand_archives']})", source
        )
    from handlers.formats import archive

    return archive.extract(data, source, limits, depth)

"""The media type of a collected document, from its first bytes (never from Content-Type).

A server's Content-Type is often wrong (`application/octet-stream` for a PDF, `text/html` for
an error page served with status 200), so the collector stores the type the bytes show, and
keeps the declared one beside it as metadata. One small function, the one place to swap in a
richer detector (text, HTML, e-mail, DOCX, ODT) when the pipeline learns those formats.
"""

from __future__ import annotations

from contract.errors import DocumentError
from handlers.ocr_engine import detect_type

OCTET_STREAM = "application/octet-stream"
# The OCR stage's own signatures (handlers/ocr_engine.py), as media types.
_OCR_TYPES = {
    "pdf": "application/pdf",
    "png": "image/png",
    "jpeg": "image/jpeg",
    "tiff": "image/tiff",
}
_MORE_SIGNATURES = (
    (b"\x1f\x8b", "application/gzip"),
    (b"PK\x03\x04", "application/zip"),  # also DOCX, ODT, XLSX: containers of their own
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)
_UTF8_BOM = b"\xef\xbb\xbf"
SNIFF_BYTES = 512  # enough for every signature and a leading XML declaration or doctype


def sniff_media_type(data: bytes) -> str:
    """`application/pdf`, `image/png`, ..., `text/html`, `application/xml`, `text/plain`,
    or `application/octet-stream` when the bytes say nothing recognisable."""
    try:
        return _OCR_TYPES[detect_type(data, "document")]
    except DocumentError:
        pass
    for signature, media_type in _MORE_SIGNATURES:
        if data.startswith(signature):
            return media_type
    return _markup_or_text(data[:SNIFF_BYTES])


def _markup_or_text(head: bytes) -> str:
    head = head.removeprefix(_UTF8_BOM)
    lowered = head.lstrip().lower()
    if lowered.startswith((b"<!doctype html", b"<html")):
        return "text/html"
    if lowered.startswith(b"<?xml") or lowered.startswith(b"<rss") or lowered.startswith(b"<feed"):
        return "application/xml"
    if not head or b"\x00" in head:
        return OCTET_STREAM
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 3:  # a character cut at the end of the window is fine
            return OCTET_STREAM
    return "text/plain"

"""What extraction yields: the detected media type, the text, and the children to process."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class MediaType(StrEnum):
    """Every kind the first stage accepts, by its registered MIME type."""

    PNG = "image/png"
    JPEG = "image/jpeg"
    TIFF = "image/tiff"
    PDF = "application/pdf"
    TEXT = "text/plain"
    MARKDOWN = "text/markdown"
    HTML = "text/html"
    XHTML = "application/xhtml+xml"
    EMAIL = "message/rfc822"
    DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    ODT = "application/vnd.oasis.opendocument.text"
    ZIP = "application/zip"

    @property
    def needs_ocr_engine(self) -> bool:
        """Scans and PDFs go to tesseract or the PDF text layer; the rest carry their text."""
        return self in _OCR_ENGINE_TYPES


SUFFIXES: dict[MediaType, tuple[str, ...]] = {
    MediaType.PNG: (".png",),
    MediaType.JPEG: (".jpg", ".jpeg"),
    MediaType.TIFF: (".tif", ".tiff"),
    MediaType.PDF: (".pdf",),
    MediaType.TEXT: (".txt", ".text"),
    MediaType.MARKDOWN: (".md", ".markdown"),
    MediaType.HTML: (".html", ".htm"),
    MediaType.XHTML: (".xhtml",),
    MediaType.EMAIL: (".eml",),
    MediaType.DOCX: (".docx",),
    MediaType.ODT: (".odt",),
    MediaType.ZIP: (".zip",),
}
"""The names files of each kind usually have: what a folder scan picks up. The pipeline
itself never trusts a name; it detects the kind from the bytes."""

_OCR_ENGINE_TYPES = frozenset({MediaType.PNG, MediaType.JPEG, MediaType.TIFF, MediaType.PDF})

# A child whose bytes match no accepted kind: still a document of its own, so that the
# pipeline records its rejection instead of dropping it.
UNKNOWN_MEDIA_TYPE = "application/octet-stream"


@dataclass(frozen=True)
class Child:
    """An e-mail attachment or archive member that becomes a document of its own.

    `path` is unique within the parent and safe as the tail of an S3 key (no `..`, no
    leading `/`, no backslashes); `name` is its last component.
    """

    name: str
    path: str
    media_type: str
    data: bytes = field(repr=False)

    @property
    def size(self) -> int:
        return len(self.data)

    def summary(self) -> dict[str, Any]:
        return {"name": self.name, "path": self.path, "media_type": self.media_type,
                "size": self.size}  # fmt: skip


@dataclass(frozen=True)
class Extracted:
    """The text of one document and how it was obtained.

    `method`: `ocr`, `text-layer` (PDF), `text-layer+ocr` (a PDF with both kinds of page),
    `decoded` (plain text, Markdown), `html`, `email`, `docx`, `odt` or `archive`.
    `confidence` is tesseract's mean word confidence for OCR'd pages and 1.0 for text the
    format carries. `encoding` is the character set the text was decoded from, where the
    format has one. `ocr_pages` counts the pages tesseract read.
    """

    text: str
    pages: int
    confidence: float
    media_type: str
    method: str
    children: tuple[Child, ...] = ()
    encoding: str | None = None
    ocr_pages: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "pages": self.pages,
            "confidence": self.confidence,
            "media_type": self.media_type,
            "method": self.method,
            "encoding": self.encoding,
            "ocr_pages": self.ocr_pages,
            "children": [child.summary() for child in self.children],
        }

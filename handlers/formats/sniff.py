"""What a document is, from its bytes: magic numbers, then structure. Never the file name
or the Content-Type an uploader or a mail client chose, which can lie."""

from __future__ import annotations

import re

from contract.errors import DocumentError, EmptyDocumentError, UnsupportedTypeError
from handlers.formats.model import UNKNOWN_MEDIA_TYPE, MediaType
from handlers.formats.textcodec import decode_text, head_text, is_markdown

SCAN_SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", MediaType.PNG),
    (b"\xff\xd8\xff", MediaType.JPEG),
    (b"II*\x00", MediaType.TIFF),
    (b"MM\x00*", MediaType.TIFF),
    (b"%PDF-", MediaType.PDF),
)
"""The magic numbers of the kinds the OCR engine reads (handlers/ocr_engine.py)."""
# A local file header (a ZIP with members) or an end-of-central-directory record (an empty ZIP).
_ZIP = (b"PK\x03\x04", b"PK\x05\x06")
_REFUSED = (
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",
     "a legacy Office file (OLE2: .doc, .xls, .ppt, .msg) or a password-protected Office file"),
    (b"{\\rtf", "an RTF document"),
)  # fmt: skip
ACCEPTED = "PNG, JPEG, TIFF, PDF, text, Markdown, HTML, e-mail, DOCX, ODT or ZIP"

# WHATWG MIME Sniffing, "rules for identifying an unknown MIME type" (tags that start an
# HTML document), plus a few common first tags of exported fragments.
_HTML_START = re.compile(
    r"<(?:!doctype\s+html|html|head|body|script|iframe|h[1-6]|div|font|table|a|style|title|b"
    r"|br|p|meta|link|section|article|header|main|nav|span|ul|ol|pre|center|form)[\s>/]"
    r"|<!--",
    re.I,
)
_XML_DECLARATION = re.compile(r"<\?xml\s", re.I)
# An XML document whose root element is html: prolog items (comments, PIs, a DOCTYPE) first.
_XHTML_ROOT = re.compile(r"<\?xml[^>]*>(?:\s|<!--.*?-->|<\?.*?\?>|<!DOCTYPE[^>]*>)*<html[\s>]",
                         re.I | re.S)  # fmt: skip
_XHTML_DOCTYPE = re.compile(r"<!DOCTYPE\s+html\s+PUBLIC\s+\"-//W3C//DTD XHTML", re.I)

# RFC 5322 header fields: a name of printable ASCII but the colon, then a colon.
_HEADER_FIELD = re.compile(rb"([!-9;-~]+)[ \t]*:")
_MAIL_FIELDS = {b"date", b"subject", b"to", b"message-id", b"mime-version", b"received",
                b"sender", b"reply-to", b"cc", b"content-type"}  # fmt: skip
_HEADER_SCAN_BYTES = 65_536


def detect(data: bytes, source: str) -> MediaType:
    """The media type of `data`, or a typed error: empty, or not a kind the stage accepts."""
    if not data:
        raise EmptyDocumentError("zero-byte file", source)
    for signature, kind in SCAN_SIGNATURES:
        if data.startswith(signature):
            return kind
    if data.startswith(_ZIP):
        from handlers.formats import zipfiles

        return zipfiles.sniff(data, source)
    for signature, what in _REFUSED:
        if data.startswith(signature):
            raise UnsupportedTypeError(f"{what} is not supported; expected {ACCEPTED}", source)
    if looks_like_email(data):
        return MediaType.EMAIL
    markup = _markup_kind(head_text(data))
    if markup:
        return markup
    decoded = decode_text(data)
    if decoded is None:
        raise UnsupportedTypeError(
            f"unsupported file type (starts with {data[:8]!r}, not text in a known "
            f"encoding); expected {ACCEPTED}",
            source,
        )
    return MediaType.MARKDOWN if is_markdown(decoded.text) else MediaType.TEXT


def media_type_of(data: bytes) -> str:
    """For a child: its media type, or application/octet-stream for bytes no kind accepts
    (the child is still processed, and its rejection recorded)."""
    try:
        return detect(data, "child")
    except DocumentError:
        return UNKNOWN_MEDIA_TYPE


def looks_like_email(data: bytes) -> bool:
    """A header block of RFC 5322 fields up to the first empty line, with From and another
    field a message has (Date, Subject, To, Message-ID, ...). An mbox "From " line may
    precede it."""
    head = data[:_HEADER_SCAN_BYTES]
    lines = head.splitlines()
    if len(data) > len(head):
        lines = lines[:-1]  # possibly cut in the middle
    if lines and lines[0].startswith(b"From "):
        lines = lines[1:]
    fields: set[bytes] = set()
    for line in lines:
        if not line:
            break
        if line[:1] in (b" ", b"\t"):  # a folded continuation of the previous field
            if not fields:
                return False
            continue
        match = _HEADER_FIELD.match(line)
        if not match:
            return False
        fields.add(match[1].lower())
    return b"from" in fields and bool(fields & _MAIL_FIELDS)


def _markup_kind(head: str) -> MediaType | None:
    start = head.lstrip("\ufeff \t\r\n\f")
    if _XML_DECLARATION.match(start):
        return MediaType.XHTML if _XHTML_ROOT.match(start) else None
    if _XHTML_DOCTYPE.match(start):
        return MediaType.XHTML
    return MediaType.HTML if _HTML_START.match(start) else None

"""Typed errors for bad input: the reasons a document is rejected, shared by the handlers (which
raise them) and the tools that report them.

Every error a document or a message can cause derives from `DocumentError`, so the batch
processor can fail that record only (SQS retries it, then the redrive moves the original
message to the DLQ) while bugs in our own code still surface as ordinary exceptions.
"""

from __future__ import annotations


class DocumentError(Exception):
    """A document or message that cannot be processed; the message names what and which."""

    def __init__(self, problem: str, source: str | None = None) -> None:
        self.problem = problem
        self.source = source
        super().__init__(f"{source}: {problem}" if source else problem)


class UnsupportedTypeError(DocumentError):
    """The bytes are not a PNG, JPEG, TIFF or PDF."""


class CorruptDocumentError(DocumentError):
    """A file whose type is known but whose content cannot be decoded."""


class CorruptImageError(CorruptDocumentError):
    """An image that cannot be decoded: truncated or damaged."""


class CorruptPdfError(CorruptDocumentError):
    """A PDF that PDFium cannot parse."""


class EncryptedPdfError(DocumentError):
    """A PDF that needs a password to open."""


class EmptyDocumentError(DocumentError):
    """A zero-byte file, or a PDF or image without any page."""


class DocumentTooLargeError(DocumentError):
    """Over the configured byte or page limit."""


class InvalidEncodingError(DocumentError):
    """Text that is not valid UTF-8."""


class ObjectNotFoundError(DocumentError):
    """The object a message names does not exist (deleted, or a stale manual event)."""


class InvalidEnvelopeError(DocumentError):
    """A queue message that is not a known, valid envelope."""


class InvalidMetadataError(DocumentError):
    """An object whose docpipe metadata (a child's link to its parent) is malformed."""


# --- documents that carry their text (handlers.formats) ----------------------------------


class CorruptHtmlError(CorruptDocumentError):
    """HTML whose bytes are not text in its declared (or detected) character set."""


class CorruptEmailError(CorruptDocumentError):
    """An e-mail whose MIME structure is broken: missing boundaries, truncated parts."""


class CorruptDocxError(CorruptDocumentError):
    """A DOCX that is not a readable OOXML package: truncated ZIP, missing or malformed part."""


class CorruptOdtError(CorruptDocumentError):
    """An ODT that is not a readable OpenDocument package: truncated ZIP, no content.xml."""


class CorruptArchiveError(CorruptDocumentError):
    """A ZIP archive that cannot be read: truncated, bad CRC, unknown compression method."""


class EncryptedDocumentError(DocumentError):
    """A password-protected ZIP member or OpenDocument file."""


class UnsafeArchiveError(DocumentError):
    """A ZIP archive holding something never extracted, such as a symbolic link."""


class ContainerLimitError(DocumentTooLargeError):
    """An archive or e-mail over a bound on its children: count, total size, member size,
    compression ratio (a zip bomb) or nesting depth. `limit` names the setting exceeded."""

    def __init__(self, problem: str, source: str | None = None, limit: str = "") -> None:
        self.limit = limit
        super().__init__(problem, source)

"""Documents to text by content: scans and PDFs through the OCR engine; plain text,
Markdown, HTML, e-mail, DOCX, ODT and ZIP archives by their own formats.

Pure: bytes in, dataclasses out, no AWS. Importing this package loads the standard library
only; each format's parser (selectolax, email, zipfile, ElementTree, the OCR engine) is
imported when a document of that kind arrives.
"""

from handlers.formats.extract import extract_document
from handlers.formats.limits import ENV_NAMES, DocumentLimits
from handlers.formats.model import UNKNOWN_MEDIA_TYPE, Child, Extracted, MediaType
from handlers.formats.sniff import detect

__all__ = [
    "ENV_NAMES",
    "UNKNOWN_MEDIA_TYPE",
    "Child",
    "DocumentLimits",
    "Extracted",
    "MediaType",
    "detect",
    "extract_document",
]

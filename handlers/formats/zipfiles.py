"""ZIP containers read within bounds: which kind of package a ZIP is (DOCX, ODT, another
office format, a plain archive), and members decompressed without trusting their headers.

A member's stated sizes can lie, so every read is capped: `ZipExtFile.read(n)` inflates at
most `n` bytes, and stops at the stated size (the CRC check then fails on a lie).
"""

from __future__ import annotations

import io
import re
import zipfile
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field

from contract.errors import (
    ContainerLimitError,
    DocumentError,
    EncryptedDocumentError,
    UnsupportedTypeError,
)
from handlers.formats.limits import ENV_NAMES, DocumentLimits
from handlers.formats.model import MediaType

# The compression ratio is only checked above this size: a small, repetitive XML part
# (styles, settings) can deflate 200x and is harmless.
RATIO_EXEMPT_BYTES = 1024 * 1024
# OpenDocument requires a first member named `mimetype`, stored uncompressed (ODF 1.2 part 3,
# section 3.3); OOXML packages list their parts' types in [Content_Types].xml (ECMA-376 part 2).
ODF_MIMETYPE = "mimetype"
OOXML_CONTENT_TYPES = "[Content_Types].xml"
OOXML_RELATIONSHIPS = "_rels/.rels"
_ODF_TEXT = {"application/vnd.oasis.opendocument.text",
             "application/vnd.oasis.opendocument.text-template"}  # fmt: skip
_OTHER_PACKAGES = {
    "xl/": "an Excel workbook (XLSX)",
    "ppt/": "a PowerPoint presentation (PPTX)",
    "application/vnd.oasis.opendocument.spreadsheet": "an OpenDocument spreadsheet (ODS)",
    "application/vnd.oasis.opendocument.presentation": "an OpenDocument presentation (ODP)",
    "application/vnd.oasis.opendocument.graphics": "an OpenDocument drawing (ODG)",
    "application/epub+zip": "an EPUB book",
}
_LOCAL_HEADER = re.compile(rb"PK\x03\x04.{22}(..)(..)", re.S)
_SCAN_BYTES = 1024 * 1024
# What zipfile and its decompressors raise on damaged input.
ZIP_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, NotImplementedError)


def sniff(data: bytes, source: str) -> MediaType:
    """DOCX, ODT or ZIP for bytes that start with a ZIP local header, by their members.

    A truncated or damaged package has no readable central directory: its kind is then
    guessed from the local headers at its start, so that the error names a DOCX or an ODT.
    """
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = archive.namelist()
            mimetype = _read_mimetype(archive) if ODF_MIMETYPE in names else ""
    except ZIP_ERRORS:
        names, mimetype = _local_names(data)
    return _package_kind(names, mimetype, source)


def _package_kind(names: list[str], mimetype: str, source: str) -> MediaType:
    if mimetype in _ODF_TEXT:
        return MediaType.ODT
    # An OPC package lists its content types and its relationships; either is enough when
    # a truncated file has lost the other (LibreOffice writes the content types last).
    ooxml = OOXML_CONTENT_TYPES in names or OOXML_RELATIONSHIPS in names
    if ooxml and any(name.startswith("word/") for name in names):
        return MediaType.DOCX
    for marker, kind in _OTHER_PACKAGES.items():
        if mimetype == marker or (ooxml and any(name.startswith(marker) for name in names)):
            raise UnsupportedTypeError(f"{kind} is not supported; expected DOCX or ODT", source)
    return MediaType.ZIP


def _read_mimetype(archive: zipfile.ZipFile) -> str:
    try:
        with archive.open(ODF_MIMETYPE) as member:
            return member.read(128).decode("ascii", "replace").strip()
    except (*ZIP_ERRORS, RuntimeError):  # RuntimeError: an encrypted member
        return ""


def _local_names(data: bytes) -> tuple[list[str], str]:
    """Member names from the local headers in the first MiB, and the ODF mimetype if the
    first member is the stored `mimetype` (it directly follows its header)."""
    names, mimetype = [], ""
    for match in _LOCAL_HEADER.finditer(data, 0, _SCAN_BYTES):
        name_length = int.from_bytes(match[1], "little")
        extra_length = int.from_bytes(match[2], "little")
        start = match.end()
        name = data[start : start + name_length].decode("utf-8", "replace")
        names.append(name)
        if name == ODF_MIMETYPE and match.start() == 0:
            body = data[start + name_length + extra_length :][:128]
            mimetype = body.split(b"PK", 1)[0].decode("ascii", "replace").strip()
    return names, mimetype


def open_archive(data: bytes, source: str, error: type[DocumentError]) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(io.BytesIO(data))
    except ZIP_ERRORS as exc:
        raise error(f"truncated or damaged ZIP container ({exc})", source) from exc


@dataclass
class MemberReader:
    """Reads members of one container, each and all together within `limits`."""

    archive: zipfile.ZipFile
    source: str
    limits: DocumentLimits
    error: type[DocumentError]
    total: int = field(default=0, init=False)

    def read(self, info: zipfile.ZipInfo) -> bytes:
        if info.flag_bits & 0x1:
            raise EncryptedDocumentError(f"{info.filename} is encrypted", self.source)
        caps = self._caps(info)
        bound = min(caps, key=caps.__getitem__)
        if info.file_size > caps[bound]:  # stated too large: refused before inflating
            self._refuse(info, bound)
        try:
            with self.archive.open(info) as member:
                data = member.read(caps[bound] + 1)
        except RuntimeError as exc:  # zipfile's "password required"
            raise EncryptedDocumentError(f"{info.filename} is encrypted", self.source) from exc
        except ZIP_ERRORS as exc:
            raise self.error(f"cannot read {info.filename} ({exc})", self.source) from exc
        if len(data) > caps[bound]:  # stated size was a lie
            self._refuse(info, bound)
        self.total += len(data)
        return data

    def read_named(self, name: str) -> bytes | None:
        try:
            info = self.archive.getinfo(name)
        except KeyError:
            return None
        return self.read(info)

    def _caps(self, info: zipfile.ZipInfo) -> dict[str, int]:
        """The most bytes `info` may inflate to, under each bound."""
        return {
            "max_member_bytes": self.limits.max_member_bytes,
            "max_compression_ratio": max(
                RATIO_EXEMPT_BYTES, info.compress_size * self.limits.max_compression_ratio
            ),
            "max_total_bytes": self.limits.max_total_bytes - self.total,
        }

    def _refuse(self, info: zipfile.ZipInfo, bound: str) -> None:
        limits, name = self.limits, info.filename
        problems = {
            "max_member_bytes": f"{name} exceeds {limits.max_member_bytes} bytes decompressed",
            "max_compression_ratio": (
                f"{name} inflates more than {limits.max_compression_ratio}x "
                f"({info.compress_size} bytes compressed): a zip bomb"
            ),
            "max_total_bytes": f"members exceed {limits.max_total_bytes} bytes decompressed",
        }
        limit = ENV_NAMES[bound]
        raise ContainerLimitError(f"{problems[bound]} (limit {limit})", self.source, limit=limit)


def safe_path(name: str) -> str:
    """A member name as a relative path that cannot climb out of its parent: `..`, `.`,
    empty components, drive letters and control characters dropped, backslashes as `/`."""
    parts = re.split(r"[\\/]+", name)
    if parts and re.fullmatch(r"[A-Za-z]:", parts[0]):
        parts = parts[1:]
    cleaned = (re.sub(r"[\x00-\x1f\x7f]", "", part).strip() for part in parts)
    kept = [part for part in cleaned if part not in ("", ".", "..")]
    return "/".join(kept)


def unique_paths(paths: Iterable[str], fallback: str = "unnamed") -> list[str]:
    """The same paths, empty ones named `fallback`, repeats suffixed `~2`, `~3`, ..."""
    seen: set[str] = set()
    unique = []
    for path in paths:
        candidate = base = path or fallback
        number = 1
        while candidate in seen:
            number += 1
            stem, dot, suffix = base.rpartition(".")
            candidate = f"{stem}~{number}.{suffix}" if dot and stem else f"{base}~{number}"
        seen.add(candidate)
        unique.append(candidate)
    return unique

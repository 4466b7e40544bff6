"""Bytes to text without being told the encoding: BOMs, UTF-8, UTF-16 without a BOM, then
Windows-1252 / ISO-8859-1. A binary blob is not text.

Deterministic rules rather than a statistical detector: a byte string that decodes as UTF-8
and holds non-ASCII characters is UTF-8 with near certainty, and Western single-byte text
that is not UTF-8 is Windows-1252 (ISO-8859-1 differs only in 0x80-0x9F, C1 controls that
real text never holds: WHATWG's Encoding Standard decodes the `iso-8859-1` label as
windows-1252 for that reason). bench/formats_bench.py shows what charset-normalizer, the
statistical alternative, makes of the same files.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

# Longest BOMs first: the UTF-32-LE BOM starts with the UTF-16-LE one.
BOMS = (
    (b"\xff\xfe\x00\x00", "utf-32-le", "utf-32le"),
    (b"\x00\x00\xfe\xff", "utf-32-be", "utf-32be"),
    (b"\xef\xbb\xbf", "utf-8", "utf-8"),
    (b"\xff\xfe", "utf-16-le", "utf-16le"),
    (b"\xfe\xff", "utf-16-be", "utf-16be"),
)
# Bytes 0x81, 0x8D, 0x8F, 0x90 and 0x9D have no character in Windows-1252.
_WINDOWS_1252_ONLY = re.compile(rb"[\x80-\x9f]")
# Control characters text does not hold: C0 except tab, line feed, vertical tab, form feed,
# carriage return, SUB (a DOS end-of-file mark) and ESC (terminal colours in logs); DEL; C1.
_CONTROL = re.compile("[\x00-\x08\x0e-\x19\x1c-\x1f\x7f-\x9f]")
# A text may hold a stray control character (a backspace, a page mark); one in a hundred
# characters is a binary file.
MAX_CONTROL_FRACTION = 0.01
SAMPLE_BYTES = 65_536


@dataclass(frozen=True)
class DecodedText:
    text: str
    encoding: str  # a WHATWG / IANA label: utf-8, utf-16le, windows-1252, ...


def decode_text(data: bytes) -> DecodedText | None:
    """The text and its encoding, or None when the bytes are not text in a known encoding."""
    decoded = _decode(data)
    if decoded is None or looks_binary(decoded.text):
        return None
    return decoded


def _decode(data: bytes) -> DecodedText | None:
    for bom, codec, label in BOMS:
        if data.startswith(bom):
            return _strict(data[len(bom) :], codec, label)
    utf16 = _utf16_without_bom(data)
    if utf16:
        return _strict(data, *utf16)
    if data.isascii():
        return DecodedText(data.decode("ascii"), "us-ascii")
    utf8 = _strict(data, "utf-8", "utf-8")
    if utf8:
        return utf8
    label = "windows-1252" if _WINDOWS_1252_ONLY.search(data) else "iso-8859-1"
    return _strict(data, "cp1252", label)


def text_codec(label: str) -> str | None:
    """Python's name for the text encoding a document declares, or None for an unknown
    label, a malformed one, or a codec that is not a text encoding ("uu", "zlib")."""
    try:
        name = codecs.lookup(label).name
        b"a".decode(name, "replace")  # an empty probe would skip the text-encoding check
    except (LookupError, ValueError):  # ValueError: a NUL in the label
        return None
    return name


def head_text(data: bytes, size: int = 4096) -> str:
    """The first characters, for sniffing markup: decoded by BOM or UTF-16 pattern, else as
    ISO-8859-1 (every byte is a character; ASCII markup reads the same in any Western or
    UTF-8 text)."""
    head = data[:size]
    for bom, codec, _ in BOMS:
        if head.startswith(bom):
            return head[len(bom) :].decode(codec, "ignore")
    utf16 = _utf16_without_bom(data)
    if utf16:
        return head.decode(utf16[0], "ignore")
    return head.decode("latin-1")


def _strict(data: bytes, codec: str, label: str) -> DecodedText | None:
    try:
        return DecodedText(data.decode(codec), label)
    except UnicodeDecodeError:
        return None


def _utf16_without_bom(data: bytes) -> tuple[str, str] | None:
    """UTF-16 of mostly Latin text has a zero byte in every other position; other scripts
    without a BOM are not recognised (nor are they by editors)."""
    sample = data[: SAMPLE_BYTES - SAMPLE_BYTES % 2]
    if len(sample) < 4 or len(data) % 2:
        return None
    half = len(sample) // 2
    zeros_even, zeros_odd = sample[0::2].count(0) / half, sample[1::2].count(0) / half
    if zeros_odd > 0.3 and zeros_even < 0.05:
        return "utf-16-le", "utf-16le"
    if zeros_even > 0.3 and zeros_odd < 0.05:
        return "utf-16-be", "utf-16be"
    return None


def looks_binary(text: str) -> bool:
    sample = text[:SAMPLE_BYTES]
    if "\x00" in sample:
        return True
    return len(_CONTROL.findall(sample)) > MAX_CONTROL_FRACTION * max(len(sample), 1)


# --- Markdown ------------------------------------------------------------------------------

# Every repetition is bounded or cannot overlap its neighbour: no pattern backtracks
# quadratically on a hostile line.
# Syntax only Markdown has: inline links, fenced code, link reference definitions.
_MARKDOWN_OWN = (
    re.compile(r"\[[^\]\n]{1,200}\]\([^)\s]{1,500}\)"),
    re.compile(r"^(?:```|~~~)", re.M),
    re.compile(r"^\[[^\]\n]{1,200}\]:[ \t]*\S", re.M),
)
# Conventions plain text shares with Markdown: underlined titles, lists, **emphasis**,
# `code`, > quotes. ATX headings ("# Title") count when there are two: a lone "#" line is
# as often a comment.
_MARKDOWN_SHARED = (
    re.compile(r"^[ \t]*\S[^\n]{0,200}\n(?:={2,}|-{2,})[ \t]*$", re.M),
    re.compile(r"^[ \t]{0,3}(?:[-*+]|\d{1,9}[.)])[ \t]+\S", re.M),
    re.compile(r"(\*\*|__)\S[^\n]{0,200}?\S\1"),
    re.compile(r"`[^`\n]{1,200}`"),
    re.compile(r"^>[ \t]?\S", re.M),
)
_ATX_HEADING = re.compile(r"^#{1,6}[ \t]+\w", re.M)


def is_markdown(text: str) -> bool:
    """Markdown by its syntax: one of its own signs and another sign, or two headings and
    another sign. Plain text with underlined titles and lists stays plain text."""
    sample = text[:SAMPLE_BYTES]
    own = sum(1 for pattern in _MARKDOWN_OWN if pattern.search(sample))
    shared = sum(1 for pattern in _MARKDOWN_SHARED if pattern.search(sample))
    headings = len(_ATX_HEADING.findall(sample))
    return (own >= 1 and own + shared >= 2) or (headings >= 2 and own + shared >= 1)

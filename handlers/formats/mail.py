"""E-mail (RFC 5322 / MIME): the From, To, Subject and Date headers and the text body;
attachments become children.

Parsed with the standard library's `email` package under the `compat32` policy: its header
values are plain strings, decoded here (RFC 2047) with a fallback to the raw value. The
modern policy parses headers eagerly and still raises IndexError or AttributeError on some
malformed ones (python/cpython#151857, #148518, #83281), which would turn one bad header
into a failed document.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import quopri
import re
from collections.abc import Iterator
from dataclasses import dataclass
from email import errors as email_errors
from email.header import decode_header, make_header
from email.message import Message

from contract.errors import ContainerLimitError, CorruptEmailError, DocumentTooLargeError
from handlers.formats import htmltext
from handlers.formats.limits import ENV_NAMES, DocumentLimits
from handlers.formats.model import Child, Extracted, MediaType
from handlers.formats.textcodec import decode_text, text_codec
from handlers.formats.zipfiles import safe_path, unique_paths

SHOWN_HEADERS = ("From", "To", "Subject", "Date")
# Real messages have tens of parts; 2,000 parse in about a second.
MAX_MIME_PARTS = 2_000
_PART_HEADER = re.compile(rb"^content-type[ \t]*:", re.I | re.M)
# Structure defects after which parts are missing or cut: the message was truncated or its
# boundaries do not match, so what it would yield is not what was sent.
_FATAL_DEFECTS = {
    email_errors.NoBoundaryInMultipartDefect: "a multipart message without a boundary",
    email_errors.StartBoundaryNotFoundDefect: "its MIME boundary never occurs",
    email_errors.CloseBoundaryNotFoundDefect: "the closing MIME boundary is missing (truncated?)",
    email_errors.MultipartInvariantViolationDefect: "a multipart message without parts",
    email_errors.InvalidBase64LengthDefect: "a base64 part is cut short (truncated?)",
}
_BODY_TYPES = ("text/plain", "text/html")
_WHITESPACE = re.compile(r"\s+")
_ESCAPED_BYTE = re.compile("[\udc80-\udcff]")
# What the header decoders raise on a malformed encoded word or an unknown charset.
_HEADER_ERRORS = (email_errors.MessageError, LookupError, UnicodeError, ValueError)


@dataclass(frozen=True)
class _Leaf:
    part: Message
    alternative: int | None  # id of the nearest multipart/alternative around it, if any


def extract(data: bytes, source: str, limits: DocumentLimits, depth: int) -> Extracted:
    try:
        return _extract(data, source, limits, depth)
    except RecursionError as exc:  # the parser and the walks recurse once per nested part
        raise CorruptEmailError("MIME parts are nested too deeply to read", source) from exc


def _extract(data: bytes, source: str, limits: DocumentLimits, depth: int) -> Extracted:
    from email import policy
    from email.parser import BytesParser

    _check_part_count(data, source)
    message = BytesParser(policy=policy.compat32).parsebytes(data)
    leaves = list(_leaves(message, None))
    body_parts = _body_parts(leaves)
    body = "\n\n".join(text for text in map(_body_text, body_parts) if text)
    # Inline text parts are the body or its other renderings; everything else is attached.
    attached = [leaf.part for leaf in leaves if not _is_inline_text(leaf.part)]
    children = _children(attached, source, limits, depth)
    _refuse_broken_structure(message, source)  # after decoding: base64 defects appear then
    header_lines = [f"{name}: {value}" for name, value in _headers(message) if value]
    text = "\n".join(header_lines) + ("\n\n" + body if body else "")
    return Extracted(
        text=text.strip(),
        pages=1,
        confidence=1.0,
        media_type=MediaType.EMAIL,
        method="email",
        children=children,
    )


def _check_part_count(data: bytes, source: str) -> None:
    """The standard library's parser spends about half a millisecond per MIME part (it
    compiles a pattern per boundary): bound the parts before parsing, not the time after."""
    parts = len(_PART_HEADER.findall(data))
    if parts > MAX_MIME_PARTS:
        raise DocumentTooLargeError(
            f"{parts} MIME parts exceed the {MAX_MIME_PARTS} an e-mail may have", source
        )


def _leaves(part: Message, alternative: int | None) -> Iterator[_Leaf]:
    """Every part that is not a multipart container, in order. An attached message is a
    leaf: it becomes a document of its own, not part of this one's text."""
    if part.get_content_maintype() == "multipart" and part.is_multipart():
        if part.get_content_subtype() == "alternative":
            alternative = id(part)
        for sub in part.get_payload():
            if isinstance(sub, Message):
                yield from _leaves(sub, alternative)
    else:
        yield _Leaf(part, alternative)


def _is_inline_text(part: Message) -> bool:
    return (
        part.get_content_type() in _BODY_TYPES
        and part.get_content_disposition() != "attachment"
        and not part.get_filename()
    )


def _body_parts(leaves: list[_Leaf]) -> list[Message]:
    """The inline text parts, one per multipart/alternative: plain text preferred, as the
    sender wrote it; HTML when it is the only rendering. One pass: a hostile message may
    hold many thousands of parts."""
    renderings: dict[int, list[Message]] = {}
    for leaf in leaves:
        if leaf.alternative is not None and _is_inline_text(leaf.part):
            renderings.setdefault(leaf.alternative, []).append(leaf.part)
    chosen: list[Message] = []
    for leaf in leaves:
        if not _is_inline_text(leaf.part):
            continue
        if leaf.alternative is None:
            chosen.append(leaf.part)
        elif renderings[leaf.alternative][0] is leaf.part:
            group = renderings[leaf.alternative]
            plain = (p for p in group if p.get_content_type() == "text/plain")
            chosen.append(next(plain, group[0]))
    return chosen


def _body_text(part: Message) -> str:
    text = _decode_part(part)
    if part.get_content_type() == "text/html":
        return htmltext.html_to_text(text)
    return text.replace("\r\n", "\n").strip()


def _decode_part(part: Message) -> str:
    """The part's declared charset when it decodes; otherwise detected, as mail clients do."""
    raw = part.get_payload(decode=True)
    if not isinstance(raw, bytes):
        return ""
    codec = text_codec(part.get_content_charset() or "")
    if codec:
        with contextlib.suppress(UnicodeDecodeError):
            return raw.decode(codec)
    decoded = decode_text(raw)
    return decoded.text if decoded else raw.decode("utf-8", "replace")


def _children(
    parts: list[Message], source: str, limits: DocumentLimits, depth: int
) -> tuple[Child, ...]:
    from handlers.formats.sniff import media_type_of

    if not parts:
        return ()
    _check_count(len(parts), source, limits, depth)
    names = [_attachment_name(part, index) for index, part in enumerate(parts, 1)]
    children, total = [], 0
    for path, part in zip(unique_paths(names), parts, strict=True):
        data = _attachment_bytes(part, source)
        total += len(data)
        _check_size(path, len(data), total, source, limits)
        name = path.rsplit("/", 1)[-1]
        children.append(Child(name=name, path=path, media_type=media_type_of(data), data=data))
    return tuple(children)


def _attachment_name(part: Message, index: int) -> str:
    filename = part.get_filename()
    if filename:
        name = safe_path(_decode_header(filename)).replace("/", "_")
        if name:
            return name
    if part.get_content_type() == "message/rfc822":
        return f"attachment-{index}.eml"
    extension = _EXTENSIONS.get(part.get_content_type(), ".bin")
    return f"attachment-{index}{extension}"


_EXTENSIONS = {"application/pdf": ".pdf", "image/png": ".png", "image/jpeg": ".jpg",
               "image/tiff": ".tiff", "text/plain": ".txt", "text/html": ".html",
               "application/zip": ".zip"}  # fmt: skip


def _attachment_bytes(part: Message, source: str) -> bytes:
    if part.get_content_type() == "message/rfc822" and part.is_multipart():
        return _attached_message(part, source)
    raw = part.get_payload(decode=True)
    return raw if isinstance(raw, bytes) else b""


def _attached_message(part: Message, source: str) -> bytes:
    """The attached message's bytes. RFC 2046 allows it no transfer encoding, yet some
    mailers base64-encode it: the parser then saw a message of no headers whose body is
    the encoded text."""
    attached = part.get_payload(0)
    data = attached.as_bytes() if isinstance(attached, Message) else b""
    encoding = str(part.get("Content-Transfer-Encoding", "")).strip().lower()
    try:
        if encoding == "base64":
            return base64.b64decode(data)
        if encoding == "quoted-printable":
            return quopri.decodestring(data)
    except binascii.Error as exc:
        raise CorruptEmailError(f"attached message is not valid base64 ({exc})", source) from exc
    return data


def _check_count(count: int, source: str, limits: DocumentLimits, depth: int) -> None:
    if depth >= limits.max_depth:
        limit = ENV_NAMES["max_depth"]
        raise ContainerLimitError(
            f"{count} attachment(s) at nesting depth {depth}: a document this deep may not "
            f"have children (limit {limit}={limits.max_depth})",
            source,
            limit=limit,
        )
    if count > limits.max_children:
        limit = ENV_NAMES["max_children"]
        raise ContainerLimitError(
            f"{count} attachments exceed {limits.max_children} (limit {limit})", source, limit
        )


def _check_size(path: str, size: int, total: int, source: str, limits: DocumentLimits) -> None:
    if size > limits.max_member_bytes:
        limit = ENV_NAMES["max_member_bytes"]
        raise ContainerLimitError(
            f"attachment {path} exceeds {limits.max_member_bytes} bytes (limit {limit})",
            source,
            limit,
        )
    if total > limits.max_total_bytes:
        limit = ENV_NAMES["max_total_bytes"]
        raise ContainerLimitError(
            f"attachments exceed {limits.max_total_bytes} bytes in total (limit {limit})",
            source,
            limit,
        )


def _refuse_broken_structure(message: Message, source: str) -> None:
    for part in message.walk():
        for defect in part.defects:
            reason = _FATAL_DEFECTS.get(type(defect))
            if reason:
                raise CorruptEmailError(f"broken MIME structure: {reason}", source)


def _headers(message: Message) -> Iterator[tuple[str, str]]:
    for name in SHOWN_HEADERS:
        values = message.get_all(name) or []
        yield name, ", ".join(_decode_header(str(value)) for value in values)


def _decode_header(value: str) -> str:
    """RFC 2047 encoded words decoded, folding undone; the raw value if they are broken."""
    if _ESCAPED_BYTE.search(value):
        # Raw 8-bit bytes (UTF-8 headers, RFC 6532) reach us surrogate-escaped.
        raw = value.encode("utf-8", "surrogateescape")
        decoded = decode_text(raw)
        value = decoded.text if decoded else raw.decode("utf-8", "replace")
    with contextlib.suppress(*_HEADER_ERRORS):
        value = str(make_header(decode_header(value))) or value  # "" when nothing decoded
    return _WHITESPACE.sub(" ", value).strip()

"""ODT (OpenDocument Text): the body's headings, paragraphs, lists and tables in reading
order, read from content.xml with the standard library.

White space follows ODF's rule (1.2 part 1, 6.1.2): runs of spaces, tabs and newlines in the
XML collapse to one space; `text:s`, `text:tab` and `text:line-break` are literal. Tracked
deletions, footnote bodies, annotations and declarations are left out; shapes and text
frames follow their paragraph.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from xml.etree.ElementTree import Element

from contract.errors import CorruptOdtError, EncryptedDocumentError
from handlers.formats.limits import DocumentLimits
from handlers.formats.model import Extracted, MediaType
from handlers.formats.xmlparts import metadata_part, parse_part, split_tag, stated_pages
from handlers.formats.zipfiles import MemberReader, open_archive

_ODF = "urn:oasis:names:tc:opendocument:xmlns:"
OFFICE, TEXT, TABLE, DRAW = (f"{_ODF}{name}:1.0" for name in ("office", "text", "table", "drawing"))
META = f"{_ODF}meta:1.0"
MANIFEST = f"{_ODF}manifest:1.0"
CONTENT_PART, META_PART, MANIFEST_PART = "content.xml", "meta.xml", "META-INF/manifest.xml"
_SKIPPED = frozenset({
    (TEXT, "tracked-changes"), (TEXT, "sequence-decls"), (TEXT, "variable-decls"),
    (TEXT, "user-field-decls"), (TEXT, "dde-connection-decls"), (TEXT, "note"),
    (TEXT, "table-of-content-source"), (TEXT, "alphabetical-index-source"),
    (TEXT, "illustration-index-source"), (TEXT, "user-index-source"),
    (TEXT, "bibliography-source"), (OFFICE, "annotation"), (OFFICE, "forms"),
})  # fmt: skip
_ROW_GROUPS = frozenset({"table-header-rows", "table-rows", "table-row-group"})
_SPACES = re.compile(r"[ \t\r\n]+")


def extract(data: bytes, source: str, limits: DocumentLimits) -> Extracted:
    with open_archive(data, source, CorruptOdtError) as archive:
        reader = MemberReader(archive, source, limits, CorruptOdtError)
        _refuse_encrypted(reader, source)
        raw = reader.read_named(CONTENT_PART)
        if raw is None:
            raise CorruptOdtError(f"{CONTENT_PART} is missing", source)
        root = parse_part(raw, CONTENT_PART, source, CorruptOdtError)
        body = root.find(f"{{{OFFICE}}}body/{{{OFFICE}}}text")
        if body is None:
            raise CorruptOdtError(f"{CONTENT_PART} has no office:body/office:text", source)
        try:
            text = "\n\n".join(_blocks(body))
        except RecursionError as exc:
            raise CorruptOdtError(f"{CONTENT_PART} is nested too deeply to read", source) from exc
        pages = _stated_pages(reader, source)
    return Extracted(text=text, pages=pages, confidence=1.0, media_type=MediaType.ODT,
                     method="odt")  # fmt: skip


def _refuse_encrypted(reader: MemberReader, source: str) -> None:
    """A password-protected ODF package keeps its ZIP readable and encrypts each part; the
    manifest says so with `manifest:encryption-data`."""
    raw = reader.read_named(MANIFEST_PART)
    if raw is None:
        return
    manifest = parse_part(raw, MANIFEST_PART, source, CorruptOdtError)
    if next(manifest.iter(f"{{{MANIFEST}}}encryption-data"), None) is not None:
        raise EncryptedDocumentError("OpenDocument file is password-protected", source)


def _blocks(container: Element) -> Iterator[str]:
    for child in container:
        key = split_tag(child.tag)
        if key in _SKIPPED:
            continue
        if key in ((TEXT, "p"), (TEXT, "h")):
            yield from _paragraph(child)
        elif key == (TABLE, "table"):
            table = _table(child)
            if table:
                yield table
        else:
            yield from _blocks(child)  # lists, list items, sections, index bodies, ...


def _paragraph(paragraph: Element) -> list[str]:
    pieces: list[str] = []
    shapes: list[Element] = []
    _inline(paragraph, pieces, shapes)
    text = "".join(pieces).strip()
    blocks = [text] if text else []
    for shape in shapes:
        blocks.extend(_blocks(shape))
    return blocks


def _inline(element: Element, pieces: list[str], shapes: list[Element]) -> None:
    _append_collapsed(pieces, element.text)
    for child in element:
        namespace, local = split_tag(child.tag)
        if namespace == TEXT and local == "s":
            pieces.append(" " * _count(child.get(f"{{{TEXT}}}c")))
        elif namespace == TEXT and local == "tab":
            pieces.append("\t")
        elif namespace == TEXT and local == "line-break":
            pieces.append("\n")
        elif namespace == DRAW:
            shapes.append(child)  # frames, text boxes, shapes: their paragraphs follow
        elif (namespace, local) not in _SKIPPED:
            _inline(child, pieces, shapes)
        _append_collapsed(pieces, child.tail)


def _append_collapsed(pieces: list[str], text: str | None) -> None:
    if not text:
        return
    collapsed = _SPACES.sub(" ", text)
    if collapsed.startswith(" ") and (not pieces or pieces[-1].endswith((" ", "\n", "\t"))):
        collapsed = collapsed[1:]
    pieces.append(collapsed)


def _count(value: str | None) -> int:
    return int(value) if value and re.fullmatch(r"[0-9]{1,3}", value) else 1


def _table(table: Element) -> str:
    lines = []
    for row in _rows(table):
        # Covered cells sit under a spanning cell: the span already gave their text.
        cells = [_cell_text(c) for c in row if split_tag(c.tag) == (TABLE, "table-cell")]
        while cells and not cells[-1]:
            cells.pop()
        if cells:
            lines.append(" | ".join(cells))
    return "\n".join(lines)


def _rows(element: Element) -> Iterator[Element]:
    for child in element:
        namespace, local = split_tag(child.tag)
        if namespace == TABLE and local == "table-row":
            yield child
        elif namespace == TABLE and local in _ROW_GROUPS:
            yield from _rows(child)


def _cell_text(cell: Element) -> str:
    return " ".join(" ".join(block.split()) for block in _blocks(cell))


def _stated_pages(reader: MemberReader, source: str) -> int:
    """The page count the word processor stored in meta.xml; 1 without one."""
    meta = metadata_part(reader.read_named(META_PART), META_PART, source, CorruptOdtError)
    statistic = None if meta is None else next(meta.iter(f"{{{META}}}document-statistic"), None)
    return stated_pages(statistic.get(f"{{{META}}}page-count") if statistic is not None else None)

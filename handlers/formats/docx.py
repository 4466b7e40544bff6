"""DOCX (Office Open XML WordprocessingML): the body's paragraphs, headings and tables in
reading order, read from the package with the standard library.

The main part is found through [Content_Types].xml. Paragraph text is its runs' `w:t` with
tabs and breaks; deleted revisions, field codes and the legacy fallback of alternate content
(a duplicate of the preferred choice) are left out. Text boxes follow their paragraph.
Headers, footers, footnotes and comments live in other parts and are not read.
"""

from __future__ import annotations

from collections.abc import Iterator
from xml.etree.ElementTree import Element

from contract.errors import CorruptDocxError
from handlers.formats.limits import DocumentLimits
from handlers.formats.model import Extracted, MediaType
from handlers.formats.xmlparts import metadata_part, parse_part, split_tag, stated_pages
from handlers.formats.zipfiles import OOXML_CONTENT_TYPES, MemberReader, open_archive

# Transitional and Strict OOXML name WordprocessingML differently.
W = frozenset({"http://schemas.openxmlformats.org/wordprocessingml/2006/main",
               "http://purl.oclc.org/ooxml/wordprocessingml/main"})  # fmt: skip
MC = "http://schemas.openxmlformats.org/markup-compatibility/2006"
_MAIN_CONTENT_TYPES = frozenset({
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.template.main+xml",
    "application/vnd.ms-word.document.macroEnabled.main+xml",
    "application/vnd.ms-word.template.macroEnabledTemplate.main+xml",
})  # fmt: skip
DEFAULT_MAIN_PART = "word/document.xml"
APP_PROPERTIES_PART = "docProps/app.xml"
# Property elements and revisions whose text is not the document's.
_SKIPPED = frozenset({"pPr", "rPr", "sectPr", "tblPr", "tblGrid", "trPr", "tcPr", "sdtPr",
                      "sdtEndPr", "del", "moveFrom", "delText", "instrText", "delInstrText",
                      "footnoteReference", "endnoteReference", "commentReference"})  # fmt: skip
# Wrappers that may stand between a table and its rows, or a row and its cells.
_TABLE_WRAPPERS = frozenset({"sdt", "sdtContent", "customXml"})
_INLINE_TEXT = {"tab": "\t", "ptab": "\t", "br": "\n", "cr": "\n", "noBreakHyphen": "-"}


def extract(data: bytes, source: str, limits: DocumentLimits) -> Extracted:
    with open_archive(data, source, CorruptDocxError) as archive:
        reader = MemberReader(archive, source, limits, CorruptDocxError)
        main = _main_part(reader, source)
        raw = reader.read_named(main)
        if raw is None:
            raise CorruptDocxError(f"the main document part {main} is missing", source)
        body = _body(parse_part(raw, main, source, CorruptDocxError))
        if body is None:
            raise CorruptDocxError(f"{main} has no w:body", source)
        try:
            text = "\n\n".join(_blocks(body))
        except RecursionError as exc:
            raise CorruptDocxError(f"{main} is nested too deeply to read", source) from exc
        pages = _stated_pages(reader, source)
    return Extracted(text=text, pages=pages, confidence=1.0, media_type=MediaType.DOCX,
                     method="docx")  # fmt: skip


def _main_part(reader: MemberReader, source: str) -> str:
    raw = reader.read_named(OOXML_CONTENT_TYPES)
    if raw is None:
        raise CorruptDocxError(f"{OOXML_CONTENT_TYPES} is missing", source)
    for override in parse_part(raw, OOXML_CONTENT_TYPES, source, CorruptDocxError):
        if override.get("ContentType") in _MAIN_CONTENT_TYPES and override.get("PartName"):
            return str(override.get("PartName")).lstrip("/")
    return DEFAULT_MAIN_PART


def _body(root: Element) -> Element | None:
    return next((child for child in root if _w(child) == "body"), None)


def _w(element: Element) -> str:
    """The local name of a WordprocessingML element, "" for any other."""
    namespace, local = split_tag(element.tag)
    return local if namespace in W else ""


def _choice(alternate: Element) -> Element | None:
    """mc:AlternateContent holds one rendering per mc:Choice and a legacy mc:Fallback."""
    return next((c for c in alternate if split_tag(c.tag) == (MC, "Choice")), None)


def _blocks(container: Element) -> Iterator[str]:
    for child in container:
        namespace, local = split_tag(child.tag)
        name = local if namespace in W else ""
        if namespace == MC:
            choice = _choice(child) if local == "AlternateContent" else None
            if choice is not None:
                yield from _blocks(choice)
        elif name == "p":
            yield from _paragraph(child)
        elif name == "tbl":
            table = _table(child)
            if table:
                yield table
        elif name not in _SKIPPED:
            yield from _blocks(child)  # sdt, customXml, ins, moveTo, ...


def _paragraph(paragraph: Element) -> list[str]:
    pieces: list[str] = []
    text_boxes: list[Element] = []
    _inline(paragraph, pieces, text_boxes)
    text = "".join(pieces).strip()
    blocks = [text] if text else []
    for box in text_boxes:
        blocks.extend(_blocks(box))
    return blocks


def _inline(element: Element, pieces: list[str], text_boxes: list[Element]) -> None:
    for child in element:
        namespace, local = split_tag(child.tag)
        name = local if namespace in W else ""
        if namespace == MC:
            choice = _choice(child) if local == "AlternateContent" else None
            if choice is not None:
                _inline(choice, pieces, text_boxes)
        elif name == "t":
            pieces.append(child.text or "")
        elif name in _INLINE_TEXT:
            pieces.append(_INLINE_TEXT[name])
        elif name == "txbxContent":
            text_boxes.append(child)
        elif name not in _SKIPPED:
            _inline(child, pieces, text_boxes)


def _table(table: Element) -> str:
    lines = []
    for row in _children_named(table, "tr"):
        cells = [_cell_text(cell) for cell in _children_named(row, "tc")]
        while cells and not cells[-1]:
            cells.pop()
        if cells:
            lines.append(" | ".join(cells))
    return "\n".join(lines)


def _children_named(element: Element, name: str) -> Iterator[Element]:
    for child in element:
        local = _w(child)
        if local == name:
            yield child
        elif local in _TABLE_WRAPPERS:
            yield from _children_named(child, name)


def _cell_text(cell: Element) -> str:
    """A cell's paragraphs on one line: a row is one line of text."""
    return " ".join(" ".join(block.split()) for block in _blocks(cell))


def _stated_pages(reader: MemberReader, source: str) -> int:
    """The page count the word processor stored when it saved the file; 1 without one."""
    raw = reader.read_named(APP_PROPERTIES_PART)
    properties = metadata_part(raw, APP_PROPERTIES_PART, source, CorruptDocxError)
    children = () if properties is None else properties
    pages = next((c for c in children if split_tag(c.tag)[1] == "Pages"), None)
    return stated_pages(pages.text if pages is not None else None)

"""HTML and XHTML: the text a reader sees, and the title.

Parsed by selectolax's Lexbor engine, an HTML5-conformant parser in C: a page's tree is the
one a browser builds (implied end tags, misnested markup), which decides what a hidden
element hides. Left out: script, style, template, noscript and other non-rendered content,
and elements hidden by the `hidden` attribute, `aria-hidden="true"` or an inline
`display:none` / `visibility:hidden`. Blocks become lines, paragraphs blank-line
separated, table rows one per line with cells separated by " | ".
"""

from __future__ import annotations

import re
from typing import Any

from contract.errors import CorruptHtmlError
from handlers.formats.model import Extracted, MediaType
from handlers.formats.textcodec import BOMS, decode_text, looks_binary, text_codec

CELL_SEPARATOR = " | "
# Elements whose content is never rendered as text.
_UNRENDERED = frozenset({"script", "style", "template", "noscript", "iframe", "object",
                         "embed", "canvas", "head", "title", "desc", "datalist"})  # fmt: skip
_PARAGRAPH = frozenset({"p", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "blockquote", "table",
                        "ul", "ol", "dl", "hr", "figure", "address", "fieldset"})  # fmt: skip
_LINE = frozenset({"div", "li", "dt", "dd", "tr", "br", "section", "article", "aside", "header",
                   "footer", "nav", "main", "details", "summary", "figcaption", "caption",
                   "legend", "option", "hgroup", "center", "form", "body"})  # fmt: skip
_CELLS = frozenset({"td", "th"})
_HIDDEN_STYLE = re.compile(r"(?:^|;)\s*(?:display\s*:\s*none|visibility\s*:\s*hidden)\b", re.I)
_SPACES = re.compile(r"[ \t\n\r\f]+")
# WHATWG's prescan reads the first 1024 bytes for <meta charset> or its http-equiv form.
_META_CHARSET = re.compile(rb"<meta[^>]{0,512}?charset\s*=\s*[\"']?\s*([A-Za-z0-9_.:-]+)", re.I)
_XML_ENCODING = re.compile(rb"^<\?xml[^>]{0,200}?encoding\s*=\s*[\"']([A-Za-z0-9_.:-]+)", re.I)
# Labels browsers decode as windows-1252 (WHATWG Encoding Standard); a meta tag cannot
# declare UTF-16 in bytes an ASCII parser just read, so that label means UTF-8.
_AS_WINDOWS_1252 = {"ascii", "latin-1", "iso8859-1", "cp1252"}
_AS_UTF8 = {"utf-16", "utf-16-le", "utf-16-be", "utf-8"}
_LABELS = {"cp1252": "windows-1252"}  # Python's codec name -> the label plain text reports
# In XHTML `<script src="x"/>` closes the element; an HTML parser would read the rest of
# the page as script. Non-void elements written self-closed get an explicit end tag.
_SELF_CLOSED = re.compile(r"<([A-Za-z][\w:-]*)(\s[^<>]*?)?/>")
_VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta",
                   "source", "track", "wbr"})  # fmt: skip


def extract(data: bytes, source: str, media_type: MediaType) -> Extracted:
    markup, encoding = decode_html(data, source)
    return Extracted(
        text=html_to_text(markup, xhtml=media_type is MediaType.XHTML),
        pages=1,
        confidence=1.0,
        media_type=media_type,
        method="html",
        encoding=encoding,
    )


def decode_html(data: bytes, source: str) -> tuple[str, str]:
    """The markup and its encoding: a BOM, else the declared charset (strictly: a byte it
    does not define is refused), else detected like plain text."""
    if not any(data.startswith(bom) for bom, _, _ in BOMS):
        declared = _declared_codec(data[:1024])
        if declared:
            return _decode_declared(data, declared, source), _LABELS.get(declared, declared)
    decoded = decode_text(data)
    if decoded is None:
        raise CorruptHtmlError("not text in any supported encoding (binary bytes)", source)
    return decoded.text, decoded.encoding


def _declared_codec(head: bytes) -> str | None:
    match = _XML_ENCODING.search(head) or _META_CHARSET.search(head)
    name = text_codec(match[1].decode("ascii")) if match else None
    if name is None:
        return None  # an unknown label is ignored, as browsers do
    if name in _AS_WINDOWS_1252:
        return "cp1252"
    return "utf-8" if name in _AS_UTF8 else name


def _decode_declared(data: bytes, codec: str, source: str) -> str:
    try:
        text = data.decode(codec)
    except UnicodeDecodeError as exc:
        raise CorruptHtmlError(
            f"byte 0x{data[exc.start]:02x} at offset {exc.start} is not valid {codec}, "
            "the declared charset",
            source,
        ) from exc
    if looks_binary(text):
        raise CorruptHtmlError("holds NUL or other control bytes: not text", source)
    return text


def html_to_text(markup: str, xhtml: bool = False) -> str:
    """The title, then the visible text of the body."""
    from selectolax.lexbor import LexborHTMLParser

    if xhtml:
        markup = _SELF_CLOSED.sub(_open_and_close, markup)
    tree = LexborHTMLParser(markup)
    title_node = tree.css_first("head > title") or tree.css_first("title")
    title = _SPACES.sub(" ", title_node.text()).strip() if title_node else ""
    body = tree.body or tree.root
    text = _visible_text(body) if body is not None else ""
    if title and not text.startswith(title):
        return f"{title}\n\n{text}".strip()
    return text


def _open_and_close(match: re.Match[str]) -> str:
    tag = match[1]
    if tag.lower() in _VOID:
        return match[0]
    return f"<{tag}{match[2] or ''}></{tag}>"


def _visible_text(root: Any) -> str:
    """Depth first with an explicit stack: deeply nested markup cannot exhaust recursion."""
    sink = _Sink()
    stack: list[tuple[Any, bool]] = [(root, False)]
    while stack:
        node, leaving = stack.pop()
        if leaving:
            sink.leave(node.tag)
        elif node.is_text_node:
            sink.text(node.text_content or "")
        elif node.is_element_node and not _hidden(node.tag, node.attributes):
            # Comments, doctypes and processing instructions (`<?x>`) are neither.
            sink.enter(node.tag)
            stack.append((node, True))
            children = list(node.iter(include_text=True))
            stack.extend((child, False) for child in reversed(children))
    return sink.result()


def _hidden(tag: str, attributes: dict[str, str | None]) -> bool:
    if tag in _UNRENDERED or "hidden" in attributes:
        return True
    if (attributes.get("aria-hidden") or "").strip().lower() == "true":
        return True
    if tag == "dialog" and "open" not in attributes:
        return True
    return bool(_HIDDEN_STYLE.search(attributes.get("style") or ""))


class _Sink:
    """Collects text the way a browser lays it out: runs of white space collapse to one
    space, blocks start new lines, `pre` keeps its spacing, cells share their row's line."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.newlines = 0  # owed before the next text
        self.space = False  # owed before the next text
        self.pre = 0
        self.cells = 0  # depth of table cells: blocks inside a cell stay on its line
        self.row_cells: list[int] = []

    def text(self, raw: str) -> None:
        if self.pre:
            self._emit(raw)
            return
        collapsed = _SPACES.sub(" ", raw)
        words = collapsed.strip(" ")
        if collapsed.startswith(" "):
            self.space = True
        if words:
            self._emit(words)
            self.space = collapsed.endswith(" ")

    def enter(self, tag: str) -> None:
        if tag in _CELLS:
            if self.row_cells and self.row_cells[-1]:
                self.space = True
                self._emit(CELL_SEPARATOR.strip())
                self.space = True
            if self.row_cells:
                self.row_cells[-1] += 1
            self.cells += 1
            return
        if tag == "tr":
            self.row_cells.append(0)
        if tag == "pre":
            self.pre += 1
        self._block(tag)

    def leave(self, tag: str) -> None:
        if tag in _CELLS:
            self.cells = max(self.cells - 1, 0)
            return
        if tag == "tr" and self.row_cells:
            self.row_cells.pop()
        if tag == "pre":
            self.pre -= 1
        self._block(tag)

    def _block(self, tag: str) -> None:
        newlines = 2 if tag in _PARAGRAPH else 1 if tag in _LINE else 0
        if not newlines:
            return
        if self.cells:
            self.space = True
        else:
            self.newlines = max(self.newlines, newlines)
            self.space = False

    def _emit(self, text: str) -> None:
        if self.parts:
            if self.newlines:
                self.parts.append("\n" * self.newlines)
            elif self.space:
                self.parts.append(" ")
        self.newlines, self.space = 0, False
        self.parts.append(text)

    def result(self) -> str:
        text = "".join(self.parts)
        return re.sub(r"[ \t]+\n", "\n", text).strip()

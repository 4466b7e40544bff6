"""XML parts of DOCX and ODT packages, parsed with the standard library and no DTD.

Entity expansion ("billion laughs", external entities) needs a document type declaration,
and OOXML forbids one in a package part (ECMA-376 part 2, M1.17); ODF parts never carry
one. So the parser refuses any DTD at its start, before a single entity is declared: the
protection `defusedxml` gives with `forbid_dtd=True`, without the dependency.
"""

from __future__ import annotations

import re
from xml.etree import ElementTree

from contract.errors import DocumentError


class _DtdFound(Exception):
    pass


class _NoDtdTreeBuilder(ElementTree.TreeBuilder):
    def doctype(self, name: str, pubid: str | None, system: str | None) -> None:
        # Called by the parser at `<!DOCTYPE`, before the internal subset is read.
        raise _DtdFound(name)


def parse_part(
    data: bytes, part: str, source: str, error: type[DocumentError]
) -> ElementTree.Element:
    """The root element of one package part; `error` names the part on any problem."""
    parser = ElementTree.XMLParser(target=_NoDtdTreeBuilder())
    try:
        parser.feed(data)
        return parser.close()
    except _DtdFound as exc:
        raise error(
            f"{part} declares a document type (DTD), which a package part may not: refused",
            source,
        ) from exc
    except ElementTree.ParseError as exc:
        raise error(f"{part} is not well-formed XML ({exc})", source) from exc


def metadata_part(
    data: bytes | None, part: str, source: str, error: type[DocumentError]
) -> ElementTree.Element | None:
    """A metadata part's root; None when it is missing or unreadable (metadata is never a
    reason to refuse the text)."""
    if data is None:
        return None
    try:
        return parse_part(data, part, source, error)
    except error:
        return None


def stated_pages(count: str | None) -> int:
    """The page count a word processor stored when it saved the file; 1 when there is none
    or it is not a plausible number."""
    count = (count or "").strip()
    return max(int(count), 1) if re.fullmatch(r"[0-9]{1,6}", count) else 1


def split_tag(tag: str) -> tuple[str, str]:
    """`{namespace}local` -> (namespace, local); comments and processing instructions,
    whose tag is not a string, give ("", "")."""
    if not isinstance(tag, str):
        return "", ""
    namespace, _, local = tag[1:].rpartition("}") if tag.startswith("{") else ("", "", tag)
    return namespace, local

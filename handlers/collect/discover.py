"""Document links from RSS 2.0 and Atom feeds and from sitemaps, filtered and bounded.

Feeds: RSS 2.0 `channel/item/link` and `item/enclosure@url`; Atom `entry/link@href` whose
`rel` is `alternate` (the default) or `enclosure`, resolved against `xml:base` (RFC 4287
section 4.2.7, RFC 3986). Sitemaps (https://www.sitemaps.org/protocol.html): `urlset/url/loc`,
and a `sitemapindex/sitemap/loc` whose child sitemaps are followed, at most MAX_SITEMAPS files
per run, each at most once. Sitemaps may be gzip-compressed (`.xml.gz`); they are unpacked
with the same bound as plain XML, so a small bomb cannot fill the function's memory.

XML is parsed with defusedxml: a document that declares entities (billion laughs, quadratic
blow-up) or references external ones is refused instead of expanded.

The result is the candidates: absolute http(s) URLs without fragments, each once, in document
order, that the source's pattern, include and exclude accept, at most MAX_CANDIDATES. Which
of them a run fetches (at most max_documents: the unseen first) is the collector's choice.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urldefrag, urljoin, urlsplit

from contract.errors import DocumentError
from contract.sources import MAX_URL_CHARS, Source

ATOM = "{http://www.w3.org/2005/Atom}"
XML_BASE = "{http://www.w3.org/XML/1998/namespace}base"
ATOM_DOCUMENT_RELS = frozenset({"alternate", "enclosure"})
# The sitemap protocol's own limit for one file (uncompressed); feeds get the same.
MAX_LISTING_BYTES = 52_428_800
MAX_SITEMAPS = 20  # sitemap files read per run: the index and its children
MAX_CANDIDATES = 5000  # URLs one run considers: bounds the seen-state look-ups
_GZIP_MAGIC = b"\x1f\x8b"
_DECLARED_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*encoding=["']([A-Za-z0-9._-]+)["']""")

# url -> (the body, the URL it came from after redirects: the base of its relative links)
FetchListing = Callable[[str], tuple[bytes, str]]


class ListingError(DocumentError):
    """A feed or sitemap that cannot be read: not XML, hostile XML, not a feed, too large."""


@dataclass
class Discovery:
    """What a listing offered: `candidates` to consider, `found` before the MAX_CANDIDATES
    bound, and the child sitemaps that could not be read."""

    candidates: list[str] = field(default_factory=list)
    found: int = 0
    errors: list[tuple[str, str]] = field(default_factory=list)


def discover(source: Source, fetch_listing: FetchListing) -> Discovery:
    """The candidate document URLs of an http, feed or sitemap source."""
    if source.kind == "http":
        return select(source.urls, source)
    if source.kind == "feed":
        assert source.url is not None
        data, base = fetch_listing(source.url)
        return select(feed_links(data, base), source)
    if source.kind == "sitemap":
        assert source.url is not None
        return _discover_sitemaps(source, source.url, fetch_listing)
    raise ValueError(f"source {source.name!r} of kind {source.kind!r} has no links to discover")


def select(urls: Iterable[str], source: Source) -> Discovery:
    """Absolute, allowed, wanted URLs, each once, in order; at most MAX_CANDIDATES."""
    schemes = ("https", "http") if source.allow_http else ("https",)
    discovery = Discovery()
    seen: set[str] = set()
    for raw in urls:
        url = urldefrag(raw.strip())[0]
        if url in seen or len(url) > MAX_URL_CHARS or urlsplit(url).scheme not in schemes:
            continue
        seen.add(url)
        if not source.wants(url):
            continue
        discovery.found += 1
        if len(discovery.candidates) < MAX_CANDIDATES:
            discovery.candidates.append(url)
    return discovery


# --- feeds ----------------------------------------------------------------------------------


def feed_links(data: bytes, url: str) -> list[str]:
    """The item links and enclosures of an RSS 2.0 or Atom feed, absolute, in order."""
    root = parse_xml(data, url)
    if root.tag == "rss":
        return list(_rss_links(root, url))
    if root.tag == f"{ATOM}feed":
        return list(_atom_links(root, _base(root, url)))
    raise ListingError(f"not an RSS 2.0 or Atom feed (root element {root.tag!r})", url)


def _rss_links(root: Any, url: str) -> Iterator[str]:
    for item in root.iterfind("channel/item"):
        for child in item:
            if child.tag == "link" and (child.text or "").strip():
                yield urljoin(url, child.text.strip())
            elif child.tag == "enclosure" and child.get("url", "").strip():
                yield urljoin(url, child.get("url").strip())


def _atom_links(feed: Any, base: str) -> Iterator[str]:
    for entry in feed.iterfind(f"{ATOM}entry"):
        entry_base = _base(entry, base)
        for link in entry.iterfind(f"{ATOM}link"):
            rel = link.get("rel", "alternate")
            href = link.get("href", "").strip()
            if href and rel in ATOM_DOCUMENT_RELS:
                yield urljoin(_base(link, entry_base), href)


def _base(element: Any, parent_base: str) -> str:
    """The base URI in effect at `element`: its xml:base resolved against its parent's."""
    own = element.get(XML_BASE)
    return urljoin(parent_base, own.strip()) if own else parent_base


# --- sitemaps -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sitemap:
    is_index: bool
    locs: list[str]


def sitemap_locs(data: bytes, url: str) -> Sitemap:
    """The `<loc>`s of a `<urlset>` (documents) or a `<sitemapindex>` (child sitemaps)."""
    root = parse_xml(data, url)
    kind = _local(root.tag)
    if kind not in ("urlset", "sitemapindex"):
        raise ListingError(f"not a sitemap (root element {root.tag!r})", url)
    entry = "url" if kind == "urlset" else "sitemap"
    locs = [
        urljoin(url, (loc.text or "").strip())
        for child in root
        if _local(child.tag) == entry
        for loc in child
        if _local(loc.tag) == "loc" and (loc.text or "").strip()
    ]
    return Sitemap(is_index=kind == "sitemapindex", locs=locs)


def _discover_sitemaps(source: Source, url: str, fetch_listing: FetchListing) -> Discovery:
    """Read the sitemap at `url` and, for an index, its children (breadth first, bounded)."""
    pending, visited, documents = [url], set[str](), list[str]()
    errors: list[tuple[str, str]] = []
    while pending and len(visited) < MAX_SITEMAPS:
        current = pending.pop(0)
        if current in visited:
            continue
        visited.add(current)
        try:
            sitemap = sitemap_locs(*fetch_listing(current))
        except Exception as exc:
            if current == url:
                raise  # the source's own sitemap: the run has nothing to work with
            errors.append((current, f"{type(exc).__name__}: {exc}"))
            continue
        (pending if sitemap.is_index else documents).extend(sitemap.locs)
    errors.extend((child, f"not read: over {MAX_SITEMAPS} sitemaps") for child in pending)
    discovery = select(documents, source)
    discovery.errors = errors
    return discovery


def _local(tag: str) -> str:
    """`{namespace}name` -> `name`: sitemaps exist with the 0.9 namespace, older ones, none."""
    return tag.rsplit("}", 1)[-1]


# --- XML ------------------------------------------------------------------------------------


def parse_xml(data: bytes, url: str) -> Any:
    """The root element of a feed or sitemap (gzip unpacked), parsed without entities."""
    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import ParseError, fromstring

    if data.startswith(_GZIP_MAGIC):
        data = gunzip(data, url, MAX_LISTING_BYTES)
    if len(data) > MAX_LISTING_BYTES:
        raise ListingError(f"{len(data)} bytes exceeds {MAX_LISTING_BYTES}", url)
    try:
        try:
            return fromstring(data)
        except ValueError as exc:
            if "multi-byte encodings are not supported" not in str(exc):
                raise
            # expat reads UTF-8, UTF-16 and single-byte charsets only; decode others here.
            return fromstring(_decode_declared(data, url))
    except DefusedXmlException as exc:
        problem = f"XML with entity declarations or external references refused ({exc})"
        raise ListingError(problem, url) from exc
    except ParseError as exc:
        raise ListingError(f"not well-formed XML ({exc})", url) from exc


def _decode_declared(data: bytes, url: str) -> str:
    match = _DECLARED_ENCODING.match(data)
    encoding = match.group(1).decode("ascii") if match else "utf-8"
    try:
        return data.decode(encoding)
    except (LookupError, UnicodeDecodeError) as exc:
        raise ListingError(f"cannot decode as the declared {encoding} ({exc})", url) from exc


def gunzip(data: bytes, url: str, limit: int) -> bytes:
    """Unpack gzip data, refusing output above `limit` bytes without producing it."""
    unpacker = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        out = unpacker.decompress(data, limit + 1)
    except zlib.error as exc:
        raise ListingError(f"corrupt gzip data ({exc})", url) from exc
    if len(out) > limit or unpacker.unconsumed_tail:
        raise ListingError(f"unpacks to more than {limit} bytes", url)
    return out

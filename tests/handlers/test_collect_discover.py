"""Links from real RSS 2.0, Atom and sitemap files (tests/handlers/collect_data/PROVENANCE.md)."""

from __future__ import annotations

import gzip
import hashlib
import re
from pathlib import Path

import pytest

from contract.sources import Source
from handlers.collect import discover as d
from handlers.collect.discover import (
    ListingError,
    discover,
    feed_links,
    gunzip,
    select,
    sitemap_locs,
)

DATA = Path(__file__).resolve().parent / "collect_data"


def fixture(name: str) -> bytes:
    return (DATA / name).read_bytes()


def test_fixtures_are_the_files_provenance_names() -> None:
    table = (DATA / "PROVENANCE.md").read_text()
    rows = re.findall(r"^\| `([^`]+)` \|.*\| `([0-9a-f]{64})` \|$", table, re.MULTILINE)
    files = {p.name for p in DATA.iterdir() if p.name != "PROVENANCE.md"}
    assert {name for name, _ in rows} == files
    for name, digest in rows:
        assert hashlib.sha256(fixture(name)).hexdigest() == digest, name


# --- feeds -----------------------------------------------------------------------------------


def test_rss2_item_link() -> None:
    links = feed_links(fixture("rss2-trafilatura.rss"), "https://feeds.example/rss")
    assert links == ["http://www.example.com/blog/post/1"]  # not the channel's own <link>


def test_rss2_enclosures_and_link_in_document_order() -> None:
    links = feed_links(fixture("rss2-enclosures-feedparser.xml"), "https://feeds.example/rss")
    assert links == ["http://example.com/1", "http://example.com/2", "http://example.com/"]


def test_atom_alternate_links_but_not_self() -> None:
    links = feed_links(fixture("atom-rfc4287-trafilatura.atom"), "https://feeds.example/atom")
    assert links == ["http://example.org/2003/12/13/atom03"]  # the rel="self" entry is skipped


def test_atom_enclosure() -> None:
    links = feed_links(fixture("atom-enclosure-feedparser.xml"), "https://feeds.example/atom")
    assert links == ["http://www.example.com/"]


def test_a_real_movable_type_atom_feed() -> None:
    links = feed_links(fixture("atom-movabletype-feedparser.xml"), "https://touchnokia.ru/atom.xml")
    assert len(links) == 15 == len(set(links))
    assert links[0] == "http://touchnokia.ru/2009/09/nevidimaja-bronja-dlja-vashego-nokia-5800.html"
    assert all(link.startswith("http://touchnokia.ru/2009/") for link in links)


def test_relative_links_resolve_against_xml_base_and_the_feed_url() -> None:
    atom = b"""<?xml version="1.0"?>
    <feed xmlns="http://www.w3.org/2005/Atom" xml:base="https://docs.example/reports/">
      <entry><link href="q1.pdf"/></entry>
      <entry xml:base="2024/"><link rel="enclosure" href="q2.pdf"/>
        <link rel="related" href="ignored.pdf"/></entry>
      <entry><link xml:base="/archive/" href="old.pdf"/></entry>
    </feed>"""
    assert feed_links(atom, "https://feeds.example/atom.xml") == [
        "https://docs.example/reports/q1.pdf",
        "https://docs.example/reports/2024/q2.pdf",
        "https://docs.example/archive/old.pdf",
    ]
    rss = b"""<rss version="2.0"><channel><item><link>/a.pdf</link>
      <enclosure url="media/b.tiff" length="1" type="image/tiff"/></item></channel></rss>"""
    assert feed_links(rss, "https://news.example/feeds/rss.xml") == [
        "https://news.example/a.pdf",
        "https://news.example/feeds/media/b.tiff",
    ]


def test_a_feed_in_a_multibyte_charset_expat_cannot_read() -> None:
    text = '<?xml version="1.0" encoding="EUC-JP"?><rss version="2.0"><channel><item>'
    text += "<title>日本語</title><link>https://jp.example/文書.pdf</link></item></channel></rss>"
    assert feed_links(text.encode("euc-jp"), "https://jp.example/rss") == [
        "https://jp.example/文書.pdf"
    ]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"<html><body>not a feed</body></html>", "not an RSS 2.0 or Atom feed"),
        (fixture("sitemap-sitemaps-org.xml"), "not an RSS 2.0 or Atom feed"),
        (b"<rss><channel>", "not well-formed XML"),
        (b"", "not well-formed XML"),
    ],
)
def test_what_is_not_a_feed_is_a_listing_error(data: bytes, message: str) -> None:
    with pytest.raises(ListingError, match=message):
        feed_links(data, "https://feeds.example/rss")


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE rss [
  <!ENTITY lol "lol">
  <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<rss version="2.0"><channel><item><link>https://a.example/&lol3;</link></item></channel></rss>"""
EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE rss [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<rss version="2.0"><channel><item><link>https://a.example/&secret;</link></item></channel></rss>"""


@pytest.mark.parametrize("data", [BILLION_LAUGHS, EXTERNAL_ENTITY])
def test_entity_declarations_are_refused_not_expanded(data: bytes) -> None:
    with pytest.raises(ListingError, match="entity declarations or external references refused"):
        feed_links(data, "https://feeds.example/rss")


# --- sitemaps -------------------------------------------------------------------------------


def test_a_real_sitemap() -> None:
    sitemap = sitemap_locs(fixture("sitemap-sitemaps-org.xml"), "https://www.sitemaps.org/sm.xml")
    assert not sitemap.is_index
    assert len(sitemap.locs) == 84 == len(set(sitemap.locs))
    assert sitemap.locs[:2] == [
        "https://www.sitemaps.org/",
        "https://www.sitemaps.org/protocol.html",
    ]


def test_a_gzipped_sitemap_reads_the_same() -> None:
    url = "https://www.sitemaps.org/sitemap.xml.gz"
    assert sitemap_locs(fixture("sitemap-sitemaps-org.xml.gz"), url) == sitemap_locs(
        fixture("sitemap-sitemaps-org.xml"), url
    )


def test_a_sitemap_index_lists_its_children_cdata_included() -> None:
    index = sitemap_locs(fixture("sitemap-index-trafilatura.xml"), "http://www.example.com/s.xml")
    assert index.is_index
    assert index.locs == [
        "http://www.example.com/sitemap1.xml.gz",
        "http://www.example.com/sitemap2.xml.gz",
    ]


def test_a_gzip_bomb_is_refused_without_unpacking_it_all() -> None:
    bomb = gzip.compress(b"\0" * 5_000_000)
    assert len(bomb) < 10_000
    with pytest.raises(ListingError, match="unpacks to more than 1000000 bytes"):
        gunzip(bomb, "https://x.example/s.xml.gz", 1_000_000)
    with pytest.raises(ListingError, match="corrupt gzip data"):
        gunzip(b"\x1f\x8b\x08garbage", "https://x.example/s.xml.gz", 1000)


def sitemap_source(pattern: str = "*", **settings: object) -> Source:
    return Source(
        name="site",
        kind="sitemap",
        url="http://www.example.com/sitemap_index.xml",
        pattern=pattern,
        allow_http=True,
        **settings,  # type: ignore[arg-type]
    )


def serve(files: dict[str, bytes]) -> d.FetchListing:
    def fetch(url: str) -> tuple[bytes, str]:
        if url not in files:
            raise ListingError("404", url)
        return files[url], url

    return fetch


def test_discovery_follows_an_index_to_its_children_and_applies_the_pattern() -> None:
    files = {
        "http://www.example.com/sitemap_index.xml": fixture("sitemap-index-trafilatura.xml"),
        "http://www.example.com/sitemap1.xml.gz": fixture("sitemap-sitemaps-org.xml.gz"),
        "http://www.example.com/sitemap2.xml.gz": fixture("sitemap-sitemaps-org.xml"),
    }
    source = sitemap_source("https://www.sitemaps.org/de/*", exclude=("*/faq.html",))
    discovery = discover(source, serve(files))
    assert discovery.candidates == [
        "https://www.sitemaps.org/de/",
        "https://www.sitemaps.org/de/protocol.html",
        "https://www.sitemaps.org/de/terms.html",
    ]  # the same URLs in both children: each once
    assert discovery.found == 3
    assert discovery.errors == []


def test_a_missing_child_is_reported_and_the_others_are_read() -> None:
    files = {
        "http://www.example.com/sitemap_index.xml": fixture("sitemap-index-trafilatura.xml"),
        "http://www.example.com/sitemap2.xml.gz": fixture("sitemap-sitemaps-org.xml"),
    }
    discovery = discover(sitemap_source(), serve(files))
    assert discovery.found == 84
    assert discovery.errors == [
        (
            "http://www.example.com/sitemap1.xml.gz",
            "ListingError: http://www.example.com/sitemap1.xml.gz: 404",
        )
    ]


def test_the_sources_own_sitemap_failing_fails_the_discovery() -> None:
    with pytest.raises(ListingError, match="404"):
        discover(sitemap_source(), serve({}))


def test_sitemap_files_per_run_are_bounded_and_loops_end(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(d, "MAX_SITEMAPS", 3)

    def index(*children: str) -> bytes:
        locs = "".join(f"<sitemap><loc>{c}</loc></sitemap>" for c in children)
        return f'<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{locs}</sitemapindex>'.encode()

    root = "http://www.example.com/sitemap_index.xml"
    files = {
        root: index("/a.xml", root, "/b.xml", "/c.xml"),  # lists itself: read once
        "http://www.example.com/a.xml": index("/a.xml"),
        "http://www.example.com/b.xml": fixture("sitemap-sitemaps-org.xml"),
        "http://www.example.com/c.xml": fixture("sitemap-sitemaps-org.xml"),
    }
    discovery = discover(sitemap_source(), serve(files))
    assert discovery.found == 84  # from b.xml; c.xml was over the bound
    assert ("http://www.example.com/c.xml", "not read: over 3 sitemaps") in discovery.errors


def test_select_keeps_allowed_absolute_urls_once_and_bounds_the_candidates(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(d, "MAX_CANDIDATES", 2)
    source = Source(name="x", kind="http", include=("*.pdf",))
    urls = [
        "https://a.example/1.pdf#page=2",
        "https://a.example/1.pdf",  # the same document without its fragment
        "http://a.example/2.pdf",  # http: not allowed by this source
        "mailto:someone@a.example",
        "javascript:alert(1)",
        "https://a.example/page.html",
        "https://a.example/" + "x" * 2100 + ".pdf",
        "https://a.example/3.pdf",
        "https://a.example/4.pdf",
    ]
    discovery = select(urls, source)
    assert discovery.candidates == ["https://a.example/1.pdf", "https://a.example/3.pdf"]
    assert discovery.found == 3


def test_discover_uses_an_http_sources_own_urls() -> None:
    source = Source(name="x", kind="http", urls=("https://a.example/1.pdf", "https://a.example/2"))
    assert discover(source, serve({})).candidates == list(source.urls)


def test_feed_discovery_filters_the_feeds_links() -> None:
    source = Source(
        name="news",
        kind="feed",
        url="https://touchnokia.ru/atom.xml",
        include=("*/2009/05/*",),
        allow_http=True,
    )
    files = {"https://touchnokia.ru/atom.xml": fixture("atom-movabletype-feedparser.xml")}
    discovery = discover(source, serve(files))
    assert discovery.found == len(discovery.candidates) > 0
    assert all("/2009/05/" in url for url in discovery.candidates)


def test_relative_links_resolve_against_the_url_after_redirects() -> None:
    rss = b'<rss version="2.0"><channel><item><link>a.pdf</link></item></channel></rss>'
    source = Source(name="moved", kind="feed", url="https://old.example/rss.xml")

    def moved(url: str) -> tuple[bytes, str]:
        return rss, "https://new.example/feeds/rss.xml"

    assert discover(source, moved).candidates == ["https://new.example/feeds/a.pdf"]

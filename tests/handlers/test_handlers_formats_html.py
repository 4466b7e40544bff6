"""HTML and XHTML: the visible text and the title, nothing a browser would not show."""

from __future__ import annotations

from pathlib import Path

import pytest

from contract.errors import CorruptHtmlError
from handlers.formats import MediaType, detect, extract_document
from handlers.formats.htmltext import html_to_text

DOCUMENTS = Path(__file__).resolve().parent / "documents"


def test_real_page_keeps_title_and_text_without_scripts_or_styles() -> None:
    # GIVEN SQLite's documentation page, with inline <script> and <style>
    data = (DOCUMENTS / "sqlite-backup.html").read_bytes()

    # WHEN it is extracted
    result = extract_document(data, "backup.html")

    # THEN the title leads, the prose follows, and no code of the script or style shows
    assert (result.media_type, result.method, result.encoding) == ("text/html", "html", "utf-8")
    assert result.text.startswith("SQLite Backup API\n\n")
    assert "Historically, backups (copies) of SQLite databases have been created" in result.text
    for hidden in ("toggle_div", "getElementById", "text-decoration", "background: #F3F3F3"):
        assert hidden not in result.text
    # pre blocks keep their line breaks and indentation
    assert "\n  int rc;                   /* Function return code */\n" in result.text


def test_real_xhtml_page_in_latin1() -> None:
    data = (DOCUMENTS / "json-c-readme.xhtml").read_bytes()
    result = extract_document(data, "README.html")
    assert (result.media_type, result.encoding) == ("application/xhtml+xml", "windows-1252")
    assert result.text.splitlines()[:5] == [
        "JSON-C - A JSON implementation in C",
        "",
        "Overview",
        "",
        "JSON-C implements a reference counting object model that allows you to easily "
        "construct JSON objects in C, output them as JSON formatted strings and parse JSON "
        "formatted strings back into the C representation of JSON objects. It aims to conform "
        "to RFC 7159.",
    ]
    assert "\nmkdir build\ncd build\ncmake ..\n" in result.text


def test_hidden_and_unrendered_elements_are_left_out() -> None:
    markup = """<!DOCTYPE html><html><head><title>Invoice 42</title>
    <style>.x{color:red}</style><script>var secret = 1;</script></head><body>
    <p>Visible one.</p>
    <p hidden>Hidden attribute.</p>
    <div aria-hidden="TRUE">Hidden from assistive technology.</div>
    <span style="color: red; display : none !important">Display none.</span>
    <span style="visibility:hidden">Invisible.</span>
    <template><p>Template content.</p></template>
    <noscript>Enable JavaScript.</noscript>
    <dialog>Closed dialog.</dialog>
    <p hidden>Hidden paragraph<div>shown after an implied end tag</div>
    <p>Visible <b>two</b>, <i>inline</i>.</p>
    </body></html>"""
    assert html_to_text(markup) == (
        "Invoice 42\n\nVisible one.\n\nshown after an implied end tag\n\nVisible two, inline."
    )


def test_tables_are_rows_of_cells_and_blocks_are_lines() -> None:
    markup = """<h1>Results</h1><table><tr><th>Region</th><th>Revenue</th></tr>
    <tr><td><p>North</p><p>(incl. export)</p></td><td>1,850</td></tr></table>
    <ul><li>first</li><li>second</li></ul><p>one<br>two</p>"""
    assert html_to_text(markup) == (
        "Results\n\nRegion | Revenue\nNorth (incl. export) | 1,850\n\nfirst\nsecond\n\none\ntwo"
    )


def test_xhtml_self_closed_script_does_not_swallow_the_page() -> None:
    # An HTML parser would read everything after `<script .../>` as script.
    markup = (
        '<?xml version="1.0" encoding="utf-8"?>\n<html xmlns="http://www.w3.org/1999/xhtml">'
        '<head><title>T</title><script src="app.js"/></head><body><p>Body text.</p>'
        '<div class="spacer"/><p>After the spacer.</p><br/></body></html>'
    )
    assert detect(markup.encode(), "page") is MediaType.XHTML
    result = extract_document(markup.encode(), "page")
    assert result.text == "T\n\nBody text.\n\nAfter the spacer."


def test_declared_charset_with_invalid_bytes_is_refused() -> None:
    # GIVEN the real UTF-8 page with one byte replaced by a Latin-1 "é"
    data = (DOCUMENTS / "sqlite-backup.html").read_bytes()
    broken = data.replace(b"Historically", b"Historiqu\xe9ment", 1)

    with pytest.raises(CorruptHtmlError, match=r"byte 0xe9 at offset \d+ is not valid utf-8"):
        extract_document(broken, "broken.html")


def test_html_with_control_bytes_is_refused() -> None:
    data = b"<html><body><p>text</p>" + bytes(range(1, 32)) * 50 + b"</body></html>"
    with pytest.raises(CorruptHtmlError, match="not text"):
        extract_document(data, "garbage.html")


def test_undeclared_charset_is_detected() -> None:
    data = "<p>Café “Müller” – 4 €</p>".encode("cp1252")
    result = extract_document(data, "page")
    assert (result.text, result.encoding) == ("Café “Müller” – 4 €", "windows-1252")


def test_deeply_nested_markup_is_read_without_recursion() -> None:
    # 20 times Python's recursion limit: a recursive walk would raise RecursionError
    markup = "<div>" * 20_000 + "deep" + "</div>" * 20_000
    assert html_to_text(markup) == "deep"


def test_processing_instructions_and_comments_are_not_text() -> None:
    assert html_to_text("<p>RFC 7159<?a>.</p><!-- note --><p>next</p>") == "RFC 7159.\n\nnext"


def test_a_declared_codec_that_is_not_a_text_encoding_is_ignored() -> None:
    data = '<meta charset="uu"><p>Café</p>'.encode()
    assert extract_document(data, "page").text == "Café"

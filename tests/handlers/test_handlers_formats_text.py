"""Plain text and Markdown: detected by content, decoded from any common encoding."""

from __future__ import annotations

from pathlib import Path

import pytest

from contract.errors import EmptyDocumentError, UnsupportedTypeError
from handlers.formats import MediaType, detect, extract_document
from handlers.formats.textcodec import decode_text, is_markdown

DOCUMENTS = Path(__file__).resolve().parent / "documents"
# The report's words with the characters Windows-1252 has and ISO-8859-1 lacks.
REPORT_LINE = "Revenue grew by 12 % to €4.2 million, driven by the “Northern” region"


@pytest.mark.parametrize(
    ("name", "encoding", "snippet"),
    [
        ("cc0-legal-code.txt", "us-ascii", "CREATIVE COMMONS CORPORATION IS NOT A LAW FIRM"),
        ("ed-authors-latin1.txt", "iso-8859-1", "by François Pinard."),
        ("report-cp1252.txt", "windows-1252", REPORT_LINE),
        ("report-utf16.txt", "utf-16le", REPORT_LINE),
    ],
)
def test_real_text_files_decode_in_their_encoding(name: str, encoding: str, snippet: str) -> None:
    # GIVEN a text file written by a real program in its encoding
    data = (DOCUMENTS / name).read_bytes()

    # WHEN it is extracted
    result = extract_document(data, name)

    # THEN its text is decoded exactly, with the encoding it was written in
    assert (result.media_type, result.method, result.encoding) == (
        "text/plain",
        "decoded",
        encoding,
    )
    assert snippet in result.text
    assert (result.pages, result.confidence, result.children) == (1, 1.0, ())
    assert "\r" not in result.text and "\ufeff" not in result.text


def test_cp1252_text_keeps_its_line_structure() -> None:
    result = extract_document((DOCUMENTS / "report-cp1252.txt").read_bytes(), "report")
    assert result.text.splitlines()[:3] == [
        "Quarterly report: third quarter",
        "This report presents the results of the third quarter. "
        f"{REPORT_LINE}; costs fell slightly.",
        "Results by region",
    ]


def test_the_same_text_in_five_encodings_reads_the_same() -> None:
    # GIVEN LibreOffice's UTF-16 export re-encoded with and without BOMs
    text = decode_text((DOCUMENTS / "report-utf16.txt").read_bytes())
    assert text is not None
    variants = {
        "utf-8": text.text.encode("utf-8"),
        "utf-8 with BOM": b"\xef\xbb\xbf" + text.text.encode("utf-8"),
        "utf-16be with BOM": b"\xfe\xff" + text.text.encode("utf-16-be"),
        "utf-16le without BOM": text.text.encode("utf-16-le"),
        "utf-32le with BOM": b"\xff\xfe\x00\x00" + text.text.encode("utf-32-le"),
    }
    # WHEN each is decoded THEN each gives the same text
    for label, data in variants.items():
        decoded = decode_text(data)
        assert decoded is not None, label
        assert decoded.text == text.text, label


def test_markdown_is_text_kept_readable() -> None:
    data = (DOCUMENTS / "pyyaml-readme.md").read_bytes()
    result = extract_document(data, "readme")
    assert (result.media_type, result.method) == ("text/markdown", "decoded")
    assert result.text == data.decode("ascii").strip()


@pytest.mark.parametrize(
    "name", ["cc0-legal-code.txt", "ed-authors-latin1.txt", "report-cp1252.txt"]
)
def test_plain_text_is_not_taken_for_markdown(name: str) -> None:
    assert detect((DOCUMENTS / name).read_bytes(), name) is MediaType.TEXT


def test_underlined_titles_and_lists_alone_stay_plain_text() -> None:
    text = "Release notes\n=============\n\n- faster start\n- fewer bugs\n"
    assert not is_markdown(text)
    assert is_markdown(text + "\nSee [the manual](https://example.org/manual).\n")


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (bytes(range(256)) * 4, "not text in a known encoding"),
        (b"\x7fELF\x02\x01\x01" + b"\x00" * 64, "not text in a known encoding"),
        (b"plain words\x00 and a NUL", "not text in a known encoding"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 64, "legacy Office file"),
        (b"{\\rtf1\\ansi Hello}", "RTF document"),
    ],
)
def test_binary_blobs_are_refused_as_unsupported(data: bytes, problem: str) -> None:
    with pytest.raises(UnsupportedTypeError, match=problem):
        extract_document(data, "blob")


def test_empty_file_is_refused() -> None:
    with pytest.raises(EmptyDocumentError, match="zero-byte"):
        detect(b"", "empty")


@pytest.mark.timeout(10)
def test_decoding_a_large_hostile_line_is_fast() -> None:
    # GIVEN 60 KB on one line built to make careless Markdown patterns backtrack
    hostile = ("[" * 20_000 + "**a " * 5_000 + "`" * 10_000).encode()
    # WHEN it is detected THEN it returns (pytest-timeout would stop a hang)
    assert detect(hostile, "hostile") in (MediaType.TEXT, MediaType.MARKDOWN)

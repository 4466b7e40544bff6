"""DOCX and ODT: body text, headings and tables in reading order; damaged packages refused."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from contract.errors import (
    ContainerLimitError,
    CorruptDocxError,
    CorruptOdtError,
    EncryptedDocumentError,
    UnsupportedTypeError,
)
from handlers.formats import DocumentLimits, MediaType, detect, extract_document

DOCUMENTS = Path(__file__).resolve().parent / "documents"
REPORT_TEXT = """\
Quarterly report: third quarter

This report presents the results of the third quarter. Revenue grew by 12 % to €4.2 million, \
driven by the “Northern” region; costs fell slightly.

Results by region

Region | Revenue (€ k) | Growth
Northern | 1,850 | +18 %
Southern | 1,420 | +9 %
Export – Café Müller GmbH | 930 | +4 %

Findings

The analysis shows that quarterly revenue depends on two customers — a risk the board should \
address before year end.

Prepared by the finance team, naïve estimates excluded."""
BILLION_LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + b"".join(
        b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10)
        for i in range(1, 10)
    )
    + b"]><lolz>&lol9;</lolz>"
)


def rezip(
    data: bytes, drop: tuple[str, ...] = (), replace: dict[str, bytes] | None = None
) -> bytes:
    """The package rebuilt with members dropped or replaced (a derived, damaged copy)."""
    replace = replace or {}
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            if info.filename not in drop:
                target.writestr(info, replace.get(info.filename, source.read(info)))
    return out.getvalue()


@pytest.mark.parametrize(("name", "kind"), [("report.docx", "docx"), ("report.odt", "odt")])
def test_real_report_reads_in_order_with_its_table(name: str, kind: str) -> None:
    # GIVEN the same report saved by LibreOffice Writer as ODT and as DOCX
    data = (DOCUMENTS / name).read_bytes()

    # WHEN each is extracted
    result = extract_document(data, name)

    # THEN both give the headings, paragraphs and table rows in reading order
    assert result.text == REPORT_TEXT
    assert (result.method, result.pages, result.confidence, result.encoding) == (kind, 1, 1.0, None)
    assert result.media_type == MediaType.DOCX if kind == "docx" else MediaType.ODT


def test_real_word_document_with_a_table_nested_in_a_cell() -> None:
    result = extract_document((DOCUMENTS / "word-nested-tables.docx").read_bytes(), "w.docx")
    assert result.text == (
        "Lorem ipsum dolor sit amet, consectetur adipiscing elit.\n\n"
        "Text before Table Between Text after\n\n"
        "Donec semper facilisis metus finibus malesuada."
    )


def test_real_odfpy_table() -> None:
    result = extract_document((DOCUMENTS / "odfpy-simpletable.odt").read_bytes(), "t.odt")
    assert result.text == "Cell 1 | Cell 2\nCell 3 (bold) | Cell 4 (italic)"


def test_page_count_comes_from_the_stored_statistics() -> None:
    docx = (DOCUMENTS / "report.docx").read_bytes()
    with zipfile.ZipFile(io.BytesIO(docx)) as package:
        app = package.read("docProps/app.xml").replace(b"<Pages>1</Pages>", b"<Pages>3</Pages>")
    assert extract_document(rezip(docx, replace={"docProps/app.xml": app}), "d").pages == 3
    odt = (DOCUMENTS / "report.odt").read_bytes()
    with zipfile.ZipFile(io.BytesIO(odt)) as package:
        meta = package.read("meta.xml").replace(b'meta:page-count="1"', b'meta:page-count="4"')
    assert extract_document(rezip(odt, replace={"meta.xml": meta}), "o").pages == 4


def test_revisions_field_codes_and_fallbacks_are_left_out() -> None:
    w = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
    mc = 'xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006"'
    document = f"""<w:document {w} {mc}><w:body>
      <w:p><w:r><w:t xml:space="preserve">Kept </w:t></w:r><w:del><w:r><w:delText>deleted
      </w:delText></w:r></w:del><w:ins><w:r><w:t>inserted</w:t></w:r></w:ins><w:r>
      <w:instrText>PAGE \\* MERGEFORMAT</w:instrText></w:r><w:r><w:tab/><w:t>after tab</w:t>
      </w:r></w:p>
      <w:p><mc:AlternateContent><mc:Choice Requires="wps"><w:r><w:t>box</w:t></w:r></mc:Choice>
      <mc:Fallback><w:r><w:t>box again</w:t></w:r></mc:Fallback></mc:AlternateContent></w:p>
    </w:body></w:document>""".encode()
    docx = rezip((DOCUMENTS / "report.docx").read_bytes(), replace={"word/document.xml": document})
    assert extract_document(docx, "d").text == "Kept inserted\tafter tab\n\nbox"


def test_truncated_docx_is_refused_as_docx() -> None:
    data = (DOCUMENTS / "report.docx").read_bytes()
    truncated = data[: len(data) // 2]
    assert detect(truncated, "cut.docx") is MediaType.DOCX
    with pytest.raises(CorruptDocxError, match="truncated or damaged ZIP container"):
        extract_document(truncated, "cut.docx")


def test_docx_without_its_main_part_is_refused() -> None:
    data = rezip((DOCUMENTS / "report.docx").read_bytes(), drop=("word/document.xml",))
    with pytest.raises(CorruptDocxError, match=r"main document part word/document\.xml is missing"):
        extract_document(data, "d.docx")


def test_docx_with_malformed_xml_is_refused() -> None:
    data = rezip((DOCUMENTS / "report.docx").read_bytes(),
                 replace={"word/document.xml": b"<w:document><w:body><w:p>"})  # fmt: skip
    with pytest.raises(CorruptDocxError, match=r"word/document\.xml is not well-formed XML"):
        extract_document(data, "d.docx")


@pytest.mark.timeout(10)
def test_entity_expansion_in_a_docx_part_is_refused() -> None:
    data = rezip((DOCUMENTS / "report.docx").read_bytes(),
                 replace={"word/document.xml": BILLION_LAUGHS})  # fmt: skip
    with pytest.raises(CorruptDocxError, match="declares a document type"):
        extract_document(data, "lol.docx")


def test_real_odt_with_an_external_entity_is_refused() -> None:
    # odfpy's test file: content.xml declares <!ENTITY nasty SYSTEM "examples/...">
    data = (DOCUMENTS / "odfpy-external-entity.odt").read_bytes()
    with pytest.raises(CorruptOdtError, match=r"content\.xml declares a document type"):
        extract_document(data, "nasty.odt")


def test_odt_without_content_xml_is_refused() -> None:
    data = rezip((DOCUMENTS / "report.odt").read_bytes(), drop=("content.xml",))
    assert detect(data, "o.odt") is MediaType.ODT
    with pytest.raises(CorruptOdtError, match=r"content\.xml is missing"):
        extract_document(data, "o.odt")


def test_truncated_odt_is_refused_as_odt() -> None:
    data = (DOCUMENTS / "report.odt").read_bytes()[:3000]
    assert detect(data, "cut.odt") is MediaType.ODT
    with pytest.raises(CorruptOdtError, match="truncated or damaged"):
        extract_document(data, "cut.odt")


def test_password_protected_odt_is_refused() -> None:
    data = (DOCUMENTS / "report.odt").read_bytes()
    with zipfile.ZipFile(io.BytesIO(data)) as package:
        manifest = package.read("META-INF/manifest.xml")
    encrypted = manifest.replace(
        b'manifest:full-path="content.xml" manifest:media-type="text/xml"/>',
        b'manifest:full-path="content.xml" manifest:media-type="text/xml">'
        b'<manifest:encryption-data manifest:checksum-type="SHA1"/></manifest:file-entry>',
    )
    assert encrypted != manifest
    with pytest.raises(EncryptedDocumentError, match="password-protected"):
        extract_document(rezip(data, replace={"META-INF/manifest.xml": encrypted}), "e.odt")


def test_docx_part_inflating_like_a_bomb_is_refused() -> None:
    # GIVEN a DOCX whose document.xml inflates 2 MB of zeros from a few KB
    bomb = b"<w:document/>" + b"\x00" * 2_000_000
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO((DOCUMENTS / "report.docx").read_bytes())) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for info in source.infolist():
            body = bomb if info.filename == "word/document.xml" else source.read(info)
            target.writestr(info.filename, body)

    with pytest.raises(ContainerLimitError, match="inflates more than 100x") as caught:
        extract_document(out.getvalue(), "bomb.docx")
    assert caught.value.limit == "DOCUMENT_MAX_COMPRESSION_RATIO"


@pytest.mark.parametrize(
    ("marker", "kind"),
    [("xl/workbook.xml", "Excel workbook"), ("ppt/presentation.xml", "PowerPoint")],
)
def test_other_office_packages_are_unsupported(marker: str, kind: str) -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as package:
        package.writestr("[Content_Types].xml", "<Types/>")
        package.writestr(marker, "<x/>")
    with pytest.raises(UnsupportedTypeError, match=kind):
        detect(out.getvalue(), "f")


def test_opendocument_spreadsheet_is_unsupported() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as package:
        package.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        package.writestr("content.xml", "<x/>")
    with pytest.raises(UnsupportedTypeError, match="OpenDocument spreadsheet"):
        detect(out.getvalue(), "f")


def test_limits_apply_to_office_parts() -> None:
    with pytest.raises(ContainerLimitError) as caught:
        extract_document(
            (DOCUMENTS / "report.odt").read_bytes(), "o", DocumentLimits(max_member_bytes=1000)
        )
    assert caught.value.limit == "DOCUMENT_MAX_MEMBER_BYTES"


def test_deeply_nested_xml_is_refused_not_crashed() -> None:
    w = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
    document = (
        f"<w:document {w}><w:body><w:p>".encode()
        + b"<w:r>" * 100_000 + b"<w:t>x</w:t>" + b"</w:r>" * 100_000
        + b"</w:p></w:body></w:document>"
    )  # fmt: skip
    docx = rezip((DOCUMENTS / "report.docx").read_bytes(), replace={"word/document.xml": document})
    limits = DocumentLimits(max_compression_ratio=1_000_000)  # past the ratio bound
    with pytest.raises(CorruptDocxError, match="nested too deeply"):
        extract_document(docx, "deep.docx", limits)

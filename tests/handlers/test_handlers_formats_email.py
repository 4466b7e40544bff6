"""E-mail: headers and body text; attachments become children, bounded; broken MIME refused."""

from __future__ import annotations

from email.message import EmailMessage
from pathlib import Path

import pytest

from contract.errors import ContainerLimitError, CorruptEmailError, DocumentTooLargeError
from handlers.formats import DocumentLimits, MediaType, detect, extract_document

DOCUMENTS = Path(__file__).resolve().parent / "documents"


def _message(body: str = "Please see the attached files.", **headers: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = headers.get("sender", "Alice <alice@example.com>")
    message["To"] = "Bob <bob@example.org>"
    message["Subject"] = headers.get("subject", "Files")
    message["Date"] = "Mon, 30 Nov 2026 10:00:00 +0000"
    message.set_content(body)
    return message


def test_real_mail_with_html_body_and_pdf_attachment() -> None:
    # GIVEN a message Mutt wrote: an HTML-only body (with a <style>) and a PDF attached
    data = (DOCUMENTS / "quarterly-report.eml").read_bytes()

    # WHEN it is extracted
    result = extract_document(data, "quarterly-report.eml")

    # THEN the headers lead (the subject's encoded word decoded), the HTML body is text
    assert (result.media_type, result.method, result.pages) == ("message/rfc822", "email", 1)
    assert result.text.splitlines()[:4] == [
        "From: Finance Team <finance@example.com>",
        "To: Board <board@example.org>",
        "Subject: Quarterly report Q3 – revenue up 12 %",
        "Date: Tue, 1 Dec 2026 15:53:04 +0000",
    ]
    assert "please find attached the quarterly report for the third quarter." in result.text
    assert result.text.endswith("Kind regards,\nFinance team")
    assert "font-family" not in result.text and "<b>" not in result.text
    # AND the attachment is a child with the PDF's exact bytes, typed by its content
    (child,) = result.children
    assert (child.name, child.path, child.media_type) == (
        "report.pdf",
        "report.pdf",
        "application/pdf",
    )
    assert child.data.startswith(b"%PDF-1.6") and child.size == 29158


def test_real_pdf_attachment_reads_as_its_own_document() -> None:
    (child,) = extract_document((DOCUMENTS / "quarterly-report.eml").read_bytes(), "m").children
    pdf = extract_document(child.data, child.path, depth=1)
    assert (pdf.media_type, pdf.method) == ("application/pdf", "text-layer")
    assert "Export – Café Müller GmbH 930 +4 %" in pdf.text


def test_plain_text_is_preferred_over_its_html_alternative() -> None:
    message = _message("Plain rendering of the letter.")
    message.add_alternative("<p>HTML <b>rendering</b> of the letter.</p>", subtype="html")
    message.add_attachment(b"%PDF-1.4 ...", maintype="application", subtype="pdf", filename="a.pdf")

    result = extract_document(message.as_bytes(), "letter.eml")

    assert result.text.endswith("\n\nPlain rendering of the letter.")
    assert "HTML rendering" not in result.text
    assert [c.summary() for c in result.children] == [
        {"name": "a.pdf", "path": "a.pdf", "media_type": "application/pdf", "size": 12}
    ]


def test_attachment_names_are_neutralised_and_unique() -> None:
    message = _message()
    for name in ("../../etc/passwd", "notes.txt", "notes.txt", ""):
        message.add_attachment(b"some notes", maintype="text", subtype="plain", filename=name)
    message.add_attachment(_message("forwarded").as_bytes(), maintype="message", subtype="rfc822")

    result = extract_document(message.as_bytes(), "m")

    assert [(c.name, c.media_type) for c in result.children] == [
        ("etc_passwd", "text/plain"),
        ("notes.txt", "text/plain"),
        ("notes~2.txt", "text/plain"),
        ("attachment-4.txt", "text/plain"),
        ("attachment-5.eml", "message/rfc822"),
    ]
    assert b"forwarded" in result.children[-1].data


def test_attachments_beyond_the_count_limit_are_refused() -> None:
    message = _message()
    for index in range(3):
        message.add_attachment(b"x", maintype="text", subtype="plain", filename=f"{index}.txt")
    with pytest.raises(ContainerLimitError, match="DOCUMENT_MAX_CHILDREN") as caught:
        extract_document(message.as_bytes(), "m", DocumentLimits(max_children=2))
    assert caught.value.limit == "DOCUMENT_MAX_CHILDREN"


@pytest.mark.parametrize(
    ("limits", "limit"),
    [
        (DocumentLimits(max_member_bytes=1000), "DOCUMENT_MAX_MEMBER_BYTES"),
        (DocumentLimits(max_total_bytes=1500), "DOCUMENT_MAX_TOTAL_BYTES"),
    ],
)
def test_attachment_bytes_are_bounded(limits: DocumentLimits, limit: str) -> None:
    message = _message()
    message.add_attachment(b"a" * 900, maintype="text", subtype="plain", filename="a.txt")
    message.add_attachment(b"b" * 1100, maintype="text", subtype="plain", filename="b.txt")
    with pytest.raises(ContainerLimitError) as caught:
        extract_document(message.as_bytes(), "m", limits)
    assert caught.value.limit == limit


def test_attachments_past_the_nesting_depth_are_refused() -> None:
    data = (DOCUMENTS / "quarterly-report.eml").read_bytes()
    assert extract_document(data, "m", DocumentLimits(max_depth=3), depth=2).children
    with pytest.raises(ContainerLimitError, match="nesting depth 3") as caught:
        extract_document(data, "m", DocumentLimits(max_depth=3), depth=3)
    assert caught.value.limit == "DOCUMENT_MAX_DEPTH"


def test_mail_without_attachments_may_sit_at_any_depth() -> None:
    result = extract_document(_message("hello").as_bytes(), "m", DocumentLimits(max_depth=0))
    assert result.text.endswith("hello") and result.children == ()


def test_real_mail_with_mismatched_boundary_is_refused() -> None:
    # CPython's test message: the parts use "BOUNDARY", the header declares "BOUNDARY_"
    data = (DOCUMENTS / "cpython-msg31-broken-boundary.eml").read_bytes()
    assert detect(data, "m") is MediaType.EMAIL
    with pytest.raises(CorruptEmailError, match="MIME boundary never occurs"):
        extract_document(data, "msg_31.txt")


@pytest.mark.parametrize("cut", [0.5, 0.9])
def test_truncated_mail_is_refused(cut: float) -> None:
    data = (DOCUMENTS / "quarterly-report.eml").read_bytes()
    with pytest.raises(CorruptEmailError, match="truncated"):
        extract_document(data[: int(len(data) * cut)], "cut.eml")


@pytest.mark.parametrize(
    "header",
    [
        'To: "\n',  # python/cpython#148518: IndexError in the modern header parser
        "To: (c):\n",  # python/cpython#151857
        "Subject: =?x-unknown?q?broken?=\n",
        "Subject: =?utf-8?b?###?=\n",
        "Subject: =?utf\xe98?q?x?=\n",  # a charset name that is not ASCII: CharsetError
        "Subject: caf\xe9 au lait\n",  # raw 8-bit Latin-1
    ],
)
def test_malformed_headers_degrade_to_their_raw_value(header: str) -> None:
    data = (
        "From: a@example.com\nDate: Mon, 30 Nov 2026 10:00:00 +0000\n" + header + "\nBody.\n"
    ).encode("latin-1")
    result = extract_document(data, "m")
    assert result.text.endswith("\n\nBody.")
    assert header.split(":")[0] in result.text


def test_mime_parameter_without_value_does_not_fail() -> None:
    data = b"From: a@example.com\nSubject: s\nContent-Type: text/plain; name*\n\nBody.\n"
    assert extract_document(data, "m").text.endswith("Body.")


def test_text_that_merely_starts_with_a_colon_line_is_not_mail() -> None:
    assert detect(b"Note: call the bank.\nFrom: me\n", "n") is MediaType.TEXT
    assert detect(b"From: me\nTo: you\n\nHi", "n") is MediaType.EMAIL


def test_deeply_nested_parts_are_refused_not_crashed() -> None:
    levels = 1500  # deeper than Python's recursion limit, fewer parts than MAX_MIME_PARTS
    opening = "".join(
        f'Content-Type: multipart/mixed; boundary="b{i}"\n\n--b{i}\n' for i in range(levels)
    )
    closing = "".join(f"--b{i}--\n" for i in reversed(range(levels)))
    data = f"From: a@example.com\nSubject: deep\n{opening}Content-Type: text/plain\n\nhi\n{closing}"
    with pytest.raises(CorruptEmailError, match="nested too deeply"):
        extract_document(data.encode(), "deep.eml")


@pytest.mark.parametrize("charset", ["uu", "utf\x008", "no-such-charset"])
def test_a_body_charset_that_is_no_text_encoding_falls_back_to_detection(charset: str) -> None:
    data = f'From: a@example.com\nSubject: s\nContent-Type: text/plain; charset="{charset}"\n\n'
    result = extract_document(data.encode() + "Grüße".encode(), "m")
    assert result.text.endswith("\n\nGrüße")


def test_mime_parts_are_counted_before_parsing() -> None:
    # GIVEN 2,001 parts: the standard library's parser would take seconds per few thousand
    parts = "".join(f"--b\nContent-Type: text/plain\n\npart {i}\n" for i in range(2_000))
    data = f'From: a@example.com\nContent-Type: multipart/mixed; boundary="b"\n\n{parts}--b--\n'
    with pytest.raises(DocumentTooLargeError, match="2001 MIME parts exceed the 2000"):
        extract_document(data.encode(), "many.eml")

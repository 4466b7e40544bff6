"""OCR accuracy and PDF handling on documents rendered from known text (real tesseract)."""

from __future__ import annotations

import pytest
import render

from handlers import ocr_engine
from handlers.config import OcrLimits

PAGE_ONE = (
    "Quarterly report for the third quarter. Revenue grew by twelve percent compared with "
    "the same period last year, while operating costs remained stable. The analysis below "
    "covers sales, margins and the results of the new regional offices.\n"
    "Our findings show that customers in the northern region ordered more often, and that "
    "delivery times fell from five days to three. We recommend extending the pilot."
)
PAGE_TWO = (
    "Second page. The board approved the budget for the next quarter on 14 October. "
    "Questions about these figures can be sent to the finance team."
)


def test_clean_png_character_error_rate_at_most_two_percent() -> None:
    # GIVEN a clean 300 DPI page rendered from known text
    data = render.to_bytes(render.render_page(PAGE_ONE), "PNG")

    # WHEN it is OCR'd
    result = ocr_engine.extract_text(data, "clean.png")

    # THEN the text matches within 2% CER, on one OCR'd page with a high confidence
    assert render.character_error_rate(PAGE_ONE, result.text) <= 0.02
    assert (result.pages, result.page_methods, result.media_type) == (1, ["ocr"], "png")
    assert 0.85 <= result.confidence <= 1.0


def test_skewed_noisy_jpeg_character_error_rate_at_most_five_percent() -> None:
    # GIVEN the same page rotated, blurred, speckled and saved as a lossy JPEG
    page = render.degrade(render.render_page(PAGE_ONE), angle=3.0, noise=0.1)
    data = render.to_bytes(page, "JPEG", quality=40)

    # WHEN it is OCR'd THEN the text still matches within 5% CER
    result = ocr_engine.extract_text(data, "scan.jpg")
    assert render.character_error_rate(PAGE_ONE, result.text) <= 0.05
    assert result.media_type == "jpeg"


@pytest.mark.slow
def test_multipage_tiff_gives_one_text_per_page() -> None:
    # GIVEN a two-page group-4 TIFF, as a fax or scanner writes it
    data = render.multipage_tiff([render.render_page(PAGE_ONE), render.render_page(PAGE_TWO)])

    # WHEN it is OCR'd
    result = ocr_engine.extract_text(data, "report.tiff")

    # THEN both pages are read in order, separated by a form feed
    first, second = result.text.split(ocr_engine.PAGE_SEPARATOR)
    assert result.pages == 2
    assert render.character_error_rate(PAGE_ONE, first) <= 0.02
    assert render.character_error_rate(PAGE_TWO, second) <= 0.02


def test_pdf_text_layer_is_used_without_ocr(monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN a born-digital PDF, and tesseract made to fail if anything calls it
    data = render.text_pdf([PAGE_ONE, PAGE_TWO])

    def no_ocr(*args: object, **kwargs: object) -> None:
        raise AssertionError("tesseract ran on a page with a text layer")

    monkeypatch.setattr(ocr_engine, "_tesseract", no_ocr)

    # WHEN its text is extracted
    result = ocr_engine.extract_text(data, "contract.pdf")

    # THEN the text layer is returned exactly, page by page
    first, second = result.text.split(ocr_engine.PAGE_SEPARATOR)
    assert render.normalise(first) == render.normalise(PAGE_ONE)
    assert render.normalise(second) == render.normalise(PAGE_TWO)
    assert result.page_methods == ["text-layer", "text-layer"]
    assert result.ocr_pages == 0
    assert result.confidence == 1.0


def test_image_only_pdf_is_rasterized_and_ocrd() -> None:
    # GIVEN a scanned PDF: one page image, no text layer
    data = render.image_pdf([render.render_page(PAGE_TWO)])

    # WHEN its text is extracted THEN the page was rendered and OCR'd
    result = ocr_engine.extract_text(data, "scan.pdf")
    assert result.page_methods == ["ocr"]
    assert render.character_error_rate(PAGE_TWO, result.text) <= 0.02


def test_mixed_pdf_ocrs_only_the_pages_without_text_layer() -> None:
    # GIVEN a PDF whose first page is born-digital and whose second page is a scan
    data = render.text_pdf([PAGE_ONE, render.render_page(PAGE_TWO)])

    # WHEN its text is extracted
    result = ocr_engine.extract_text(data, "mixed.pdf")

    # THEN page one comes from its text layer exactly, page two from OCR
    first, second = result.text.split(ocr_engine.PAGE_SEPARATOR)
    assert result.page_methods == ["text-layer", "ocr"]
    assert render.normalise(first) == render.normalise(PAGE_ONE)
    assert render.character_error_rate(PAGE_TWO, second) <= 0.02
    assert 0.85 <= result.confidence < 1.0  # only OCR'd words count


def test_blank_page_gives_empty_text_and_zero_confidence() -> None:
    data = render.to_bytes(render.render_page(""), "PNG")
    result = ocr_engine.extract_text(data, "blank.png")
    assert (result.text.strip(), result.confidence, result.pages) == ("", 0.0, 1)


def test_limits_come_from_config() -> None:
    data = render.text_pdf(["page"] * 3)
    with pytest.raises(ocr_engine.DocumentTooLargeError, match="3 pages exceeds the 2 page"):
        ocr_engine.extract_text(data, "three.pdf", OcrLimits(max_pages=2))
    with pytest.raises(ocr_engine.DocumentTooLargeError, match="exceeds the 100 limit"):
        ocr_engine.extract_text(data, "three.pdf", OcrLimits(max_bytes=100))


def test_default_limits_accept_fifty_pages_and_twenty_megabytes() -> None:
    limits = OcrLimits()
    assert limits.max_pages >= 50
    assert limits.max_bytes >= 20 * 1024 * 1024


def test_fifty_page_text_pdf_is_accepted_by_default() -> None:
    result = ocr_engine.extract_text(render.text_pdf([PAGE_TWO] * 50), "long.pdf")
    assert result.pages == 50
    assert result.ocr_pages == 0


def test_encrypted_pdf_is_valid_and_opens_with_its_password() -> None:
    # The fixture must be a real encrypted PDF, not garbage PDFium also refuses.
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(render.encrypted_pdf("hidden words"), password="secret")
    assert "hidden words" in pdf[0].get_textpage().get_text_range()
    with pytest.raises(ocr_engine.EncryptedPdfError):
        ocr_engine.extract_text(render.encrypted_pdf("hidden words"), "locked.pdf")

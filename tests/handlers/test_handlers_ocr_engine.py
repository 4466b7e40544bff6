"""OCR accuracy and PDF handling on documents rendered from known text (real tesseract).

Tests without an engine in their name run the default engine (tesserocr, in process); the
golden tests run both engines on the same pages and compare them.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import pytest
import render
from PIL import Image

from contract.ocr import document_pixel_budget, page_pixel_budget
from handlers import ocr_engine, tesseract
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


@pytest.mark.parametrize("engine", ["tesserocr", "pytesseract"])
def test_pdf_text_layer_is_used_without_ocr(monkeypatch: pytest.MonkeyPatch, engine: str) -> None:
    # GIVEN a born-digital PDF, and both engines made to fail if anything calls them
    data = render.text_pdf([PAGE_ONE, PAGE_TWO])

    def no_ocr(*args: object, **kwargs: object) -> None:
        raise AssertionError("tesseract ran on a page with a text layer")

    for reader in (tesseract.InProcessEngine, tesseract.CliEngine):
        monkeypatch.setattr(reader, "read_page", no_ocr)
        monkeypatch.setattr(reader, "read_image_file", no_ocr)

    # WHEN its text is extracted
    result = ocr_engine.extract_text(data, "contract.pdf", OcrLimits(engine=engine))

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


# --- golden pages: both engines, same text ---------------------------------------------------

GOLDEN: dict[str, Callable[[], tuple[bytes, list[str]]]] = {
    "clean.png": lambda: (render.to_bytes(render.render_page(PAGE_ONE), "PNG"), [PAGE_ONE]),
    "scan.jpg": lambda: (
        render.to_bytes(render.degrade(render.render_page(PAGE_ONE)), "JPEG", quality=60),
        [PAGE_ONE],
    ),
    "report.tiff": lambda: (
        render.multipage_tiff([render.render_page(PAGE_ONE), render.render_page(PAGE_TWO)]),
        [PAGE_ONE, PAGE_TWO],
    ),
    "scan.pdf": lambda: (
        render.image_pdf([render.render_page(PAGE_ONE), render.render_page(PAGE_TWO)]),
        [PAGE_ONE, PAGE_TWO],
    ),
    "mixed.pdf": lambda: (
        render.text_pdf([PAGE_ONE, render.render_page(PAGE_TWO)]),
        [PAGE_ONE, PAGE_TWO],
    ),
    "text.pdf": lambda: (render.text_pdf([PAGE_ONE, PAGE_TWO]), [PAGE_ONE, PAGE_TWO]),
}
# The CLI is tesseract 5.3 (Debian), the wheel bundles 5.5: the same model, but not the same
# build, so equal text is not promised; within 1% of characters is.
ENGINES_AGREE_CER = 0.01


def golden_marks(name: str) -> Any:
    slow = name.endswith((".tiff", ".pdf")) and name != "text.pdf"
    return pytest.param(name, marks=[pytest.mark.slow] if slow else [])


@pytest.mark.parametrize("name", [golden_marks(name) for name in GOLDEN])
def test_both_engines_read_golden_pages_alike(name: str) -> None:
    # GIVEN a document rendered from known text
    data, truth = GOLDEN[name]()

    # WHEN the in-process engine and the tesseract binary read it
    inproc = ocr_engine.extract_text(data, name, OcrLimits(engine="tesserocr"))
    cli = ocr_engine.extract_text(data, name, OcrLimits(engine="pytesseract"))

    # THEN they agree on pages, methods and text, and each matches the truth page by page
    assert (inproc.pages, inproc.page_methods) == (cli.pages, cli.page_methods)
    assert inproc.pages == len(truth)
    assert render.character_error_rate(cli.text, inproc.text) <= ENGINES_AGREE_CER
    assert abs(inproc.confidence - cli.confidence) <= 0.03
    for result in (inproc, cli):
        pages = result.text.split(ocr_engine.PAGE_SEPARATOR)
        for expected, actual in zip(truth, pages, strict=True):
            assert render.character_error_rate(expected, actual) <= 0.03


def test_both_engines_lay_out_paragraphs_the_same_way() -> None:
    # GIVEN a page of two paragraphs
    data = render.to_bytes(render.render_page(PAGE_ONE), "PNG")

    # WHEN both engines read it THEN each paragraph's lines are joined by one newline and the
    # paragraphs by a blank line, as tesseract's TSV groups them
    texts = [
        ocr_engine.extract_text(data, "p.png", OcrLimits(engine=engine)).text
        for engine in ("tesserocr", "pytesseract")
    ]
    for text in texts:
        assert text.count("\n\n") == 1
        first, second = text.split("\n\n")
        assert first.startswith("Quarterly report") and second.startswith("Our findings")
        assert "\n" in first  # wrapped lines stay lines


@pytest.mark.parametrize("mode", ["1", "RGB", "RGBA", "P", "I;16", "CMYK"])
def test_in_process_engine_reads_every_image_mode(mode: str) -> None:
    # GIVEN the same page in a less common pixel format
    page = render.render_page(PAGE_TWO).crop((0, 0, 2550, 900))
    if mode == "I;16":
        image = page.convert("I").point(lambda value: value * 256).convert("I;16")
    elif mode == "RGBA":
        image = page.convert("RGBA")
        image.putalpha(255)
    else:
        image = page.convert(mode)
    image.info["dpi"] = (300, 300)

    # WHEN the in-process engine reads it THEN the text is the page's
    result = tesseract.InProcessEngine("eng").read_page(image)
    assert render.character_error_rate(PAGE_TWO, result.text) <= 0.02


def test_in_process_engine_names_a_missing_language(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(tesseract.TesseractSetupError, match=r"no traineddata for xyz in .*eng"):
        ocr_engine.extract_text(
            render.to_bytes(render.render_page("x"), "PNG"), "x.png", OcrLimits(language="xyz")
        )


def test_unknown_engine_is_a_configuration_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OCR_ENGINE", "cuneiform")
    with pytest.raises(ValueError, match="OCR_ENGINE='cuneiform' is not an OCR engine"):
        OcrLimits.from_env()


def test_limits_read_the_engine_and_pixel_budgets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OCR_ENGINE", "pytesseract")
    monkeypatch.setenv("OCR_MAX_PAGE_PIXELS", "1000000")
    monkeypatch.setenv("OCR_MAX_DOCUMENT_PIXELS", "5000000")
    limits = OcrLimits.from_env()
    assert (limits.engine, limits.max_page_pixels, limits.max_document_pixels) == (
        "pytesseract",
        1_000_000,
        5_000_000,
    )


# --- pixel budgets -------------------------------------------------------------------------

# What the stack sets for an ocr function of 512 MB with the default page limit.
SMALL = OcrLimits(
    max_page_pixels=page_pixel_budget(512), max_document_pixels=document_pixel_budget(90)
)


@pytest.fixture
def rendered(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int]]:
    """The size of every page image the in-process engine is given."""
    sizes: list[tuple[int, int]] = []
    read_page = tesseract.InProcessEngine.read_page

    def spy(self: tesseract.InProcessEngine, image: Image.Image) -> tesseract.PageText:
        sizes.append(image.size)
        return read_page(self, image)

    monkeypatch.setattr(tesseract.InProcessEngine, "read_page", spy)
    return sizes


def test_huge_pdf_pages_are_rendered_within_the_page_budget(
    rendered: list[tuple[int, int]],
) -> None:
    # GIVEN 541 bytes of PDF: three blank 200 x 200 inch pages (3.6 gigapixels each at 300 DPI)
    data = render.blank_pdf(3, 14400, 14400)

    # WHEN a 512 MB function's budget applies
    result = ocr_engine.extract_text(data, "poster.pdf", SMALL)

    # THEN every page was rendered smaller, within the page budget, and read as blank
    assert result.pages == 3 and result.text.strip() == ""
    assert len(rendered) == 3
    assert all(w * h <= SMALL.max_page_pixels for w, h in rendered)
    assert all(w * h > SMALL.max_page_pixels * 0.99 for w, h in rendered)


def test_pdf_over_the_document_budget_is_refused_before_rendering(
    rendered: list[tuple[int, int]],
) -> None:
    data = render.blank_pdf(3, 14400, 14400)
    limits = OcrLimits(max_page_pixels=SMALL.max_page_pixels, max_document_pixels=30_000_000)
    with pytest.raises(ocr_engine.DocumentTooLargeError, match=r"OCR_MAX_DOCUMENT_PIXELS=30000000"):
        ocr_engine.extract_text(data, "poster.pdf", limits)
    assert rendered == []


def test_normal_pdf_pages_keep_300_dpi() -> None:
    assert ocr_engine.render_scale(612, 792, SMALL.max_page_pixels) == pytest.approx(300 / 72)
    # A page too large for the budget is scaled to fit it; one too long for tesseract too.
    assert ocr_engine.render_scale(612 * 4, 792 * 4, 10_000_000) < 300 / 72
    assert 20_000 * 0.99 < 14400 * ocr_engine.render_scale(14400, 10, 10**12) <= 20_000


def test_image_above_the_page_budget_is_refused_before_decoding(
    rendered: list[tuple[int, int]],
) -> None:
    # GIVEN a 40-megapixel PNG (a few kilobytes: one colour compresses to nothing)
    data = render.to_bytes(Image.new("L", (5000, 8000), 255), "PNG")

    # WHEN a function with a 12-megapixel page budget reads it THEN it is refused, typed
    with pytest.raises(ocr_engine.DocumentTooLargeError, match=r"OCR_MAX_PAGE_PIXELS=12"):
        ocr_engine.extract_text(data, "huge.png", SMALL)
    assert rendered == []


def test_tiff_page_above_the_page_budget_is_refused() -> None:
    # GIVEN a TIFF whose first page is small and whose second is over the budget
    small, large = Image.new("1", (1000, 1000), 1), Image.new("1", (4000, 4000), 1)
    buffer = io.BytesIO()
    small.save(buffer, format="TIFF", save_all=True, append_images=[large], compression="group4")
    limits = OcrLimits(max_page_pixels=10_000_000)
    with pytest.raises(ocr_engine.DocumentTooLargeError, match=r"page 2 is 4000x4000 pixels"):
        ocr_engine.extract_text(buffer.getvalue(), "fax.tiff", limits)


def test_image_pages_over_the_document_budget_are_refused() -> None:
    pages = [Image.new("1", (2000, 2000), 1)] * 3
    buffer = io.BytesIO()
    pages[0].save(buffer, format="TIFF", save_all=True, append_images=pages[1:])
    limits = OcrLimits(max_page_pixels=5_000_000, max_document_pixels=10_000_000)
    with pytest.raises(ocr_engine.DocumentTooLargeError, match=r"add up to 12.0 megapixels"):
        ocr_engine.extract_text(buffer.getvalue(), "fax.tiff", limits)


def test_decompression_bomb_fails_typed_at_the_budget() -> None:
    from PIL import Image as PILImage

    data = render.to_bytes(Image.new("L", (3000, 3000), 255), "PNG")
    with pytest.raises(ocr_engine.DocumentTooLargeError, match="page budget"):
        ocr_engine.extract_text(data, "bomb.png", OcrLimits(max_page_pixels=2_000_000))
    assert PILImage.MAX_IMAGE_PIXELS == 2_000_000


def test_pixel_budgets_grow_with_memory_and_pages() -> None:
    assert page_pixel_budget(512) < page_pixel_budget(2048) < page_pixel_budget(10240)
    assert page_pixel_budget(128) == 1_000_000  # a tiny function still reads small pages
    a4_at_300_dpi = 2480 * 3508
    assert page_pixel_budget(1024) >= 4 * a4_at_300_dpi
    assert document_pixel_budget(90) == 90 * a4_at_300_dpi

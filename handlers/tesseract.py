"""The two ways docpipe runs tesseract, behind one interface; the stack picks one (OCR_ENGINE).

- `tesserocr` (default): libtesseract inside this process through tesserocr, whose manylinux
  wheels bundle libtesseract and leptonica, so a Lambda layer built from PyPI is all it needs.
  One API object per language per process, created on first use and kept (a warm Lambda
  loads the model once); pages go in as raw pixels, with no temporary file or re-encoding.
- `pytesseract`: the `tesseract` binary that a user's own layer or container image brings;
  one process per document (every page of a multi-page TIFF in one run) or rendered page.

Both read tesseract's TSV (each word with its page, block, paragraph, line and confidence), so
both give the same `PageText`: lines joined by newlines, a blank line between paragraphs.
"""

from __future__ import annotations

import functools
import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from contract import settings as env
from handlers.config import tessdata_dir

if TYPE_CHECKING:
    from PIL import Image


class TesseractSetupError(RuntimeError):
    """tesseract cannot run here (a language's traineddata is missing): a deployment problem,
    not the document's, so the record fails and is retried rather than rejected."""


@dataclass(frozen=True)
class PageText:
    text: str
    method: str  # "text-layer" or "ocr"
    words: int
    confidence_sum: float  # sum of word confidences in [0, 1]; 0 for text-layer pages


EMPTY_PAGE = PageText(text="", method="ocr", words=0, confidence_sum=0.0)


class Engine(Protocol):
    def read_page(self, image: Image.Image) -> PageText:
        """OCR one page image; its DPI comes from `image.info["dpi"]` when known."""
        ...

    def read_image_file(
        self, data: bytes, kind: str, frames: Iterable[Image.Image]
    ) -> list[PageText]:
        """OCR every page of an image file; `frames` decodes (and so validates) each page."""
        ...


def engine(name: str, language: str) -> Engine:
    if name == "tesserocr":
        return InProcessEngine(language)
    if name == "pytesseract":
        return CliEngine(language)
    raise ValueError(f"{env.OCR_ENGINE.name}={name!r} is not an OCR engine")


# --- in process ----------------------------------------------------------------------------


@dataclass(frozen=True)
class InProcessEngine:
    language: str

    def read_page(self, image: Image.Image) -> PageText:
        api = _api(self.language, str(tessdata_dir()))
        pixels, bytes_per_pixel, bytes_per_line = _raw_pixels(image)
        # tesseract does not copy `pixels`: they must outlive Recognize and GetTSVText.
        api.SetImageBytes(pixels, image.width, image.height, bytes_per_pixel, bytes_per_line)
        dpi = _dpi(image)
        if dpi:  # unknown stays unknown, as for the CLI reading a file without a resolution
            api.SetSourceResolution(dpi)
        try:
            if not api.Recognize():
                raise RuntimeError("tesseract failed to recognise the page")
            tsv = api.GetTSVText(0)
        finally:
            api.Clear()  # frees the page's image and results; the model stays loaded
        return (pages_from_tsv(tsv) or [EMPTY_PAGE])[0]

    def read_image_file(
        self, data: bytes, kind: str, frames: Iterable[Image.Image]
    ) -> list[PageText]:
        return [self.read_page(frame) for frame in frames]


@functools.cache
def _api(language: str, tessdata: str) -> Any:
    """One tesseract per language and model folder, for the life of the process."""
    from tesserocr import PyTessBaseAPI

    folder = Path(tessdata)
    missing = [
        lang for lang in language.split("+") if not (folder / f"{lang}.traineddata").is_file()
    ]
    if missing:
        present = sorted(p.stem for p in folder.glob("*.traineddata")) if folder.is_dir() else []
        variable = env.TESSDATA_PREFIX.name
        raise TesseractSetupError(
            f"no traineddata for {'+'.join(missing)} in {folder} ({variable}); it holds "
            f"{', '.join(present) or 'none'}. On Lambda, build the OCR layer with the stack's "
            "ocrLanguage (`make build OCR_LANGUAGE=...`); elsewhere install the language's "
            f"tessdata package (`pip install tessdata.fast_{missing[0]}`) or set {variable}"
        )
    return PyTessBaseAPI(path=f"{folder}{os.sep}", lang=language)


def _raw_pixels(image: Image.Image) -> tuple[bytes, int, int]:
    """The image as tesseract's raw buffer: bytes, bytes per pixel (0 = packed 1-bit, 1 = white,
    as PIL's mode "1" is), bytes per line. Other modes become what tesseract reads from a file:
    alpha is flattened onto white, palettes and CMYK become RGB, 16-bit keeps its high byte."""
    from PIL import Image

    mode = image.mode
    if mode == "1":
        return image.tobytes(), 0, (image.width + 7) // 8
    if mode in ("RGBA", "LA", "PA") or (mode == "P" and "transparency" in image.info):
        background = Image.new("RGBA", image.size, "white")
        flat = Image.alpha_composite(background, image.convert("RGBA"))
        image = flat.convert("L" if mode == "LA" else "RGB")
    elif mode.startswith("I;16") or mode == "I":
        image = image.convert("I").point(lambda value: value / 256).convert("L")
    elif mode not in ("L", "RGB"):
        image = image.convert("RGB" if mode in ("P", "CMYK", "YCbCr", "LAB", "HSV") else "L")
    depth = len(image.getbands())
    return image.tobytes(), depth, image.width * depth


def _dpi(image: Image.Image) -> int:
    dpi = image.info.get("dpi")
    try:
        return round(float(dpi[0])) if dpi else 0
    except (TypeError, ValueError, IndexError):
        return 0


# --- the tesseract binary ------------------------------------------------------------------


@dataclass(frozen=True)
class CliEngine:
    language: str

    def read_page(self, image: Image.Image) -> PageText:
        with tempfile.TemporaryDirectory(prefix="docpipe-ocr-") as tmp:
            path = Path(tmp) / "page.png"
            dpi = _dpi(image)
            # PNG level 1: a tenth of level 6's encoding time, and the file never leaves /tmp.
            image.save(path, format="PNG", compress_level=1, **({"dpi": (dpi, dpi)} if dpi else {}))
            return (self._run(path) or [EMPTY_PAGE])[0]

    def read_image_file(
        self, data: bytes, kind: str, frames: Iterable[Image.Image]
    ) -> list[PageText]:
        for _frame in frames:  # decode every page first: a damaged file fails typed, in PIL
            pass
        with tempfile.TemporaryDirectory(prefix="docpipe-ocr-") as tmp:
            path = Path(tmp) / f"input.{kind}"
            path.write_bytes(data)
            # tesseract reads every page of a multi-page TIFF itself: one process, one model load.
            return self._run(path)

    def _run(self, path: Path) -> list[PageText]:
        """One tesseract run writing TSV only: every word with its page and confidence."""
        import pytesseract

        # tesseract's OpenMP threads fight each other on Lambda's 1-2 vCPUs: 5-7x slower.
        os.environ.setdefault(env.OMP_THREAD_LIMIT.name, str(env.OMP_THREAD_LIMIT.default))
        pytesseract.pytesseract.tesseract_cmd = os.environ.get("TESSERACT_CMD", "tesseract")
        return pages_from_tsv(pytesseract.image_to_data(str(path), lang=self.language))


# --- TSV -----------------------------------------------------------------------------------


def pages_from_tsv(tsv: str) -> list[PageText]:
    """Rebuild each page's text (lines, blank line between paragraphs) and word statistics.

    The CLI's TSV starts with a header row; the library's (`GetTSVText`) has none."""
    pages: dict[int, dict[tuple[int, int], dict[int, list[str]]]] = {}
    stats: dict[int, list[float]] = {}
    for line in tsv.splitlines():
        cells = line.split("\t")
        if len(cells) < 12 or not cells[0].isdigit():
            continue
        level, page = int(cells[0]), int(cells[1])
        paragraphs = pages.setdefault(page, {})
        if level != 5 or not cells[11].strip():
            continue  # level 1-4 rows are pages, blocks, paragraphs, lines; 5 are words
        paragraph = (int(cells[2]), int(cells[3]))
        paragraphs.setdefault(paragraph, {}).setdefault(int(cells[4]), []).append(cells[11])
        confidence = float(cells[10])
        if confidence >= 0:
            stats.setdefault(page, []).append(confidence / 100.0)
    return [
        PageText(
            text="\n\n".join(
                "\n".join(" ".join(words) for words in lines.values())
                for lines in pages[number].values()
            ),
            method="ocr",
            words=len(stats.get(number, [])),
            confidence_sum=sum(stats.get(number, [])),
        )
        for number in sorted(pages)
    ]

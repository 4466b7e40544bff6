"""Documents rendered from known text, for OCR tests, samples and benchmarks.

Images are drawn with PIL at 300 DPI in DejaVu Sans; PDFs are written by hand (PIL cannot
write a text layer, pypdfium2 cannot write at all), including a genuinely RC4-encrypted one.
"""

from __future__ import annotations

import hashlib
import io
import random
import textwrap
import zlib
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter, ImageFont

DPI = 300
PAGE_PX = (2550, 3300)  # US Letter at 300 DPI
FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf",
)


def _font(size_px: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    for candidate in FONT_CANDIDATES:
        if Path(candidate).exists():
            return ImageFont.truetype(candidate, size_px)
    return ImageFont.load_default(size=size_px)


def render_page(text: str, font_pt: int = 12, width_chars: int = 70) -> Image.Image:
    """One white grayscale page with `text` wrapped at `width_chars`, as a 300 DPI scan."""
    image = Image.new("L", PAGE_PX, 255)
    draw = ImageDraw.Draw(image)
    size_px = round(font_pt * DPI / 72)
    font = _font(size_px)
    y = 300
    for paragraph in text.split("\n"):
        for line in textwrap.wrap(paragraph, width_chars) or [""]:
            draw.text((250, y), line, fill=0, font=font)
            y += round(size_px * 1.5)
    return image


def degrade(
    image: Image.Image, angle: float = 1.5, noise: float = 0.04, seed: int = 7
) -> Image.Image:
    """A scanner's flaws: slight rotation, blur and salt-and-pepper noise (deterministic)."""
    skewed = image.rotate(angle, resample=Image.Resampling.BICUBIC, expand=False, fillcolor=255)
    blurred = skewed.filter(ImageFilter.GaussianBlur(0.8))
    rng = random.Random(seed)
    pixels = blurred.load()
    assert pixels is not None
    width, height = blurred.size
    for _ in range(int(width * height * noise / 10)):
        x, y = rng.randrange(width), rng.randrange(height)
        pixels[x, y] = 0 if rng.random() < 0.5 else 255
    return blurred


def to_bytes(image: Image.Image, fmt: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, dpi=(DPI, DPI), **options)
    return buffer.getvalue()


def multipage_tiff(pages: list[Image.Image]) -> bytes:
    buffer = io.BytesIO()
    first, *rest = [page.convert("1") for page in pages]
    first.save(
        buffer,
        format="TIFF",
        save_all=True,
        append_images=rest,
        compression="group4",
        dpi=(DPI, DPI),
    )
    return buffer.getvalue()


def image_pdf(pages: list[Image.Image]) -> bytes:
    """A scanned PDF: page images only, no text layer."""
    buffer = io.BytesIO()
    first, *rest = pages
    first.save(buffer, format="PDF", save_all=True, append_images=rest, resolution=DPI)
    return buffer.getvalue()


# --- hand-written PDFs -------------------------------------------------------------------


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def _page_stream(text: str) -> bytes:
    lines = ["BT", "/F1 11 Tf", "14 TL", "72 720 Td"]
    for paragraph in text.split("\n"):
        for line in textwrap.wrap(paragraph, 85) or [""]:
            lines.append(f"({_escape(line)}) Tj T*")
    lines.append("ET")
    return "\n".join(lines).encode("latin-1")


def _assemble(objects: list[bytes], trailer_extra: str = "") -> bytes:
    """Number `objects` from 1 and write a PDF with a correct xref table."""
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for offset in offsets:
        out += f"{offset:010d} 00000 n \n".encode()
    out += (
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R {trailer_extra}>>\n"
        f"startxref\n{xref}\n%%EOF\n"
    ).encode()
    return bytes(out)


def text_pdf(pages: list[str | Image.Image]) -> bytes:
    """A PDF whose `str` pages have a Helvetica text layer and whose image pages are scans.

    Every page takes three objects: the page, its content stream, and its image (unused
    by text pages, an empty stream keeps the numbering simple).
    """
    count = len(pages)
    kids = " ".join(f"{4 + 3 * i} 0 R" for i in range(count))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        f"<< /Type /Pages /Kids [{kids}] /Count {count} >>".encode(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
    ]
    for i, page in enumerate(pages):
        content, image = 5 + 3 * i, 6 + 3 * i
        if isinstance(page, str):
            stream, image_object = _page_stream(page), _stream(b"")
        else:
            stream = b"q 612 0 0 792 0 0 cm /Im1 Do Q"
            image_object = _image_xobject(page)
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents {content} 0 R "
            f"/Resources << /Font << /F1 3 0 R >> /XObject << /Im1 {image} 0 R >> >> >>".encode()
        )
        objects.append(_stream(stream))
        objects.append(image_object)
    return _assemble(objects)


def _stream(data: bytes, extra: str = "") -> bytes:
    return f"<< /Length {len(data)} {extra}>>\nstream\n".encode() + data + b"\nendstream"


def _image_xobject(image: Image.Image) -> bytes:
    gray = image.convert("L")
    data = zlib.compress(gray.tobytes(), 9)
    width, height = gray.size
    return _stream(
        data,
        f"/Type /XObject /Subtype /Image /Width {width} /Height {height} "
        "/ColorSpace /DeviceGray /BitsPerComponent 8 /Filter /FlateDecode ",
    )


def blank_pdf(pages: int, width_pt: float, height_pt: float) -> bytes:
    """Blank pages of any size, without a text layer: 3 pages of 200 x 200 inches (PDF's
    largest) take under 700 bytes, and rendered at 300 DPI they would be 3.6 gigapixels each."""
    kids = " ".join(f"{3 + i} 0 R" for i in range(pages))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        f"<< /Type /Pages /Kids [{kids}] /Count {pages} >>".encode(),
    ]
    objects += [
        f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {width_pt} {height_pt}] >>".encode()
    ] * pages
    return _assemble(objects)


def pdf_without_pages() -> bytes:
    return _assemble(
        [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [] /Count 0 >>"]
    )


_PAD = bytes.fromhex("28BF4E5E4E758A4164004E56FFFA01082E2E00B6D0683E802F0CA9FE6453697A")


def _rc4(key: bytes, data: bytes) -> bytes:
    state = list(range(256))
    j = 0
    for i in range(256):
        j = (j + state[i] + key[i % len(key)]) % 256
        state[i], state[j] = state[j], state[i]
    out = bytearray()
    i = j = 0
    for byte in data:
        i = (i + 1) % 256
        j = (j + state[i]) % 256
        state[i], state[j] = state[j], state[i]
        out.append(byte ^ state[(state[i] + state[j]) % 256])
    return bytes(out)


def encrypted_pdf(text: str, user_password: str = "secret") -> bytes:
    """A one-page PDF encrypted with the standard security handler, revision 2 (RC4-40).

    Keys follow ISO 32000-1 algorithms 2, 3 and 4, so `pypdfium2.PdfDocument(data,
    password=user_password)` opens it and an empty password is refused.
    """
    file_id = hashlib.md5(text.encode()).digest()
    padded_user = (user_password.encode("latin-1") + _PAD)[:32]
    owner_key = hashlib.md5((b"owner" + _PAD)[:32]).digest()[:5]
    owner_entry = _rc4(owner_key, padded_user)
    permissions = -4
    key = hashlib.md5(
        padded_user + owner_entry + permissions.to_bytes(4, "little", signed=True) + file_id
    ).digest()[:5]
    user_entry = _rc4(key, _PAD)

    def encrypt(number: int, data: bytes) -> bytes:
        object_key = hashlib.md5(key + number.to_bytes(3, "little") + b"\x00\x00").digest()
        return _rc4(object_key[:10], data)

    stream = encrypt(4, _page_stream(text))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        f"<< /Length {len(stream)} >>\nstream\n".encode() + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        f"<< /Filter /Standard /V 1 /R 2 /O <{owner_entry.hex()}> /U <{user_entry.hex()}> "
        f"/P {permissions} >>".encode(),
    ]
    return _assemble(objects, f"/Encrypt 6 0 R /ID [<{file_id.hex()}> <{file_id.hex()}>] ")


# --- measuring ---------------------------------------------------------------------------


def normalise(text: str) -> str:
    return " ".join(text.split())


def character_error_rate(expected: str, actual: str) -> float:
    """Levenshtein distance over whitespace-normalised text, divided by the expected length."""
    reference, hypothesis = normalise(expected), normalise(actual)
    previous = list(range(len(hypothesis) + 1))
    for i, ref_char in enumerate(reference, start=1):
        current = [i]
        for j, hyp_char in enumerate(hypothesis, start=1):
            current.append(
                min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ref_char != hyp_char))
            )
        previous = current
    return previous[-1] / max(len(reference), 1)

"""UTF-8 text in and out, for the stages that read `text/` and `summaries/` objects."""

from __future__ import annotations

from pathlib import Path

from handlers.errors import DocumentError, InvalidEncodingError


def decode_utf8(data: bytes, source: str) -> str:
    """Strict: a byte that is not UTF-8 is bad input, never silently replaced."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidEncodingError(
            f"not valid UTF-8: byte 0x{data[exc.start]:02x} at offset {exc.start}", source
        ) from exc
    return text.removeprefix("\ufeff")  # a BOM is an encoding marker, not text


def read_local_text(path: Path) -> str:
    """For the CLIs: the file's text, or a DocumentError naming the file."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DocumentError(f"cannot read file ({exc.strerror})", str(path)) from exc
    return decode_utf8(data, str(path))


def read_s3_text(bucket: str, key: str) -> str:
    from handlers import runtime

    body = runtime.get_object(bucket, key)["Body"].read()
    return decode_utf8(body, f"s3://{bucket}/{key}")

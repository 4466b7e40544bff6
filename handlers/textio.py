"""Text for the stages that read `text/` and `summaries/` objects: UTF-8 in and out, and the
words and stop words both summarize and classify count."""

from __future__ import annotations

import functools
import re
from pathlib import Path

from contract.errors import DocumentError, InvalidEncodingError

# A word: letters (then letters, digits, ' or -), or a number; '_' is not a letter here.
WORD = re.compile(r"[^\W\d_][\w'-]*|\d+", re.UNICODE)


@functools.cache
def stop_words() -> frozenset[str]:
    """English stop words (the `stop-words` package: nltk's list needs downloaded data)."""
    from stop_words import get_stop_words

    return frozenset(get_stop_words("en"))


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

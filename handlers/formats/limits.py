"""Bounds on what one document may unpack: its children (e-mail attachments, archive
members) and the parts read from a ZIP container (DOCX, ODT, ZIP).

Each bound is a field of `DocumentLimits` with its default; `ENV_NAMES` maps each field to
the environment variable that overrides it. Both are defined here once.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass

MIB = 1024 * 1024


@dataclass(frozen=True)
class DocumentLimits:
    # Attachments or archive members one document may yield.
    max_children: int = 100
    # Decompressed bytes one document yields or reads in total: its children (held in
    # memory until stored) or the XML parts of a DOCX or ODT.
    max_total_bytes: int = 100 * MIB
    # One member or attachment, and one XML part of a DOCX or ODT, decompressed. A child
    # above the OCR stage's own 25 MiB limit would only be rejected later.
    max_member_bytes: int = 25 * MIB
    # Decompressed / compressed size of one ZIP member: text deflates 3-10x and OOXML parts
    # up to about 30x; 42.zip-style bombs reach thousands.
    max_compression_ratio: int = 100
    # How deep a document may sit below its upload (an upload is depth 0) and still yield
    # children: an e-mail (0) -> its ZIP attachment (1) -> a member (2) -> ...
    max_depth: int = 3
    # Whether a ZIP archive's members become documents; off, a ZIP is refused.
    expand_archives: bool = False

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> DocumentLimits:
        """The defaults, overridden by the variables of `ENV_NAMES` that are set.

        A malformed value is a deployment bug, not bad input: `ValueError` naming it.
        """
        values: dict[str, int | bool] = {}
        for spec in dataclasses.fields(cls):
            raw = environ.get(ENV_NAMES[spec.name], "").strip()
            if raw:
                parse = _boolean if isinstance(spec.default, bool) else _count
                values[spec.name] = parse(ENV_NAMES[spec.name], raw, minimum=_MINIMUM[spec.name])
        return cls(**values)  # type: ignore[arg-type]


ENV_NAMES: dict[str, str] = {
    "max_children": "DOCUMENT_MAX_CHILDREN",
    "max_total_bytes": "DOCUMENT_MAX_TOTAL_BYTES",
    "max_member_bytes": "DOCUMENT_MAX_MEMBER_BYTES",
    "max_compression_ratio": "DOCUMENT_MAX_COMPRESSION_RATIO",
    "max_depth": "DOCUMENT_MAX_DEPTH",
    "expand_archives": "DOCUMENT_EXPAND_ARCHIVES",
}
# max_depth 0 is meaningful: an upload may not yield any child.
_MINIMUM = {name: 0 if name == "max_depth" else 1 for name in ENV_NAMES}
_TRUE, _FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off"}


def _count(name: str, raw: str, minimum: int) -> int:
    try:
        value = int(raw)
    except ValueError as exc:
        raise ValueError(f"{name}={raw!r} is not an integer") from exc
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {value}")
    return value


def _boolean(name: str, raw: str, minimum: int) -> bool:
    if raw.lower() in _TRUE:
        return True
    if raw.lower() in _FALSE:
        return False
    raise ValueError(f"{name}={raw!r} is not a boolean (true or false)")

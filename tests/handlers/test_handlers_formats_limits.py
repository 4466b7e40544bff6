"""Limits from the environment, and what detection makes of scans and unknown children."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from handlers.formats import ENV_NAMES, UNKNOWN_MEDIA_TYPE, DocumentLimits, MediaType, detect
from handlers.formats.sniff import media_type_of

SAMPLES = Path(__file__).resolve().parents[2] / "samples"


def test_every_limit_has_one_environment_variable() -> None:
    fields = {spec.name for spec in dataclasses.fields(DocumentLimits)}
    assert set(ENV_NAMES) == fields
    assert len(set(ENV_NAMES.values())) == len(fields)
    assert all(name.startswith("DOCUMENT_") for name in ENV_NAMES.values())


def test_defaults_without_environment() -> None:
    assert DocumentLimits.from_env({}) == DocumentLimits()
    assert DocumentLimits() == DocumentLimits(
        max_children=100, max_descendants=1000, max_total_bytes=100 * 1024 * 1024,
        max_member_bytes=25 * 1024 * 1024, max_compression_ratio=100, max_depth=3,
        expand_archives=False,
    )  # fmt: skip


def test_environment_overrides_each_limit() -> None:
    environ = {
        "DOCUMENT_MAX_CHILDREN": "7", "DOCUMENT_MAX_DESCENDANTS": "9",
        "DOCUMENT_MAX_TOTAL_BYTES": "1000",
        "DOCUMENT_MAX_MEMBER_BYTES": "500", "DOCUMENT_MAX_COMPRESSION_RATIO": "20",
        "DOCUMENT_MAX_DEPTH": "0", "DOCUMENT_EXPAND_ARCHIVES": "Yes",
    }  # fmt: skip
    assert DocumentLimits.from_env(environ) == DocumentLimits(7, 9, 1000, 500, 20, 0, True)
    assert not DocumentLimits.from_env({"DOCUMENT_EXPAND_ARCHIVES": "off"}).expand_archives


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"DOCUMENT_MAX_CHILDREN": "many"}, "DOCUMENT_MAX_CHILDREN='many' is not an integer"),
        ({"DOCUMENT_MAX_CHILDREN": "0"}, "DOCUMENT_MAX_CHILDREN must be at least 1, got 0"),
        ({"DOCUMENT_MAX_DEPTH": "-1"}, "DOCUMENT_MAX_DEPTH must be at least 0, got -1"),
        (
            {"DOCUMENT_EXPAND_ARCHIVES": "maybe"},
            "DOCUMENT_EXPAND_ARCHIVES='maybe' is not a boolean",
        ),
    ],
)
def test_malformed_values_name_the_variable(environ: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        DocumentLimits.from_env(environ)


@pytest.mark.parametrize(
    ("name", "kind"),
    [("invoice.jpg", MediaType.JPEG), ("letter.png", MediaType.PNG),
     ("report.tiff", MediaType.TIFF), ("contract.pdf", MediaType.PDF)],
)  # fmt: skip
def test_scans_and_pdfs_are_detected_for_the_ocr_engine(name: str, kind: MediaType) -> None:
    detected = detect((SAMPLES / name).read_bytes(), name)
    assert detected is kind and detected.needs_ocr_engine


def test_a_child_no_kind_accepts_is_still_typed() -> None:
    assert media_type_of(b"GIF89a\x01\x00\x01\x00\x00\x00\x00") == UNKNOWN_MEDIA_TYPE
    assert media_type_of(b"") == UNKNOWN_MEDIA_TYPE
    assert media_type_of(b"plain words") == "text/plain"

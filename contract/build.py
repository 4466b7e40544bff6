"""What `make build` (`python -m packager`) writes and the stack deploys: one place for both.

<build_dir>/functions/<stage>.zip   the stage's handler modules and the contract package
<build_dir>/layers/<stage>.zip      `python/` with exactly the stage's dependencies
<build_dir>/ARCHITECTURE            the instruction set the layers were built for
<build_dir>/PYTHON_VERSION          the CPython the layers' wheels are for
<build_dir>/TESSERACT_LANGUAGES     the languages whose traineddata the OCR layer holds
"""

from __future__ import annotations

from pathlib import Path

ARCHITECTURE_FILE = "ARCHITECTURE"
PYTHON_VERSION_FILE = "PYTHON_VERSION"  # the Python the layers' wheels are for
OCR_LANGUAGES_FILE = "TESSERACT_LANGUAGES"  # the languages the OCR layer holds (eng+deu)
LAMBDA_RUNTIME = "python3.12"
"""Every function's runtime unless told otherwise; the layers are built for its Python."""
# The `dist/` of the docpipe checkout these modules come from, not the working directory: the
# engine runs the component plugin in the consumer project's directory, where no build is.
DEFAULT_BUILD_DIR = Path(__file__).resolve().parent.parent / "dist"


def function_zip(build_dir: str | Path, stage: str) -> Path:
    return Path(build_dir, "functions", f"{stage}.zip")


def layer_zip(build_dir: str | Path, stage: str) -> Path:
    return Path(build_dir, "layers", f"{stage}.zip")


def write_record(build_dir: str | Path, name: str, value: str) -> None:
    """Record what the build was made for (one of the *_FILE names above)."""
    Path(build_dir, name).write_text(f"{value}\n")


def read_record(build_dir: str | Path, name: str) -> str | None:
    """What the build says it was made for; None when it has no such record."""
    path = Path(build_dir, name)
    return path.read_text().strip() if path.is_file() else None

"""What `make build` (`python -m packager`) writes and the stack deploys: one place for both.

<build_dir>/functions/<stage>.zip   the stage's handler modules and the contract package
<build_dir>/layers/<stage>.zip      `python/` with exactly the stage's dependencies
<build_dir>/ARCHITECTURE            the instruction set the layers were built for
"""

from __future__ import annotations

from pathlib import Path

ARCHITECTURE_FILE = "ARCHITECTURE"
# The `dist/` of the docpipe checkout these modules come from, not the working directory: the
# engine runs the component plugin in the consumer project's directory, where no build is.
DEFAULT_BUILD_DIR = Path(__file__).resolve().parent.parent / "dist"


def function_zip(build_dir: str | Path, stage: str) -> Path:
    return Path(build_dir, "functions", f"{stage}.zip")


def layer_zip(build_dir: str | Path, stage: str) -> Path:
    return Path(build_dir, "layers", f"{stage}.zip")


def architecture_file(build_dir: str | Path) -> Path:
    return Path(build_dir, ARCHITECTURE_FILE)

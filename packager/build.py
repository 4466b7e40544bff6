"""Per-function code zips and dependency layers for Lambda, byte-for-byte reproducible.

What each stage ships comes from the stage table (`contract.stages`).
Code zip `dist/functions/<stage>.zip`: the `handlers/` modules that stage uses and the
`contract/` package, at the root.
Layer `dist/layers/<stage>.zip`: `python/` with exactly that stage's dependencies, the
versions and hashes pinned in requirements.lock, as manylinux wheels for the stack's Python
(3.12; `--python-version` for another) on the configured architecture (plus
`python/nltk_data/` for summarize's sentence tokenizer, and `python/tessdata/` for OCR: the
traineddata of every language of `--ocr-language`, see packager/tessdata.py).
boto3 is not packaged: the Lambda Python runtime provides it.

`dist/ARCHITECTURE` names the architecture built (`arm64` by default); the stack checks it
against `docpipe:architecture`. For x86_64: `make build ARCH=x86_64` (which runs
`python -m packager --arch x86_64`). `dist/PYTHON_VERSION` and `dist/TESSERACT_LANGUAGES` record
the layers' Python and the OCR layer's languages, which the stack checks the same way.

Reproducible: sorted entries, every timestamp 1980-01-01, fixed permissions, no bytecode,
no console scripts (their shebang names the build machine's interpreter).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from contract import stages
from contract.build import (
    ARCHITECTURE_FILE,
    LAMBDA_RUNTIME,
    OCR_LANGUAGES_FILE,
    PYTHON_VERSION_FILE,
    function_zip,
    layer_zip,
    write_record,
)
from contract.stages import COMMON_MODULES, Stage
from packager import tessdata

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / "requirements.lock"
ZIP_DATE = (1980, 1, 1, 0, 0, 0)
FILE_MODE = 0o644
# Lambda's python3.12 runtime is Amazon Linux 2023 (glibc 2.34): manylinux_2_28 wheels run.
PLATFORMS = {
    "arm64": ("manylinux2014_aarch64", "manylinux_2_28_aarch64"),
    "x86_64": ("manylinux2014_x86_64", "manylinux_2_28_x86_64"),
}
# The AWS SDK the Lambda Python runtime ships; nothing here requires it at a pinned version.
# jmespath also ships with it but stays in the layers: Powertools imports it itself, at the
# version requirements.lock pins.
PROVIDED_BY_RUNTIME = {"boto3", "botocore", "s3transfer", "urllib3"}
# Trimmed from layers: tests and docs inside packages are never imported at run time.
PRUNED_DIRS = {"__pycache__", "tests", "test"}


def default_python_version() -> str:
    """The stack's Lambda runtime (python3.12 -> 3.12): what the layers must be built for."""
    return LAMBDA_RUNTIME.removeprefix("python")


@dataclass(frozen=True)
class LayerOptions:
    """What the layers are built for, beside the architecture."""

    python_version: str = default_python_version()
    ocr_language: str = "eng"  # the stack's docpipe:ocrLanguage, tesseract's syntax (eng+deu)
    tessdata_variant: str = tessdata.DEFAULT_VARIANT
    tessdata_dirs: tuple[Path, ...] = ()  # folders holding traineddata PyPI has no package for


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


# --- deterministic zips ------------------------------------------------------------------


def write_zip(path: Path, files: Mapping[str, Path | bytes]) -> Path:
    """Zip `archive name -> file or bytes`, sorted, with fixed dates and permissions."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
            info.external_attr = (0o100000 | FILE_MODE) << 16  # regular file, rw-r--r--
            info.compress_type = zipfile.ZIP_DEFLATED
            source = files[name]
            data = source if isinstance(source, bytes) else source.read_bytes()
            archive.writestr(info, data, compresslevel=9)
    return path


def tree_files(root: Path, prefix: str) -> dict[str, Path]:
    """Every regular file under `root`, named `prefix/relative/path`, pruned dirs skipped."""
    files = {}
    for path in root.rglob("*"):
        relative = path.relative_to(root)
        if path.is_file() and not PRUNED_DIRS & set(relative.parts[:-1]):
            files[f"{prefix}/{relative.as_posix()}"] = path
    return files


# --- code zips ---------------------------------------------------------------------------


def module_files(stage: Stage) -> dict[str, Path]:
    """Archive name -> source file: the stage's handler modules and the contract package."""
    modules = dict.fromkeys((*COMMON_MODULES, *stage.modules))
    files = {}
    for module in modules:
        path = ROOT.joinpath(*module.split("."))
        source = path / "__init__.py" if path.is_dir() else path.with_suffix(".py")
        files[source.relative_to(ROOT).as_posix()] = source
    contract = ROOT / "contract"
    files.update({f"contract/{p.name}": p for p in sorted(contract.glob("*.py"))})
    return files


def build_function(stage: Stage, dist: Path) -> Path:
    return write_zip(function_zip(dist, stage.name), module_files(stage))


# --- layers ------------------------------------------------------------------------------


def target_environment(arch: str, python_version: str) -> dict[str, str]:
    """Marker values of Lambda's runtime, to decide which dependencies apply there."""
    return {
        "python_version": python_version,
        "python_full_version": f"{python_version}.0",
        "sys_platform": "linux",
        "platform_system": "Linux",
        "platform_machine": "aarch64" if arch == "arm64" else "x86_64",
        "os_name": "posix",
        "implementation_name": "cpython",
        "platform_python_implementation": "CPython",
        "extra": "",
    }


def dependency_closure(
    roots: Iterable[str], arch: str, python_version: str | None = None
) -> list[str]:
    """The roots and everything they need on Lambda, from installed metadata, sorted."""
    from packaging.requirements import Requirement

    environment = target_environment(arch, python_version or default_python_version())
    seen: set[str] = set()
    pending = [normalise(r) for r in roots]
    while pending:
        name = pending.pop()
        if name in seen or name in PROVIDED_BY_RUNTIME:
            continue
        seen.add(name)
        for line in metadata.requires(name) or []:
            requirement = Requirement(line)
            if requirement.marker is None or requirement.marker.evaluate(environment):
                pending.append(normalise(requirement.name))
    return sorted(seen)


def locked_requirements(names: Iterable[str], lock: Path = LOCK) -> str:
    """The lock's entries (pin and every hash) for `names`, as a requirements file."""
    blocks: dict[str, str] = {}
    current: list[str] = []
    for line in lock.read_text().splitlines():
        if line and not line.startswith((" ", "#")):
            current = [line]
            blocks[normalise(line.split("==")[0])] = ""
        if current is not None and line.startswith(("    --hash", " ")) and "--hash" in line:
            current.append(line)
        if current and not line.endswith("\\"):
            blocks[normalise(current[0].split("==")[0])] = "\n".join(current).rstrip(" \\")
            current = []
    missing = [n for n in names if not blocks.get(n)]
    if missing:
        raise ValueError(f"not pinned in {lock.name}: {', '.join(missing)}")
    return "\n".join(blocks[n] for n in names) + "\n"


def install_layer_packages(stage: Stage, arch: str, python_version: str, target: Path) -> None:
    names = dependency_closure(stage.requirements, arch, python_version)
    with tempfile.TemporaryDirectory(prefix="docpipe-req-") as tmp:
        requirements = Path(tmp) / "requirements.txt"
        requirements.write_text(locked_requirements(names))
        command = [
            sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
            "--no-deps", "--no-compile", "--require-hashes", "--only-binary=:all:",
            "--implementation", "cp", "--python-version", python_version,
            "--target", str(target), "-r", str(requirements),
        ]  # fmt: skip
        for platform in PLATFORMS[arch]:
            command += ["--platform", platform]
        subprocess.run(command, check=True)
    shutil.rmtree(target / "bin", ignore_errors=True)  # console scripts: not importable


def build_layer(
    stage: Stage, arch: str, dist: Path, workdir: Path, options: LayerOptions | None = None
) -> Path:
    """Install the stage's packages under `workdir` (reused by stages with the same needs)."""
    options = options or LayerOptions()
    needs = (arch, options.python_version, *stage.requirements, stage.nltk_data, stage.tessdata)
    site = workdir / re.sub(r"[^A-Za-z0-9.]+", "-", "-".join(map(str, needs))) / "python"
    if not site.exists():
        install_layer_packages(stage, arch, options.python_version, site)
        if stage.nltk_data:
            from packager.nltk_data import bundle

            bundle(site / "nltk_data")
        if stage.tessdata:
            tessdata.bundle(
                options.ocr_language,
                site / tessdata.LAYER_DIR,
                options.tessdata_variant,
                options.tessdata_dirs,
            )
    return write_zip(layer_zip(dist, stage.name), tree_files(site, "python"))


def build(
    names: Iterable[str],
    arch: str,
    dist: Path,
    layers: bool = True,
    options: LayerOptions | None = None,
) -> list[Path]:
    """Build the stages' zips into `dist` and record what they were built for: `arch` in
    `dist/ARCHITECTURE` (the layers hold wheels for one instruction set, and the stack refuses
    a mismatch), with layers also the Python version and the OCR layer's languages."""
    options = options or LayerOptions()
    chosen = [stages.TABLE[name] for name in names]
    ocr_layer = layers and any(stage.tessdata for stage in chosen)
    if ocr_layer:
        # A language that cannot be packaged fails before anything is downloaded.
        tessdata.sources(options.ocr_language, options.tessdata_variant, options.tessdata_dirs)
    built = []
    with tempfile.TemporaryDirectory(prefix="docpipe-layers-") as workdir:
        for stage in chosen:
            built.append(build_function(stage, dist))
            if layers:
                built.append(build_layer(stage, arch, dist, Path(workdir), options))
    dist.mkdir(parents=True, exist_ok=True)
    write_record(dist, ARCHITECTURE_FILE, arch)
    if layers:
        write_record(dist, PYTHON_VERSION_FILE, options.python_version)
    if ocr_layer:
        write_record(dist, OCR_LANGUAGES_FILE, "+".join(tessdata.languages(options.ocr_language)))
    return built


def unzipped_size(path: Path) -> int:
    with zipfile.ZipFile(path) as archive:
        return sum(info.file_size for info in archive.infolist())

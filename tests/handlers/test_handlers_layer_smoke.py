"""Each function runs from its code zip and its layer alone, as Lambda unpacks them.

Built for this machine's instruction set and Python (so the test can run the result), then run
in an interpreter started with `-S -E`: no site-packages, no venv, PYTHONPATH ignored, and no
`tesseract` binary on PATH. Only the unpacked archives and the standard library may load.
boto3 is not in the layers (the Lambda runtime provides it), so the functions' pure command
line entries run, not their SQS handlers.
"""

from __future__ import annotations

import json
import platform
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest
import render

from packager.build import LayerOptions, build
from packager.tessdata import LAYER_DIR

ARCH = {"x86_64": "x86_64", "aarch64": "arm64"}.get(platform.machine())
PYTHON_VERSION = f"{sys.version_info.major}.{sys.version_info.minor}"
STDLIB = sysconfig.get_paths()["stdlib"]
# sys.path gets the unpacked code and layer, as Lambda's /var/task and /opt/python; every
# module loaded must come from them or the standard library (checked at exit).
BOOTSTRAP = """
import atexit, json, runpy, sys
sys.path[:0] = [{task!r}, {opt!r}]
def record():
    files = [getattr(m, "__file__", None) for m in list(sys.modules.values())]
    with open({record!r}, "w") as out:
        json.dump(sorted(f for f in files if f), out)
atexit.register(record)
sys.argv = [{module!r}, {argument!r}]
runpy.run_module({module!r}, run_name="__main__", alter_sys=True)
"""
LETTER = (
    "Dear Ms Jones, thank you for your letter of 3 May. We have received the signed agreement "
    "and enclosed a copy for your records. Kind regards and sincerely yours, the office team."
)


@pytest.fixture(scope="module")
def unpacked(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, Path]]:
    """stage -> (its code zip unpacked, its layer unpacked), each in a fresh directory."""
    root = tmp_path_factory.mktemp("lambda")
    assert ARCH is not None
    stages = ["ocr", "summarize", "classify"]
    built = build(stages, ARCH, root / "dist", options=LayerOptions(python_version=PYTHON_VERSION))
    folders = {}
    for stage in stages:
        task, opt = root / stage / "task", root / stage / "opt"
        zipfile.ZipFile(root / "dist" / "functions" / f"{stage}.zip").extractall(task)
        zipfile.ZipFile(root / "dist" / "layers" / f"{stage}.zip").extractall(opt)
        folders[stage] = (task, opt)
    assert len(built) == 2 * len(stages)
    return folders


def run_alone(
    folders: tuple[Path, Path], module: str, argument: Path, env: dict[str, str]
) -> tuple[dict[str, object], list[str]]:
    task, opt = folders
    record = task.parent / f"{module}.modules.json"
    code = BOOTSTRAP.format(
        task=str(task),
        opt=str(opt / "python"),
        record=str(record),
        module=module,
        argument=str(argument),
    )
    empty_path = task.parent / "bin"  # no tesseract, no anything
    empty_path.mkdir(exist_ok=True)
    result = subprocess.run(
        [sys.executable, "-S", "-E", "-c", code],
        capture_output=True,
        text=True,
        env={"PATH": str(empty_path), **env},
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout), json.loads(record.read_text())


def assert_loaded_only_from(files: list[str], folders: tuple[Path, Path]) -> None:
    def allowed(file: str) -> bool:
        if file.startswith((str(folders[0]), str(folders[1]))):
            return True
        return file.startswith(STDLIB) and "-packages" not in file  # site- or dist-packages

    assert [file for file in files if not allowed(file)] == []


pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(ARCH is None, reason="Lambda runs x86_64 and arm64 only"),
]


def test_ocr_reads_a_scanned_page_from_its_archives_alone(
    unpacked: dict[str, tuple[Path, Path]], tmp_path: Path
) -> None:
    # GIVEN a scanned page, and the OCR function's code and layer unpacked
    page = tmp_path / "letter.png"
    image = render.degrade(render.render_page(LETTER)).crop((0, 0, 2550, 900))
    page.write_bytes(render.to_bytes(image, "PNG"))
    _task, opt = unpacked["ocr"]

    # WHEN it runs with only what the stack sets: the engine and the layer's traineddata
    env = {"OCR_ENGINE": "tesserocr", "TESSDATA_PREFIX": str(opt / "python" / LAYER_DIR)}
    output, files = run_alone(unpacked["ocr"], "handlers.ocr", page, env)

    # THEN the page was read in process by the layer's tesserocr
    assert render.character_error_rate(LETTER, str(output["text"])) <= 0.03
    assert (output["method"], output["ocr_pages"]) == ("ocr", 1)
    assert any("/tesserocr/" in f for f in files)
    assert_loaded_only_from(files, unpacked["ocr"])


def test_summarize_runs_from_its_archives_alone(
    unpacked: dict[str, tuple[Path, Path]], tmp_path: Path
) -> None:
    text = tmp_path / "text.txt"
    text.write_text("Dr. Smith came to the office. He signed the agreement. Then he left.")
    _task, opt = unpacked["summarize"]
    env = {"NLTK_DATA": str(opt / "python" / "nltk_data")}
    output, files = run_alone(unpacked["summarize"], "handlers.summarize", text, env)
    assert output["sentences"][0] == "Dr. Smith came to the office."  # type: ignore[index]
    assert_loaded_only_from(files, unpacked["summarize"])


def test_classify_runs_from_its_archives_alone(
    unpacked: dict[str, tuple[Path, Path]], tmp_path: Path
) -> None:
    text = tmp_path / "text.txt"
    text.write_text("Invoice 42. Amount due: 120 EUR. Total including VAT. Payment in 30 days.")
    output, files = run_alone(unpacked["classify"], "handlers.classify", text, {})
    assert output["category"] == "invoice"
    assert_loaded_only_from(files, unpacked["classify"])

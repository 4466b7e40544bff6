"""`python -m handlers.<stage> FILE` without AWS, and what each stage imports."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import render
from handler_fixtures import (  # noqa: F401  (fixtures, registered by name)
    aws_fixture,
    env_fixture,
    nltk_data_fixture,
    stage_env_fixture,
)

ROOT = Path(__file__).resolve().parents[2]
OCR_DEPS = {"PIL", "pypdfium2", "pytesseract", "tesserocr"}
NLP_DEPS = {"nltk", "stop_words"}
AWS_DEPS = {"boto3", "botocore", "aws_lambda_powertools"}


def run(args: list[str], nltk_data: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "CLASSIFY_"))}
    if nltk_data:
        env["NLTK_DATA"] = str(nltk_data)
    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, cwd=ROOT, env=env, timeout=120
    )


def test_ocr_cli_prints_text_pages_and_confidence(tmp_path: Path) -> None:
    page = render.render_page("Dear Sir, please find the signed agreement enclosed.")
    path = tmp_path / "letter.png"
    path.write_bytes(render.to_bytes(page.crop((0, 0, 2550, 600)), "PNG"))

    result = run(["-m", "handlers.ocr", str(path)])

    assert result.returncode == 0, result.stderr
    output = json.loads(result.stdout)
    assert "signed agreement enclosed" in output["text"]
    assert output["pages"] == 1
    assert 0.5 < output["confidence"] <= 1.0


@pytest.mark.parametrize(
    ("name", "data", "problem"),
    [
        ("empty.png", b"", "EmptyDocumentError"),
        ("blob.bin", bytes(range(256)) * 4, "UnsupportedTypeError"),
        ("broken.pdf", b"%PDF-1.4 garbage", "CorruptPdfError"),
    ],
)
def test_ocr_cli_bad_input_exits_non_zero_with_one_line(
    tmp_path: Path, name: str, data: bytes, problem: str
) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    result = run(["-m", "handlers.ocr", str(path)])
    assert result.returncode == 1
    assert result.stdout == ""
    (line,) = result.stderr.strip().splitlines()
    assert problem in line and str(path) in line


def test_ocr_cli_missing_file(tmp_path: Path) -> None:
    result = run(["-m", "handlers.ocr", str(tmp_path / "nope.png")])
    assert result.returncode == 1
    assert "cannot read file" in result.stderr


def test_summarize_cli(tmp_path: Path, nltk_data: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_text("Revenue grew. Costs fell sharply in the quarter. Revenue grew again in May.")
    result = run(["-m", "handlers.summarize", str(path)], nltk_data)
    assert result.returncode == 0, result.stderr
    output = json.loads(result.stdout)
    assert output["summary"] == " ".join(output["sentences"])
    assert output["sentences"]


def test_summarize_cli_rejects_non_utf8(tmp_path: Path, nltk_data: Path) -> None:
    path = tmp_path / "latin1.txt"
    path.write_bytes("Grüße".encode("latin-1"))
    result = run(["-m", "handlers.summarize", str(path)], nltk_data)
    assert result.returncode == 1
    (line,) = result.stderr.strip().splitlines()
    assert "InvalidEncodingError" in line and "not valid UTF-8" in line


def test_classify_cli(tmp_path: Path) -> None:
    path = tmp_path / "invoice.txt"
    path.write_text("Invoice 17. Amount due 300 EUR plus VAT. Payment within 14 days.")
    result = run(["-m", "handlers.classify", str(path)])
    assert result.returncode == 0, result.stderr
    output = json.loads(result.stdout)
    assert output["category"] == "invoice"
    assert 0.0 <= output["confidence"] <= 1.0
    assert output["runner_up"] in {"contract", "report", "letter"}


SNIPPET = """
import json, sys
import handlers.{stage}
loaded_at_import = sorted({{m.split('.')[0] for m in sys.modules}})
{work}
print(json.dumps({{"import": loaded_at_import,
                  "work": sorted({{m.split('.')[0] for m in sys.modules}})}}))
"""


@pytest.mark.parametrize(
    ("stage", "work", "never"),
    [
        (
            "ocr",
            "from handlers.ocr_engine import extract_text; "
            f"extract_text({render.text_pdf(['A page with a text layer.'] * 2)!r}, 'x.pdf')",
            NLP_DEPS,
        ),
        (
            "summarize",
            "from handlers.summarizer import summarize; summarize('A b. C d.')",
            OCR_DEPS,
        ),
        (
            "classify",
            "from handlers.classifier import classifier_for; "
            "from contract.categories import DEFAULT_CATEGORIES; "
            "classifier_for(json.dumps(DEFAULT_CATEGORIES)).classify('invoice')",
            OCR_DEPS,
        ),
        ("sweep", "", OCR_DEPS | NLP_DEPS),
    ],
)
def test_stage_imports_stay_light(stage: str, work: str, never: set[str], nltk_data: Path) -> None:
    # GIVEN a fresh interpreter WHEN a stage module is imported and its pure logic runs
    result = run(["-c", SNIPPET.format(stage=stage, work=work)], nltk_data)
    assert result.returncode == 0, result.stderr
    modules = json.loads(result.stdout)

    # THEN the import alone loads no heavy dependency, and the work none of another stage's
    assert not (set(modules["import"]) & (OCR_DEPS | NLP_DEPS | AWS_DEPS))
    assert not (set(modules["work"]) & never)

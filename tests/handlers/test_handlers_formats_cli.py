"""`python -m handlers.ocr FILE` on every kind of document: the first stage's text as JSON."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = Path(__file__).resolve().parent / "documents"
HEAVY = {"selectolax", "email.parser", "zipfile", "xml.etree.ElementTree", "PIL", "pypdfium2"}


def run_cli(path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "DOCUMENT_"))}
    return subprocess.run(
        [sys.executable, "-m", "handlers.ocr", str(path)],
        capture_output=True, text=True, cwd=ROOT, env={**environ, **env}, timeout=120,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("name", "media_type", "method", "snippet"),
    [
        ("cc0-legal-code.txt", "text/plain", "decoded", "CC0 1.0 Universal"),
        ("report-cp1252.txt", "text/plain", "decoded", "Revenue grew by 12 % to €4.2 million"),
        ("report-utf16.txt", "text/plain", "decoded", "Export – Café Müller GmbH"),
        ("pyyaml-readme.md", "text/markdown", "decoded", "## Installation"),
        ("sqlite-backup.html", "text/html", "html", "Using the SQLite Online Backup API"),
        ("json-c-readme.xhtml", "application/xhtml+xml", "html", "JSON-C implements"),
        ("report.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
         "docx", "Northern | 1,850 | +18 %"),
        ("report.odt", "application/vnd.oasis.opendocument.text", "odt",
         "Southern | 1,420 | +9 %"),
    ],
)  # fmt: skip
def test_cli_prints_each_kind_as_json(
    name: str, media_type: str, method: str, snippet: str
) -> None:
    result = run_cli(DOCUMENTS / name)
    assert result.returncode == 0, result.stderr
    output = json.loads(result.stdout)
    assert (output["media_type"], output["method"]) == (media_type, method)
    assert snippet in output["text"]
    assert (output["pages"], output["confidence"], output["children"]) == (1, 1.0, [])


def test_cli_prints_mail_with_its_attachment_summarised() -> None:
    result = run_cli(DOCUMENTS / "quarterly-report.eml")
    assert result.returncode == 0, result.stderr
    output = json.loads(result.stdout)
    assert (output["media_type"], output["method"]) == ("message/rfc822", "email")
    assert "Subject: Quarterly report Q3 – revenue up 12 %" in output["text"]
    assert output["children"] == [
        {"name": "report.pdf", "path": "report.pdf", "media_type": "application/pdf", "size": 29158}
    ]


def test_cli_expands_archives_when_the_environment_says_so() -> None:
    refused = run_cli(DOCUMENTS / "report-bundle.zip")
    assert refused.returncode == 1 and "DOCUMENT_EXPAND_ARCHIVES" in refused.stderr

    result = run_cli(DOCUMENTS / "report-bundle.zip", DOCUMENT_EXPAND_ARCHIVES="true")
    assert result.returncode == 0, result.stderr
    output = json.loads(result.stdout)
    assert [(c["path"], c["media_type"]) for c in output["children"]] == [
        ("report.odt", "application/vnd.oasis.opendocument.text"),
        ("report.pdf", "application/pdf"),
        ("cp1252/report.txt", "text/plain"),
    ]


def test_cli_reads_a_pdf_text_layer(tmp_path: Path) -> None:
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(_bundle_member("report.pdf"))
    output = json.loads(run_cli(pdf).stdout)
    assert (output["media_type"], output["method"], output["ocr_pages"]) == (
        "application/pdf", "text-layer", 0
    )  # fmt: skip
    assert "Findings" in output["text"]


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("odfpy-external-entity.odt", "CorruptOdtError"),
        ("cpython-msg31-broken-boundary.eml", "CorruptEmailError"),
    ],
)
def test_cli_rejects_malformed_documents_with_one_line(name: str, problem: str) -> None:
    result = run_cli(DOCUMENTS / name)
    assert result.returncode == 1 and result.stdout == ""
    (line,) = result.stderr.strip().splitlines()
    assert problem in line and name in line


def test_cli_names_a_malformed_limit_setting() -> None:
    result = run_cli(DOCUMENTS / "report.odt", DOCUMENT_MAX_DEPTH="deep")
    assert result.returncode != 0
    assert "DOCUMENT_MAX_DEPTH='deep' is not an integer" in result.stderr


def test_importing_the_formats_package_loads_no_parser() -> None:
    code = (
        "import json, sys, handlers.ocr, handlers.formats; "
        f"print(json.dumps(sorted(set(sys.modules) & set({sorted(HEAVY)!r}))))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == []


def _bundle_member(name: str) -> bytes:
    import zipfile

    with zipfile.ZipFile(DOCUMENTS / "report-bundle.zip") as archive:
        return archive.read(name)


@pytest.mark.slow
def test_cli_sends_scans_to_the_ocr_engine() -> None:
    result = run_cli(ROOT / "samples" / "letter.png")
    assert result.returncode == 0, result.stderr
    output = json.loads(result.stdout)
    assert (output["media_type"], output["method"], output["ocr_pages"]) == ("image/png", "ocr", 1)
    assert 0.5 < output["confidence"] <= 1.0 and output["text"].strip()

"""`docpipe local run` as a user runs it: a separate process, its JSON, its exit code."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from localtest import CONTRACT_TEXT, render

from local.runtime import PROJECT_DIR

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]


def local_run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cli.main", "local", "run", "--schedule-interval", "0", *args],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=200,
    )


@pytest.fixture(scope="module")
def contract_pdf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("docs") / "contract.pdf"
    path.write_bytes(render().text_pdf([CONTRACT_TEXT]))
    return path


def test_json_report_and_exit_code_zero(contract_pdf: Path) -> None:
    result = local_run(str(contract_pdf), "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert set(report) == {"documents", "dlq", "lost", "elapsed_s"}
    (document,) = report["documents"]
    assert set(document) == {
        "source", "key", "doc_id", "status", "reason", "category", "confidence", "pages",
        "summary", "timings",
    }  # fmt: skip
    assert (document["key"], document["reason"]) == ("incoming/contract.pdf", None)
    assert (document["status"], document["category"], document["pages"]) == (
        "done",
        "contract",
        1,
    )
    assert set(document["timings"]) == {"ocr", "summarize", "classify"}
    assert report["lost"] == 0
    assert report["dlq"] == {"ocr": 0, "summarize": 0, "classify": 0, "sweep": 0}


def test_a_document_not_settled_in_time_is_reported_as_such(contract_pdf: Path) -> None:
    # --timeout 0: one look at the table and the DLQs right after the upload, then teardown.
    # By then the OCR poller holds its message (in-progress), or has not received it yet: an
    # upload with no trace at all is counted as lost, and only that fails the run.
    result = local_run(str(contract_pdf), "--json", "--timeout", "0")
    report = json.loads(result.stdout)
    (document,) = report["documents"]
    assert document["status"] in ("in-progress", "lost")
    assert (report["lost"], result.returncode) == (
        (1, 1) if document["status"] == "lost" else (0, 0)
    )


def test_the_table_names_each_document(contract_pdf: Path) -> None:
    result = local_run(str(contract_pdf))
    assert result.returncode == 0, result.stderr
    assert "contract.pdf" in result.stdout
    assert "lost: 0" in result.stdout

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
    assert document["reason"] is None
    assert set(document["timings"]) == {"ocr", "summarize", "classify"}
    assert report["lost"] == 0
    assert report["dlq"] == {"ocr": 0, "summarize": 0, "classify": 0, "sweep": 0}


def test_a_document_not_settled_in_time_fails_the_run(contract_pdf: Path) -> None:
    # --timeout 0: one look at the ledger, the DLQs and the workers right after the upload.
    result = local_run(str(contract_pdf), "--json", "--timeout", "0")
    report = json.loads(result.stdout)
    # the upload is on its way (its message waits in the ocr queue or a worker holds it)
    assert report["documents"][0]["status"] == "in-progress"
    assert report["lost"] == 0
    assert result.returncode == 1


def test_the_table_names_each_document(contract_pdf: Path) -> None:
    result = local_run(str(contract_pdf))
    assert result.returncode == 0, result.stderr
    assert "contract.pdf" in result.stdout
    assert "lost: 0" in result.stdout

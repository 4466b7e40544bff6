"""`docpipe results` and `docpipe retry` on local mode running the real stack."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cli.main import main
from local.run import Upload, run_documents, wait_until_settled
from local.runtime import PROJECT_DIR, RuntimeOptions
from local.session import LocalSession, SessionOptions

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalSession]:
    folder = tmp_path_factory.mktemp("documents")
    (folder / "empty.pdf").write_bytes(b"")
    (folder / "noise.bin").write_bytes(bytes(range(256)) * 4)
    files = [PROJECT_DIR / "samples" / "letter.png", folder / "empty.pdf", folder / "noise.bin"]
    options = SessionOptions(runtime=RuntimeOptions(schedule_interval_s=0, log_dir=folder / "logs"))
    with LocalSession(options) as running:
        report = run_documents(running, files, timeout_s=120)
        assert [d.status for d in report.documents] == ["done", "rejected", "rejected"]
        yield running


@pytest.fixture
def cli(session: LocalSession, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Run a `docpipe` command on the session as on a deployed stack: --outputs FILE and the
    credentials and endpoint in the environment; returns its parsed JSON."""
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps(session.outputs))
    for name, value in session.environment().items():
        monkeypatch.setenv(name, value)

    def run(*argv: str, capsys: Any) -> Any:
        assert main([*argv, "--outputs", str(outputs), "--json"]) == 0
        return json.loads(capsys.readouterr().out)

    return run


def test_rejected_documents_are_listed_with_their_reasons(cli: Any, capsys: Any) -> None:
    rejected = cli("results", "list", "--status", "rejected", capsys=capsys)
    reasons = {d["source_key"]: (d["error_stage"], d["error_type"]) for d in rejected}
    assert reasons == {
        "incoming/empty.pdf": ("ocr", "EmptyDocumentError"),
        "incoming/noise.bin": ("ocr", "UnsupportedTypeError"),
    }
    assert all(d["error_message"] for d in rejected)


def test_done_documents_by_category_and_time(cli: Any, capsys: Any) -> None:
    (letter,) = cli("results", "list", "--status", "done", "--category", "letter", capsys=capsys)
    assert letter["source_key"] == "incoming/letter.png"
    assert cli("results", "list", "--category", "invoice", capsys=capsys) == []
    assert cli("results", "list", "--since", "2999-01-01", capsys=capsys) == []
    everything = cli("results", "list", capsys=capsys)
    assert sorted(d["status"] for d in everything) == ["done", "rejected", "rejected"]


def test_show_gives_the_whole_item(cli: Any, capsys: Any) -> None:
    (letter,) = cli("results", "list", "--status", "done", capsys=capsys)
    item = cli("results", "show", letter["doc_id"], capsys=capsys)
    assert item["category"] == "letter" and item["status"] == "done"
    assert item["archived_key"] == "processed/letter.png"
    assert {"received_at", "ocr_at", "summarize_at", "classify_at", "summary"} <= set(item)


def test_retry_sends_a_document_again_under_its_identity(
    session: LocalSession, cli: Any, capsys: Any
) -> None:
    # GIVEN a rejected document, kept under rejected/
    (empty,) = [
        d
        for d in cli("results", "list", "--status", "rejected", capsys=capsys)
        if d["source_key"] == "incoming/empty.pdf"
    ]

    # WHEN it is retried
    (retried,) = cli("retry", empty["doc_id"], capsys=capsys)
    assert retried == {
        "doc_id": empty["doc_id"],
        "key": "incoming/empty.pdf",
        "copied_from": "rejected/empty.pdf",
    }

    # THEN the pipeline takes it again (same key, same bytes: same document) and settles it
    again = Upload("empty.pdf", "incoming/empty.pdf", "", None, empty["doc_id"])
    watcher = wait_until_settled(session, [again], timeout_s=60)
    item = watcher.items[empty["doc_id"]]
    assert item["status"] == {"S": "rejected"} and item["retries"] == {"N": "1"}
    s3 = session.client("s3")
    listing = s3.list_objects_v2(Bucket=session.outputs["bucket_name"], Prefix="incoming/")
    assert listing.get("KeyCount") == 0  # taken again, and kept under rejected/ again


def test_an_unknown_status_is_named(cli: Any, capsys: Any) -> None:
    with pytest.raises(AssertionError):
        cli("results", "list", "--status", "pending", capsys=capsys)
    assert "unknown status 'pending'" in capsys.readouterr().err

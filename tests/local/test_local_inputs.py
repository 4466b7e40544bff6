"""What `docpipe local run` uploads under which key, and the state file's permissions."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from local.run import Input, KeyCollision, inputs
from local.state import LocalState


def touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"%PDF-")
    return path


def test_a_directory_keeps_relative_paths_under_incoming(tmp_path: Path) -> None:
    january = touch(tmp_path / "scans" / "2024-01" / "scan.png")
    february = touch(tmp_path / "scans" / "2024-02" / "scan.png")
    touch(tmp_path / "scans" / "notes.bak")  # not a document kind local run picks up
    assert inputs([tmp_path / "scans"]) == [
        Input(january, "incoming/2024-01/scan.png"),
        Input(february, "incoming/2024-02/scan.png"),
    ]


def test_a_file_named_explicitly_keeps_its_name(tmp_path: Path) -> None:
    scan = touch(tmp_path / "deep" / "er" / "scan.png")
    assert inputs([scan]) == [Input(scan, "incoming/scan.png")]
    assert inputs([scan, scan]) == [Input(scan, "incoming/scan.png")] * 2  # the same file twice


def test_two_files_for_one_key_are_refused_naming_both(tmp_path: Path) -> None:
    first = touch(tmp_path / "a" / "scan.png")
    second = touch(tmp_path / "b" / "scan.png")
    with pytest.raises(KeyCollision) as refused:
        inputs([first, second])
    assert "incoming/scan.png" in str(refused.value)
    assert str(first) in str(refused.value) and str(second) in str(refused.value)


def test_the_state_file_and_its_directory_are_private(tmp_path: Path) -> None:
    path = tmp_path / "state" / "local.json"
    state = LocalState(
        1, "dev", "http://127.0.0.1:1", {"AWS_SECRET_ACCESS_KEY": "s"}, {}, [], "", ""
    )
    state.save(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


def test_the_report_table_names_documents_by_key_and_found_ones_by_parent() -> None:
    from cli.local import _document_labels
    from local.run import DocumentResult

    upload = DocumentResult("/tmp/in/2024-01/mail.eml", "incoming/2024-01/mail.eml", "a", "done")
    found = DocumentResult(
        "/tmp/in/2024-01/mail.eml > bills.zip > bill.pdf",
        "incoming/children/a/bill.pdf",
        "b",
        "done",
    )
    assert _document_labels([upload, found]) == [
        "2024-01/mail.eml",
        "2024-01/mail.eml > bills.zip > bill.pdf",
    ]

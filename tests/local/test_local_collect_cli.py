"""`docpipe local run --collect`, and `docpipe collect` / `docpipe sources` on a `local up
--collect` deployment, as a user runs them: separate processes, their JSON, their exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cli.main import main
from local.runtime import PROJECT_DIR

EXPECTED: dict[str, str] = json.loads((PROJECT_DIR / "samples" / "expected.json").read_text())
SITE_SOURCES = ["site-docs", "site-feed", "site-map"]


def docpipe(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cli.main", *args],
        cwd=PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=280,
    )


def test_local_run_needs_paths_or_collect(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["local", "run"]) == 2
    assert "no documents found" in capsys.readouterr().err


def test_collect_brings_its_own_sources(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["local", "run", "--collect", "--config", "sources=[]"]) == 2
    assert "leave out --config sources" in capsys.readouterr().err


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_local_run_collect_processes_uploads_and_collected_documents() -> None:
    letter = str(PROJECT_DIR / "samples" / "letter.png")
    result = docpipe("local", "run", letter, "--collect", "--json", "--schedule-interval", "0")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    runs = {run["source"]: run for run in report["sources"]}
    assert sorted(runs) == SITE_SOURCES
    for run in runs.values():
        assert (run["found"], run["new"], run["failed"], run["last_error"]) == (4, 4, 0, None)
    # every source stored the four samples; the upload is there too
    assert len(report["documents"]) == 3 * 4 + 1
    for document in report["documents"]:
        assert (document["status"], document["category"]) == ("done", EXPECTED[file_name(document)])
    assert report["lost"] == 0


def file_name(document: dict[str, Any]) -> str:
    """An upload's file name; a collected document's `<source>: <16 hex>-<file name>`."""
    label = Path(document["source"]).name
    return label.split(": ", 1)[1].split("-", 1)[1] if ": " in label else label


@pytest.fixture(scope="module")
def up(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """`local up --collect`; yields the environment that finds it (its own state file)."""
    state = tmp_path_factory.mktemp("state") / "local.json"
    env = {**os.environ, "DOCPIPE_LOCAL_STATE": str(state)}
    started = docpipe("local", "up", "--collect", "--schedule-interval", "0", env=env)
    assert started.returncode == 0, started.stderr + started.stdout
    try:
        assert f"sources:  {', '.join(SITE_SOURCES)}" in started.stdout
        yield env
    finally:
        docpipe("local", "down", env=env)


def collect_json(env: dict[str, str], *args: str) -> tuple[int, Any]:
    result = docpipe(*args, "--json", env=env)
    return result.returncode, json.loads(result.stdout) if result.stdout else result.stderr


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_collect_runs_one_source_now_and_sources_shows_it(up: dict[str, str]) -> None:
    code, never = collect_json(up, "sources")
    assert code == 0
    assert [(s["source"], s["started_at"]) for s in never] == [(n, None) for n in SITE_SOURCES]

    code, first = collect_json(up, "collect", "site-feed", "--timeout", "120")
    assert code == 0, first
    assert (first["source"], first["found"], first["new"], first["failed"]) == (
        "site-feed", 4, 4, 0
    )  # fmt: skip

    # run again now: conditional requests, nothing new
    code, again = collect_json(up, "collect", "site-feed", "--timeout", "120")
    assert code == 0, again
    assert (again["found"], again["new"], again["unchanged"]) == (4, 0, 4)
    assert again["started_at"] >= first["started_at"]

    code, listed = collect_json(up, "sources")
    shown = {s["source"]: s for s in listed}
    assert shown["site-feed"] == again
    assert shown["site-docs"]["started_at"] is None  # only what was asked for ran


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_collect_an_unknown_source_names_the_known_ones(up: dict[str, str]) -> None:
    result = docpipe("collect", "nope", env=up)
    assert result.returncode == 1
    assert f"no source named 'nope'; the stack's sources: {', '.join(SITE_SOURCES)}" in (
        result.stderr
    )

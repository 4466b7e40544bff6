"""End to end: the collect stage gathers documents from a web site on 127.0.0.1 (an http
list, an RSS feed, a sitemap index), the pipeline processes them, and a second run collects
nothing new."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from local.collect import LOCAL_ENVIRONMENT, collect, site_sources, sources_override
from local.run import build_report, wait_until_settled
from local.runtime import PROJECT_DIR, RuntimeOptions
from local.session import LocalSession, SessionOptions
from local.site import DocumentSite

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

EXPECTED: dict[str, str] = json.loads((PROJECT_DIR / "samples" / "expected.json").read_text())


@pytest.fixture(scope="module")
def site() -> Iterator[DocumentSite]:
    with DocumentSite() as running:
        yield running


@pytest.fixture(scope="module")
def session(site: DocumentSite, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalSession]:
    options = SessionOptions(
        config_overrides=sources_override(site),
        runtime=RuntimeOptions(
            schedule_interval_s=0,
            log_dir=tmp_path_factory.mktemp("logs"),
            extra_environment=LOCAL_ENVIRONMENT,
        ),
    )
    with LocalSession(options) as running:
        yield running


def test_collected_documents_are_processed_and_classified(
    session: LocalSession, site: DocumentSite
) -> None:
    names = [source["name"] for source in site_sources(site)]
    uploads = collect(session, names, timeout_s=120)
    assert {u.source.split(":")[0] for u in uploads} == set(names)
    watcher = wait_until_settled(session, uploads, timeout_s=180)
    report = build_report(session, uploads, watcher, 0.0)
    assert report.lost == 0
    for document in report.documents:
        # "<source>: <16 hex>-<file name>"
        file_name = document.source.split(": ", 1)[1].split("-", 1)[1]
        assert (document.status, document.category) == ("done", EXPECTED[file_name]), document
    # each document carries its origin as object metadata, kept when it was moved
    s3 = session.client("s3")
    bucket = session.outputs["bucket_name"]
    kept = uploads[0].key.replace("incoming/", "processed/", 1)
    metadata = s3.head_object(Bucket=bucket, Key=kept)["Metadata"]
    assert metadata["origin-source"] in names
    assert metadata["origin-url"].startswith(site.url("/docs/"))


def test_the_second_run_collects_nothing_new(session: LocalSession, site: DocumentSite) -> None:
    names = [source["name"] for source in site_sources(site)]
    before = len(site.requests)
    assert collect(session, names, timeout_s=120) == []
    # conditional requests: the documents answered 304, nothing was fetched again
    again = site.requests[before:]
    assert any("If-None-Match" in seen.headers for seen in again)


def test_the_collector_may_reach_loopback_only_in_local_mode(session: LocalSession) -> None:
    # the deployed function's configuration never has the flag: local mode's workers add it
    (spec,) = [f for f in session.topology.functions if f.stage == "collect"]
    assert "COLLECT_ALLOW_LOOPBACK" not in spec.environment
    assert session.runtime is not None
    assert session.runtime.function_env(spec)["COLLECT_ALLOW_LOOPBACK"] == "1"


def test_collected_keys_live_under_the_source(session: LocalSession) -> None:
    listing = session.client("s3").list_objects_v2(
        Bucket=session.outputs["bucket_name"], Prefix="processed/site-"
    )
    keys = [Path(obj["Key"]) for obj in listing.get("Contents", [])]
    assert keys and all(key.parts[1].startswith("site-") for key in keys)

"""`docpipe local run --collect` and `local up --collect`: documents gathered by the collect
stage from a web site on 127.0.0.1, then processed like uploads.

Local mode (and only it) lets the collector reach loopback (COLLECT_ALLOW_LOOPBACK on its
workers); the sources allow plain http because the site has no certificate.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from contract import settings as env
from contract.messages import doc_id_for
from local.run import (
    Input,
    Progress,
    Report,
    Upload,
    build_report,
    upload,
    wait_until_settled,
)
from local.session import LocalSession, SessionOptions
from local.site import SAMPLE_NAMES, DocumentSite
from ops.collect import SourceRun, run_reader
from ops.collect import last_runs as source_runs
from ops.target import from_local_session

LOCAL_ENVIRONMENT = {env.COLLECT_ALLOW_LOOPBACK.name: "1"}


def site_sources(site: DocumentSite) -> list[dict[str, Any]]:
    """A list of documents, an RSS feed and a sitemap index on the site."""
    return [
        {
            "name": "site-docs",
            "kind": "http",
            "urls": [site.url(f"/docs/{name}") for name in SAMPLE_NAMES],
            "allow_http": True,
        },
        {"name": "site-feed", "kind": "feed", "url": site.url("/feed.xml"), "allow_http": True},
        {
            "name": "site-map",
            "kind": "sitemap",
            "url": site.url("/sitemap-index.xml"),
            "pattern": "*/docs/*",
            "allow_http": True,
        },
    ]


def collect(session: LocalSession, sources: list[str], timeout_s: float) -> list[Upload]:
    """Run every source once (a schedule tick) and return the documents the runs stored."""
    assert session.runtime is not None, "the runtime runs the collect function"
    before = last_runs(session, sources)
    session.runtime.ticker.tick()
    deadline = time.monotonic() + timeout_s
    while True:
        runs = last_runs(session, sources)
        done = [name for name in sources if runs.get(name) and runs[name] != before.get(name)]
        if len(done) == len(sources):
            return _uploads(session, runs)
        if time.monotonic() >= deadline:
            missing = sorted(set(sources) - set(done))
            raise TimeoutError(f"sources {missing} did not finish a run in {timeout_s:.0f} s")
        time.sleep(0.5)


def last_runs(session: LocalSession, sources: list[str]) -> dict[str, dict[str, Any]]:
    """Each source's run item (what the collector records after every run)."""
    read = run_reader(from_local_session(session.outputs, session.environment()))
    return {name: item for name in sources if (item := read(name)) is not None}


def _uploads(session: LocalSession, runs: dict[str, dict[str, Any]]) -> list[Upload]:
    bucket = session.outputs["bucket_name"]
    uploads = []
    for name, item in sorted(runs.items()):
        for stored in item.get("stored", {}).get("L", []):
            key, etag = stored["M"]["key"]["S"], stored["M"]["etag"]["S"]
            label = f"{name}: {key.rsplit('/', 1)[-1]}"
            uploads.append(Upload(label, key, etag, None, doc_id_for(bucket, key, etag)))
    return uploads


def sources_override(site: DocumentSite) -> dict[str, str]:
    """The stack config that deploys the collect stage with the site's sources."""
    return {"sources": json.dumps(site_sources(site))}


def with_site(options: SessionOptions, site: DocumentSite) -> SessionOptions:
    """`options` deploying the collect stage with the site's sources, its workers allowed to
    reach loopback."""
    if "sources" in options.config_overrides:
        raise ValueError("--collect deploys the test site's sources: leave out --config sources")
    runtime = replace(
        options.runtime,
        extra_environment={**options.runtime.extra_environment, **LOCAL_ENVIRONMENT},
    )
    overrides = {**options.config_overrides, **sources_override(site)}
    return replace(options, config_overrides=overrides, runtime=runtime)


@dataclass
class CollectedReport:
    """What `local run --collect` reports: each source's run, then every document's fate."""

    sources: list[SourceRun]
    documents: Report

    @property
    def answered(self) -> bool:
        """Every source listed and fetched, every document settled."""
        return all(run.ok for run in self.sources) and self.documents.answered

    def to_dict(self) -> dict[str, Any]:
        return {"sources": [run.to_dict() for run in self.sources], **self.documents.to_dict()}


def run_collected(
    session: LocalSession,
    files: Sequence[Path | Input],
    timeout_s: float,
    on_progress: Callable[[Progress], None] | None = None,
) -> CollectedReport:
    """Upload `files`, run every source once, then wait for the uploads and the collected
    documents alike (what `run_documents` does for uploads alone)."""
    started = time.monotonic()
    target = from_local_session(session.outputs, session.environment())
    names = [source["name"] for source in session.outputs["sources"]]
    uploads = upload(session, files)
    uploads += collect(session, names, timeout_s)
    remaining = max(0.0, timeout_s - (time.monotonic() - started))
    watcher = wait_until_settled(session, uploads, remaining, on_progress)
    report = build_report(session, uploads, watcher, time.monotonic() - started)
    watcher.release()
    return CollectedReport(source_runs(target), report)

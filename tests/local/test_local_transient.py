"""A transient failure is retried, rests in its stage's DLQ after exactly maxReceiveCount
deliveries with its message intact, and a redrive after the outage brings the document to
`done` once."""

from __future__ import annotations

from pathlib import Path

import pytest
from localtest import VARIANTS_DIR, stages, table_items

from local.run import build_report, upload, wait_until_settled
from local.runtime import PROJECT_DIR, RuntimeOptions
from local.session import LocalSession, SessionOptions
from ops.operate import dlq_redrive
from ops.target import from_local_session

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

MAX_RECEIVE_COUNT = 2


def test_an_outage_ends_in_the_dlq_and_redrive_finishes_the_document_once(
    tmp_path: Path,
) -> None:
    outage = tmp_path / "outage"
    outage.touch()
    options = SessionOptions(
        stack="dev",
        # summarize: a 5 s timeout makes its visibility timeout 30 s, so two receives fit
        config_overrides=stages(summarize={"timeout": 5, "maxReceiveCount": MAX_RECEIVE_COUNT}),
        runtime=RuntimeOptions(
            schedule_interval_s=0,
            log_dir=tmp_path / "logs",
            extra_pythonpath=[VARIANTS_DIR],
            handler_overrides={"summarize": "variants.flaky_summarize"},
            extra_environment={"DOCPIPE_TEST_OUTAGE": str(outage)},
        ),
    )
    with LocalSession(options) as session:
        assert session.runtime is not None
        # GIVEN a document whose summarize step fails while the outage lasts
        (sent,) = upload(session, [PROJECT_DIR / "samples" / "contract.pdf"])

        # WHEN the pipeline runs THEN the message rests in summarize's DLQ, delivered twice
        watcher = wait_until_settled(session, [sent], timeout_s=150)
        ((message_id, doc_id),) = watcher.dead_letters["summarize"].items()
        assert doc_id == sent.doc_id
        assert session.runtime.stats.deliveries[message_id] == MAX_RECEIVE_COUNT
        (item,) = table_items(session)
        assert item["status"] == {"S": "ocr-done"}
        # ...and the run's report says why, as the poller noted it at the last delivery
        (result,) = build_report(session, [sent], watcher, 0).documents
        assert (result.status, result.reason) == (
            "dead-lettered",
            "summarize: after 2 deliveries: RuntimeError: injected transient failure",
        )
        watcher.release()  # the watcher hid the dead letter while reading it

        # WHEN the outage ends and the DLQ is redriven
        outage.unlink()
        target = from_local_session(session.outputs, session.environment())
        assert dlq_redrive(target, "summarize").moved == 1

        # THEN the document is done, once: one item, one classification
        done = wait_until_settled(session, [sent], timeout_s=60)
        (item,) = table_items(session)
        assert item["status"] == {"S": "done"} and item["category"] == {"S": "contract"}
        assert done.dlq_counts()["summarize"] == 0

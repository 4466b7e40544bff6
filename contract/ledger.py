"""The document ledger: one item per document version in the results table.

Every stage moves the item forward as the document passes (`received`, then `<stage>-done`
for each stage of the chain, then `done`), or settles it as `rejected` with the stage, the
error type and a human reason. An index by status and time answers "what is pending, rejected
or done since T" without a scan. A write only moves an item forward (its `status_rank` must
grow), so replays and late duplicates never regress a document.
"""

from __future__ import annotations

from typing import Literal

from contract import stages

KEY = "doc_id"
COLLECTOR_KEY_PREFIX = stages.COLLECTOR_KEY_PREFIX
STATUS_INDEX = "by-status"
"""Global secondary index: partition `status`, sort `updated_at`."""

RECEIVED = "received"
DONE = "done"
REJECTED = "rejected"
FINAL_RANK = 100
"""Rank of `done` and `rejected`: nothing moves a settled document."""

Settled = Literal["done", "rejected"]


class Attr:
    """Attribute names of a ledger item, written by the handlers and read by the tools."""

    STATUS = "status"
    RANK = "status_rank"
    STAGE = "stage"
    UPDATED_AT = "updated_at"
    RECEIVED_AT = "received_at"
    SOURCE_BUCKET = "source_bucket"
    SOURCE_KEY = "source_key"
    SOURCE_ETAG = "source_etag"
    SOURCE_VERSION = "source_version_id"
    ORIGIN = "origin"
    ARCHIVED_KEY = "archived_key"
    ERROR_STAGE = "error_stage"
    ERROR_TYPE = "error_type"
    ERROR_MESSAGE = "error_message"
    CATEGORY = "category"
    CONFIDENCE = "confidence"
    RETRIES = "retries"
    PAGES = "pages"
    OCR_CONFIDENCE = "ocr_confidence"
    MEDIA_TYPE = "media_type"
    """The kind detected from the document's bytes (contract of handlers/formats)."""
    METHOD = "method"
    """How its text was obtained: ocr, text-layer, decoded, html, email, docx, odt, archive."""
    ENCODING = "encoding"
    PARENT = "parent_doc_id"
    """For a document found inside another (an attachment, an archive member): that one."""
    ROOT = "root_doc_id"
    DEPTH = "depth"
    CHILDREN = "children"
    """The documents found inside this one: [{doc_id, key, etag, name, media_type, size}]."""
    DESCENDANTS = "descendants"
    """On an upload's item: how many documents its whole tree holds (the bound's counter)."""
    COUNTED_PARENTS = "counted_parents"
    """On an upload's item: the documents of its tree whose children are counted."""

    @staticmethod
    def stage_time(stage: str) -> str:
        """When `stage` finished with the document (ISO 8601, UTC)."""
        return f"{stage}_at"


INDEXED = (
    Attr.SOURCE_KEY,
    Attr.STAGE,
    Attr.CATEGORY,
    Attr.CONFIDENCE,
    Attr.ERROR_STAGE,
    Attr.ERROR_TYPE,
    Attr.ERROR_MESSAGE,
)
"""Attributes the status index carries beside its keys: what `docpipe results list` shows."""


def stage_done(stage: str) -> str:
    """The status a stage gives a document it passed on: `done` from the last stage."""
    chain = [s.name for s in stages.TABLE.chain()]
    return DONE if stage == chain[-1] else f"{stage}-done"


def statuses() -> list[str]:
    """Every status, in the order a document can reach them."""
    chain = [s.name for s in stages.TABLE.chain()]
    return [RECEIVED, *(f"{name}-done" for name in chain[:-1]), DONE, REJECTED]


def rank(status: str) -> int:
    """How far along `status` is; settled statuses share the top rank."""
    if status in (DONE, REJECTED):
        return FINAL_RANK
    order = statuses()
    if status not in order:
        raise ValueError(f"unknown ledger status {status!r}; statuses: {order}")
    return order.index(status)


def is_settled(status: str) -> bool:
    return status in (DONE, REJECTED)

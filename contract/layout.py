"""Where a document and what the stages make of it live in the bucket.

Uploads arrive under `incoming/` (the bucket notification's filter); each stage writes its
artifact at a deterministic key derived from the document id, under a prefix that never
overlaps `incoming/` (an output under the trigger prefix would trigger the pipeline again).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Prefix:
    """One area of the bucket."""

    name: str
    """Names the area in IAM statement ids (`read-incoming`) and in the graph."""
    path: str
    """The key prefix, ending in `/`."""
    artifact: str | None = None
    """The name a document message gives the object a stage wrote here (`text`)."""
    versioned: bool = False
    """Objects are read by version id (uploads: two uploads under one key are two documents)."""

    def key_for(self, doc_id: str) -> str:
        """Where a stage writes its artifact of one document."""
        return f"{self.path}{doc_id}.txt"


INCOMING = Prefix("incoming", "incoming/", versioned=True)
TEXT = Prefix("text", "text/", artifact="text")
SUMMARIES = Prefix("summaries", "summaries/", artifact="summary")
# Where the first stage moves an upload once it has taken it: `incoming/` then holds only what
# the pipeline has not taken yet, so the sweep's cost follows pending work, not history.
PROCESSED = Prefix("processed", "processed/")
REJECTED = Prefix("rejected", "rejected/")

PREFIXES = (INCOMING, TEXT, SUMMARIES, PROCESSED, REJECTED)
ARTIFACTS = {p.artifact: p for p in PREFIXES if p.artifact}


def archived_key(area: Prefix, upload_key: str) -> str:
    """Where an upload under `incoming/` is kept once taken: the same name in `area`."""
    return f"{area.path}{upload_key.removeprefix(INCOMING.path)}"

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
    uploads: bool = False
    """An object written here is an upload on purpose: the bucket notification hands it to
    the first stage (the collector's documents; the documents found inside a document)."""

    def key_for(self, doc_id: str) -> str:
        """Where a stage writes its artifact of one document."""
        return f"{self.path}{doc_id}.txt"


INCOMING = Prefix("incoming", "incoming/", versioned=True, uploads=True)
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


# -- documents found inside documents ---------------------------------------------------------
# An e-mail's attachments and an archive's members become uploads of their own, under
# `incoming/children/<parent doc_id>/`: the pipeline treats them like any upload (on purpose,
# the one place a stage writes under the trigger prefix; DOCUMENT_MAX_DEPTH ends the chain).
CHILDREN = Prefix("children", f"{INCOMING.path}children/", uploads=True)
MAX_KEY_BYTES = 1024  # S3's longest object key, in UTF-8 bytes


def child_key(parent_doc_id: str, index: int, path: str) -> str:
    """Where the `index`th child of a document is stored: its path inside the parent, or,
    when that would pass S3's key limit, its number and the path's last characters."""
    folder = f"{CHILDREN.path}{parent_doc_id}/"
    key = folder + path
    if len(key.encode("utf-8")) <= MAX_KEY_BYTES:
        return key
    tail = path.rsplit("/", 1)[-1].encode("utf-8")[-200:].decode("utf-8", "ignore")
    return f"{folder}{index:04d}-{tail}"


class ChildMetadata:
    """User metadata a stored child carries (S3 returns each as x-amz-meta-<name>)."""

    PARENT = "docpipe-parent"
    """The doc_id of the document it was found in."""
    ROOT = "docpipe-root"
    """The doc_id of the upload at the top of its tree, which counts the tree's documents."""
    DEPTH = "docpipe-depth"
    """How far below that upload it sits: 1 for an attachment of an upload."""

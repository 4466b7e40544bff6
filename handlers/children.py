"""Documents found inside a document: stored as uploads of their own, linked both ways.

An e-mail's attachments and (when expanded) an archive's members are put under
`incoming/children/<parent doc_id>/`, so the bucket notification hands each to the first
stage like any upload: same extraction, same ledger, same rejections. Each carries its parent,
the upload at the top of its tree and its depth as object metadata; its ledger item records
them, and the parent's item lists its children. The tree is bounded: each document's
children (DOCUMENT_MAX_CHILDREN), its depth (DOCUMENT_MAX_DEPTH) and, counted on the upload's
ledger item, its documents in all (DOCUMENT_MAX_DESCENDANTS).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from contract.errors import DocumentTooLargeError, InvalidMetadataError
from contract.layout import ChildMetadata, child_key
from contract.ledger import Attr
from contract.messages import Source, doc_id_for
from handlers import ledger, runtime
from handlers.formats import ENV_NAMES, Child, DocumentLimits

_DOC_ID = re.compile(r"^[0-9a-f]{32}$")


@dataclass(frozen=True)
class Lineage:
    """Where a document sits in its upload's tree."""

    root: str
    parent: str | None = None
    depth: int = 0

    def ledger_facts(self) -> dict[str, Any]:
        """What the document's ledger item records of it (nothing for an upload)."""
        if self.parent is None:
            return {}
        return {Attr.PARENT: self.parent, Attr.ROOT: self.root, Attr.DEPTH: self.depth}


def lineage_of(metadata: Mapping[str, str], doc_id: str, where: str) -> Lineage:
    """The object's place in its tree, from its metadata: an upload without it is a root.

    Anyone who may upload may set this metadata too; a forged depth gains nothing an
    upload could not, but a malformed one is refused rather than guessed at.
    """
    depth = metadata.get(ChildMetadata.DEPTH)
    if depth is None:
        return Lineage(root=doc_id)
    parent, root = metadata.get(ChildMetadata.PARENT, ""), metadata.get(ChildMetadata.ROOT, "")
    if not depth.isdigit() or int(depth) < 1 or not (_DOC_ID.match(parent) and _DOC_ID.match(root)):
        raise InvalidMetadataError(
            f"malformed child metadata (x-amz-meta-{ChildMetadata.DEPTH}={depth!r}, "
            f"{ChildMetadata.PARENT}={parent!r}, {ChildMetadata.ROOT}={root!r})",
            where,
        )
    return Lineage(root=root, parent=parent, depth=int(depth))


def store(
    source: Source,
    lineage: Lineage,
    children: tuple[Child, ...],
    limits: DocumentLimits,
    where: str,
) -> list[dict[str, Any]]:
    """Put each child under the parent's folder in `incoming/`; what the parent's ledger
    item lists of them. Idempotent: a retry puts the same bytes at the same keys."""
    if not children:
        return []
    if not ledger.count_children(
        lineage.root, source.doc_id, len(children), limits.max_descendants
    ):
        raise DocumentTooLargeError(
            f"its {len(children)} attachments or members would take its upload's documents "
            f"past {limits.max_descendants} in all ({ENV_NAMES['max_descendants']})",
            where,
        )
    metadata = {
        ChildMetadata.PARENT: source.doc_id,
        ChildMetadata.ROOT: lineage.root,
        ChildMetadata.DEPTH: str(lineage.depth + 1),
    }
    s3 = runtime.client("s3")
    stored = []
    for index, child in enumerate(children):
        key = child_key(source.doc_id, index, child.path)
        response = s3.put_object(
            Bucket=source.bucket,
            Key=key,
            Body=child.data,
            ContentType=child.media_type,
            Metadata=metadata,
        )
        etag = str(response["ETag"]).strip('"')
        stored.append(
            {
                "doc_id": doc_id_for(source.bucket, key, etag),
                "key": key,
                "etag": etag,
                "name": child.name,
                "media_type": child.media_type,
                "size": child.size,
            }
        )
    return stored

"""Bounds on what one document may unpack: its children (e-mail attachments, archive
members) and the parts read from a ZIP container (DOCX, ODT, ZIP).

Each bound is a field of `DocumentLimits`; its variable, default and minimum are the runtime
contract's (`contract.settings`, DOCUMENT_*). `ENV_NAMES` maps each field to its variable's
name, for error messages that say what to change.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass

from contract import settings as env


@dataclass(frozen=True)
class DocumentLimits:
    max_children: int = env.DOCUMENT_MAX_CHILDREN.default
    # Every document one upload yields, at every level: attachments of attachments add up
    # (counted on the upload's ledger item, so a retry never counts twice).
    max_descendants: int = env.DOCUMENT_MAX_DESCENDANTS.default
    max_total_bytes: int = env.DOCUMENT_MAX_TOTAL_BYTES.default
    max_member_bytes: int = env.DOCUMENT_MAX_MEMBER_BYTES.default
    max_compression_ratio: int = env.DOCUMENT_MAX_COMPRESSION_RATIO.default
    # An e-mail (0) -> its ZIP attachment (1) -> a member (2) -> ...
    max_depth: int = env.DOCUMENT_MAX_DEPTH.default
    expand_archives: bool = env.DOCUMENT_EXPAND_ARCHIVES.default

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> DocumentLimits:
        """The contract's defaults, overridden by the variables set in `environ` (default:
        this process's environment, read at the call).

        A malformed value is a deployment bug, not bad input: `ValueError` naming it.
        """
        values = {
            field.name: _VARIABLES[field.name].read(environ) for field in dataclasses.fields(cls)
        }
        return cls(**values)


_VARIABLES: dict[str, env.Variable] = {
    "max_children": env.DOCUMENT_MAX_CHILDREN,
    "max_descendants": env.DOCUMENT_MAX_DESCENDANTS,
    "max_total_bytes": env.DOCUMENT_MAX_TOTAL_BYTES,
    "max_member_bytes": env.DOCUMENT_MAX_MEMBER_BYTES,
    "max_compression_ratio": env.DOCUMENT_MAX_COMPRESSION_RATIO,
    "max_depth": env.DOCUMENT_MAX_DEPTH,
    "expand_archives": env.DOCUMENT_EXPAND_ARCHIVES,
}
ENV_NAMES: dict[str, str] = {field: variable.name for field, variable in _VARIABLES.items()}

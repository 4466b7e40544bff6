"""ZIP archives: each member a document of its own, within bounds.

Member paths are neutralised (no `..`, no absolute paths, no drive letters) since they
become S3 key tails; symbolic links are refused. Nested archives are children like any
other member, expanded when the pipeline processes them, one level deeper.
"""

from __future__ import annotations

import stat
import zipfile

from contract.errors import ContainerLimitError, CorruptArchiveError, UnsafeArchiveError
from handlers.formats.limits import ENV_NAMES, DocumentLimits
from handlers.formats.model import Child, Extracted, MediaType
from handlers.formats.zipfiles import MemberReader, open_archive, safe_path, unique_paths

# macOS Finder's AppleDouble copies of resource forks: metadata, never documents.
_METADATA_PREFIX = "__MACOSX/"
_UNIX = 3  # ZipInfo.create_system of archives made on Unix, whose mode bits mark symlinks


def extract(data: bytes, source: str, limits: DocumentLimits, depth: int) -> Extracted:
    with open_archive(data, source, CorruptArchiveError) as archive:
        members = [info for info in archive.infolist() if _is_document(info)]
        _check(members, source, limits, depth)
        reader = MemberReader(archive, source, limits, CorruptArchiveError)
        paths = unique_paths(safe_path(info.filename) for info in members)
        children = tuple(
            _child(reader, info, path) for info, path in zip(members, paths, strict=True)
        )
    listing = "\n".join(f"{child.path} ({child.size} bytes)" for child in children)
    return Extracted(
        text=f"ZIP archive of {len(children)} file(s):\n{listing}" if children else "",
        pages=1,
        confidence=1.0,
        media_type=MediaType.ZIP,
        method="archive",
        children=children,
    )


def _is_document(info: zipfile.ZipInfo) -> bool:
    # Not ZipInfo.is_dir(): it raises IndexError on the empty name a damaged entry can have.
    name = info.filename
    return not name.endswith("/") and not name.startswith(_METADATA_PREFIX)


def _check(members: list[zipfile.ZipInfo], source: str, limits: DocumentLimits, depth: int) -> None:
    for info in members:
        if info.create_system == _UNIX and stat.S_ISLNK(info.external_attr >> 16):
            raise UnsafeArchiveError(f"member {info.filename!r} is a symbolic link", source)
    if members and depth >= limits.max_depth:
        limit = ENV_NAMES["max_depth"]
        raise ContainerLimitError(
            f"archive at nesting depth {depth}: a document this deep may not have children "
            f"(limit {limit}={limits.max_depth})",
            source,
            limit,
        )
    if len(members) > limits.max_children:
        limit = ENV_NAMES["max_children"]
        raise ContainerLimitError(
            f"{len(members)} members exceed {limits.max_children} (limit {limit})", source, limit
        )


def _child(reader: MemberReader, info: zipfile.ZipInfo, path: str) -> Child:
    from handlers.formats.sniff import media_type_of

    data = reader.read(info)
    return Child(name=path.rsplit("/", 1)[-1], path=path, media_type=media_type_of(data), data=data)

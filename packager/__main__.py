"""`python -m packager [--arch arm64|x86_64] [--stage NAME ...] [--dist DIR] [--no-layers]`."""

from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path

from contract import stages
from contract.build import DEFAULT_BUILD_DIR
from packager.build import PLATFORMS, build, unzipped_size


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m packager", description=__doc__)
    parser.add_argument("--arch", choices=sorted(PLATFORMS), default="arm64")
    parser.add_argument("--stage", action="append", choices=stages.TABLE.names)
    parser.add_argument("--dist", type=Path, default=DEFAULT_BUILD_DIR)
    parser.add_argument("--no-layers", action="store_true", help="code zips only (offline)")
    args = parser.parse_args(argv)
    for path in build(args.stage or stages.TABLE.names, args.arch, args.dist, not args.no_layers):
        digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
        print(
            f"{path.relative_to(args.dist)}  {path.stat().st_size / 1e6:7.2f} MB zipped  "
            f"{unzipped_size(path) / 1e6:7.2f} MB unzipped  sha256 {digest}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""Each function's archives against Lambda's size quotas, checked when they are built.

https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html: a zip uploaded
directly (CreateFunction, PublishLayerVersion: what `pulumi up` does with a FileArchive) is at
most 50 MB, and a function's code plus all of its layers at most 250 MB once extracted.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from packager.build import unzipped_size

MB = 1024 * 1024  # Lambda's quotas count MB of 2**20 bytes
ZIPPED_LIMIT = 50 * MB  # CodeSizeZipped: 52,428,800 bytes, per zip uploaded directly
UNZIPPED_LIMIT = 250 * MB  # CodeSizeUnzipped: 262,144,000 bytes, code plus every layer


class SizeLimitError(Exception):
    """A function whose archives Lambda would refuse; the message names each and the limit."""


@dataclass(frozen=True)
class FunctionSize:
    stage: str
    archives: tuple[Path, ...]  # its code zip, then its own layer if built

    @property
    def zipped(self) -> list[int]:
        return [path.stat().st_size for path in self.archives]

    @property
    def unzipped(self) -> int:
        return sum(unzipped_size(path) for path in self.archives)


def function_sizes(built: list[Path]) -> list[FunctionSize]:
    """Group `dist/functions/<stage>.zip` with `dist/layers/<stage>.zip` by stage."""
    stages: dict[str, list[Path]] = {}
    for path in sorted(built, key=lambda p: (p.parent.name != "functions", str(p))):
        stages.setdefault(path.stem, []).append(path)
    return [FunctionSize(stage, tuple(paths)) for stage, paths in sorted(stages.items())]


def report(sizes: list[FunctionSize]) -> list[str]:
    return [
        f"function {size.stage:10} {sum(size.zipped) / MB:7.2f} MB zipped  "
        f"{size.unzipped / MB:7.2f} MB unzipped with its layer  "
        f"(Lambda: {ZIPPED_LIMIT / MB:.0f} MB a zip, {UNZIPPED_LIMIT / MB:.0f} MB unzipped)"
        for size in sizes
    ]


def check(sizes: list[FunctionSize]) -> None:
    """Raise SizeLimitError naming every archive and function over a limit."""
    problems = []
    for size in sizes:
        for path, zipped in zip(size.archives, size.zipped, strict=True):
            if zipped > ZIPPED_LIMIT:
                problems.append(
                    f"{path.parent.name}/{path.name} is {zipped / MB:.2f} MB zipped, above "
                    f"Lambda's {ZIPPED_LIMIT / MB:.0f} MB for a direct upload"
                )
        if size.unzipped > UNZIPPED_LIMIT:
            problems.append(
                f"function {size.stage} is {size.unzipped / MB:.2f} MB unzipped with its "
                f"layer, above Lambda's {UNZIPPED_LIMIT / MB:.0f} MB for code and all layers"
            )
    if problems:
        raise SizeLimitError("; ".join(problems))

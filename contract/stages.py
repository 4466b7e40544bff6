"""The pipeline's stages, declared once.

Everything that differs between stages lives in one `Stage` entry: its handler modules and
requirements (packaging), the bucket areas it reads, writes and lists, the stage it feeds,
its access to the results table (IAM), its defaults (memory, timeout, batching), and the
settings it gets as environment variables. The stack derives each function's environment,
IAM grants and creation order from it; the packager its zips and layers; cost, graph,
status and local mode their rows. Adding a stage is an entry here, a handler module under
`handlers/` and its tests.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Literal

from contract import settings as env
from contract.layout import INCOMING, PROCESSED, REJECTED, SUMMARIES, TEXT, Prefix

FedBy = Literal["uploads", "schedule", "stage"]
Work = Literal["document", "page", "tick"]

COMMON_MODULES = ("handlers", "handlers.runtime", "handlers.config", "handlers.ledger")
"""Handler modules every function ships beside its own (and the `contract` package)."""


@dataclass(frozen=True)
class Defaults:
    """The stage's QueueFunction settings unless stack config overrides them."""

    memory_size: int
    timeout: int
    batch_size: int
    batching_window: int = 0
    max_concurrency: int = 5
    max_receive_count: int = 5

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class Stage:
    name: str
    modules: tuple[str, ...]
    """Its handler modules (dotted); the first holds `lambda_handler`."""
    requirements: tuple[str, ...]
    """The PyPI distributions its layer holds (boto3 comes with Lambda's runtime)."""
    defaults: Defaults
    label: str
    """Three letters for progress lines."""
    fed_by: FedBy = "stage"
    """Who fills its queue: the bucket's upload notifications, a schedule, or the stage before."""
    work: Work = "document"
    """What one invocation's duration scales with (cost): a document, its pages, a tick."""
    reads: tuple[Prefix, ...] = ()
    writes: tuple[Prefix, ...] = ()
    lists: tuple[Prefix, ...] = ()
    next: str | None = None
    """The stage whose queue this one sends to."""
    archives: tuple[Prefix, ...] = ()
    """Areas it moves uploads into from `incoming/` (copy, then delete that version)."""
    table: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Named grants on the results table: statement id -> DynamoDB actions."""
    reads_queue_metrics: bool = False
    """It reads CloudWatch's metrics of the queues (the sweep's backlog guard)."""
    settings: Mapping[env.Variable, str | None] = field(default_factory=dict)
    """Its own environment: variable -> the DocumentPipeline argument that sets it (None: the
    variable's default, always written so the function's configuration shows it)."""
    nltk_data: bool = False
    """Its layer carries nltk's punkt_tab data (NLTK_DATA points at it)."""
    description: str = ""

    @property
    def handler(self) -> str:
        return f"{self.modules[0]}.lambda_handler"

    @property
    def variables(self) -> tuple[env.Variable, ...]:
        """Every environment variable the function gets, in the order the stack writes them."""
        common = [env.STAGE, env.BUCKET, env.SERVICE_NAME, env.METRICS_NAMESPACE]
        if self.table:
            common.append(env.TABLE)
        if self.next:
            common.append(env.NEXT_QUEUE_URL)
        return (*common, *self.settings)


@dataclass(frozen=True)
class StageTable:
    stages: tuple[Stage, ...]

    def __post_init__(self) -> None:
        problems = self.problems()
        if problems:
            raise ValueError("invalid stage table: " + "; ".join(problems))

    def problems(self) -> list[str]:
        names = [s.name for s in self.stages]
        problems = [
            f"stage {n!r} is declared twice" for n in sorted(set(names)) if names.count(n) > 1
        ]
        problems += [
            f"stage {s.name!r} feeds unknown stage {s.next!r}"
            for s in self.stages
            if s.next is not None and s.next not in names
        ]
        problems += [f"stage {n!r} feeds itself through its next stages" for n in self._cycles()]
        uploads = [s.name for s in self.stages if s.fed_by == "uploads"]
        if len(uploads) != 1:
            problems.append(f"exactly one stage must be fed by uploads, not {uploads}")
        return problems

    def _cycles(self) -> list[str]:
        links = {s.name: s.next for s in self.stages}
        cyclic = []
        for name in links:
            seen, current = set(), links.get(name)
            while current in links and current not in seen and current != name:
                seen.add(current)
                current = links[current]
            if current == name:
                cyclic.append(name)
        return cyclic

    def __iter__(self) -> Iterator[Stage]:
        return iter(self.stages)

    def __getitem__(self, name: str) -> Stage:
        for stage in self.stages:
            if stage.name == name:
                return stage
        raise KeyError(f"no stage {name!r}; stages: {self.names}")

    def __contains__(self, name: object) -> bool:
        return any(stage.name == name for stage in self.stages)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(stage.name for stage in self.stages)

    @property
    def first(self) -> Stage:
        """The stage the bucket's uploads feed."""
        return next(stage for stage in self.stages if stage.fed_by == "uploads")

    def chain(self) -> list[Stage]:
        """The stages a document passes through, in order, from the first."""
        chain = [self.first]
        while chain[-1].next and self[chain[-1].next] not in chain:
            chain.append(self[chain[-1].next])
        return chain

    def creation_order(self) -> list[Stage]:
        """Each stage after the stage it sends to: a stage needs that queue's URL and ARN."""
        ordered: list[Stage] = []

        def visit(stage: Stage) -> None:
            if stage not in ordered:
                if stage.next:
                    visit(self[stage.next])  # no cycles: problems() refuses them
                ordered.append(stage)

        for stage in self.stages:
            visit(stage)
        return ordered

    def inserted(self, stage: Stage, after: str) -> StageTable:
        """A copy with `stage` between `after` and the stage `after` fed."""
        before = self[after]
        new = replace(stage, next=before.next)
        rewired = [replace(s, next=new.name) if s.name == after else s for s in self.stages]
        position = self.names.index(after) + 1
        return StageTable((*rewired[:position], new, *rewired[position:]))


SERVICE_PREFIX = "docpipe"


def service_name(stage: str) -> str:
    """The stage function's Powertools service: its logs' `service` field and the `service`
    dimension of its metrics in the `docpipe` namespace (RecordsFailed, RecordsRejected...)."""
    return f"{SERVICE_PREFIX}-{stage}"


LEDGER = {"record-ledger": ("dynamodb:GetItem", "dynamodb:UpdateItem")}
"""What a stage of the chain does to the ledger: read a document's status, move it forward."""


TABLE = StageTable(
    (
        Stage(
            name="ocr",
            modules=("handlers.ocr", "handlers.ocr_engine"),
            requirements=("aws-lambda-powertools", "pytesseract", "pypdfium2", "pillow"),
            defaults=Defaults(memory_size=2048, timeout=180, batch_size=1),
            label="ocr",
            fed_by="uploads",
            work="page",
            reads=(INCOMING,),
            writes=(TEXT,),
            archives=(PROCESSED, REJECTED),
            next="summarize",
            table=LEDGER,
            settings={
                env.OCR_LANGUAGE: "ocr_language",
                env.OCR_MAX_BYTES: None,
                env.OCR_MAX_PAGES: "ocr_max_pages",
                env.OMP_THREAD_LIMIT: None,
            },
            description="text from each upload: tesseract for scans, the text layer of PDFs",
        ),
        Stage(
            name="summarize",
            modules=("handlers.summarize", "handlers.summarizer", "handlers.textio"),
            requirements=("aws-lambda-powertools", "nltk", "stop-words"),
            defaults=Defaults(memory_size=512, timeout=60, batch_size=10),
            label="sum",
            reads=(TEXT,),
            writes=(SUMMARIES,),
            next="classify",
            table=LEDGER,
            settings={
                env.NLTK_DATA: None,
                env.SUMMARY_MAX_SENTENCES: None,
                env.SUMMARY_MAX_CHARS: None,
            },
            nltk_data=True,
            description="an extractive summary of each text (nltk sentences)",
        ),
        Stage(
            name="classify",
            modules=("handlers.classify", "handlers.classifier", "handlers.textio"),
            # No nltk data: the Porter stemmer and NaiveBayesClassifier need none.
            requirements=("aws-lambda-powertools", "nltk", "stop-words"),
            defaults=Defaults(memory_size=512, timeout=30, batch_size=10),
            label="cls",
            reads=(SUMMARIES, TEXT),
            table=LEDGER,
            settings={
                env.CLASSIFY_CATEGORIES: "categories",
                env.CLASSIFY_THRESHOLD: "classify_threshold",
            },
            description="a category for each document, and its result item",
        ),
        Stage(
            name="sweep",
            modules=("handlers.sweep",),
            requirements=("aws-lambda-powertools",),
            defaults=Defaults(memory_size=256, timeout=120, batch_size=1, max_concurrency=2),
            label="swp",
            fed_by="schedule",
            work="tick",
            lists=(INCOMING,),
            next="ocr",
            table={
                "read-ledger": ("dynamodb:BatchGetItem",),
                # the `received` item that makes each upload's re-send happen once
                "record-received": ("dynamodb:PutItem",),
            },
            reads_queue_metrics=True,
            settings={
                env.SWEEP_MIN_AGE_MINUTES: "sweep_min_age_minutes",
                env.SWEEP_MAX_PER_RUN: "sweep_max_per_run",
                env.SWEEP_MAX_AGE_MINUTES: "sweep_max_age_minutes",
            },
            description="re-enqueues, once, uploads that have no result yet",
        ),
    )
)

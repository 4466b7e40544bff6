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

from contract import ocr
from contract import settings as env
from contract.layout import (
    CHILDREN,
    INCOMING,
    PROCESSED,
    REJECTED,
    SUMMARIES,
    TEXT,
    Prefix,
)

FedBy = Literal["uploads", "schedule", "stage"]
Work = Literal["document", "page", "tick"]

COMMON_MODULES = (
    "handlers",
    "handlers.runtime",
    "handlers.config",
    "handlers.ledger",
    "handlers.steps",
)
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
class TableGrant:
    """What a stage may do to the results table."""

    actions: tuple[str, ...]
    key_prefix: str | None = None
    """Only on items whose key starts so (IAM's dynamodb:LeadingKeys)."""


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
    table: Mapping[str, TableGrant] = field(default_factory=dict)
    """Named grants on the results table: statement id -> actions (and key prefix)."""
    reads_queue_metrics: bool = False
    """It reads CloudWatch's metrics of the queues (the sweep's backlog guard)."""
    settings: Mapping[env.Variable, str | None] = field(default_factory=dict)
    """Its own environment: variable -> the pipeline setting that gives its value (None: the
    variable's default, always written so the function's configuration shows it; a setting
    whose value is None leaves the variable out)."""
    nltk_data: bool = False
    """Its layer carries nltk's punkt_tab data (NLTK_DATA points at it)."""
    tessdata: bool = False
    """Its layer carries tesseract's traineddata for the stack's OCR languages."""
    needs: str | None = None
    """The DocumentPipeline argument without which the stage is not deployed (unset or
    empty: no resources, no cost)."""
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

    def active(self, settings: Mapping[str, object]) -> StageTable:
        """The stages a pipeline with these settings deploys (a stage whose `needs` is unset
        or empty is left out)."""
        return StageTable(tuple(s for s in self.stages if not s.needs or settings.get(s.needs)))

    def inserted(self, stage: Stage, after: str) -> StageTable:
        """A copy with `stage` between `after` and the stage `after` fed."""
        before = self[after]
        new = replace(stage, next=before.next)
        rewired = [replace(s, next=new.name) if s.name == after else s for s in self.stages]
        position = self.names.index(after) + 1
        return StageTable((*rewired[:position], new, *rewired[position:]))


COLLECTOR_KEY_PREFIX = "source#"
"""The collector keeps its own items (what it saw per source) in the results table, keyed so
that they never meet a document's (32 hex digits) and stay out of the status index."""

FORMATS_MODULES = (
    "handlers.formats",
    *(
        f"handlers.formats.{name}"
        for name in (
            "archive", "docx", "extract", "htmltext", "limits", "mail", "model", "odt", "sniff",
            "textcodec", "xmlparts", "zipfiles",
        )
    ),
)  # fmt: skip
"""The first stage's document formats (handlers/formats/), one module per kind and helper."""

SERVICE_PREFIX = "docpipe"


def service_name(stage: str) -> str:
    """The stage function's Powertools service: its logs' `service` field and the `service`
    dimension of its metrics in the `docpipe` namespace (RecordsFailed, RecordsRejected...)."""
    return f"{SERVICE_PREFIX}-{stage}"


LEDGER = {"record-ledger": TableGrant(("dynamodb:GetItem", "dynamodb:UpdateItem"))}
"""What a stage of the chain does to the ledger: read a document's status, move it forward."""


TABLE = StageTable(
    (
        Stage(
            name="ocr",
            modules=(
                "handlers.ocr",
                "handlers.ocr_engine",
                "handlers.tesseract",
                "handlers.children",
                *FORMATS_MODULES,
            ),
            requirements=(
                "aws-lambda-powertools",
                "tesserocr",
                "pytesseract",
                "pypdfium2",
                "pillow",
                "selectolax",
            ),
            defaults=Defaults(memory_size=ocr.DEFAULT_MEMORY_MB, timeout=180, batch_size=1),
            label="ocr",
            fed_by="uploads",
            work="page",
            reads=(INCOMING,),
            writes=(TEXT, CHILDREN),
            archives=(PROCESSED, REJECTED),
            next="summarize",
            table=LEDGER,
            settings={
                env.OCR_LANGUAGE: "ocr_language",
                env.OCR_MAX_BYTES: None,
                env.OCR_MAX_PAGES: "ocr_max_pages",
                env.OCR_ENGINE: "ocr_engine",
                env.TESSDATA_PREFIX: "tessdata_prefix",
                env.OCR_MAX_PAGE_PIXELS: "ocr_max_page_pixels",
                env.OCR_MAX_DOCUMENT_PIXELS: "ocr_max_document_pixels",
                env.OMP_THREAD_LIMIT: "omp_thread_limit",
                env.DOCUMENT_EXPAND_ARCHIVES: "expand_archives",
                env.DOCUMENT_MAX_CHILDREN: None,
                env.DOCUMENT_MAX_DESCENDANTS: None,
                env.DOCUMENT_MAX_TOTAL_BYTES: None,
                env.DOCUMENT_MAX_MEMBER_BYTES: None,
                env.DOCUMENT_MAX_COMPRESSION_RATIO: None,
                env.DOCUMENT_MAX_DEPTH: None,
            },
            tessdata=True,
            description="text from each upload by its kind: tesseract for scans, the text "
            "layer of PDFs, text, HTML, e-mail, DOCX, ODT; attachments and archive members "
            "become uploads of their own",
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
                "read-ledger": TableGrant(("dynamodb:BatchGetItem",)),
                # the `received` item that makes each upload's re-send happen once
                "record-received": TableGrant(("dynamodb:PutItem",)),
            },
            reads_queue_metrics=True,
            settings={
                env.SWEEP_MIN_AGE_MINUTES: "sweep_min_age_minutes",
                env.SWEEP_MAX_PER_RUN: "sweep_max_per_run",
                env.SWEEP_MAX_AGE_MINUTES: "sweep_max_age_minutes",
            },
            description="re-enqueues, once, uploads that have no result yet",
        ),
        Stage(
            name="collect",
            modules=(
                "handlers.collect.aws",
                "handlers.collect",
                "handlers.collect.addresses",
                "handlers.collect.collector",
                "handlers.collect.discover",
                "handlers.collect.fetch",
                "handlers.collect.settings",
                *FORMATS_MODULES,  # the stored object's type, detected as the first stage will
            ),
            requirements=("aws-lambda-powertools", "defusedxml"),
            # its time budget is the timeout less one fetch's worst case (pipeline_checks);
            # 300 s, the policy pack's bound, leaves two minutes of fetching a run
            defaults=Defaults(memory_size=512, timeout=300, batch_size=1, max_concurrency=2),
            label="col",
            fed_by="schedule",
            work="tick",
            writes=(INCOMING,),
            table={
                "collect-state": TableGrant(
                    ("dynamodb:BatchGetItem", "dynamodb:PutItem"), key_prefix=COLLECTOR_KEY_PREFIX
                )
            },
            settings={
                env.COLLECT_SOURCES: "sources_json",
                env.COLLECT_TIME_BUDGET_SECONDS: "collect_time_budget",
                env.COLLECT_CONTACT: "collect_contact",
            },
            needs="sources",
            description="fetches new or changed documents from the configured sources",
        ),
    )
)

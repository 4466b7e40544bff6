"""DocumentPipeline's arguments and their defaults.

Stage defaults come from the stage table; the defaults of settings a function reads come from
the runtime contract's variables: neither is written a second time here.
"""

from collections.abc import Mapping, Sequence
from typing import Any, Required, TypedDict

import pulumi

from contract import orchestration
from contract import settings as env
from contract.aws import DEFAULT_ACCOUNT_CONCURRENCY
from contract.build import DEFAULT_BUILD_DIR


class StageArgs(TypedDict, total=False):
    """Overrides for one stage (QueueFunction arguments of the same names); each defaults to
    the stage's own value (docs/components.md lists them)."""

    memory_size: pulumi.Input[int]
    """Memory in MB. Default: the stage's (ocr 2048)."""
    timeout: pulumi.Input[int]
    """Timeout in seconds. Default: the stage's (ocr 180)."""
    batch_size: pulumi.Input[int]
    """Records per invocation. Default: the stage's (ocr 1, summarize and classify 10)."""
    batching_window: pulumi.Input[int]
    """Seconds to gather a batch. Default 0."""
    max_concurrency: pulumi.Input[int]
    """Mapping's maximum concurrency; under the `stepfunctions` orchestration the reserved
    concurrency of a function the workflow calls. Default: the stage's (5, sweep 2)."""
    reserved_concurrency: pulumi.Input[int]
    """Reserved concurrency. Default: unreserved."""
    max_receive_count: pulumi.Input[int]
    """Receives before the DLQ. Default 5."""
    environment: pulumi.Input[Mapping[str, pulumi.Input[str]]]
    """Extra environment variables; the runtime contract's variables win over these."""


class CategoryArgs(TypedDict, total=False):
    """A classification category: keywords, examples, or both."""

    name: Required[str]
    """Category name written on the result item."""
    keywords: Sequence[str]
    """Words or phrases that indicate the category. Default: none."""
    examples: Sequence[str]
    """Example texts of the category. Default: none."""


class SourceArgs(TypedDict, total=False):
    """A place the collect stage gathers documents from on a schedule (docs/collection.md)."""

    name: Required[str]
    """1-32 of a-z, 0-9 and inner hyphens; documents land under `incoming/<name>/`."""
    kind: Required[str]
    """`http` (a list of document URLs), `feed` (RSS or Atom), `sitemap`, or `s3`."""
    schedule: str
    """EventBridge Scheduler expression. Default `rate(1 day)`."""
    urls: Sequence[str]
    """http: the documents' URLs."""
    url: str
    """feed, sitemap: the feed's or sitemap's URL."""
    pattern: str
    """sitemap: a glob the URLs to keep match."""
    bucket: str
    """s3: the bucket to copy from."""
    prefix: str
    """s3: only keys under this prefix. Default: the whole bucket."""
    account: str
    """s3: the bucket owner's account id (checked on every call)."""
    include: Sequence[str]
    """Globs a document URL (s3: key) must match one of. Default `["*"]`."""
    exclude: Sequence[str]
    """Globs a document URL (s3: key) must match none of. Default: none."""
    max_bytes: int
    """Largest document fetched, in bytes (the cap holds while streaming). Default 25 MiB."""
    max_documents: int
    """Most documents fetched per run. Default 100."""
    allow_http: bool
    """Allow plain http (not https). Default false."""


class DocumentPipelineArgs(TypedDict, total=False):
    """Arguments of DocumentPipeline; all optional."""

    stages: Mapping[str, StageArgs]
    """Per-stage overrides keyed by stage name (`ocr`, `summarize`, `classify`, `sweep`)."""
    categories: Sequence[CategoryArgs]
    """Classification categories. Default: invoice, contract, report, letter."""
    classify_threshold: float
    """Confidence below which a document is `unclassified`. Default 0.3."""
    ocr_language: str
    """Tesseract language(s), e.g. `eng+deu`; the OCR layer must be built with them (`make
    build OCR_LANGUAGE=eng+deu`). Default `eng`."""
    ocr_max_pages: int
    """Longest document the OCR function accepts, in pages. Default: what the ocr stage's
    timeout and memory allow with twice the measured time a page (69 with 180 s and 2048 MB;
    contract/ocr.py): a longer document would time out on every try instead of being
    refused with a typed error."""
    expand_archives: bool
    """Whether a ZIP archive's members become documents of their own (bounded like e-mail
    attachments: count, size, depth, compression ratio); off, a ZIP is refused as
    unsupported. Default false."""
    ocr_layer_arn: pulumi.Input[str]
    """Override: a layer version ARN bringing your own `tesseract` binary (run through
    pytesseract). Default: tesseract in process, from the OCR function's own layer."""
    ocr_image_uri: pulumi.Input[str]
    """Override: a container image (a `tesseract` binary and the handlers) for the OCR
    function instead of its zip and layer. Default: the zip."""
    build_dir: str
    """Where `make build` writes `functions/<stage>.zip` and `layers/<stage>.zip`.
    Default: `dist` in the docpipe checkout holding these components, whatever the
    program's working directory; a relative path is relative to the program's project."""
    require_artifacts: bool
    """Refuse to build when an archive is missing. Default true (offline runs: false)."""
    architecture: str
    """`arm64` (default) or `x86_64`, for every function and layer."""
    log_retention_days: int
    """Retention of every function's log group. Default 14."""
    alarm_email: pulumi.Input[str]
    """Send alarms to an SNS topic with this e-mail subscription (confirm it from the e-mail
    AWS sends; a pending subscription delivers nothing). Default: no topic."""
    require_alarm_email: bool
    """Refuse a protected stack without `alarm_email`, and an `alarm_email` on a reserved
    domain (example.com, .test, ...: RFC 2606/6761) that never receives mail. Default true
    (offline runs: false)."""
    account_concurrency: int
    """The account's Lambda concurrent-executions quota in the region. The stages' reserved
    concurrency must leave 100 of it unreserved (a Lambda rule). Default 1000 (AWS's default
    quota; new accounts may have 10)."""
    rejected_alarm_percent: int
    """A stage's warning alarm fires when more than this percentage of the documents it saw
    in an hour were rejected. Default 10."""
    rejected_alarm_min_documents: int
    """The rejected-documents alarm judges only hours in which a stage saw at least this many
    documents (a quiet hour never alarms). Default 20."""
    protect_data: bool
    """Protect bucket and table, turn on table deletion protection. Default false."""
    bucket_name: pulumi.Input[str]
    """Physical bucket name. Default `<name>-<stack>-<account>-<region>`."""
    sweep_schedule: str
    """Schedule expression of the sweep. Default `rate(15 minutes)`."""
    sweep_min_age_minutes: int
    """Re-enqueue (once) uploads older than this with no result. Default 120; at least the
    ocr stage's max_receive_count x visibility timeout (90 minutes with the defaults), the
    time an OCR message may still be retrying before its DLQ."""
    sweep_max_per_run: int
    """At most this many re-enqueues per sweep. Default 100."""
    sweep_max_age_minutes: int
    """The sweep looks up only uploads younger than this (older ones were swept already),
    which bounds each run's table reads. Default 1440 (a day); above `sweep_min_age_minutes`."""
    sources: Sequence[SourceArgs]
    """Where the collect stage gathers documents on a schedule; none: no collect stage."""
    collect_contact: str
    """Who runs the collector (a URL or `mailto:`), in its User-Agent. Default: none."""
    orchestration: str
    """How documents move between the stages: `queues` (default), each stage sending to the
    next stage's queue; or `stepfunctions`, a DocumentWorkflow (a Step Functions state
    machine started per upload by an EventBridge Pipe reading the first stage's queue)
    calling the chain's functions in order. With `stepfunctions` a stage's
    `max_concurrency` becomes its function's reserved concurrency (docs/orchestration.md)."""
    workflow_type: str
    """With `stepfunctions`: `STANDARD` (default) or `EXPRESS`."""
    tags: Mapping[str, str]
    """Tags for every taggable resource. Default: none."""


PIPELINE_DEFAULTS: dict[str, Any] = {
    "categories": env.CLASSIFY_CATEGORIES.default,
    "classify_threshold": env.CLASSIFY_THRESHOLD.default,
    "ocr_language": env.OCR_LANGUAGE.default,
    "expand_archives": env.DOCUMENT_EXPAND_ARCHIVES.default,
    "build_dir": str(DEFAULT_BUILD_DIR),
    "require_artifacts": True,
    "architecture": "arm64",
    "log_retention_days": 14,
    "protect_data": False,
    "require_alarm_email": True,
    "account_concurrency": DEFAULT_ACCOUNT_CONCURRENCY,
    "rejected_alarm_percent": 10,
    "rejected_alarm_min_documents": 20,
    "sweep_schedule": "rate(15 minutes)",
    "sweep_min_age_minutes": env.SWEEP_MIN_AGE_MINUTES.default,
    "sweep_max_per_run": env.SWEEP_MAX_PER_RUN.default,
    "sweep_max_age_minutes": env.SWEEP_MAX_AGE_MINUTES.default,
    "collect_contact": env.COLLECT_CONTACT.default,
    "orchestration": orchestration.QUEUES,
    "workflow_type": orchestration.STANDARD,
}

"""DocumentPipeline's arguments and their defaults.

Stage defaults come from the stage table; the defaults of settings a function reads come from
the runtime contract's variables: neither is written a second time here.
"""

from collections.abc import Mapping, Sequence
from typing import Any, Required, TypedDict

import pulumi

from contract import orchestration
from contract import settings as env
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


class DocumentPipelineArgs(TypedDict, total=False):
    """Arguments of DocumentPipeline; all optional."""

    stages: Mapping[str, StageArgs]
    """Per-stage overrides keyed by stage name (`ocr`, `summarize`, `classify`, `sweep`)."""
    categories: Sequence[CategoryArgs]
    """Classification categories. Default: invoice, contract, report, letter."""
    classify_threshold: float
    """Confidence below which a document is `unclassified`. Default 0.3."""
    ocr_language: str
    """Tesseract language. Default `eng`."""
    ocr_max_pages: int
    """Longest document the OCR function accepts, in pages. Default: the ocr timeout / 2 s
    per page (90 with the default 180 s): tesseract needs about 1.7 s per page, and a longer
    document would time out on every try instead of failing with a typed error."""
    ocr_layer_arn: pulumi.Input[str]
    """Layer version ARN supplying tesseract to the zip-packaged OCR function."""
    ocr_image_uri: pulumi.Input[str]
    """Container image (with tesseract and the handlers) for the OCR function instead."""
    require_ocr_runtime: bool
    """Refuse to build without `ocr_layer_arn` or `ocr_image_uri`. Default true (offline
    runs, such as tests and local mode, turn it off)."""
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
    """Send alarms to an SNS topic with this e-mail subscription. Default: no topic."""
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
    "require_ocr_runtime": True,
    "build_dir": str(DEFAULT_BUILD_DIR),
    "require_artifacts": True,
    "architecture": "arm64",
    "log_retention_days": 14,
    "protect_data": False,
    "sweep_schedule": "rate(15 minutes)",
    "sweep_min_age_minutes": env.SWEEP_MIN_AGE_MINUTES.default,
    "sweep_max_per_run": env.SWEEP_MAX_PER_RUN.default,
    "sweep_max_age_minutes": env.SWEEP_MAX_AGE_MINUTES.default,
    "orchestration": orchestration.QUEUES,
    "workflow_type": orchestration.STANDARD,
}

"""DocumentPipeline: the bucket, one queue-fed function per stage of the stage table, the
results table, the schedules of scheduled stages, and (with an e-mail) an alarm topic.

Every hand-off goes through a queue with a DLQ (docs/runtime-contract.md lists what each
function gets). Stages are created after the stage they send to, because each needs that
queue's URL; the bucket last, because its notification needs the first stage's queue policy.
"""

import json
from typing import Any

import pulumi
import pulumi_aws as aws

from components import stage_wiring
from components.collection import source_grants
from components.document_store import DocumentStore
from components.document_workflow import DocumentWorkflow
from components.names import valid_bucket_name, valid_dashboard_name
from components.pipeline_args import CategoryArgs, DocumentPipelineArgs, StageArgs
from components.pipeline_checks import (
    COLLECT,
    OCR,
    SWEEP,
    archive_paths,
    deployed,
    stage_settings,
    validate,
)
from components.pipeline_monitoring import create_dashboard, create_rejected_alarm
from components.queue_function import QueueFunction, QueueFunctionArgs
from components.results_table import ResultsTable
from components.scheduled_trigger import ScheduledTrigger
from components.validation import coerce, merge
from contract import ledger
from contract import orchestration as flow
from contract.layout import INCOMING
from contract.messages import schedule_tick
from contract.sources import Source, collect_message
from contract.stages import Stage

__all__ = ["CategoryArgs", "DocumentPipeline", "DocumentPipelineArgs", "StageArgs"]

TYPE = "docpipe:index:DocumentPipeline"

OUTPUTS = (
    "bucket_name",
    "bucket_arn",
    "table_name",
    "table_arn",
    "queue_urls",
    "queue_arns",
    "dlq_urls",
    "dlq_arns",
    "function_names",
    "function_arns",
    "role_arns",
    "schedule_arn",
    "alarm_topic_arn",
    "dashboard_name",
    "state_machine_arn",
)
# The argument that holds each scheduled stage's schedule expression.
SCHEDULE_ARGUMENTS = {SWEEP: "sweep_schedule"}
SCHEDULE_DESCRIPTIONS = {SWEEP: "Re-enqueue uploads that have no result yet"}


def _without_none(args: dict[str, Any]) -> Any:
    """Typed args leave unset keys out (hosted components receive no None values either)."""
    return {key: value for key, value in args.items() if value is not None}


class DocumentPipeline(pulumi.ComponentResource):
    """The whole document pipeline: bucket, a queue-fed function per stage, results table,
    periodic sweep, and (with an e-mail) an alarm topic."""

    bucket_name: pulumi.Output[str]
    """Name of the document bucket."""
    bucket_arn: pulumi.Output[str]
    """ARN of the document bucket."""
    table_name: pulumi.Output[str]
    """Name of the results table."""
    table_arn: pulumi.Output[str]
    """ARN of the results table."""
    queue_urls: pulumi.Output[dict[str, str]]
    """Work queue URL by stage (stages that have a queue)."""
    queue_arns: pulumi.Output[dict[str, str]]
    """Work queue ARN by stage (stages that have a queue)."""
    dlq_urls: pulumi.Output[dict[str, str]]
    """Dead-letter queue URL by stage (stages that have a queue)."""
    dlq_arns: pulumi.Output[dict[str, str]]
    """Dead-letter queue ARN by stage (stages that have a queue)."""
    function_names: pulumi.Output[dict[str, str]]
    """Function name by stage."""
    function_arns: pulumi.Output[dict[str, str]]
    """Function ARN by stage."""
    role_arns: pulumi.Output[dict[str, str]]
    """Execution role ARN by stage."""
    schedule_arn: pulumi.Output[str]
    """ARN of the sweep schedule."""
    alarm_topic_arn: pulumi.Output[str | None]
    """ARN of the alarm topic (with `alarm_email` only)."""
    dashboard_name: pulumi.Output[str]
    """Name of the stack's CloudWatch dashboard."""
    state_machine_arn: pulumi.Output[str | None]
    """ARN of the workflow's state machine (with `orchestration` `stepfunctions` only)."""

    def __init__(
        self, name: str, args: DocumentPipelineArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        s = validate(name, coerce(DocumentPipelineArgs, args, "DocumentPipeline", name))
        super().__init__(TYPE, name, None, opts)
        self._name, self._s = name, s
        self._stage_table = deployed(s)
        self._stages = stage_settings(s)
        self._resolve_bucket_name()
        self.topic = self._create_topic()
        self.table = self._create_table()
        self.stages: dict[str, QueueFunction] = {}
        self._create_stages()
        self.workflow = self._create_workflow()
        self.store = self._create_store()
        self.schedules = self._create_schedules()
        self.rejected_alarms = self._create_rejected_alarms()
        self.dashboard = self._create_dashboard()
        self._export()

    @property
    def sources(self) -> list[Source]:
        """The validated `sources` the collect stage's schedules run (empty without)."""
        return list(self._s.get("parsed_sources", ()))

    def _resolve_bucket_name(self) -> None:
        """The bucket's name is fixed up front: the first queue's policy needs the bucket's
        ARN while the bucket's notification needs that queue policy (a cycle otherwise)."""
        invoke = pulumi.InvokeOutputOptions(parent=self)
        self._account = aws.get_caller_identity_output(opts=invoke).account_id
        self._partition = aws.get_partition_output(opts=invoke).partition
        region = self._region = aws.get_region_output(opts=invoke).region
        self._bucket: pulumi.Output[str] = pulumi.Output.from_input(
            self._s.get("bucket_name")
            or pulumi.Output.concat(
                self._name, "-", pulumi.get_stack(), "-", self._account, "-", region
            ).apply(valid_bucket_name)
        )
        self._bucket_arn = pulumi.Output.concat("arn:", self._partition, ":s3:::", self._bucket)

    def _child(self) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(parent=self)

    # -- children ---------------------------------------------------------------------------

    def _create_table(self) -> ResultsTable:
        protect = bool(self._s["protect_data"])
        status_index = {
            "name": ledger.STATUS_INDEX,
            "hash_key": ledger.Attr.STATUS,
            "range_key": ledger.Attr.UPDATED_AT,
            "non_key_attributes": list(ledger.INDEXED),
        }
        return ResultsTable(
            f"{self._name}-results",
            _without_none(
                {
                    "deletion_protection": protect,
                    "protect": protect,
                    "indexes": [status_index],
                    "tags": self._s.get("tags"),
                }
            ),
            opts=self._child(),
        )

    def _create_stages(self) -> None:
        for stage in self._stage_table.creation_order():
            self.stages[stage.name] = QueueFunction(
                f"{self._name}-{stage.name}", self._stage_args(stage), opts=self._child()
            )

    def _in_workflow(self, stage: Stage) -> bool:
        return flow.in_workflow(stage, self._stage_table, self._s["orchestration"])

    def _create_workflow(self) -> DocumentWorkflow | None:
        """The orchestration's branch point: with `stepfunctions` a workflow calls the chain's
        functions, started per upload from the first stage's queue (the intake)."""
        if self._s["orchestration"] != flow.STEPFUNCTIONS:
            return None
        first = self.stages[self._stage_table.first.name]
        steps = [
            {
                "name": stage.name,
                "function_arn": self.stages[stage.name].function_arn,
                "timeout": self._stages[stage.name]["timeout"],
                "attempts": self._stages[stage.name]["max_receive_count"],
            }
            for stage in self._stage_table.chain()
        ]
        args: dict[str, Any] = {
            "steps": steps,
            "source_queue_arn": first.queue_arn,
            "source_queue_kms_key_arn": first.kms_key_arn if first.key is not None else None,
            "workflow_type": self._s["workflow_type"],
            "log_retention_days": self._s["log_retention_days"],
            "alarm_topic_arn": self.topic.arn if self.topic is not None else None,
            "tags": self._s.get("tags"),
        }
        return DocumentWorkflow(f"{self._name}-workflow", _without_none(args), opts=self._child())

    def _create_schedules(self) -> dict[str, ScheduledTrigger]:
        """One schedule per scheduled stage; the collect stage one per source."""
        schedules = {}
        for stage in self._stage_table:
            if stage.fed_by != "schedule":
                continue
            for name, expression, message, description in self._schedules_of(stage):
                schedules[name] = self._create_schedule(
                    stage, name, expression, message, description
                )
        return schedules

    def _schedules_of(self, stage: Stage) -> list[tuple[str, str, dict[str, Any], str]]:
        """(name, expression, message, description) of each schedule feeding `stage`."""
        if stage.name == COLLECT:
            return [
                (f"{COLLECT}-{source.name}", source.schedule, collect_message(source.name),
                 f"Collect documents from {source.name} ({source.kind})")
                for source in self._s["parsed_sources"]
            ]  # fmt: skip
        expression = self._s[SCHEDULE_ARGUMENTS[stage.name]]
        description = SCHEDULE_DESCRIPTIONS.get(stage.name, stage.description)
        return [(stage.name, expression, schedule_tick(stage.name), description)]

    def _create_schedule(
        self, stage: Stage, name: str, expression: str, message: dict[str, Any], description: str
    ) -> ScheduledTrigger:
        function = self.stages[stage.name]
        return ScheduledTrigger(
            f"{self._name}-{name}-schedule",
            _without_none(
                {
                    "queue_arn": function.queue_arn,
                    "dead_letter_queue_arn": function.dlq_arn,
                    "schedule_expression": expression,
                    "message": json.dumps(message),
                    "description": description,
                    "tags": self._s.get("tags"),
                }
            ),
            opts=self._child(),
        )

    def _create_topic(self) -> aws.sns.Topic | None:
        email = self._s.get("alarm_email")
        if email is None:
            return None
        # Not KMS-encrypted: CloudWatch cannot publish to a topic under the AWS-managed
        # aws/sns key, and a customer-managed key for an e-mail topic buys nothing here.
        topic = aws.sns.Topic(f"{self._name}-alarms", tags=self._s.get("tags"), opts=self._child())
        aws.sns.TopicSubscription(
            f"{self._name}-alarm-email",
            topic=topic.arn,
            protocol="email",
            endpoint=email,
            opts=self._child(),
        )
        return topic

    def _create_store(self) -> DocumentStore:
        first = self.stages[self._stage_table.first.name]
        # Carries the dependency on the first queue's policy: S3 checks it may send to the
        # queue when the notification is written (else "Unable to validate destination").
        assert first.queue_policy is not None
        queue_arn = pulumi.Output.all(first.queue_arn, first.queue_policy.id).apply(lambda a: a[0])
        written = [
            p.path for s in self._stage_table for p in (*s.writes, *s.archives) if not p.uploads
        ]
        return DocumentStore(
            f"{self._name}-store",
            _without_none(
                {
                    "bucket_name": self._bucket,
                    "force_destroy": not self._s["protect_data"],
                    "protect": bool(self._s["protect_data"]),
                    "queue_notifications": [
                        {"queue_arn": queue_arn, "filter_prefix": INCOMING.path}
                    ],
                    "output_prefixes": list(dict.fromkeys(written)),
                    "tags": self._s.get("tags"),
                }
            ),
            opts=self._child(),
        )

    def _create_rejected_alarms(self) -> dict[str, aws.cloudwatch.MetricAlarm]:
        """A warning per stage a document passes through (the sweep sees no documents)."""
        return {
            stage.name: create_rejected_alarm(
                self._name, stage.name, self.stages[stage.name], self._s, self.topic,
                self._child(),
            )
            for stage in self._stage_table.chain()
        }  # fmt: skip

    def _create_dashboard(self) -> aws.cloudwatch.Dashboard:
        # Dashboards are global to the account: the name carries the stack and the region.
        name = pulumi.Output.concat(self._name, "-", pulumi.get_stack(), "-", self._region)
        alarms = [a.arn for f in self.stages.values() for a in f.alarms]
        alarms += [a.arn for a in self.rejected_alarms.values()]
        return create_dashboard(
            self._name,
            name.apply(valid_dashboard_name),
            self._region,
            list(self._stage_table),
            self.stages,
            alarms,
            self._child(),
        )

    def _resources(self) -> stage_wiring.Resources:
        return stage_wiring.Resources(
            bucket_name=self._bucket,
            bucket_arn=self._bucket_arn,
            table_name=self.table.table_name,
            table_arn=self.table.table_arn,
            queue_url=lambda stage: self.stages[stage].queue_url,
            queue_arn=lambda stage: self.stages[stage].queue_arn,
        )

    def _stage_args(self, stage: Stage) -> QueueFunctionArgs:
        s, settings = self._s, dict(self._stages[stage.name])
        orchestration = s["orchestration"]
        contract = stage_wiring.environment(stage, s, self._resources(), orchestration)
        environment = merge({}, settings.pop("environment", None), contract)
        args: dict[str, Any] = {
            **settings,
            "architecture": s["architecture"],
            "log_retention_days": s["log_retention_days"],
            "environment": environment,
            "policy_statements": {
                **stage_wiring.grants(stage, self._resources(), orchestration),
                **self._source_grants(stage),
            },
            "tags": s.get("tags"),
        }
        if self._in_workflow(stage):
            args.update(self._workflow_step(stage, settings))
        if self.topic is not None:
            args["alarm_topic_arn"] = self.topic.arn
        if stage.fed_by == "uploads":
            args["queue_producers"] = [
                {"service": "s3.amazonaws.com", "source_arn": self._bucket_arn}
            ]
        args.update(self._packaging(stage))
        return _without_none(args)

    def _source_grants(self, stage: Stage) -> dict[str, Any]:
        """An `s3` source's bucket and prefix, readable by the collect stage only."""
        if stage.name != COLLECT:
            return {}
        grants: dict[str, Any] = {}
        for source in self._s["parsed_sources"]:
            grants.update(source_grants(source, self._partition))
        return grants

    def _workflow_step(self, stage: Stage, settings: dict[str, Any]) -> dict[str, Any]:
        """A function the workflow calls: no mapping bounds it, so its reserved concurrency
        does (Lambda throttles beyond it and the workflow retries); the first keeps its
        queue as the pipe's intake, the others need none."""
        step: dict[str, Any] = {
            "create_queue": stage == self._stage_table.first,
            "create_trigger": False,
        }
        if settings.get("reserved_concurrency") is None:
            step["reserved_concurrency"] = settings["max_concurrency"]
        return step

    def _packaging(self, stage: Stage) -> dict[str, Any]:
        s = self._s
        handler = flow.handler(stage, self._stage_table, s["orchestration"])
        if stage.name == OCR and s.get("ocr_image_uri") is not None:
            return {"image_uri": s["ocr_image_uri"], "image_command": [handler]}
        paths = archive_paths(s, stage.name)
        packaging: dict[str, Any] = {
            "code": pulumi.FileArchive(paths["code"]),
            "dependency_layer": pulumi.FileArchive(paths["dependency_layer"]),
            "handler": handler,
        }
        if stage.name == OCR and s.get("ocr_layer_arn") is not None:
            packaging["layers"] = [s["ocr_layer_arn"]]
        return packaging

    # -- outputs ----------------------------------------------------------------------------

    def _by_stage(self, attribute: str, queued_only: bool = False) -> pulumi.Output[dict[str, str]]:
        values = {
            stage.name: getattr(self.stages[stage.name], attribute)
            for stage in self._stage_table
            if not queued_only or flow.has_queue(stage, self._stage_table, self._s["orchestration"])
        }
        return pulumi.Output.all(**values).apply(lambda resolved: dict(resolved))

    def _export(self) -> None:
        self.bucket_name, self.bucket_arn = self.store.bucket_name, self.store.bucket_arn
        self.table_name, self.table_arn = self.table.table_name, self.table.table_arn
        self.queue_urls = self._by_stage("queue_url", queued_only=True)
        self.queue_arns = self._by_stage("queue_arn", queued_only=True)
        self.dlq_urls = self._by_stage("dlq_url", queued_only=True)
        self.dlq_arns = self._by_stage("dlq_arn", queued_only=True)
        self.function_names = self._by_stage("function_name")
        self.function_arns = self._by_stage("function_arn")
        self.role_arns = self._by_stage("role_arn")
        self.schedule_arn = self.schedules[SWEEP].schedule_arn
        none: pulumi.Output[str | None] = pulumi.Output.from_input(None)
        self.alarm_topic_arn = self.topic.arn if self.topic is not None else none
        self.state_machine_arn = (
            self.workflow.state_machine_arn if self.workflow is not None else none
        )
        self.dashboard_name = self.dashboard.dashboard_name
        self.register_outputs({key: getattr(self, key) for key in OUTPUTS})

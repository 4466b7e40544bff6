"""Deploy the unchanged stack onto the emulator: Pulumi mocks that create each resource in moto.

Pulumi's mock runtime hands `new_resource` a resource's inputs only once its dependencies
resolved (a queue policy gets the queue's URL after the queue was created), so each resource
can be created through boto3 in turn and answer with moto's real names, ARNs and URLs.
One small function per resource type; a type without one is a clear error naming it.

What does not go into moto, and why:
- Event source mappings: moto's fire inside SendMessage, ignore ReportBatchItemFailures and,
  without Docker, delete the messages. `local.runtime` polls the queues instead; the mapping
  gets a local UUID and ARN.
- Function code: the workers run `handlers/` from the checkout, so moto stores a placeholder.
- A bucket policy's TLS-only Deny: moto ignores conditions, so `aws:SecureTransport = false`
  would deny every request. It is left out locally (the endpoint is plain HTTP on loopback)
  and noted in `Deployment.notes`.
"""

from __future__ import annotations

import io
import json
import threading
import uuid
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pulumi

from contract.aws import is_tls_only_deny
from local.emulator import ACCOUNT_ID, REGION, Emulator
from mockrun.mocks import function_state, physical_name
from policies import resource_types as t


class UnsupportedResourceType(Exception):
    """The stack uses a resource type local mode cannot create in the emulator."""


@dataclass
class Deployment:
    """What the mocks created: state per logical name, and what was adapted for local mode."""

    created: dict[str, dict[str, Any]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


Inputs = dict[str, Any]
Created = tuple[str, dict[str, Any]]


def _int(value: Any) -> int:
    """The engine sends every number as a float; AWS APIs want integers."""
    return int(float(value))


def _name(inputs: Inputs, logical: str, key: str = "name", lower: bool = False) -> str:
    """The explicit name, else `<prefix>` + suffix, else Pulumi's `<logical>-<7 hex>`."""
    if inputs.get(key):
        return str(inputs[key])
    prefix = inputs.get(f"{key}Prefix")
    name = f"{prefix}{uuid.uuid4().hex[:8]}" if prefix else physical_name(logical)
    return name.lower() if lower else name


def _pascal(value: Any) -> Any:
    """camelCase engine inputs to the PascalCase shapes of S3's XML APIs, dropping empties."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if item in (None, "", [], {}):
                continue
            pascal = "ID" if key == "id" else key[:1].upper() + key[1:]
            out[pascal] = _pascal(item)
        return out
    if isinstance(value, list):
        return [_pascal(item) for item in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _placeholder_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("README.txt", "docpipe local mode runs handlers/ from the checkout\n")
    return buffer.getvalue()


class EmulatorMocks(pulumi.runtime.Mocks):
    """Create each resource in the emulator and return its real identifiers as state."""

    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator
        self.deployment = Deployment()
        self._clients: dict[str, Any] = {}
        # The SDK may register resources from several threads; moto state is shared.
        self._lock = threading.Lock()
        self._builders: dict[str, Callable[[Inputs, str], Created]] = {
            t.BUCKET: self._bucket,
            t.PUBLIC_ACCESS_BLOCK: self._public_access_block,
            t.BUCKET_ENCRYPTION: self._bucket_encryption,
            t.BUCKET_VERSIONING: self._bucket_versioning,
            t.BUCKET_OWNERSHIP: self._bucket_ownership,
            t.BUCKET_LIFECYCLE: (self._bucket_lifecycle),
            t.BUCKET_POLICY: self._bucket_policy,
            t.BUCKET_NOTIFICATION: self._bucket_notification,
            t.QUEUE: self._queue,
            t.QUEUE_POLICY: self._queue_policy,
            t.REDRIVE_ALLOW_POLICY: self._redrive_allow_policy,
            t.ROLE: self._role,
            t.ROLE_POLICY: self._role_policy,
            t.FUNCTION: self._function,
            t.LAYER_VERSION: self._layer,
            t.MAPPING: self._event_source_mapping,
            t.LOG_GROUP: self._log_group,
            t.METRIC_ALARM: self._metric_alarm,
            t.DASHBOARD: self._dashboard,
            t.TABLE: self._table,
            t.SCHEDULE: self._schedule,
            t.TOPIC: self._topic,
            t.TOPIC_SUBSCRIPTION: self._topic_subscription,
            t.KMS_KEY: self._kms_key,
            t.STATE_MACHINE: self._state_machine,
            t.PIPE: self._pipe,
        }

    @property
    def supported_types(self) -> list[str]:
        return sorted(self._builders)

    def client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = self.emulator.client(service)
        return self._clients[service]

    # -- Pulumi mock interface ----------------------------------------------------------------

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        if not args.custom:  # a component: a grouping in the engine, nothing in the cloud
            return args.name, dict(args.inputs)
        build = self._builders.get(args.typ)
        if build is None:
            message = (
                f"local mode cannot deploy resource type {args.typ} ({args.name}): "
                f"the emulator deployer supports {', '.join(self.supported_types)}"
            )
            self.deployment.errors.append(message)
            raise UnsupportedResourceType(message)
        inputs = dict(args.inputs)
        with self._lock:
            try:
                resource_id, computed = build(inputs, args.name)
            except Exception as error:
                self.deployment.errors.append(f"{args.typ} {args.name}: {error}")
                raise
        state = {**inputs, **computed, "id": resource_id}
        self.deployment.created[args.name] = {"type": args.typ, **state}
        return resource_id, state

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[Any]]:
        # The SDK iterates the second element (check failures): a list, never None.
        if args.token == t.GET_CALLER_IDENTITY:
            identity = self.client("sts").get_caller_identity()
            return {
                "accountId": identity["Account"],
                "arn": identity["Arn"],
                "userId": identity["UserId"],
            }, []
        if args.token == t.GET_REGION:
            return {"name": REGION, "region": REGION, "id": REGION}, []
        if args.token == t.GET_PARTITION:
            return {"partition": "aws", "dnsSuffix": "amazonaws.com", "id": "aws"}, []
        raise UnsupportedResourceType(f"local mode cannot answer the provider call {args.token}")

    # -- S3 -------------------------------------------------------------------------------------

    def _bucket(self, inputs: Inputs, logical: str) -> Created:
        name = _name(inputs, logical, key="bucket", lower=True)
        self.client("s3").create_bucket(Bucket=name)
        return name, {
            "bucket": name,
            "arn": f"arn:aws:s3:::{name}",
            "bucketDomainName": f"{name}.s3.amazonaws.com",
            "bucketRegionalDomainName": f"{name}.s3.{REGION}.amazonaws.com",
            "region": REGION,
        }

    def _public_access_block(self, inputs: Inputs, _logical: str) -> Created:
        flags = (
            "blockPublicAcls",
            "blockPublicPolicy",
            "ignorePublicAcls",
            "restrictPublicBuckets",
        )
        self.client("s3").put_public_access_block(
            Bucket=inputs["bucket"],
            PublicAccessBlockConfiguration={
                flag[:1].upper() + flag[1:]: bool(inputs.get(flag)) for flag in flags
            },
        )
        return inputs["bucket"], {}

    def _bucket_encryption(self, inputs: Inputs, _logical: str) -> Created:
        rules = []
        for rule in inputs.get("rules", []):
            default = rule.get("applyServerSideEncryptionByDefault") or {}
            by_default = {"SSEAlgorithm": default.get("sseAlgorithm", "AES256")}
            if default.get("kmsMasterKeyId"):
                by_default["KMSMasterKeyID"] = default["kmsMasterKeyId"]
            rules.append(
                {
                    "ApplyServerSideEncryptionByDefault": by_default,
                    "BucketKeyEnabled": bool(rule.get("bucketKeyEnabled")),
                }
            )
        self.client("s3").put_bucket_encryption(
            Bucket=inputs["bucket"], ServerSideEncryptionConfiguration={"Rules": rules}
        )
        return inputs["bucket"], {}

    def _bucket_versioning(self, inputs: Inputs, _logical: str) -> Created:
        config = inputs.get("versioningConfiguration") or {}
        self.client("s3").put_bucket_versioning(
            Bucket=inputs["bucket"],
            VersioningConfiguration={"Status": config.get("status", "Enabled")},
        )
        return inputs["bucket"], {}

    def _bucket_ownership(self, inputs: Inputs, _logical: str) -> Created:
        rule = inputs.get("rule") or {}
        self.client("s3").put_bucket_ownership_controls(
            Bucket=inputs["bucket"],
            OwnershipControls={"Rules": [{"ObjectOwnership": rule["objectOwnership"]}]},
        )
        return inputs["bucket"], {}

    def _bucket_lifecycle(self, inputs: Inputs, _logical: str) -> Created:
        rules = _pascal(inputs.get("rules", []))
        for rule in rules:
            rule.setdefault("Filter", {})  # S3 wants a Filter (empty: the whole bucket)
        self.client("s3").put_bucket_lifecycle_configuration(
            Bucket=inputs["bucket"], LifecycleConfiguration={"Rules": rules}
        )
        return inputs["bucket"], {}

    def _bucket_policy(self, inputs: Inputs, _logical: str) -> Created:
        policy = json.loads(inputs["policy"])
        statements = policy.get("Statement", [])
        statements = statements if isinstance(statements, list) else [statements]
        kept = [s for s in statements if not is_tls_only_deny(s)]
        if len(kept) != len(statements):
            self.deployment.notes.append(
                f"bucket {inputs['bucket']}: TLS-only Deny (aws:SecureTransport) left out; moto "
                "ignores conditions and would deny every request. Static tests cover it."
            )
        if kept:
            policy["Statement"] = kept
            self.client("s3").put_bucket_policy(Bucket=inputs["bucket"], Policy=json.dumps(policy))
        return inputs["bucket"], {}

    def _bucket_notification(self, inputs: Inputs, _logical: str) -> Created:
        config: dict[str, Any] = {}
        queues = [_notification(q, "QueueArn", q["queueArn"]) for q in inputs.get("queues", [])]
        topics = [_notification(t, "TopicArn", t["topicArn"]) for t in inputs.get("topics", [])]
        functions = [
            _notification(f, "LambdaFunctionArn", f["lambdaFunctionArn"])
            for f in inputs.get("lambdaFunctions", [])
        ]
        if queues:
            config["QueueConfigurations"] = queues
        if topics:
            config["TopicConfigurations"] = topics
        if functions:
            config["LambdaFunctionConfigurations"] = functions
        if inputs.get("eventbridge"):
            config["EventBridgeConfiguration"] = {}
        self.client("s3").put_bucket_notification_configuration(
            Bucket=inputs["bucket"], NotificationConfiguration=config
        )
        return inputs["bucket"], {}

    # -- SQS ------------------------------------------------------------------------------------

    def _queue(self, inputs: Inputs, logical: str) -> Created:
        fifo = bool(inputs.get("fifoQueue"))
        name = _name(inputs, logical)
        if fifo and not name.endswith(".fifo"):
            name += ".fifo"
        attributes = _queue_attributes(inputs)
        url = self.client("sqs").create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
        arn = self.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        return url, {"name": name, "arn": arn, "url": url}

    def _queue_policy(self, inputs: Inputs, _logical: str) -> Created:
        self.client("sqs").set_queue_attributes(
            QueueUrl=inputs["queueUrl"], Attributes={"Policy": inputs["policy"]}
        )
        return inputs["queueUrl"], {}

    def _redrive_allow_policy(self, inputs: Inputs, _logical: str) -> Created:
        self.client("sqs").set_queue_attributes(
            QueueUrl=inputs["queueUrl"],
            Attributes={"RedriveAllowPolicy": inputs["redriveAllowPolicy"]},
        )
        return inputs["queueUrl"], {}

    # -- IAM ------------------------------------------------------------------------------------

    def _role(self, inputs: Inputs, logical: str) -> Created:
        name = _name(inputs, logical)
        role = self.client("iam").create_role(
            RoleName=name,
            Path=inputs.get("path", "/"),
            AssumeRolePolicyDocument=inputs["assumeRolePolicy"],
            MaxSessionDuration=_int(inputs.get("maxSessionDuration", 43200)),
        )["Role"]
        return name, {"name": name, "arn": role["Arn"], "uniqueId": role["RoleId"]}

    def _role_policy(self, inputs: Inputs, logical: str) -> Created:
        name = _name(inputs, logical)
        role = str(inputs["role"]).split("/")[-1]  # a role name, or an ARN ending in it
        self.client("iam").put_role_policy(
            RoleName=role, PolicyName=name, PolicyDocument=inputs["policy"]
        )
        return f"{role}:{name}", {"name": name, "role": role}

    # -- Lambda ---------------------------------------------------------------------------------

    def _function(self, inputs: Inputs, logical: str) -> Created:
        name = _name(inputs, logical)
        variables = (inputs.get("environment") or {}).get("variables") or {}
        created = self.client("lambda").create_function(
            FunctionName=name,
            Runtime=inputs.get("runtime", "python3.12"),
            Role=inputs["role"],
            Handler=inputs.get("handler", "index.handler"),
            Code={"ZipFile": _placeholder_zip()},
            Timeout=_int(inputs.get("timeout", 3)),
            MemorySize=_int(inputs.get("memorySize", 128)),
            Environment={"Variables": {k: str(v) for k, v in variables.items()}},
            Architectures=inputs.get("architectures") or ["x86_64"],
        )
        return name, function_state(name, created["FunctionArn"])

    def _layer(self, inputs: Inputs, logical: str) -> Created:
        name = _name(inputs, logical, key="layerName")
        layer = self.client("lambda").publish_layer_version(
            LayerName=name,
            Content={"ZipFile": _placeholder_zip()},
            CompatibleRuntimes=inputs.get("compatibleRuntimes") or [],
        )
        arn = layer["LayerVersionArn"]
        return arn, {"layerArn": layer["LayerArn"], "arn": arn, "version": str(layer["Version"])}

    def _event_source_mapping(self, inputs: Inputs, _logical: str) -> Created:
        # Deliberately not created in moto (see the module docstring): local.runtime polls.
        mapping_id = str(uuid.uuid4())
        arn = f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:event-source-mapping:{mapping_id}"
        return mapping_id, {"uuid": mapping_id, "arn": arn, "state": "Enabled"}

    # -- CloudWatch -----------------------------------------------------------------------------

    def _log_group(self, inputs: Inputs, logical: str) -> Created:
        name = _name(inputs, logical)
        logs = self.client("logs")
        logs.create_log_group(logGroupName=name)
        if inputs.get("retentionInDays"):
            logs.put_retention_policy(
                logGroupName=name, retentionInDays=_int(inputs["retentionInDays"])
            )
        return name, {"name": name, "arn": f"arn:aws:logs:{REGION}:{ACCOUNT_ID}:log-group:{name}"}

    def _metric_alarm(self, inputs: Inputs, logical: str) -> Created:
        name = _name(inputs, logical)
        request: dict[str, Any] = {
            "AlarmName": name,
            "ComparisonOperator": inputs["comparisonOperator"],
            "EvaluationPeriods": _int(inputs["evaluationPeriods"]),
            "Threshold": float(inputs.get("threshold", 0)),
            "AlarmActions": inputs.get("alarmActions") or [],
            "OKActions": inputs.get("okActions") or [],
            "TreatMissingData": inputs.get("treatMissingData", "missing"),
            "AlarmDescription": inputs.get("alarmDescription", ""),
        }
        if inputs.get("metricName"):
            request.update(
                MetricName=inputs["metricName"],
                Namespace=inputs["namespace"],
                Period=_int(inputs["period"]),
                Statistic=inputs.get("statistic", "Maximum"),
                Dimensions=[
                    {"Name": k, "Value": str(v)}
                    for k, v in (inputs.get("dimensions") or {}).items()
                ],
            )
        if inputs.get("metricQueries"):
            request["Metrics"] = [_metric_query(query) for query in inputs["metricQueries"]]
        if inputs.get("datapointsToAlarm"):
            request["DatapointsToAlarm"] = _int(inputs["datapointsToAlarm"])
        self.client("cloudwatch").put_metric_alarm(**request)
        arn = f"arn:aws:cloudwatch:{REGION}:{ACCOUNT_ID}:alarm:{name}"
        return name, {"name": name, "arn": arn}

    def _dashboard(self, inputs: Inputs, _logical: str) -> Created:
        name = inputs["dashboardName"]
        self.client("cloudwatch").put_dashboard(
            DashboardName=name, DashboardBody=inputs["dashboardBody"]
        )
        arn = f"arn:aws:cloudwatch::{ACCOUNT_ID}:dashboard/{name}"
        return name, {"dashboardName": name, "dashboardArn": arn}

    # -- DynamoDB, Scheduler, SNS, KMS ----------------------------------------------------------

    def _table(self, inputs: Inputs, logical: str) -> Created:
        name = _name(inputs, logical)
        key_schema = [{"AttributeName": inputs["hashKey"], "KeyType": "HASH"}]
        if inputs.get("rangeKey"):
            key_schema.append({"AttributeName": inputs["rangeKey"], "KeyType": "RANGE"})
        dynamodb = self.client("dynamodb")
        indexes = [_index(index) for index in inputs.get("globalSecondaryIndexes") or []]
        table = dynamodb.create_table(
            TableName=name,
            KeySchema=key_schema,
            **({"GlobalSecondaryIndexes": indexes} if indexes else {}),
            AttributeDefinitions=[
                {"AttributeName": a["name"], "AttributeType": a["type"]}
                for a in inputs.get("attributes", [])
            ],
            BillingMode=inputs.get("billingMode", "PAY_PER_REQUEST"),
            SSESpecification={
                "Enabled": bool((inputs.get("serverSideEncryption") or {}).get("enabled"))
            },
            DeletionProtectionEnabled=bool(inputs.get("deletionProtectionEnabled")),
        )["TableDescription"]
        if (inputs.get("pointInTimeRecovery") or {}).get("enabled"):
            dynamodb.update_continuous_backups(
                TableName=name,
                PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True},
            )
        return name, {"name": name, "arn": table["TableArn"]}

    def _schedule(self, inputs: Inputs, logical: str) -> Created:
        name = _name(inputs, logical)
        target = inputs["target"]
        window = inputs.get("flexibleTimeWindow") or {"mode": "OFF"}
        flexible: dict[str, Any] = {"Mode": window["mode"]}
        if window.get("maximumWindowInMinutes"):
            flexible["MaximumWindowInMinutes"] = _int(window["maximumWindowInMinutes"])
        api_target: dict[str, Any] = {"Arn": target["arn"], "RoleArn": target["roleArn"]}
        if target.get("input"):
            api_target["Input"] = target["input"]
        group = inputs.get("groupName") or "default"
        arn = self.client("scheduler").create_schedule(
            Name=name,
            GroupName=group,
            ScheduleExpression=inputs["scheduleExpression"],
            FlexibleTimeWindow=flexible,
            Target=api_target,
            State=inputs.get("state", "ENABLED"),
        )["ScheduleArn"]
        return f"{group}/{name}", {"name": name, "arn": arn, "groupName": group}

    def _topic(self, inputs: Inputs, logical: str) -> Created:
        name = _name(inputs, logical)
        attributes = {}
        if inputs.get("kmsMasterKeyId"):
            attributes["KmsMasterKeyId"] = inputs["kmsMasterKeyId"]
        arn = self.client("sns").create_topic(Name=name, Attributes=attributes)["TopicArn"]
        return arn, {"name": name, "arn": arn}

    def _topic_subscription(self, inputs: Inputs, _logical: str) -> Created:
        arn = self.client("sns").subscribe(
            TopicArn=inputs["topic"],
            Protocol=inputs["protocol"],
            Endpoint=inputs["endpoint"],
            ReturnSubscriptionArn=True,
        )["SubscriptionArn"]
        return arn, {"arn": arn}

    # -- Step Functions and Pipes -----------------------------------------------------------

    def _state_machine(self, inputs: Inputs, logical: str) -> Created:
        name = _name(inputs, logical)
        request: dict[str, Any] = {
            "name": name,
            "definition": inputs["definition"],
            "roleArn": inputs["roleArn"],
            "type": inputs.get("type") or "STANDARD",
        }
        logging = inputs.get("loggingConfiguration") or {}
        if logging.get("logDestination"):
            request["loggingConfiguration"] = {
                "level": logging.get("level", "OFF"),
                "includeExecutionData": bool(logging.get("includeExecutionData")),
                "destinations": [
                    {"cloudWatchLogsLogGroup": {"logGroupArn": logging["logDestination"]}}
                ],
            }
        if inputs.get("tracingConfiguration"):
            request["tracingConfiguration"] = {
                "enabled": bool(inputs["tracingConfiguration"].get("enabled"))
            }
        # moto's engine parses the definition here: an invalid one fails the deploy.
        arn = self.client("stepfunctions").create_state_machine(**request)["stateMachineArn"]
        return arn, {"name": name, "arn": arn}

    def _pipe(self, inputs: Inputs, logical: str) -> Created:
        # moto stores a pipe and never moves a message: `local.pipe` does (see its docstring).
        name = _name(inputs, logical)
        request: dict[str, Any] = {
            "Name": name,
            "RoleArn": inputs["roleArn"],
            "Source": inputs["source"],
            "Target": inputs["target"],
            "DesiredState": inputs.get("desiredState") or "RUNNING",
        }
        for key in ("sourceParameters", "targetParameters"):
            if inputs.get(key):
                request[key[:1].upper() + key[1:]] = _pascal(inputs[key])
        arn = self.client("pipes").create_pipe(**request)["Arn"]
        return name, {"name": name, "arn": arn}

    def _kms_key(self, inputs: Inputs, _logical: str) -> Created:
        request: dict[str, Any] = {"Description": inputs.get("description", "")}
        if inputs.get("policy"):
            request["Policy"] = inputs["policy"]
        metadata = self.client("kms").create_key(**request)["KeyMetadata"]
        if inputs.get("enableKeyRotation"):
            self.client("kms").enable_key_rotation(KeyId=metadata["KeyId"])
        return metadata["KeyId"], {"keyId": metadata["KeyId"], "arn": metadata["Arn"]}


_QUEUE_ATTRIBUTES = {
    "visibilityTimeoutSeconds": "VisibilityTimeout",
    "messageRetentionSeconds": "MessageRetentionPeriod",
    "maxMessageSize": "MaximumMessageSize",
    "delaySeconds": "DelaySeconds",
    "receiveWaitTimeSeconds": "ReceiveMessageWaitTimeSeconds",
    "kmsMasterKeyId": "KmsMasterKeyId",
    "kmsDataKeyReusePeriodSeconds": "KmsDataKeyReusePeriodSeconds",
    "redrivePolicy": "RedrivePolicy",
    "redriveAllowPolicy": "RedriveAllowPolicy",
    "policy": "Policy",
}
_QUEUE_FLAGS = {
    "sqsManagedSseEnabled": "SqsManagedSseEnabled",
    "fifoQueue": "FifoQueue",
    "contentBasedDeduplication": "ContentBasedDeduplication",
}


def _queue_attributes(inputs: Inputs) -> dict[str, str]:
    attributes: dict[str, str] = {}
    for key, attribute in _QUEUE_ATTRIBUTES.items():
        value = inputs.get(key)
        if value in (None, ""):
            continue
        attributes[attribute] = str(_int(value)) if isinstance(value, float) else str(value)
    for key, attribute in _QUEUE_FLAGS.items():
        if inputs.get(key):
            attributes[attribute] = "true"
    return attributes


def _metric_query(query: Inputs) -> dict[str, Any]:
    """A metric-math alarm's query (engine-shaped) as PutMetricAlarm's `Metrics` entry."""
    entry: dict[str, Any] = {"Id": query["id"], "ReturnData": bool(query.get("returnData"))}
    for key in ("expression", "label"):
        if query.get(key):
            entry[key.title()] = query[key]
    metric = query.get("metric")
    if metric:
        dimensions = metric.get("dimensions") or {}
        entry["MetricStat"] = {
            "Metric": {
                "Namespace": metric["namespace"],
                "MetricName": metric["metricName"],
                "Dimensions": [{"Name": k, "Value": str(v)} for k, v in dimensions.items()],
            },
            "Period": _int(metric["period"]),
            "Stat": metric["stat"],
        }
    return entry


def _notification(config: Inputs, arn_key: str, arn: str) -> dict[str, Any]:
    rules = []
    if config.get("filterPrefix"):
        rules.append({"Name": "prefix", "Value": config["filterPrefix"]})
    if config.get("filterSuffix"):
        rules.append({"Name": "suffix", "Value": config["filterSuffix"]})
    notification: dict[str, Any] = {arn_key: arn, "Events": config["events"]}
    if config.get("id"):
        notification["Id"] = config["id"]
    if rules:
        notification["Filter"] = {"Key": {"FilterRules": rules}}
    return notification


def _index(index: Inputs) -> dict[str, Any]:
    """A global secondary index's inputs as CreateTable takes them."""
    keys = [{"AttributeName": index["hashKey"], "KeyType": "HASH"}]
    if index.get("rangeKey"):
        keys.append({"AttributeName": index["rangeKey"], "KeyType": "RANGE"})
    projection: dict[str, Any] = {"ProjectionType": index.get("projectionType", "ALL")}
    if index.get("nonKeyAttributes"):
        projection["NonKeyAttributes"] = list(index["nonKeyAttributes"])
    return {"IndexName": index["name"], "KeySchema": keys, "Projection": projection}

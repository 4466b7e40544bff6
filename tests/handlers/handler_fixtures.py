"""Fixtures for handler tests: a moto-backed AWS per test, real-shaped events, call tracing,
and each stage's environment as the dev stack writes it.

botocore clients are built once per session: moto intercepts a client's requests whenever a
`mock_aws()` is active, whenever the client was made, and building one costs about 0.1 s.

Not a conftest.py: `mypy .` would see two top-level modules named `conftest` (tests/ has
one). Test modules import the fixtures they use; each is registered under its `name=`.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from contract import settings
from contract import stages as stage_table
from handlers import runtime
from packager.nltk_data import bundle

EVENTS = Path(__file__).resolve().parent.parent / "events"
REGION = "us-east-1"

# IAM actions whose API operation has another name.
OPERATION_OF_ACTION = {
    "s3:ListBucket": "ListObjectsV2",
    "s3:GetObjectVersion": "GetObject",
    "s3:DeleteObjectVersion": "DeleteObject",
    "s3:GetObjectVersionTagging": "GetObjectTagging",
}
TRACED = ("s3", "sqs", "dynamodb", "cloudwatch")
# The calls of the current test, recorded by the session's traced runtime clients.
CALLS: list[tuple[str, str, dict[str, Any]]] = []


def dev_stack() -> Any:
    """The dev stack's registrations, from one mock run per session."""
    from stack_helpers import stack_run

    return stack_run("dev")


def stack_environment(stage: str) -> dict[str, str]:
    """The variables the dev stack gives the stage's function, as registered."""
    function = dev_stack().named(f"docpipe-{stage}-function")
    return dict(function.inputs["environment"]["variables"])


@functools.cache
def allowed_calls(stage: str) -> dict[tuple[str, str], frozenset[str]]:
    """(service, operation) -> scopes the stage's role policy in the real dev stack allows:
    S3 key prefixes (objects, or ListBucket's `s3:prefix`), the stage whose queue it may
    use, or `table`. Derived from the stack so the handlers and the IAM cannot drift."""
    run = dev_stack()
    queues = {run.named(f"docpipe-{s}-queue").state["arn"]: s for s in stage_table.TABLE.names}
    policy = json.loads(run.named(f"docpipe-{stage}-role-policy").inputs["policy"])
    allowed: dict[tuple[str, str], set[str]] = {}
    for statement in policy["Statement"]:
        for action in statement["Action"]:
            service, name = action.split(":", 1)
            if service not in TRACED:
                continue  # logs and X-Ray: the Lambda runtime's calls, not the handlers'
            scopes = allowed.setdefault((service, OPERATION_OF_ACTION.get(action, name)), set())
            scopes |= _scopes(statement, queues)
    return {call: frozenset(scopes) for call, scopes in allowed.items()}


def _scopes(statement: dict[str, Any], queues: dict[str, str]) -> set[str]:
    scopes = set()
    for resource in statement["Resource"]:
        if ":s3:::" in resource and "/" in resource:
            scopes.add(resource.split("/", 1)[1].rstrip("*"))
        elif ":s3:::" in resource:
            prefixes = statement["Condition"]["StringLike"]["s3:prefix"]
            scopes |= {prefix.rstrip("*") for prefix in prefixes}
        elif ":sqs:" in resource:
            scopes.add(queues[resource])
        elif ":dynamodb:" in resource and ":table/docpipe-results" in resource:
            scopes.add("table")
        elif resource == "*":
            scopes.add("*")
    return scopes


def load_event(name: str) -> dict[str, Any]:
    return json.loads((EVENTS / name).read_text())


def sqs_event(*bodies: str, queue: str = "docpipe-ocr") -> dict[str, Any]:
    """An SQS batch as Lambda delivers it, one record per body, from tests/events/sqs_batch.json."""
    template = load_event("sqs_batch.json")["Records"][0]
    records = []
    for body in bodies:
        record = copy.deepcopy(template)
        record["messageId"] = str(uuid.uuid4())
        record["receiptHandle"] = f"handle-{record['messageId']}"
        record["body"] = body
        record["md5OfBody"] = hashlib.md5(body.encode()).hexdigest()
        record["eventSourceARN"] = f"arn:aws:sqs:{REGION}:123456789012:{queue}"
        records.append(record)
    return {"Records": records}


@dataclass
class Aws:
    """The moto-backed resources of one test, named like the stack names them."""

    bucket: str
    table: str
    queues: dict[str, str]
    calls: list[tuple[str, str, dict[str, Any]]] = field(default_factory=lambda: CALLS)

    def client(self, service: str) -> Any:
        """The test's own clients, separate from the handlers' traced ones."""
        return _test_client(service)

    def put(self, key: str, data: bytes) -> str:
        """Upload under `key`; returns the ETag without quotes."""
        response = self.client("s3").put_object(Bucket=self.bucket, Key=key, Body=data)
        return str(response["ETag"]).strip('"')

    def keys(self, prefix: str) -> list[str]:
        listing = self.client("s3").list_objects_v2(Bucket=self.bucket, Prefix=prefix)
        return sorted(o["Key"] for o in listing.get("Contents", []))

    def get_text(self, key: str) -> str:
        return self.client("s3").get_object(Bucket=self.bucket, Key=key)["Body"].read().decode()

    def messages(self, stage: str) -> list[dict[str, Any]]:
        """Drain the queue that feeds `stage`; returns the parsed bodies."""
        sqs = self.client("sqs")
        bodies: list[dict[str, Any]] = []
        while True:
            response = sqs.receive_message(QueueUrl=self.queues[stage], MaxNumberOfMessages=10)
            batch = response.get("Messages", [])
            if not batch:
                return bodies
            for message in batch:
                bodies.append(json.loads(message["Body"]))
                sqs.delete_message(
                    QueueUrl=self.queues[stage], ReceiptHandle=message["ReceiptHandle"]
                )

    def items(self) -> list[dict[str, Any]]:
        return self.client("dynamodb").scan(TableName=self.table)["Items"]

    def check_calls(self, stage: str) -> None:
        """Every AWS call the handler made is one the stack's role policy for `stage` allows,
        on the key prefixes, queues and table it names."""
        for service, operation, params in self.calls:
            if (service, operation) == ("s3", "CopyObject"):
                # a copy reads its source (GetObject) and writes its target (PutObject)
                source = params["CopySource"]
                self._check(stage, "s3", "GetObject", {"Key": source["Key"]})
                self._check(stage, "s3", "PutObject", {"Key": params["Key"]})
                continue
            self._check(stage, service, operation, params)

    def _check(self, stage: str, service: str, operation: str, params: dict[str, Any]) -> None:
        call = (stage, service, operation, params)
        scopes = allowed_calls(stage).get((service, operation))
        assert scopes is not None, call
        if service == "s3":
            key = params["Prefix"] if operation == "ListObjectsV2" else params["Key"]
            assert any(key.startswith(prefix) for prefix in scopes), call
        elif service == "sqs":
            assert params["QueueUrl"] in {self.queues[s] for s in scopes}, call
        elif service == "cloudwatch":
            assert scopes == {"*"}, call
        else:
            tables = set(params.get("RequestItems") or [params.get("TableName")])
            assert scopes == {"table"} and tables == {self.table}, call


@pytest.fixture(scope="session", name="nltk_data")
def nltk_data_fixture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return bundle(tmp_path_factory.mktemp("nltk_data"))


@pytest.fixture(name="env")
def env_fixture(monkeypatch: pytest.MonkeyPatch, nltk_data: Path) -> pytest.MonkeyPatch:
    for name, value in {
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "NLTK_DATA": str(nltk_data),
        "POWERTOOLS_METRICS_NAMESPACE": "docpipe",
        "OMP_THREAD_LIMIT": "1",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    return monkeypatch


@functools.cache
def _test_client(service: str) -> Any:
    import boto3

    return boto3.session.Session(region_name=REGION).client(service)  # type: ignore[call-overload]


@functools.cache
def _traced(service: str) -> None:
    """Record the operations handler code makes through the session's runtime client."""

    def record(params: dict[str, Any], model: Any, **_: Any) -> None:
        CALLS.append((service, model.name, dict(params)))

    runtime.client(service).meta.events.register("provide-client-params", record)


@pytest.fixture(name="aws")
def aws_fixture(env: pytest.MonkeyPatch) -> Iterator[Aws]:
    from moto import mock_aws

    with mock_aws():
        CALLS.clear()
        resources = _create_resources()
        for service in TRACED:
            _traced(service)
        env.setenv(settings.BUCKET.name, resources.bucket)
        env.setenv(settings.TABLE.name, resources.table)
        yield resources


def _create_resources() -> Aws:
    suffix = uuid.uuid4().hex[:8]
    resources = Aws(bucket=f"docpipe-docs-{suffix}", table=f"docpipe-results-{suffix}", queues={})
    bucket, table = resources.bucket, resources.table
    s3 = resources.client("s3")
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    resources.client("dynamodb").create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "doc_id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "doc_id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    sqs = resources.client("sqs")
    for stage in stage_table.TABLE.names:
        queue = sqs.create_queue(QueueName=f"docpipe-{stage}-{suffix}")
        resources.queues[stage] = queue["QueueUrl"]
    return resources


def moto_environment(stage: str, aws: Aws, nltk_data: Path) -> dict[str, str]:
    """The dev stack's environment for `stage`, its resources swapped for this test's."""
    variables = stack_environment(stage)
    swapped = {
        settings.BUCKET.name: aws.bucket,
        settings.TABLE.name: aws.table,
        settings.NLTK_DATA.name: str(nltk_data),  # /opt/python/... exists only in Lambda
    }
    next_stage = stage_table.TABLE[stage].next
    if next_stage:
        swapped[settings.NEXT_QUEUE_URL.name] = aws.queues[next_stage]
    return {name: swapped.get(name, value) for name, value in variables.items()}


@pytest.fixture(name="stage_env")
def stage_env_fixture(aws: Aws, env: pytest.MonkeyPatch, nltk_data: Path) -> Callable[[str], Aws]:
    """Set the environment the stack gives `stage`, and start tracing its calls afresh."""

    def configure(stage: str) -> Aws:
        for name, value in moto_environment(stage, aws, nltk_data).items():
            env.setenv(name, value)
        aws.calls.clear()
        return aws

    return configure


def record(body: str) -> Any:
    """One SQS record as Powertools hands it to a stage's record handler."""
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

    return SQSRecord(sqs_event(body)["Records"][0])

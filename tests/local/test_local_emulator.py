"""The emulator's IAM enforcement with our patches, and the deployer's clear errors.

Real moto server over HTTP on 127.0.0.1; each test gets a fresh one (start resets state).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from botocore.exceptions import ClientError
from localtest import mini_project

from local.deploy import EmulatorMocks
from local.emulator import TOKEN_HEADER, Emulator, assume_role_credentials, create_operator
from mockrun import run_program

LAMBDA_TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "lambda.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
)


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    with Emulator() as running:
        yield running


def role_with_policy(emulator: Emulator, name: str, statements: list[dict[str, object]]) -> str:
    iam = emulator.client("iam")
    arn = str(iam.create_role(RoleName=name, AssumeRolePolicyDocument=LAMBDA_TRUST)["Role"]["Arn"])
    policy = {"Version": "2012-10-17", "Statement": statements}
    iam.put_role_policy(RoleName=name, PolicyName="inline", PolicyDocument=json.dumps(policy))
    return arn


def error_code(error: ClientError) -> str:
    # JSON-protocol services answer 403 with an XML body: botocore reports the code as "403".
    return str(error.response["Error"]["Code"])


def test_emulator_binds_to_loopback_on_a_random_port(emulator: Emulator) -> None:
    assert emulator.endpoint.startswith("http://127.0.0.1:")
    assert not emulator.endpoint.endswith(":5000")


def test_a_role_scoped_to_a_table_may_write_it_and_nothing_else(emulator: Emulator) -> None:
    dynamodb = emulator.client("dynamodb")
    for name in ("mine", "other"):
        dynamodb.create_table(
            TableName=name,
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
    table_arn = "arn:aws:dynamodb:us-east-1:123456789012:table/mine"
    role = role_with_policy(
        emulator,
        "writer",
        [{"Effect": "Allow", "Action": "dynamodb:PutItem", "Resource": table_arn}],
    )
    credentials = assume_role_credentials(role, "test")
    emulator.set_auth(enabled=True)
    as_role = emulator.client("dynamodb", credentials)

    as_role.put_item(TableName="mine", Item={"id": {"S": "1"}})  # moto alone denies this
    with pytest.raises(ClientError) as denied:
        as_role.put_item(TableName="other", Item={"id": {"S": "1"}})
    assert error_code(denied.value) in {"AccessDeniedException", "403"}


def test_a_role_allowed_delete_message_may_delete_in_batches(emulator: Emulator) -> None:
    sqs = emulator.client("sqs")
    url = sqs.create_queue(QueueName="work")["QueueUrl"]
    queue_arn = "arn:aws:sqs:us-east-1:123456789012:work"
    role = role_with_policy(
        emulator,
        "consumer",
        [
            {
                "Effect": "Allow",
                "Action": ["sqs:ReceiveMessage", "sqs:DeleteMessage"],
                "Resource": queue_arn,
            }
        ],
    )
    sqs.send_message(QueueUrl=url, MessageBody="x")
    emulator.set_auth(enabled=True)
    as_role = emulator.client("sqs", assume_role_credentials(role, "test"))

    message = as_role.receive_message(QueueUrl=url)["Messages"][0]
    deleted = as_role.delete_message_batch(
        QueueUrl=url, Entries=[{"Id": "0", "ReceiptHandle": message["ReceiptHandle"]}]
    )
    assert [entry["Id"] for entry in deleted["Successful"]] == ["0"]
    with pytest.raises(ClientError) as denied:  # never allowed: still denied as a batch
        as_role.send_message_batch(QueueUrl=url, Entries=[{"Id": "0", "MessageBody": "y"}])
    assert "not authorized" in str(denied.value)


def test_an_unsupported_resource_type_is_a_clear_error(emulator: Emulator, tmp_path: Path) -> None:
    mocks = EmulatorMocks(emulator)
    with pytest.raises(Exception):  # noqa: B017 - the SDK may wrap it; the message is checked
        run_program("test", {"extraType": "sfn"}, mocks=mocks, project_dir=mini_project(tmp_path))
    assert len(mocks.deployment.errors) == 1
    assert "aws:sfn/activity:Activity" in mocks.deployment.errors[0]
    assert "mini-unsupported" in mocks.deployment.errors[0]


def test_the_mini_stack_deploys_with_real_identifiers(emulator: Emulator, tmp_path: Path) -> None:
    mocks = EmulatorMocks(emulator)
    stack = run_program("test", mocks=mocks, project_dir=mini_project(tmp_path))
    queue_url = stack.outputs["queue_urls"]["mini"]
    assert queue_url.startswith(emulator.endpoint)
    sqs = emulator.client("sqs")
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["All"])["Attributes"]
    assert attributes["VisibilityTimeout"] == "30"
    assert json.loads(attributes["RedrivePolicy"])["maxReceiveCount"] == 2
    # The TLS-only Deny was left out (moto would deny everything) and the run says so.
    assert any("aws:SecureTransport" in note for note in mocks.deployment.notes)
    s3 = emulator.client("s3")
    with pytest.raises(ClientError):
        s3.get_bucket_policy(Bucket=stack.outputs["bucket_name"])
    # No event source mapping exists in moto: moto's would consume messages itself.
    assert emulator.client("lambda").list_event_source_mappings()["EventSourceMappings"] == []


def test_lazy_queue_attributes_answer_exactly_as_moto_does(emulator: Emulator) -> None:
    from moto.sqs.models import sqs_backends

    from local import moto_patches

    sqs = emulator.client("sqs")
    dlq = sqs.create_queue(QueueName="dead")["QueueUrl"]
    redrive = json.dumps(
        {"deadLetterTargetArn": "arn:aws:sqs:us-east-1:123456789012:dead", "maxReceiveCount": 3}
    )
    sqs.create_queue(
        QueueName="work",
        Attributes={"RedrivePolicy": redrive, "Policy": json.dumps({"Statement": []})},
    )
    sqs.create_queue(
        QueueName="ordered.fifo",
        Attributes={"FifoQueue": "true", "KmsMasterKeyId": "alias/x"},
    )
    sqs.send_message(QueueUrl=dlq, MessageBody="x")
    queues = sqs_backends["123456789012"]["us-east-1"].queues
    for name in ("dead", "work", "ordered.fifo"):
        queue = queues[name]
        expected = moto_patches.original_queue_attributes.fget(queue)
        assert dict(queue.attributes) == expected
        assert queue.attributes.get("ContentBasedDeduplication") == expected.get(
            "ContentBasedDeduplication"
        )
    assert queues["dead"].attributes["ApproximateNumberOfMessages"] == 1


@pytest.mark.slow
@pytest.mark.parametrize(
    ("stack", "orchestration"), [("dev", "queues"), ("prod", "queues"), ("dev", "stepfunctions")]
)
def test_every_resource_of_the_stack_is_created_in_the_emulator(
    emulator: Emulator, stack: str, orchestration: str
) -> None:
    mocks = EmulatorMocks(emulator)
    run = run_program(stack, {"orchestration": orchestration}, mocks=mocks)
    custom_types = {r.type for r in run.registrations if r.custom}
    assert custom_types <= set(mocks.supported_types)
    assert mocks.deployment.errors == []
    created = {r.name for r in run.registrations if r.custom}
    assert created == set(mocks.deployment.created)
    # Real identifiers: every queue URL and function exists in the emulator.
    sqs = emulator.client("sqs")
    for url in [*run.outputs["queue_urls"].values(), *run.outputs["dlq_urls"].values()]:
        assert url.startswith(emulator.endpoint)
        sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
    lambda_ = emulator.client("lambda")
    for name in run.outputs["function_names"].values():
        assert lambda_.get_function(FunctionName=name)["Configuration"]["FunctionName"] == name
    # The dashboard and the metric-math alarms, as registered.
    cloudwatch = emulator.client("cloudwatch")
    dashboard = run.named("docpipe-dashboard").inputs
    stored = cloudwatch.get_dashboard(DashboardName=f"docpipe-{stack}-us-east-1")
    assert json.loads(stored["DashboardBody"]) == json.loads(dashboard["dashboardBody"])
    rejected = mocks.deployment.created["docpipe-ocr-rejected-alarm"]["name"]
    [alarm] = cloudwatch.describe_alarms(AlarmNames=[rejected])["MetricAlarms"]
    assert [(m["Id"], m["ReturnData"]) for m in alarm["Metrics"]] == [
        ("rejected", False), ("processed", False), ("seen", False), ("rate", True),
    ]  # fmt: skip
    assert alarm["Metrics"][0]["MetricStat"] == {
        "Metric": {
            "Namespace": "docpipe",
            "MetricName": "RecordsRejected",
            "Dimensions": [{"Name": "service", "Value": "docpipe-ocr"}],
        },
        "Period": 3600,
        "Stat": "Sum",
    }
    assert alarm["Metrics"][3]["Expression"] == (
        "IF(seen >= 20, 100 * FILL(rejected, 0) / seen, 0)"
    )
    if orchestration == "stepfunctions":
        # moto's engine parsed the definition when the state machine was created
        machine = emulator.client("stepfunctions").describe_state_machine(
            stateMachineArn=run.outputs["state_machine_arn"]
        )
        assert json.loads(machine["definition"])["StartAt"] == "ocr"
        (pipe,) = emulator.client("pipes").list_pipes()["Pipes"]
        assert pipe["Target"] == run.outputs["state_machine_arn"]


def test_s3_notifications_name_the_version_and_size_of_each_upload(emulator: Emulator) -> None:
    # GIVEN a versioned bucket notifying a queue of uploads under incoming/
    s3, sqs = emulator.client("s3"), emulator.client("sqs")
    url = sqs.create_queue(QueueName="uploads")["QueueUrl"]
    s3.create_bucket(Bucket="docs")
    s3.put_bucket_versioning(Bucket="docs", VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_notification_configuration(
        Bucket="docs",
        NotificationConfiguration={
            "QueueConfigurations": [
                {
                    "QueueArn": "arn:aws:sqs:us-east-1:123456789012:uploads",
                    "Events": ["s3:ObjectCreated:*"],
                }
            ]
        },
    )

    # WHEN two different documents are uploaded under one key
    puts = [s3.put_object(Bucket="docs", Key="incoming/a.pdf", Body=body) for body in (b"1", b"22")]

    # THEN each event names its own version (and size), so each can be read as uploaded
    bodies = [json.loads(m["Body"]) for m in queue_bodies(sqs, url)]
    objects = [b["Records"][0]["s3"]["object"] for b in bodies if "Records" in b]
    assert [(o["versionId"], o["size"]) for o in objects] == [
        (puts[0]["VersionId"], 1),
        (puts[1]["VersionId"], 2),
    ]


def queue_bodies(sqs: object, url: str) -> list[dict[str, str]]:
    messages: list[dict[str, str]] = []
    while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages"):  # type: ignore[attr-defined]
        messages += batch
    return messages


# moto's one endpoint routes a request by its signature's scope: an unsigned one goes to S3.
@pytest.mark.parametrize(
    ("method", "headers", "body"),
    [
        ("GET", {}, None),  # ListBuckets
        ("POST", {"X-Amz-Target": "AmazonSQS.ListQueues"}, b"{}"),
        ("POST", {"X-Amz-Target": "DynamoDB_20120810.ListTables"}, b"{}"),
    ],
)
def test_an_unsigned_request_is_refused_with_403(
    emulator: Emulator, method: str, headers: dict[str, str], body: bytes | None
) -> None:
    emulator.client("sqs").create_queue(QueueName="work")
    emulator.set_auth(enabled=True)
    request = urllib.request.Request(
        f"{emulator.endpoint}/", data=body, method=method, headers=headers
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    assert refused.value.code == 403
    assert b"<Code>AccessDenied</Code>" in refused.value.read()


def test_an_unsigned_request_to_another_service_is_missing_its_token(emulator: Emulator) -> None:
    from moto.iam.access_control import IAMRequest
    from werkzeug.exceptions import HTTPException

    with pytest.raises(HTTPException) as refused:  # moto's errors are werkzeug's
        IAMRequest(
            account_id="123456789012",
            method="POST",
            path="/",
            data={},
            body=b"",
            headers={},
            action="ListQueues",
        )
    assert refused.value.code == 403
    assert "MissingAuthenticationToken" in str(refused.value.description)


def post(url: str, body: bytes, headers: dict[str, str] | None = None) -> int:
    """The HTTP status of a POST, as a browser's simple (no-preflight) request sends it."""
    request = urllib.request.Request(
        url, data=body, method="POST", headers={"Content-Type": "text/plain", **(headers or {})}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def test_control_endpoints_refuse_requests_without_the_sessions_token(emulator: Emulator) -> None:
    # GIVEN a deployment with IAM on
    emulator.client("s3").create_bucket(Bucket="docs")
    operator = create_operator(emulator)
    emulator.set_auth(enabled=True)

    # WHEN someone else asks to wipe it or to switch IAM off (no token, or a wrong one)
    control = f"{emulator.endpoint}/moto-api"
    assert post(f"{control}/reset", b"") == 403
    assert post(f"{control}/reset-auth", b"inf", {TOKEN_HEADER: "guess"}) == 403
    with pytest.raises(urllib.error.HTTPError) as listing:
        urllib.request.urlopen(f"{control}/data.json", timeout=10)

    # THEN both are refused: the bucket survives and unsigned requests are still denied
    assert listing.value.code == 403
    assert emulator.client("s3", operator).head_bucket(Bucket="docs")
    with pytest.raises(urllib.error.HTTPError) as unsigned:
        urllib.request.urlopen(f"{emulator.endpoint}/docs", timeout=10)
    assert unsigned.value.code == 403


def test_cross_origin_requests_are_refused_on_every_endpoint(emulator: Emulator) -> None:
    s3 = emulator.client("s3")
    s3.create_bucket(Bucket="docs")
    page = {"Origin": "http://attacker.example"}
    # A web page's simple POST to a control endpoint, even one that somehow had the token...
    assert (
        post(f"{emulator.endpoint}/moto-api/reset", b"", {**page, TOKEN_HEADER: emulator.token})
        == 403
    )
    # ...and a signed API call that carries a foreign Origin
    s3.meta.events.register("before-send.s3", lambda request, **_: request.headers.update(page))
    with pytest.raises(ClientError) as refused:
        s3.list_buckets()
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    # The emulator's own origin is not cross-origin.
    own = {"Origin": emulator.endpoint, TOKEN_HEADER: emulator.token}
    assert post(f"{emulator.endpoint}/moto-api/reset-auth", b"inf", own) == 200
    assert emulator.client("s3").head_bucket(Bucket="docs")  # nothing was reset

"""moto's Step Functions engine with local mode's patches (local/moto_patches.py): real IAM
for the state machine role, Lambda tasks routed to a runtime, Lambda's throttling and errors,
named executions; and what a workflow built by components/workflow_definition.py does.

Real moto server over HTTP on 127.0.0.1 with IAM on; a fake runtime stands in for the workers.
"""

from __future__ import annotations

import io
import json
import threading
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from components.workflow_definition import Step, definition
from local import moto_patches
from local.emulator import (
    CLIENT_CONFIG,
    Credentials,
    Emulator,
    assume_role_credentials,
    create_operator,
)
from local.executions import doc_id_of_input
from local.moto_patches import (
    EngineRoutes,
    Throttled,
    iam_action,
    lambda_invoke_resource,
    stepfunctions_resource,
)

ACCOUNT = "123456789012"
STATES_TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "states.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
)


@dataclass
class FakeRuntime:
    """Answers invokes like local mode's DirectInvoker would, and records them."""

    answers: dict[str, list[Any]] = field(default_factory=dict)
    calls: list[tuple[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def invoke(self, function: str, payload: bytes) -> tuple[bytes, str | None]:
        name = function.split(":")[-1]
        if name not in self.answers:
            raise KeyError(function)
        with self.lock:
            self.calls.append((name, json.loads(payload)))
            answer = (
                self.answers[name].pop(0) if len(self.answers[name]) > 1 else self.answers[name][0]
            )
        if answer == "throttle":
            raise Throttled(name)
        if isinstance(answer, Exception):
            error = {"errorType": type(answer).__name__, "errorMessage": str(answer)}
            return json.dumps(error).encode(), "Unhandled"
        return json.dumps(answer).encode(), None


@dataclass
class Setup:
    emulator: Emulator
    operator: Credentials
    role_arn: str
    functions: dict[str, str]
    runtime: FakeRuntime

    def client(self, service: str, credentials: Credentials | None = None) -> Any:
        return self.emulator.client(service, credentials or self.operator)

    def start(self, steps: list[Step], body: dict[str, Any]) -> dict[str, Any]:
        """Run one execution of the workflow over `steps` with a pipe batch for `body`."""
        sfn = self.client("stepfunctions")
        machine = sfn.create_state_machine(
            name=f"flow-{len(self.runtime.calls)}-{time.monotonic_ns()}",
            definition=json.dumps(definition(steps, 120, "test")),
            roleArn=self.role_arn,
        )["stateMachineArn"]
        batch = [{"messageId": "m1", "body": json.dumps(body)}]
        arn = sfn.start_execution(stateMachineArn=machine, input=json.dumps(batch))["executionArn"]
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            described = dict(sfn.describe_execution(executionArn=arn))
            if described["status"] != "RUNNING":
                return described
            time.sleep(0.1)
        raise AssertionError("the execution did not end")


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("index.py", "")
    return buffer.getvalue()


@pytest.fixture
def setup() -> Iterator[Setup]:
    with Emulator() as emulator:
        iam, lambda_ = emulator.client("iam"), emulator.client("lambda")
        role_arn = iam.create_role(RoleName="flow", AssumeRolePolicyDocument=STATES_TRUST)["Role"][
            "Arn"
        ]
        functions = {
            name: lambda_.create_function(
                FunctionName=name,
                Runtime="python3.12",
                Role=role_arn,
                Handler="index.handler",
                Code={"ZipFile": _zip()},
            )["FunctionArn"]
            for name in ("ocr", "classify", "other")
        }
        policy = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": ["lambda:InvokeFunction"],
                    "Resource": [functions["ocr"], functions["classify"]],
                }
            ],
        }
        iam.put_role_policy(RoleName="flow", PolicyName="invoke", PolicyDocument=json.dumps(policy))
        operator = create_operator(emulator)
        emulator.set_auth(enabled=True)
        runtime = FakeRuntime()
        credentials: dict[str, Credentials] = {}

        def credentials_for(arn: str) -> Credentials:
            if arn not in credentials:
                credentials[arn] = assume_role_credentials(arn, "states")
            return credentials[arn]

        moto_patches.route_engine(EngineRoutes(emulator.endpoint, credentials_for, runtime.invoke))
        try:
            yield Setup(emulator, operator, role_arn, functions, runtime)
        finally:
            moto_patches.route_engine(None)


def test_the_role_invokes_its_functions_only_and_calls_reach_the_runtime(setup: Setup) -> None:
    setup.runtime.answers = {"ocr": [{"kind": "document"}], "other": [{}]}
    role = assume_role_credentials(setup.role_arn, "probe")
    lambda_ = setup.client("lambda", role)
    response = lambda_.invoke(FunctionName=setup.functions["ocr"], Payload=b'{"a": 1}')
    assert json.loads(response["Payload"].read()) == {"kind": "document"}
    assert setup.runtime.calls == [("ocr", {"a": 1})]
    with pytest.raises(ClientError) as denied:
        lambda_.invoke(FunctionName=setup.functions["other"], Payload=b"{}")
    assert "not authorized to perform: lambda:InvokeFunction" in str(denied.value)


def test_throttling_and_function_errors_answer_as_lambda_does(setup: Setup) -> None:
    setup.runtime.answers = {"ocr": ["throttle"], "classify": [ValueError("bad input")]}
    # No retry by the client: the answer itself is under test (a retry sleeps a random backoff).
    no_retry = CLIENT_CONFIG.merge(Config(retries={"total_max_attempts": 1}))
    lambda_ = setup.emulator.client("lambda", setup.operator, no_retry)
    with pytest.raises(ClientError) as throttled:
        lambda_.invoke(FunctionName="ocr", Payload=b"{}")
    assert throttled.value.response["Error"]["Code"] == "TooManyRequestsException"
    assert throttled.value.response["ResponseMetadata"]["HTTPStatusCode"] == 429
    failed = lambda_.invoke(FunctionName="classify", Payload=b"{}")
    assert failed["FunctionError"] == "Unhandled"
    assert json.loads(failed["Payload"].read())["errorType"] == "ValueError"


def test_a_workflow_passes_the_parsed_body_then_each_output_to_the_next_step(setup: Setup) -> None:
    document = {"kind": "document", "doc_id": "d"}
    setup.runtime.answers = {"ocr": [document], "classify": [{"kind": "settled", "status": "done"}]}
    steps = [
        Step("ocr", setup.functions["ocr"], 30, 1),
        Step("classify", setup.functions["classify"], 30, 1),
    ]
    execution = setup.start(steps, {"Records": [{"eventSource": "aws:s3"}]})
    assert execution["status"] == "SUCCEEDED"
    assert json.loads(execution["output"]) == {"kind": "settled", "status": "done"}
    assert setup.runtime.calls == [
        ("ocr", {"Records": [{"eventSource": "aws:s3"}]}),
        ("classify", document),
    ]


def test_a_settled_document_ends_the_execution_at_that_step(setup: Setup) -> None:
    setup.runtime.answers = {"ocr": [{"kind": "settled", "status": "rejected"}], "classify": [{}]}
    steps = [
        Step("ocr", setup.functions["ocr"], 30, 1),
        Step("classify", setup.functions["classify"], 30, 1),
    ]
    execution = setup.start(steps, {"file": "incoming/x.pdf"})
    assert execution["status"] == "SUCCEEDED"
    assert json.loads(execution["output"])["status"] == "rejected"
    assert [name for name, _ in setup.runtime.calls] == ["ocr"]


def test_throttles_are_retried_and_a_failure_ends_in_failed_with_its_error(setup: Setup) -> None:
    # GIVEN ocr throttled once, then fine; classify failing (one attempt: no retry)
    setup.runtime.answers = {
        "ocr": ["throttle", {"kind": "document"}],
        "classify": [RuntimeError("disk full")],
    }
    steps = [
        Step("ocr", setup.functions["ocr"], 30, 1),
        Step("classify", setup.functions["classify"], 30, 1),
    ]

    execution = setup.start(steps, {"file": "incoming/x.pdf"})

    # THEN the throttled call was retried, and the failure reached Catch -> failed
    assert [name for name, _ in setup.runtime.calls] == ["ocr", "ocr", "classify"]
    assert execution["status"] == "FAILED"
    assert execution["error"] == "RuntimeError"
    assert json.loads(execution["cause"])["errorMessage"] == "disk full"


def test_executions_started_without_a_name_get_one_each(setup: Setup) -> None:
    sfn = setup.client("stepfunctions")
    machine = sfn.create_state_machine(
        name="names",
        definition=json.dumps({"StartAt": "a", "States": {"a": {"Type": "Succeed"}}}),
        roleArn=setup.role_arn,
    )["stateMachineArn"]
    first = sfn.start_execution(stateMachineArn=machine, input="[]")["executionArn"]
    second = sfn.start_execution(stateMachineArn=machine, input="[]")["executionArn"]
    assert first != second and not first.endswith(":None")


def test_the_engines_clients_use_the_routes_and_are_kept_per_role(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(moto_patches, "original_boto_client_for", lambda *a: ("moto's", a))
    moto_patches.route_engine(None)
    state = SimpleNamespace(role_arn="arn:aws:iam::123456789012:role/r")
    assert moto_patches.engine_client("us-east-1", "lambda", state)[0] == "moto's"
    keys = Credentials("AKIAEXAMPLE", "secret", "token")
    routes = EngineRoutes("http://127.0.0.1:1", lambda _arn: keys, lambda *_: (b"", None))
    moto_patches.route_engine(routes)
    try:
        client = moto_patches.engine_client("us-east-1", "lambda", state)
        assert client.meta.endpoint_url == "http://127.0.0.1:1"
        assert client._request_signer._credentials.access_key == "AKIAEXAMPLE"
        assert moto_patches.engine_client("us-east-1", "lambda", state) is client
    finally:
        moto_patches.route_engine(None)


def test_requests_are_authorised_against_the_resources_they_name() -> None:
    assert iam_action("lambda:Invoke") == "lambda:InvokeFunction"
    handler = SimpleNamespace(region="us-east-1", current_account=ACCOUNT, path="")
    handler.path = "/2015-03-31/functions/ocr/invocations"
    assert lambda_invoke_resource(handler) == f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:ocr"
    qualified = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:ocr:prod".replace(":", "%3A")
    handler.path = f"/2015-03-31/functions/{qualified}/invocations"
    assert lambda_invoke_resource(handler) == f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:ocr"
    handler.path = "/2015-03-31/functions/ocr/configuration"
    assert lambda_invoke_resource(handler) == "*"
    machine = f"arn:aws:states:us-east-1:{ACCOUNT}:stateMachine:flow"
    assert (
        stepfunctions_resource(
            SimpleNamespace(raw_body=json.dumps({"stateMachineArn": machine}).encode())
        )
        == machine
    )
    assert stepfunctions_resource(SimpleNamespace(raw_body=b"{}")) == "*"
    assert stepfunctions_resource(SimpleNamespace(raw_body=b"not json")) == "*"


def test_an_executions_document_is_its_first_records_upload() -> None:
    body = json.dumps(
        {"kind": "ocr.request", "version": 1, "bucket": "b", "key": "incoming/a", "etag": "e"}
    )
    assert doc_id_of_input(json.dumps([{"body": body}])) is not None
    assert doc_id_of_input(json.dumps([{"body": "{}"}])) is None
    assert doc_id_of_input("[]") is None and doc_id_of_input("nonsense") is None

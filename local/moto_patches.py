"""Narrow patches that make moto 5.2.5 behave as AWS does where our stack depends on it.

moto authorises a request against a resource ARN only for services whose response handler
defines `_determine_resource` (S3, SQS, IAM, STS). DynamoDB has none, so moto checks every
DynamoDB call against the resource `*`: a role whose policy names its table ARN (as ours do,
least privilege) is denied everything. The patch gives DynamoDB's handler that method, naming
the table the request addresses, so policies scoped to a table behave as on AWS.

moto also checks SQS batch calls as actions of their own (`sqs:SendMessageBatch`,
`sqs:DeleteMessageBatch`, `sqs:ChangeMessageVisibilityBatch`). IAM has no such actions: AWS
authorises a batch as its single-message action, so a role allowed `sqs:DeleteMessage` may
call DeleteMessageBatch. The second patch maps the batch actions to those.
https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-api-permissions-reference.html

A third patch is for speed only, with the same answers: moto rebuilds every queue attribute,
counting all messages three times, whenever code reads one (`queue.attributes.get(...)`),
and it does so for every message it sends and for every message a receive looks at. With
2,000 messages waiting, one ReceiveMessage took 0.5 s. The patch returns a read-only mapping
that computes an attribute when it is read.

Step Functions' execution engine (moto/stepfunctions/parser, on when the emulator enables
`execute_state_machine`) calls services through `boto_client_for`, which points at
localhost:5000 (or MOTO_PORT) with the fixed keys "ak"/"sk": with IAM on, every call is
denied, and the port is wrong. `route_engine` makes it use the emulator's endpoint and the
state machine role's STS credentials, so the role's policy decides what the workflow may do,
as on AWS. Its Lambda tasks call moto's Lambda, which cannot run code without Docker: the
invoke goes to local mode's own runtime instead (`EngineRoutes.invoke`), after moto has
authorised it: IAM names the operation `lambda:InvokeFunction` (moto checked `lambda:Invoke`,
an action no policy grants), scoped to the function's ARN. Step Functions calls are scoped to
the state machine or execution they name, as DynamoDB's are to their table (a pipe role
allowed StartExecution on one state machine was denied everything). moto's engine also names an
execution started without a name "None" (AWS generates one): it gets a UUID, as moto's plain
Step Functions backend gives it.

S3 event notifications lack the object's `versionId`, which AWS sends for a versioned
bucket. Without it the first stage reads the latest version: of two uploads under one key in
quick succession, the first is never processed and the second is processed twice. A patch
adds it to every event record of a versioned object (the size is there already).
https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-content-structure.html

With IAM authentication on, a request without an `Authorization` header crashes moto's
signature check (a KeyError: HTTP 500). AWS refuses it with 403: `AccessDenied` from S3,
`MissingAuthenticationToken` from the other services. A last patch answers that.

Pinned: pyproject.toml requires moto[server]==5.2.5; `apply_patches` refuses another version
rather than patch code it was not tested against.
"""

from __future__ import annotations

import json
import re
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

PATCHED_MOTO_VERSION = "5.2.5"


class UnsupportedMotoVersion(RuntimeError):
    """The patches were written and tested against one moto version."""


def _single_table_name(body: dict[str, Any]) -> str | None:
    """The table a DynamoDB request addresses, when it addresses exactly one."""
    if isinstance(body.get("TableName"), str):
        return str(body["TableName"])
    # BatchGetItem / BatchWriteItem name their tables as keys of RequestItems. AWS checks each
    # table; moto checks one resource per request, so only a one-table batch is scoped.
    items = body.get("RequestItems")
    if isinstance(items, dict) and len(items) == 1:
        return str(next(iter(items)))
    return None


def dynamodb_table_arn(handler: Any) -> str:
    """`_determine_resource` for moto's DynamoHandler: the table's ARN, else `*`."""
    try:
        body = json.loads(handler.raw_body or b"{}")
    except (TypeError, ValueError):
        return "*"
    name = _single_table_name(body) if isinstance(body, dict) else None
    if name is None:
        return "*"
    if name.startswith("arn:"):  # DynamoDB accepts a table ARN wherever it takes a name
        return name
    return f"arn:aws:dynamodb:{handler.region}:{handler.current_account}:table/{name}"


# IAM authorises each SQS batch call as the action for one message, and Lambda's Invoke
# operation as lambda:InvokeFunction.
# https://docs.aws.amazon.com/service-authorization/latest/reference/list_awslambda.html
IAM_ACTIONS = {
    "sqs:SendMessageBatch": "sqs:SendMessage",
    "sqs:DeleteMessageBatch": "sqs:DeleteMessage",
    "sqs:ChangeMessageVisibilityBatch": "sqs:ChangeMessageVisibility",
    "lambda:Invoke": "lambda:InvokeFunction",
}
_applied = False


class QueueAttributes(Mapping[str, Any]):
    """moto's `Queue.attributes`, computed on access instead of all at once."""

    def __init__(self, queue: Any) -> None:
        self._queue = queue
        names = list(queue.BASE_ATTRIBUTES)
        if queue.fifo_queue:
            names += queue.FIFO_ATTRIBUTES
        if queue.kms_master_key_id:
            names += queue.KMS_ATTRIBUTES
        if queue.policy:
            names.append("Policy")
        if queue.redrive_policy:
            names.append("RedrivePolicy")
        self._names = list(dict.fromkeys(names))  # moto's dict keeps one entry per name

    def __getitem__(self, name: str) -> Any:
        from moto.core.utils import camelcase_to_underscores

        if name not in self._names:
            raise KeyError(name)
        # moto overrides these two only when set (they are base attributes too).
        if name == "Policy" and self._queue.policy:
            return self._queue.policy
        if name == "RedrivePolicy" and self._queue.redrive_policy:
            return json.dumps(self._queue.redrive_policy)
        value = getattr(self._queue, camelcase_to_underscores(name))
        return str(value).lower() if isinstance(value, bool) else value  # as moto renders it

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)


# moto's own property, kept so a test can compare both answers on the same queue.
original_queue_attributes: Any = None


def _patch_queue_attributes() -> None:
    global original_queue_attributes
    from moto.sqs.models import Queue

    original_queue_attributes = Queue.attributes
    Queue.attributes = property(QueueAttributes)  # type: ignore[assignment,method-assign]


def iam_action(action: str) -> str:
    """The IAM action a request is authorised as."""
    return IAM_ACTIONS.get(action, action)


def _patch_batch_actions() -> None:
    from moto.iam.access_control import IAMRequestBase

    original_init = IAMRequestBase.__init__

    def init_with_iam_action(self: Any, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        self._action = iam_action(self._action)

    IAMRequestBase.__init__ = init_with_iam_action  # type: ignore[method-assign]


# -- Step Functions' engine ------------------------------------------------------------------


class Throttled(Exception):
    """The function is at its concurrency limit (Lambda answers 429 TooManyRequests)."""


@dataclass(frozen=True)
class EngineRoutes:
    """Where the execution engine's calls go while local mode runs."""

    endpoint: str
    credentials_for: Callable[[str], Any]
    """Role ARN -> credentials with `as_boto()` (the role's STS session)."""
    invoke: Callable[[str, bytes], tuple[bytes, str | None]]
    """(function name or ARN, payload) -> (response payload, FunctionError or None); raises
    Throttled, or KeyError for a function local mode does not run."""


_routes: EngineRoutes | None = None
ENGINE_READ_TIMEOUT_S = 960
# The engine asks for a client on every call (each Task, each retry): building one costs
# milliseconds of CPU, so one per role, service and region is kept (boto3 clients are
# thread-safe). Cleared whenever the routes change.
_clients: dict[tuple[str, str, str], Any] = {}
_clients_lock = threading.Lock()
# The engine's modules that imported `boto_client_for` by name (moto 5.2.5).
ENGINE_CLIENT_MODULES = (
    "moto.stepfunctions.parser.asl.component.state.exec.state_task.lambda_eval_utils",
    "moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_aws_sdk",
    "moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_batch",
    "moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_dynamodb",
    "moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_ecs",
    "moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_events",
    "moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_glue",
    "moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_sfn",
    "moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_sns",
    "moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_sqs",
    "moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_unsupported",
    "moto.stepfunctions.parser.asl.component.state.exec.state_map.item_reader.eval.resource_eval_s3",
    "moto.stepfunctions.parser.asl.component.state.exec.state_map.result_writer.resource_eval.resource_eval_s3",
)
original_boto_client_for: Any = None


def route_engine(routes: EngineRoutes | None) -> None:
    """Send the engine's calls to `routes` (None: moto's own behaviour again)."""
    global _routes
    with _clients_lock:
        _routes = routes
        _clients.clear()


def engine_client(region: str, service: str, state_credentials: Any = None) -> Any:
    """`boto_client_for`, with the emulator's endpoint and the state's role credentials."""
    routes = _routes
    if routes is None or state_credentials is None:
        return original_boto_client_for(region, service, state_credentials)
    key = (state_credentials.role_arn, service, region)
    with _clients_lock:
        if key not in _clients:
            _clients[key] = _client(routes, *key)
        return _clients[key]


def _client(routes: EngineRoutes, role_arn: str, service: str, region: str) -> Any:
    import boto3
    from botocore.config import Config

    make_client: Any = boto3.client
    return make_client(
        service,
        region_name=region,
        endpoint_url=routes.endpoint,
        # As moto's own: the engine's Retry decides on retries, not botocore.
        config=Config(
            parameter_validation=False,
            retries={"max_attempts": 0, "total_max_attempts": 1},
            # A Lambda task waits as long as its function may run (up to 15 minutes).
            read_timeout=ENGINE_READ_TIMEOUT_S,
            max_pool_connections=100,
        ),
        **routes.credentials_for(role_arn).as_boto(),
    )


def _patch_engine_clients() -> None:
    import importlib

    global original_boto_client_for
    from moto.stepfunctions.parser.asl.utils import boto_client

    original_boto_client_for = boto_client.boto_client_for
    for name in ENGINE_CLIENT_MODULES:
        module = importlib.import_module(name)
        assert module.boto_client_for is original_boto_client_for, name
        module.boto_client_for = engine_client  # type: ignore[attr-defined]


def _patch_execution_names() -> None:
    from moto.stepfunctions.parser.models import StepFunctionsParserBackend

    original = StepFunctionsParserBackend.start_execution

    def start_execution(
        self: Any, state_machine_arn: str, name: Any = None, *args: Any, **kwargs: Any
    ) -> Any:
        return original(self, state_machine_arn, name or str(uuid.uuid4()), *args, **kwargs)

    StepFunctionsParserBackend.start_execution = start_execution  # type: ignore[method-assign]


def stepfunctions_resource(handler: Any) -> str:
    """`_determine_resource` for moto's StepFunctionResponse: the state machine (or the
    execution, or activity) the request names, else `*`."""
    try:
        body = json.loads(handler.raw_body or b"{}")
    except (TypeError, ValueError):
        return "*"
    if not isinstance(body, dict):
        return "*"
    for key in ("stateMachineArn", "executionArn", "activityArn"):
        if isinstance(body.get(key), str):
            return str(body[key])
    return "*"


INVOCATIONS_PATH = re.compile(r"/functions/(?P<function>[^/]+)/invocations/?$")


def lambda_invoke_resource(handler: Any) -> str:
    """`_determine_resource` for moto's LambdaResponse: an invoked function's ARN, else `*`."""
    match = INVOCATIONS_PATH.search(handler.path or "")
    if match is None:
        return "*"
    function = unquote(match.group("function"))
    if function.startswith("arn:"):
        return ":".join(function.split(":")[:7])  # without a version or alias
    return f"arn:aws:lambda:{handler.region}:{handler.current_account}:function:{function}"


def _patch_lambda_invoke() -> None:
    from moto.awslambda.exceptions import LambdaClientError
    from moto.awslambda.models import LambdaBackend
    from moto.awslambda.responses import LambdaResponse

    class TooManyRequests(LambdaClientError):
        code = 429

        def __init__(self, function: str) -> None:
            super().__init__(
                "TooManyRequestsException",
                f"Rate Exceeded: {function} is at its reserved concurrency",
            )

    original = LambdaBackend.invoke

    def invoke(
        self: Any, function_name: str, qualifier: Any, body: Any, headers: Any, response: Any
    ) -> Any:
        if _routes is None:
            return original(self, function_name, qualifier, body, headers, response)
        payload = body if isinstance(body, bytes) else str(body or "{}").encode()
        try:
            result, error = _routes.invoke(function_name, payload)
        except KeyError:
            return original(self, function_name, qualifier, body, headers, response)
        except Throttled as exc:
            raise TooManyRequests(function_name) from exc
        if error is not None:
            response["x-amz-function-error"] = error
        response["Content-Length"] = str(len(result))
        return result

    LambdaBackend.invoke = invoke  # type: ignore[method-assign,assignment]
    LambdaResponse._determine_resource = lambda_invoke_resource  # type: ignore[attr-defined]


def with_version_id(event: dict[str, Any], key: Any) -> dict[str, Any]:
    """An S3 event as moto built it, with the object's version id as AWS sends it."""
    if getattr(key, "_version_id", None) not in (None, "null"):
        for record in event.get("Records", []):
            record["s3"]["object"]["versionId"] = key.version_id
    return event


def _patch_event_version_ids() -> None:
    from moto.s3 import notifications

    build_event = notifications._get_s3_event

    def s3_event(event_name: str, bucket: Any, key: Any, notification_id: str) -> Any:
        return with_version_id(build_event(event_name, bucket, key, notification_id), key)

    notifications._get_s3_event = s3_event


def missing_authentication(iam_request_class: type) -> Exception:
    """What AWS answers a request that carries no signature at all (HTTP 403)."""
    from moto.core.exceptions import _RESTError
    from moto.iam.access_control import S3IAMRequest
    from moto.s3.exceptions import S3AccessDeniedError

    if issubclass(iam_request_class, S3IAMRequest):
        return S3AccessDeniedError()

    class MissingAuthenticationToken(_RESTError):
        code = 403

    return MissingAuthenticationToken(
        "MissingAuthenticationToken", "Request is missing Authentication Token"
    )


def _patch_unsigned_requests() -> None:
    from moto.iam.access_control import IAMRequestBase

    init = IAMRequestBase.__init__

    def refuse_unsigned(self: Any, *args: Any, **kwargs: Any) -> None:
        if "Authorization" not in kwargs["headers"]:
            raise missing_authentication(type(self))
        init(self, *args, **kwargs)

    IAMRequestBase.__init__ = refuse_unsigned  # type: ignore[method-assign]


def apply_patches() -> None:
    """Idempotent: the emulator may start several times in one process."""
    global _applied
    import moto
    from moto.dynamodb.responses import DynamoHandler

    if moto.__version__ != PATCHED_MOTO_VERSION:
        raise UnsupportedMotoVersion(
            f"local mode patches moto {PATCHED_MOTO_VERSION}, found {moto.__version__}"
        )
    if _applied:
        return
    DynamoHandler._determine_resource = dynamodb_table_arn  # type: ignore[attr-defined]
    _patch_batch_actions()
    _patch_queue_attributes()
    _patch_engine_clients()
    _patch_execution_names()
    from moto.stepfunctions.responses import StepFunctionResponse

    StepFunctionResponse._determine_resource = stepfunctions_resource  # type: ignore[attr-defined]
    _patch_lambda_invoke()
    _patch_event_version_ids()
    _patch_unsigned_requests()
    _applied = True

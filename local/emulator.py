"""The embedded AWS emulator: moto's server on 127.0.0.1, a random port, quiet logs, and
its control endpoints closed to everyone but local mode.

moto keeps its state process-wide, so one Emulator per process at a time; `start` resets it.

moto's control endpoints (`/moto-api/reset` wipes every resource, `/moto-api/reset-auth`
switches IAM off, `/moto-api/data.json` lists every resource with its secrets) take no
credentials, and moto answers every origin with `Access-Control-Allow-Origin: *`. Anyone on
the machine could call them, and so could any web page that finds the port: a `text/plain`
POST is a "simple" request that browsers send without a CORS preflight. `ControlGuard`, in
front of moto's application, refuses
- every `/moto-api` request without this emulator's token (a random per-session secret that
  only this process holds and sends, in the `X-Docpipe-Control-Token` header);
- every request that carries an `Origin` header other than the emulator's own: browsers
  add it to cross-origin requests, AWS SDKs and CLIs never send it.
https://developer.mozilla.org/en-US/docs/Web/HTTP/CORS#simple_requests
"""

from __future__ import annotations

import hmac
import json
import logging
import secrets
import threading
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config

from local.moto_patches import apply_patches

REGION = "us-east-1"
# moto's default account; the mock runtime's getCallerIdentity answers with the same one.
ACCOUNT_ID = "123456789012"
# Before IAM authentication is switched on, moto accepts any key; these name the deployer.
BOOTSTRAP_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
LOOPBACK = "127.0.0.1"


@dataclass(frozen=True)
class Credentials:
    access_key_id: str
    secret_access_key: str
    session_token: str | None = None

    def as_env(self) -> dict[str, str]:
        env = {
            "AWS_ACCESS_KEY_ID": self.access_key_id,
            "AWS_SECRET_ACCESS_KEY": self.secret_access_key,
        }
        if self.session_token:
            env["AWS_SESSION_TOKEN"] = self.session_token
        return env

    def as_boto(self) -> dict[str, str | None]:
        return {
            "aws_access_key_id": self.access_key_id,
            "aws_secret_access_key": self.secret_access_key,
            "aws_session_token": self.session_token,
        }


# Local calls are cheap; retries would only hide a denied or broken call behind slow backoff.
CLIENT_CONFIG = Config(retries={"max_attempts": 2, "mode": "standard"}, max_pool_connections=50)


def quiet_logs() -> None:
    """werkzeug logs one line per request: thousands during a run."""
    for name in ("werkzeug", "moto"):
        logging.getLogger(name).setLevel(logging.ERROR)


CONTROL_PATH = "/moto-api"
TOKEN_HEADER = "X-Docpipe-Control-Token"
_TOKEN_ENVIRON = "HTTP_" + TOKEN_HEADER.upper().replace("-", "_")

StartResponse = Callable[[str, list[tuple[str, str]]], Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


class ControlGuard:
    """WSGI middleware: control endpoints need the token; cross-origin requests are refused."""

    def __init__(self, app: WsgiApp, token: str) -> None:
        self.app = app
        self.token = token
        self.origin = ""  # the emulator's own origin, known once the port is bound

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        refusal = self.refusal(environ)
        if refusal is None:
            return self.app(environ, start_response)
        body = f"docpipe local: {refusal}\n".encode()
        start_response(
            "403 Forbidden",
            [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body)))],
        )
        return [body]

    def refusal(self, environ: dict[str, Any]) -> str | None:
        """Why a request is refused, or None."""
        origin = environ.get("HTTP_ORIGIN")
        if origin is not None and origin != self.origin:
            return f"cross-origin request from {origin!r} refused"
        # The same test moto's dispatcher uses to route a request to its control endpoints.
        if str(environ.get("PATH_INFO", "")).startswith(CONTROL_PATH):
            given = str(environ.get(_TOKEN_ENVIRON, ""))
            if not hmac.compare_digest(given.encode(), self.token.encode()):
                return "the emulator's control endpoints are reserved to local mode"
        return None


class Emulator:
    """moto's server bound to loopback behind a ControlGuard, with reset and the IAM switch."""

    def __init__(self, port: int = 0) -> None:
        self._port = port
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self.token = secrets.token_urlsafe(32)
        self.endpoint = ""

    def start(self) -> str:
        from moto.moto_server.werkzeug_app import (
            DomainDispatcherApplication,
            MotoRequestHandler,
            create_backend_app,
        )
        from werkzeug.serving import make_server

        quiet_logs()
        apply_patches()
        # What moto's ThreadedMotoServer does, with the guard in front of moto's application.
        guard = ControlGuard(DomainDispatcherApplication(create_backend_app), self.token)
        self._server = make_server(
            LOOPBACK, self._port, guard, threaded=True, request_handler=MotoRequestHandler
        )
        host, port = self._server.server_address[:2]
        self.endpoint = guard.origin = f"http://{host}:{port}"
        # serve_forever notices shutdown() between polls: at its default 0.5 s, stopping the
        # emulator took half a second.
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="emulator",
            daemon=True,
        )
        self._thread.start()
        self.reset()
        return self.endpoint

    @property
    def port(self) -> int:
        return int(self.endpoint.rsplit(":", 1)[1]) if self.endpoint else self._port

    def stop(self) -> None:
        if self._server is None:
            return
        # moto's switches are process-wide: leave them off for whatever runs next in-process.
        self.set_auth(enabled=False)
        self.execute_state_machines(False)
        self.shutdown()

    def shutdown(self) -> None:
        """Stop serving and free the port; moto's state stays in this process (see persist)."""
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._server = self._thread = None

    def __enter__(self) -> Emulator:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def _post(self, path: str, body: bytes = b"") -> bytes:
        # text/plain: urllib's default form content type makes werkzeug swallow the raw body.
        request = urllib.request.Request(
            f"{self.endpoint}{path}",
            data=body,
            method="POST",
            headers={"Content-Type": "text/plain", TOKEN_HEADER: self.token},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return bytes(response.read())

    def reset(self) -> None:
        """Forget every resource (moto's state outlives a server in the same process)."""
        self.set_auth(enabled=False)
        self._post(f"{CONTROL_PATH}/reset")
        self.execute_state_machines(True)

    def execute_state_machines(self, enabled: bool) -> None:
        """moto's Step Functions engine runs executions (off by default: they only record
        the start). Set before any state machine exists: the engine keeps its own."""
        config = {"stepfunctions": {"execute_state_machine": enabled}}
        self._post(f"{CONTROL_PATH}/config", json.dumps(config).encode())

    def set_auth(self, enabled: bool) -> None:
        """IAM authentication: every request after this must be signed by a known principal.

        The body is the number of unauthenticated requests still allowed, sent raw (moto
        parses it with float(), so a form-encoded body is rejected).
        """
        self._post(f"{CONTROL_PATH}/reset-auth", b"0" if enabled else b"inf")

    def client(
        self, service: str, credentials: Credentials | None = None, config: Config = CLIENT_CONFIG
    ) -> Any:
        keys: dict[str, Any] = credentials.as_boto() if credentials else BOOTSTRAP_CREDENTIALS
        make_client: Any = (
            boto3.client
        )  # service is a plain str: the stubs' overloads want literals
        return make_client(
            service,
            endpoint_url=self.endpoint,
            region_name=REGION,
            config=config,
            **keys,
        )


def assume_role_credentials(role_arn: str, session_name: str, hours: int = 12) -> Credentials:
    """Credentials for a role, minted by the emulator's STS backend as the Lambda service would.

    Calling sts:AssumeRole over HTTP is not an option: moto crashes on a trust policy whose only
    principal is a Service (lambda.amazonaws.com), which is exactly what our roles have.
    """
    from moto.sts.models import sts_backends

    backend = sts_backends[ACCOUNT_ID]["aws"]
    role = backend.assume_role(
        region_name=REGION,
        role_session_name=session_name,
        role_arn=role_arn,
        policy="",
        duration=hours * 3600,
        external_id="",
    )
    return Credentials(role.access_key_id, role.secret_access_key, role.session_token)


OPERATOR_USER = "docpipe-local-operator"


def create_operator(emulator: Emulator) -> Credentials:
    """An IAM user allowed everything: uploads, reports and `local up` users act as it.

    Created before authentication is switched on, the only time moto takes unsigned calls.
    """
    iam = emulator.client("iam")
    iam.create_user(UserName=OPERATOR_USER)
    iam.put_user_policy(
        UserName=OPERATOR_USER,
        PolicyName="operator",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
            }
        ),
    )
    key = iam.create_access_key(UserName=OPERATOR_USER)["AccessKey"]
    return Credentials(key["AccessKeyId"], key["SecretAccessKey"])

"""Which deployed pipeline an operator command talks to: its stack outputs and AWS clients.

A deployed stack: the outputs of `pulumi stack output --json` saved to a file, and the usual
AWS credentials and region from the environment. Local mode: the same outputs and the
emulator's endpoint, read from the state file `docpipe local up` writes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3

REQUIRED_OUTPUTS = ("bucket_name", "table_name", "queue_urls", "dlq_urls", "function_names")
# Where the operator commands keep their own records about a deployed stack (dead letters
# they have seen); local mode keeps them beside its state file.
RECORDS_DIR = Path.home() / ".docpipe"


class TargetError(Exception):
    """The stack outputs or connection settings are missing or incomplete."""


@dataclass
class Target:
    outputs: dict[str, Any]
    endpoint_url: str | None = None
    credentials: dict[str, str] = field(default_factory=dict)
    region: str | None = None
    log_dir: str | None = None  # local mode: the functions' log files (AWS: CloudWatch Logs)
    records_dir: Path | None = field(default_factory=lambda: RECORDS_DIR)
    """Where `dlq` keeps what it has seen of each dead letter; None keeps nothing."""
    dead_letter_notes: Path | None = None
    """Local mode's notes of why and when each message was dead-lettered."""

    def __post_init__(self) -> None:
        missing = [key for key in REQUIRED_OUTPUTS if key not in self.outputs]
        if missing:
            raise TargetError(f"stack outputs lack {', '.join(missing)}")
        self._session: Any = boto3.session.Session(
            region_name=self.region,
            aws_access_key_id=self.credentials.get("aws_access_key_id"),
            aws_secret_access_key=self.credentials.get("aws_secret_access_key"),
            aws_session_token=self.credentials.get("aws_session_token"),
        )

    def client(self, service: str) -> Any:
        return self._session.client(service, endpoint_url=self.endpoint_url)

    @property
    def stages(self) -> list[str]:
        return list(self.outputs["queue_urls"])

    def queue_url(self, stage: str) -> str:
        return str(self._stage_value("queue_urls", stage))

    def dlq_url(self, stage: str) -> str:
        return str(self._stage_value("dlq_urls", stage))

    def function_name(self, stage: str) -> str:
        return str(self._stage_value("function_names", stage))

    def _stage_value(self, output: str, stage: str) -> Any:
        values = self.outputs[output]
        if stage not in values:
            raise TargetError(f"unknown stage {stage!r}: the stack has {', '.join(values)}")
        return values[stage]


def from_outputs_file(path: Path, region: str | None = None) -> Target:
    """A deployed stack, from `pulumi stack output --json > FILE`."""
    try:
        outputs = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise TargetError(f"cannot read stack outputs from {path}: {error}") from error
    return Target(outputs=outputs, region=region)


def from_local_state() -> Target:
    """Local mode: the deployment `docpipe local up` keeps running, acting as its operator."""
    from local.state import running_state

    state = running_state()
    if state is None:
        raise TargetError(
            "no local deployment is running: start one with `docpipe local up`, "
            "or pass --outputs FILE for a deployed stack"
        )
    notes = Path(state.dead_letters) if state.dead_letters else None
    target = from_local_session(
        state.outputs,
        state.environment,
        records_dir=notes.parent if notes else None,
        dead_letter_notes=notes,
    )
    target.log_dir = state.log_dir
    return target


def from_local_session(
    outputs: dict[str, Any],
    environment: dict[str, str],
    records_dir: Path | None = None,
    dead_letter_notes: Path | None = None,
) -> Target:
    """A target from local mode's outputs and the environment it prints for boto3."""
    return Target(
        outputs=outputs,
        endpoint_url=environment["AWS_ENDPOINT_URL"],
        region=environment.get("AWS_DEFAULT_REGION"),
        records_dir=records_dir,
        dead_letter_notes=dead_letter_notes,
        credentials={
            "aws_access_key_id": environment["AWS_ACCESS_KEY_ID"],
            "aws_secret_access_key": environment["AWS_SECRET_ACCESS_KEY"],
            **(
                {"aws_session_token": environment["AWS_SESSION_TOKEN"]}
                if "AWS_SESSION_TOKEN" in environment
                else {}
            ),
        },
    )

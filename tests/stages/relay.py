"""Relay stage: passes each document on unchanged after reading its text.

The smallest stage there is. tests/test_adding_a_stage.py inserts it between summarize and
classify in a copy of the stage table to show that a new stage is its table entry and this
module, nothing else.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from handlers import runtime, steps

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
    from aws_lambda_powertools.utilities.typing import LambdaContext

STAGE = "relay"


def lambda_handler(event: dict[str, Any], context: LambdaContext | None) -> dict[str, Any]:
    return dict(runtime.run_batch(STAGE, event, context, handle_record))


def step_handler(event: dict[str, Any], context: LambdaContext | None) -> dict[str, Any]:
    return steps.run_step(STAGE, event, context, handle_record)


def handle_record(record: SQSRecord) -> None:
    document = runtime.read_document(record)
    with runtime.timed() as elapsed_ms:
        # Read what the stage's entry says it reads: its role allows exactly that.
        runtime.get_object(document.source.bucket, document.key("text"))["Body"].read()
    runtime.forward(document.advanced(STAGE, elapsed_ms()))

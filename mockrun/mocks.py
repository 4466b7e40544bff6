"""Mocks that answer like AWS: physical names, ARNs, URLs and ids shaped as the provider returns.

Names are auto-generated the way Pulumi does (`<logical name>-<7 hex>`), but from a hash of the
logical name so every run is reproducible.
"""

from __future__ import annotations

import hashlib
from typing import Any

import pulumi

from policies import resource_types as t

ACCOUNT_ID = "123456789012"
REGION = "us-east-1"
PARTITION = "aws"


def physical_name(logical: str, suffix: str = "") -> str:
    return f"{logical}-{hashlib.sha256(logical.encode()).hexdigest()[:7]}{suffix}"


def _arn(service: str, resource: str, region: str = REGION, account: str = ACCOUNT_ID) -> str:
    return f"arn:{PARTITION}:{service}:{region}:{account}:{resource}"


def _queue(inputs: dict[str, Any], logical: str) -> tuple[str, dict[str, Any]]:
    fifo = bool(inputs.get("fifoQueue"))
    name = inputs.get("name") or physical_name(logical, ".fifo" if fifo else "")
    url = f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT_ID}/{name}"
    return url, {"name": name, "arn": _arn("sqs", name), "url": url}


def _bucket(inputs: dict[str, Any], logical: str) -> tuple[str, dict[str, Any]]:
    name = inputs.get("bucket") or physical_name(logical)
    return name, {
        "bucket": name,
        "arn": f"arn:{PARTITION}:s3:::{name}",
        "bucketDomainName": f"{name}.s3.amazonaws.com",
        "bucketRegionalDomainName": f"{name}.s3.{REGION}.amazonaws.com",
        "region": REGION,
    }


def function_state(name: str, arn: str) -> dict[str, Any]:
    """The attributes AWS computes for a Lambda function (also used by local mode)."""
    return {
        "name": name,
        "arn": arn,
        "qualifiedArn": f"{arn}:$LATEST",
        "invokeArn": (
            f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/{arn}/invocations"
        ),
        "version": "$LATEST",
    }


def _function(inputs: dict[str, Any], logical: str) -> tuple[str, dict[str, Any]]:
    name = inputs.get("name") or physical_name(logical)
    return name, function_state(name, _arn("lambda", f"function:{name}"))


def _role(inputs: dict[str, Any], logical: str) -> tuple[str, dict[str, Any]]:
    name = inputs.get("name") or physical_name(logical)
    return name, {
        "name": name,
        "arn": f"arn:{PARTITION}:iam::{ACCOUNT_ID}:role{inputs.get('path', '/')}{name}",
        "uniqueId": "AROA" + hashlib.sha256(name.encode()).hexdigest()[:17].upper(),
    }


def _named(service: str, resource_prefix: str, name_key: str = "name"):
    def build(inputs: dict[str, Any], logical: str) -> tuple[str, dict[str, Any]]:
        prefix = inputs.get(f"{name_key}Prefix")
        generated = f"{prefix}{physical_name(logical)[-7:]}" if prefix else physical_name(logical)
        name = inputs.get(name_key) or generated
        return name, {name_key: name, "arn": _arn(service, f"{resource_prefix}{name}")}

    return build


def _layer(inputs: dict[str, Any], logical: str) -> tuple[str, dict[str, Any]]:
    name = inputs.get("layerName") or physical_name(logical)
    layer_arn = _arn("lambda", f"layer:{name}")
    return f"{layer_arn}:1", {"layerArn": layer_arn, "arn": f"{layer_arn}:1", "version": "1"}


def _key(inputs: dict[str, Any], logical: str) -> tuple[str, dict[str, Any]]:
    key_id = hashlib.sha256(logical.encode()).hexdigest()[:32]
    key_id = f"{key_id[:8]}-{key_id[8:12]}-{key_id[12:16]}-{key_id[16:20]}-{key_id[20:32]}"
    return key_id, {"keyId": key_id, "arn": _arn("kms", f"key/{key_id}")}


def _mapping(inputs: dict[str, Any], logical: str) -> tuple[str, dict[str, Any]]:
    digest = hashlib.sha256(logical.encode()).hexdigest()
    uuid = f"{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}"
    return uuid, {"uuid": uuid, "arn": _arn("lambda", f"event-source-mapping:{uuid}")}


def _table(inputs: dict[str, Any], logical: str) -> tuple[str, dict[str, Any]]:
    name = inputs.get("name") or physical_name(logical)
    arn = _arn("dynamodb", f"table/{name}")
    return name, {"name": name, "arn": arn}


_BUILDERS = {
    t.QUEUE: _queue,
    t.BUCKET: _bucket,
    t.FUNCTION: _function,
    t.LAYER_VERSION: _layer,
    t.MAPPING: _mapping,
    t.ROLE: _role,
    t.LOG_GROUP: _named("logs", "log-group:"),
    t.METRIC_ALARM: _named("cloudwatch", "alarm:"),
    t.TABLE: _table,
    t.TOPIC: _named("sns", ""),
    t.SCHEDULE: _named("scheduler", "schedule/default/"),
    t.KMS_KEY: _key,
    t.STATE_MACHINE: _named("states", "stateMachine:"),
    t.PIPE: _named("pipes", "pipe/"),
}


class RealisticMocks(pulumi.runtime.Mocks):
    """Return each input as state, plus the computed attributes AWS would add."""

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        inputs = dict(args.inputs)
        build = _BUILDERS.get(args.typ)
        if build is None:
            resource_id = physical_name(args.name)
            computed: dict[str, Any] = {}
        else:
            resource_id, computed = build(inputs, args.name)
        return resource_id, {**inputs, **computed}

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[Any]]:
        # The SDK iterates the second element (check failures): it must be a list, not None.
        if args.token == t.GET_CALLER_IDENTITY:
            arn = f"arn:{PARTITION}:iam::{ACCOUNT_ID}:user/docpipe"
            return {"accountId": ACCOUNT_ID, "arn": arn, "userId": "AIDADOCPIPE"}, []
        if args.token == t.GET_REGION:
            return {"name": REGION, "region": REGION, "id": REGION}, []
        if args.token == t.GET_PARTITION:
            return {"partition": PARTITION, "dnsSuffix": "amazonaws.com", "id": PARTITION}, []
        return {}, []

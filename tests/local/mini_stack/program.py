"""A minimal stack for local mode's own tests: bucket -> queue (+DLQ) -> function -> table.

Copied as `__main__.py` into a temporary project by the tests (a second `__main__.py` in the
repository would clash with the stack's for mypy).
"""

import json

import pulumi
import pulumi_aws as aws

config = pulumi.Config()
timeout = int(config.require("timeout"))

bucket = aws.s3.Bucket("mini-bucket", force_destroy=True)
table = aws.dynamodb.Table(
    "mini-results",
    billing_mode="PAY_PER_REQUEST",
    hash_key="doc_id",
    attributes=[{"name": "doc_id", "type": "S"}],
)
dlq = aws.sqs.Queue("mini-dlq", message_retention_seconds=1209600)
queue = aws.sqs.Queue(
    "mini-queue",
    visibility_timeout_seconds=int(config.require("visibility")),
    redrive_policy=dlq.arn.apply(
        lambda arn: json.dumps(
            {"deadLetterTargetArn": arn, "maxReceiveCount": int(config.require("maxReceiveCount"))}
        )
    ),
)
aws.sqs.QueuePolicy(
    "mini-queue-policy",
    queue_url=queue.url,
    policy=pulumi.Output.json_dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "s3.amazonaws.com"},
                    "Action": "sqs:SendMessage",
                    "Resource": queue.arn,
                }
            ],
        }
    ),
)
aws.s3.BucketPolicy(
    "mini-bucket-policy",
    bucket=bucket.bucket,
    policy=pulumi.Output.json_dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "DenyInsecureTransport",
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "s3:*",
                    "Resource": [bucket.arn, pulumi.Output.concat(bucket.arn, "/*")],
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                }
            ],
        }
    ),
)
notification = aws.s3.BucketNotification(
    "mini-notification",
    bucket=bucket.bucket,
    queues=[
        {"queue_arn": queue.arn, "events": ["s3:ObjectCreated:*"], "filter_prefix": "incoming/"}
    ],
)
role = aws.iam.Role(
    "mini-role",
    assume_role_policy=json.dumps(
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
    ),
)
policy = aws.iam.RolePolicy(
    "mini-role-policy",
    role=role.name,
    policy=pulumi.Output.json_dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": [
                        "sqs:ReceiveMessage",
                        "sqs:DeleteMessage",
                        "sqs:ChangeMessageVisibility",
                        "sqs:GetQueueAttributes",
                    ],
                    "Resource": queue.arn,
                },
                {
                    "Effect": "Allow",
                    "Action": "s3:GetObject",
                    "Resource": pulumi.Output.concat(bucket.arn, "/incoming/*"),
                },
                {"Effect": "Allow", "Action": "dynamodb:PutItem", "Resource": table.arn},
            ],
        }
    ),
)
function = aws.lambda_.Function(
    "mini-function",
    role=role.arn,
    runtime="python3.12",
    handler=config.require("handler"),
    code=pulumi.AssetArchive({"index.py": pulumi.StringAsset("")}),
    timeout=timeout,
    environment={
        "variables": {
            "DOCPIPE_STAGE": "mini",
            "DOCPIPE_TABLE": table.name,
            "DOCPIPE_BUCKET": bucket.bucket,
        }
    },
)
aws.lambda_.EventSourceMapping(
    "mini-mapping",
    event_source_arn=queue.arn,
    function_name=function.arn,
    batch_size=10,
    maximum_batching_window_in_seconds=1,
    function_response_types=["ReportBatchItemFailures"],
    scaling_config={"maximum_concurrency": int(config.require("maxConcurrency"))},
    opts=pulumi.ResourceOptions(depends_on=[policy]),
)
if config.get("extraType") == "sfn":
    aws.sfn.Activity("mini-unsupported")

pulumi.export("bucket_name", bucket.bucket)
pulumi.export("table_name", table.name)
pulumi.export("queue_urls", {"mini": queue.url})
pulumi.export("dlq_urls", {"mini": dlq.url})

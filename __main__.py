"""docpipe: the document pipeline stack (see ../shared/DESIGN.md and docs/components.md)."""

import pulumi

from components import DocumentPipeline
from components.stack_config import pipeline_args

pipeline = DocumentPipeline("docpipe", pipeline_args())

# The runtime contract's outputs (docs/runtime-contract.md): local mode and operators read them.
pulumi.export("bucket_name", pipeline.bucket_name)
pulumi.export("table_name", pipeline.table_name)
pulumi.export("queue_urls", pipeline.queue_urls)
pulumi.export("dlq_urls", pipeline.dlq_urls)
pulumi.export("function_names", pipeline.function_names)
if pipeline.sources:
    # what `docpipe collect` and `docpipe sources` act on (docs/collection.md)
    pulumi.export("sources", [source.to_dict() for source in pipeline.sources])
if pipeline.topic is not None:
    pulumi.export("alarm_topic_arn", pipeline.alarm_topic_arn)
if pipeline.workflow is not None:
    pulumi.export("state_machine_arn", pipeline.state_machine_arn)

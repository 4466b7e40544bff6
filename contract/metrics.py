"""The pipeline's own CloudWatch metrics: what the handlers emit and the stack alarms on.

Handlers emit them through Powertools' embedded metric format (EMF) in the namespace of
`POWERTOOLS_METRICS_NAMESPACE`, with the dimension `service` = `POWERTOOLS_SERVICE_NAME`
(`docpipe-<stage>`): https://docs.powertools.aws.dev/lambda/python/latest/core/metrics/
The stack's alarms and dashboard name the same metrics from here, so the two cannot drift.
"""

from __future__ import annotations

SERVICE_DIMENSION = "service"
"""The dimension Powertools adds to every metric: the function's service name."""

RECORDS_PROCESSED = "RecordsProcessed"
"""A record handled to the end (a document moved on to its next stage)."""
RECORDS_FAILED = "RecordsFailed"
"""A transient failure (throttling, AccessDenied, a crash): the record is retried, then
dead-lettered. Lambda's `Errors` never counts it: the batch processor reports it as a
partial batch failure and the invocation succeeds."""
RECORDS_REJECTED = "RecordsRejected"
"""A document refused with its reason (corrupt, encrypted, empty, unsupported, too large)."""
RECORD_DURATION = "RecordDuration"
"""Milliseconds spent on one record."""
PAGES = "Pages"
"""OCR stage: pages of each document (text layer and OCR)."""
OCR_PAGES = "OcrPages"
"""OCR stage: pages that went through tesseract, the stage's cost driver."""

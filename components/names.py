"""Physical names the components set themselves, made valid for the service that gets them.

Pulumi auto-names most children from their logical names; the few names set explicitly
include the stack's name, which may hold characters a service refuses (stack names allow
`.`, S3 refuses capitals and `_`). Each function leaves an already valid name unchanged, so
existing stacks keep their names (and their resources).
"""

from __future__ import annotations

import re


def valid_bucket_name(raw: str) -> str:
    """S3 bucket names: 3-63 of a-z, 0-9, '.', '-', ending in a letter or digit; stack and
    component names may hold capitals and '_', which S3 rejects."""
    return re.sub(r"[^a-z0-9.-]", "-", raw.lower())[:63].rstrip("-.")


def valid_layer_name(raw: str) -> str:
    """Lambda layer names: 1-140 of a-z, A-Z, 0-9, '-', '_' (PublishLayerVersion's
    LayerName): https://docs.aws.amazon.com/lambda/latest/api/API_PublishLayerVersion.html"""
    return re.sub(r"[^A-Za-z0-9_-]", "-", raw)[:140]


def valid_dashboard_name(raw: str) -> str:
    """CloudWatch dashboard names: 1-255 of A-Z, a-z, 0-9, '-', '_' (PutDashboard):
    https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutDashboard.html"""
    return re.sub(r"[^A-Za-z0-9_-]", "-", raw)[:255]

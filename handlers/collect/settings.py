"""The collector's runtime contract: environment variable names, defaults and readers.

The stack writes these variables on the collect function; local mode writes them on its own
deployment; the collector reads them here and nowhere else.
"""

from __future__ import annotations

import os

from handlers.collect.sources import Source, parse_sources

# The validated `docpipe:sources` (a JSON array; sources.sources_json writes it compactly).
# Lambda caps a function's whole environment at 4 KB, which bounds how many sources and URLs
# fit: https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html
SOURCES_ENV = "COLLECT_SOURCES"
# "1" lets the fetcher connect to loopback addresses (127.0.0.0/8, ::1) and nothing more
# private. LOCAL MODE ONLY: local mode sets it so the collector can reach its test web server
# on 127.0.0.1; a deployed stack never sets it (a collector that may reach localhost can be
# steered at services listening there).
ALLOW_LOOPBACK_ENV = "COLLECT_ALLOW_LOOPBACK"
# Who runs this collector, for the User-Agent: a URL or `mailto:` address site owners can use.
CONTACT_ENV = "COLLECT_CONTACT"

# Seconds a run may start fetching documents; what is left then waits for the next run. The
# function's timeout must exceed it by a fetch's worst case (Fetcher.total_timeout, 120 s,
# plus retries): the stack sets the function timeout to this + 180 s, or this to timeout - 180.
TIME_BUDGET_ENV = "COLLECT_TIME_BUDGET_SECONDS"
DEFAULT_TIME_BUDGET_SECONDS = 600

# The results table's hash key, and the start of every key the collector writes there: no
# pipeline doc_id (32 hex digits) starts so, and IAM's dynamodb:LeadingKeys holds the
# collector's role to these items (policy.py, aws.py).
TABLE_KEY = "doc_id"
SEEN_KEY_PREFIX = "source#"

# The collector's version in its User-Agent (equal to pyproject's version; a test checks it:
# the Lambda package carries handlers/ only, not the installed distribution's metadata).
COLLECTOR_VERSION = "0.1.0"
USER_AGENT_PRODUCT = "docpipe-collector"


def sources() -> list[Source]:
    raw = os.environ.get(SOURCES_ENV, "")
    if not raw:
        raise ValueError(f"environment variable {SOURCES_ENV} is not set")
    return parse_sources(raw)


def allow_loopback() -> bool:
    return os.environ.get(ALLOW_LOOPBACK_ENV, "") == "1"


def user_agent() -> str:
    """`docpipe-collector/0.1.0 (+https://example.org/about-our-crawler)`: who is fetching,
    and where to reach them (RFC 9110 section 10.1.5)."""
    contact = os.environ.get(CONTACT_ENV, "").strip()
    product = f"{USER_AGENT_PRODUCT}/{COLLECTOR_VERSION}"
    return f"{product} (+{contact})" if contact else product


def time_budget_seconds() -> int:
    raw = os.environ.get(TIME_BUDGET_ENV, "")
    try:
        value = int(raw) if raw else DEFAULT_TIME_BUDGET_SECONDS
    except ValueError as exc:
        raise ValueError(f"{TIME_BUDGET_ENV}={raw!r} is not an integer") from exc
    if value < 1:
        raise ValueError(f"{TIME_BUDGET_ENV} must be at least 1, got {value}")
    return value

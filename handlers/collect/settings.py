"""The collector's settings, read from the runtime contract's environment (contract/settings.py).

The stack writes COLLECT_SOURCES, COLLECT_TIME_BUDGET_SECONDS and COLLECT_CONTACT on the
collect function; local mode alone adds COLLECT_ALLOW_LOOPBACK for its test web site.
"""

from __future__ import annotations

from contract import ledger
from contract import settings as env
from contract.sources import Source, parse_sources

# The results table's hash key, and the start of every key the collector writes there: no
# pipeline doc_id (32 hex digits) starts so, and IAM's dynamodb:LeadingKeys holds the
# collector's role to these items (components/collection.py, aws.py).
TABLE_KEY = ledger.KEY
SEEN_KEY_PREFIX = ledger.COLLECTOR_KEY_PREFIX

# The collector's version in its User-Agent (equal to pyproject's version; a test checks it:
# the Lambda package carries handlers/ only, not the installed distribution's metadata).
COLLECTOR_VERSION = "0.1.0"
USER_AGENT_PRODUCT = "docpipe-collector"
DEFAULT_TIME_BUDGET_SECONDS: int = env.COLLECT_TIME_BUDGET_SECONDS.default


def sources() -> list[Source]:
    return parse_sources(env.COLLECT_SOURCES.read())


def allow_loopback() -> bool:
    return bool(env.COLLECT_ALLOW_LOOPBACK.read() == "1")


def user_agent() -> str:
    """`docpipe-collector/0.1.0 (+https://example.org/about-our-crawler)`: who is fetching,
    and where to reach them (RFC 9110 section 10.1.5)."""
    contact = str(env.COLLECT_CONTACT.read()).strip()
    product = f"{USER_AGENT_PRODUCT}/{COLLECTOR_VERSION}"
    return f"{product} (+{contact})" if contact else product


def time_budget_seconds() -> int:
    return int(env.COLLECT_TIME_BUDGET_SECONDS.read())

"""DocumentPipeline's checks that a deployment can run and be operated, found at preview:
reserved concurrency the account's quota allows, and alarms that reach someone.

Neither shows in a mock run: AWS refuses the reservation only when the function is created,
and an alarm e-mail to a placeholder address is accepted, stays unconfirmed and delivers
nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from components.validation import Problems, plain
from contract.aws import UNRESERVED_CONCURRENCY_MINIMUM

# Domains that never receive mail: RFC 2606 (example.com/.net/.org; the .example, .test,
# .invalid and .localhost top-level domains) and RFC 6761 (localhost).
RESERVED_DOMAINS = ("example.com", "example.net", "example.org", "localhost")
RESERVED_TOP_LEVEL_DOMAINS = ("example", "test", "invalid", "localhost")
SET_ALARM_EMAIL = "`pulumi config set docpipe:alarmEmail <address>`"


def check_reserved_concurrency(
    problems: Problems, stages: Mapping[str, Mapping[str, Any]], account_concurrency: Any
) -> None:
    """The stages' reservations must leave UNRESERVED_CONCURRENCY_MINIMUM executions of the
    account's quota unreserved, else Lambda refuses them when the deploy runs."""
    quota = plain(account_concurrency)
    if isinstance(quota, bool) or not isinstance(quota, int) or quota < 1:
        problems.add("account_concurrency", f"must be a positive integer, got {quota!r}")
        return
    reserved = {
        stage: int(value)
        for stage, settings in stages.items()
        if isinstance(value := plain(settings.get("reserved_concurrency")), int | float)
    }
    total = sum(reserved.values())
    allowed = quota - UNRESERVED_CONCURRENCY_MINIMUM
    if total == 0 or total <= allowed:
        return
    listing = ", ".join(f"{stage} {count}" for stage, count in sorted(reserved.items()))
    problems.add(
        "account_concurrency",
        f"the stages reserve {total} concurrent executions ({listing}) but the account's "
        f"Lambda concurrency quota is {quota} (stack config docpipe:accountConcurrency) and "
        f"{UNRESERVED_CONCURRENCY_MINIMUM} must stay unreserved, so at most {max(0, allowed)} "
        "can be reserved: drop reservedConcurrency from docpipe:stages (bound a stage with "
        "maxConcurrency instead), or raise the quota (Service Quotas, AWS Lambda, Concurrent "
        "executions) and set docpipe:accountConcurrency to it",
    )


def reserved_domain(address: str) -> str | None:
    """The reserved domain `address` is on, if any (no mail is ever delivered there)."""
    domain = address.rpartition("@")[2].strip().rstrip(".").lower()
    for reserved in RESERVED_DOMAINS:
        if domain == reserved or domain.endswith(f".{reserved}"):
            return reserved
    top = domain.rpartition(".")[2]
    return f".{top}" if top in RESERVED_TOP_LEVEL_DOMAINS else None


def check_alarm_email(
    problems: Problems, alarm_email: Any, protect_data: bool, required: bool
) -> None:
    """A malformed address always; on a real deployment (`required`), a protected stack
    with no address and any address on a reserved domain."""
    address = plain(alarm_email)
    if address is not None:
        local, at, domain = str(address).rpartition("@")
        if not (local and at and domain) or any(c.isspace() for c in address):
            problems.add("alarm_email", f"{address!r} is not an e-mail address")
            return
    if not required:
        return
    if alarm_email is None and protect_data:
        problems.add(
            "alarm_email",
            "a protected stack (protect_data) needs an address that receives its alarms: "
            f"{SET_ALARM_EMAIL}, then confirm the subscription from the e-mail AWS sends "
            "(until then no alarm is delivered)",
        )
    elif address is not None and (reserved := reserved_domain(address)) is not None:
        problems.add(
            "alarm_email",
            f"{address!r} is on the reserved domain {reserved} (RFC 2606/6761), which never "
            f"receives mail: every alarm would go nowhere. Set a real address with "
            f"{SET_ALARM_EMAIL} and confirm the subscription",
        )

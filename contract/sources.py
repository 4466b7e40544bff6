"""The `docpipe:sources` configuration: where documents are collected from, and how often.

A JSON array of sources (docs/collection.md has examples):

  {"name": "reports", "kind": "http", "urls": ["https://example.org/a.pdf"],
   "schedule": "rate(1 day)", "include": ["*.pdf"], "exclude": [], "max_bytes": 26214400,
   "max_documents": 100, "allow_http": false}

kinds and their own fields:
  http     `urls`: the document URLs themselves (at most `max_documents` of them)
  feed     `url`: an RSS 2.0 or Atom feed; its item links and enclosures are collected
  sitemap  `url`: a sitemap or sitemap index; `pattern`: the document URLs to keep
  s3       `bucket`, `prefix` (default ""), `account`: the bucket owner's account id, checked
           on every call (optional; set it for a bucket in another account)

Patterns (`include`, `exclude`, `pattern`) are shell-style globs matched case-sensitively
against the whole absolute URL (s3: the object key): `*` matches any run of characters, `/`
included, `?` one character, `[abc]` a set. Globs, not regular expressions: they read like
paths, cannot backtrack catastrophically on a hostile URL, and are checked here in full.

Pure standard library and fast: the stack calls `parse_sources` at preview time, and the
collector calls it again on `COLLECT_SOURCES` at run time (the same rules on both sides).
"""

from __future__ import annotations

import fnmatch
import ipaddress
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from contract import settings as env
from contract.errors import InvalidEnvelopeError
from contract.messages import REQUEST_VERSION, parse_request

KINDS = ("http", "feed", "sitemap", "s3")
MESSAGE_KIND = "collect"

# Defaults, defined once (docs/collection.md shows them).
DEFAULT_SCHEDULE = "rate(1 day)"
DEFAULT_INCLUDE: tuple[str, ...] = ("*",)
DEFAULT_EXCLUDE: tuple[str, ...] = ()
# a larger document would only be rejected by the first stage
DEFAULT_MAX_BYTES: int = env.OCR_MAX_BYTES.default
DEFAULT_MAX_DOCUMENTS = 100
DEFAULT_ALLOW_HTTP = False
DEFAULT_PREFIX = ""

# Bounds. A document is held in memory once while it is hashed and stored: the collector's
# memory must exceed max_bytes. A run must end within Lambda's 15 minutes.
MAX_BYTES_LIMIT = 268_435_456  # 256 MiB
MAX_DOCUMENTS_LIMIT = 1000
MAX_URL_CHARS = 2048  # the sitemap protocol's limit, and what browsers and servers accept
MAX_PATTERNS = 50
MAX_PATTERN_CHARS = 512
MAX_PREFIX_CHARS = 512

# 1-32 of a-z, 0-9 and inner hyphens: safe in resource names (`docpipe-collect-<name>-...`
# plus Pulumi's 8-character suffix stays within the 64 characters of IAM roles and schedules),
# in S3 keys (`incoming/<name>/...`) and in S3 metadata.
NAME = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?$")
BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
ACCOUNT = re.compile(r"^[0-9]{12}$")
RATE = re.compile(r"^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$")
CRON = re.compile(r"^cron\(([^()]*)\)$")
# The characters each of cron's six fields allows (EventBridge Scheduler):
# https://docs.aws.amazon.com/scheduler/latest/UserGuide/schedule-types.html#cron-based
CRON_FIELDS = (
    ("minutes", re.compile(r"^[0-9,*/-]+$")),
    ("hours", re.compile(r"^[0-9,*/-]+$")),
    ("day-of-month", re.compile(r"^(\?|[0-9,*/LW-]+)$")),
    ("month", re.compile(r"^[0-9A-Za-z,*/-]+$")),
    ("day-of-week", re.compile(r"^(\?|[0-9A-Za-z,*L#-]+)$")),
    ("year", re.compile(r"^[0-9,*/-]+$")),
)

COMMON_FIELDS = frozenset(
    {"name", "kind", "schedule", "include", "exclude", "max_bytes", "max_documents"}
)
KIND_FIELDS = {
    "http": frozenset({"urls", "allow_http"}),
    "feed": frozenset({"url", "allow_http"}),
    "sitemap": frozenset({"url", "pattern", "allow_http"}),
    "s3": frozenset({"bucket", "prefix", "account"}),
}


@dataclass(frozen=True)
class Source:
    """One validated source. Fields a kind does not use keep their empty defaults."""

    name: str
    kind: str
    schedule: str = DEFAULT_SCHEDULE
    urls: tuple[str, ...] = ()  # http
    url: str | None = None  # feed, sitemap
    pattern: str | None = None  # sitemap
    bucket: str | None = None  # s3
    prefix: str = DEFAULT_PREFIX  # s3
    account: str | None = None  # s3: the expected bucket owner
    include: tuple[str, ...] = DEFAULT_INCLUDE
    exclude: tuple[str, ...] = DEFAULT_EXCLUDE
    max_bytes: int = DEFAULT_MAX_BYTES
    max_documents: int = DEFAULT_MAX_DOCUMENTS
    allow_http: bool = DEFAULT_ALLOW_HTTP

    def wants(self, target: str) -> bool:
        """Whether a document URL (s3: object key) passes `pattern`, `include` and `exclude`."""
        if self.pattern is not None and not fnmatch.fnmatchcase(target, self.pattern):
            return False
        if not any(fnmatch.fnmatchcase(target, glob) for glob in self.include):
            return False
        return not any(fnmatch.fnmatchcase(target, glob) for glob in self.exclude)

    def to_dict(self) -> dict[str, Any]:
        """The source as configuration, only the fields its kind has (defaults included)."""
        allowed = COMMON_FIELDS | KIND_FIELDS[self.kind]
        values = {
            "name": self.name,
            "kind": self.kind,
            "schedule": self.schedule,
            "urls": list(self.urls),
            "url": self.url,
            "pattern": self.pattern,
            "bucket": self.bucket,
            "prefix": self.prefix,
            "account": self.account,
            "include": list(self.include),
            "exclude": list(self.exclude),
            "max_bytes": self.max_bytes,
            "max_documents": self.max_documents,
            "allow_http": self.allow_http,
        }
        return {k: v for k, v in values.items() if k in allowed and v is not None}


def parse_sources(raw_json: str) -> list[Source]:
    """Validate `docpipe:sources`; one ValueError names every bad source and field."""
    try:
        data = json.loads(raw_json)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"docpipe:sources is not JSON: {exc}") from exc
    if not isinstance(data, list):
        raise ValueError(
            f"docpipe:sources must be a JSON array of sources, got {type(data).__name__}"
        )
    problems: list[str] = []
    sources: list[Source] = []
    names: dict[str, int] = {}
    for position, entry in enumerate(data):
        source = _parse_source(position, entry, problems)
        if source is None:
            continue
        if source.name in names:
            problems.append(
                f"sources[{position}] {source.name!r}: name: already used by "
                f"sources[{names[source.name]}]"
            )
        names.setdefault(source.name, position)
        sources.append(source)
    if problems:
        listing = "\n".join(f"  - {problem}" for problem in problems)
        raise ValueError(f"docpipe:sources has {len(problems)} problem(s):\n{listing}")
    return sources


def sources_json(sources: Sequence[Source]) -> str:
    """Compact JSON of validated sources (what the stack puts in COLLECT_SOURCES)."""
    return json.dumps([s.to_dict() for s in sources], separators=(",", ":"))


def source_named(sources: Sequence[Source], name: str) -> Source:
    for source in sources:
        if source.name == name:
            return source
    raise InvalidEnvelopeError(f"no source named {name!r} is configured", "collect message")


# --- the scheduler's message ---------------------------------------------------------------


def collect_message(name: str) -> dict[str, Any]:
    """What each source's schedule sends to the collect queue."""
    return {"version": REQUEST_VERSION, "kind": MESSAGE_KIND, "source": name}


def parse_collect_message(body: str) -> str:
    """The source name a collect message asks for; InvalidEnvelopeError when malformed."""
    data = parse_request(body, MESSAGE_KIND)
    name = data.get("source")
    if not isinstance(name, str) or not NAME.match(name):
        raise InvalidEnvelopeError(f"source must be a source name, got {name!r}", "collect message")
    return name


# --- validation of one source ---------------------------------------------------------------


class _Bad(ValueError):
    """A field's value is wrong; the message says how (the checker adds where)."""


Check = Callable[[Any], Any]


class _Checker:
    """Problems of one source, each prefixed with where it is: `sources[2] 'reports': urls: ...`."""

    def __init__(self, position: int, entry: Mapping[str, Any], problems: list[str]) -> None:
        name = entry.get("name")
        label = f"sources[{position}]" + (f" {name!r}" if isinstance(name, str) else "")
        self.label, self.entry, self.problems = label, entry, problems
        self.count = 0

    def add(self, key: str, message: str) -> None:
        self.problems.append(f"{self.label}: {key}: {message}")
        self.count += 1

    def value(self, key: str, default: Any, check: Check) -> Any:
        """The checked value of `key`, or `default` when absent or wrong (then recorded)."""
        if key not in self.entry:
            return default
        try:
            return check(self.entry[key])
        except _Bad as exc:
            self.add(key, str(exc))
            return default

    def required(self, key: str, check: Check) -> Any:
        if key not in self.entry:
            self.add(key, f"is required for a {self.entry['kind']} source")
            return None
        return self.value(key, None, check)


def _parse_source(position: int, entry: Any, problems: list[str]) -> Source | None:
    if not isinstance(entry, dict):
        problems.append(f"sources[{position}]: must be a JSON object, got {type(entry).__name__}")
        return None
    c = _Checker(position, entry, problems)
    name = entry.get("name")
    if not isinstance(name, str) or not NAME.match(name):
        c.add("name", f"must be 1-32 of a-z, 0-9 and inner hyphens, got {name!r}")
    kind = entry.get("kind")
    if kind not in KINDS:
        c.add("kind", f"must be one of {', '.join(KINDS)}, got {kind!r}")
        return None
    for key in sorted(set(entry) - COMMON_FIELDS - KIND_FIELDS[kind]):
        c.add(key, f"is not a field of a {kind} source")
    allow_http = c.value("allow_http", DEFAULT_ALLOW_HTTP, _boolean)
    max_documents = c.value("max_documents", DEFAULT_MAX_DOCUMENTS, _count(MAX_DOCUMENTS_LIMIT))
    source = Source(
        name=name if isinstance(name, str) else "",
        kind=kind,
        schedule=c.value("schedule", DEFAULT_SCHEDULE, _schedule),
        include=c.value("include", DEFAULT_INCLUDE, _patterns),
        exclude=c.value("exclude", DEFAULT_EXCLUDE, _patterns),
        max_bytes=c.value("max_bytes", DEFAULT_MAX_BYTES, _count(MAX_BYTES_LIMIT)),
        max_documents=max_documents,
        allow_http=allow_http,
        **_kind_fields(c, kind, allow_http, max_documents),
    )
    return None if c.count else source


def _kind_fields(c: _Checker, kind: str, allow_http: bool, max_documents: int) -> dict[str, Any]:
    if kind == "http":
        urls = c.required("urls", lambda value: _urls(value, allow_http)) or ()
        if len(urls) > max_documents:
            c.add("urls", f"{len(urls)} URLs exceed max_documents ({max_documents})")
        return {"urls": urls}
    if kind in ("feed", "sitemap"):
        fields = {"url": c.required("url", lambda value: _url(value, allow_http))}
        if kind == "sitemap":
            fields["pattern"] = c.required("pattern", _pattern)
        return fields
    return {
        "bucket": c.required("bucket", _bucket),
        "prefix": c.value("prefix", DEFAULT_PREFIX, _prefix),
        "account": c.value("account", None, _account),
    }


def _boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise _Bad(f"must be true or false, got {value!r}")
    return value


def _count(limit: int) -> Check:
    def check(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= limit:
            raise _Bad(f"must be an integer from 1 to {limit}, got {value!r}")
        return value

    return check


def _schedule(value: Any) -> str:
    """The shape of an EventBridge Scheduler rate() or cron() expression.

    https://docs.aws.amazon.com/scheduler/latest/UserGuide/schedule-types.html
    (`at()` is a one-time schedule: a source is collected repeatedly.)
    """
    if not isinstance(value, str):
        raise _Bad(f"must be a rate(...) or cron(...) expression, got {value!r}")
    rate = RATE.match(value)
    if rate:
        if int(rate.group(1)) < 1:
            raise _Bad(f"{value!r}: the rate must be a positive integer")
        return value
    cron = CRON.match(value)
    if not cron:
        raise _Bad(f"{value!r} is not rate(N minutes|hours|days) or cron(6 fields)")
    fields = cron.group(1).split()
    if len(fields) != len(CRON_FIELDS):
        raise _Bad(
            f"{value!r}: cron needs 6 fields (minutes hours day-of-month month "
            f"day-of-week year), got {len(fields)}"
        )
    for text, (label, shape) in zip(fields, CRON_FIELDS, strict=True):
        if not shape.match(text):
            raise _Bad(f"{value!r}: {label} field {text!r} has characters cron does not allow")
    if (fields[2] == "?") == (fields[4] == "?"):
        raise _Bad(f"{value!r}: exactly one of day-of-month and day-of-week must be '?'")
    return value


def _pattern(value: Any) -> str:
    if not isinstance(value, str) or not value or len(value) > MAX_PATTERN_CHARS:
        raise _Bad(f"must be a glob of 1 to {MAX_PATTERN_CHARS} characters, got {value!r}")
    return value


def _patterns(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or len(value) > MAX_PATTERNS:
        raise _Bad(f"must be a list of at most {MAX_PATTERNS} globs, got {value!r}")
    return tuple(_pattern(item) for item in value)


def _url(value: Any, allow_http: bool) -> str:
    """An absolute https URL (http too when the source allows it), without credentials."""
    if not isinstance(value, str) or not value:
        raise _Bad(f"must be an absolute URL, got {value!r}")
    if len(value) > MAX_URL_CHARS:
        raise _Bad(f"URL longer than {MAX_URL_CHARS} characters: {value[:60]!r}...")
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018  (raises ValueError on a malformed port)
    except ValueError as exc:
        raise _Bad(f"{value!r} is not a valid URL ({exc})") from exc
    schemes = ("https", "http") if allow_http else ("https",)
    if parts.scheme not in schemes:
        hint = "" if allow_http or parts.scheme != "http" else " (set allow_http to allow http)"
        raise _Bad(f"{value!r}: scheme must be {' or '.join(schemes)}{hint}")
    if not parts.hostname:
        raise _Bad(f"{value!r} has no host")
    if parts.username is not None or parts.password is not None:
        raise _Bad(f"{value!r}: credentials in URLs are not allowed (they would be logged)")
    if any(ch.isspace() or ord(ch) < 32 for ch in value):
        raise _Bad(f"{value!r} contains white space or control characters")
    return value


def _urls(value: Any, allow_http: bool) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        raise _Bad(f"must be a non-empty list of URLs, got {value!r}")
    urls, bad = [], []
    for index, item in enumerate(value):
        try:
            urls.append(_url(item, allow_http))
        except _Bad as exc:
            bad.append(f"[{index}] {exc}")
    if bad:
        raise _Bad("; ".join(bad))
    repeated = sorted({u for u in urls if urls.count(u) > 1})
    if repeated:
        raise _Bad(f"listed more than once: {', '.join(repeated)}")
    return tuple(urls)


def _bucket(value: Any) -> str:
    """S3 bucket naming rules:
    https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html"""
    if not isinstance(value, str) or not BUCKET.match(value) or ".." in value:
        raise _Bad(f"{value!r} is not a valid S3 bucket name")
    try:
        ipaddress.IPv4Address(value)
    except ValueError:
        return value
    raise _Bad(f"{value!r} is not a valid S3 bucket name (formatted as an IP address)")


def _prefix(value: Any) -> str:
    if not isinstance(value, str) or len(value) > MAX_PREFIX_CHARS or value.startswith("/"):
        raise _Bad(
            f"must be a key prefix of at most {MAX_PREFIX_CHARS} characters not starting "
            f"with '/', got {value!r}"
        )
    if any(ord(ch) < 32 for ch in value) or "*" in value or "?" in value:
        raise _Bad(f"{value!r}: a prefix has no control characters nor wildcards")
    return value


def _account(value: Any) -> str:
    if not isinstance(value, str) or not ACCOUNT.match(value):
        raise _Bad(f"must be a 12-digit AWS account id (a string), got {value!r}")
    return value

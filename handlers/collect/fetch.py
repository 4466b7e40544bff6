"""HTTP(S) GET for the collector: safe against SSRF, polite, bounded in time and size.

Why stdlib `http.client` (and not urllib3, which Lambda's runtime carries with botocore): the
SSRF guard must connect to the address it checked, with the URL's host name still in the
Host header, in TLS SNI and in certificate verification. http.client separates the two
cleanly: a connection object keeps `host` for the request and the TLS handshake while its
`connect()` (overridden below) opens the socket to the pinned address. Nothing resolves the
name again, so a DNS answer that changes between check and connect (DNS rebinding) cannot
redirect us. It adds no dependency to the function, and its streaming reads let the size
cap stop a download in the middle.

Per hop: parse and check the URL (https unless the source allows http; no credentials),
resolve the host once, refuse it if ANY of its addresses is not public (addresses.py), then
connect to a checked address. Redirects (at most `max_redirects`) go through the same steps.
429 and 5xx are retried at most `max_attempts` times with exponential backoff and jitter, or
after the server's Retry-After (seconds or an HTTP date) when that is at most
`retry_after_cap`; a longer Retry-After ends the attempt (the next scheduled run tries again).
"""

from __future__ import annotations

import email.utils
import http.client
import random
import socket
import ssl
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import SplitResult, quote, urljoin, urlsplit

from handlers.collect import addresses, settings

REDIRECTS = frozenset({301, 302, 303, 307, 308})
RETRYABLE = frozenset({429, 500, 502, 503, 504})
OK = frozenset({200, 203})
CHUNK = 65_536
# Characters allowed in a request target as they are; anything else is percent-encoded
# (http.client refuses non-ASCII and control characters). RFC 3986 reserved + unreserved + %.
_TARGET_SAFE = "/?#[]@!$&'()*+,;=-._~:%"

Resolver = Callable[[str, int], Sequence[str]]


# --- errors ---------------------------------------------------------------------------------


class FetchError(Exception):
    """A URL that could not be fetched. `transient`: a later run may succeed."""

    transient = False

    def __init__(self, url: str, problem: str) -> None:
        self.url = url
        self.problem = problem
        super().__init__(f"{url}: {problem}")


class UnsafeUrlError(FetchError):
    """Not an absolute http(s) URL the source allows (scheme, credentials, host)."""


class UnsafeAddressError(FetchError):
    """The host resolves to an address the collector must not reach (SSRF guard)."""


class TooLargeError(FetchError):
    """The body is larger than the source's max_bytes (declared, or counted while streaming)."""


class TooManyRedirectsError(FetchError):
    """More than max_redirects redirects."""


class HttpStatusError(FetchError):
    """A final status other than 200 or 304 (retryable ones after the retries ran out)."""

    def __init__(self, url: str, status: int, problem: str | None = None) -> None:
        self.status = status
        self.transient = status in RETRYABLE
        super().__init__(url, problem or f"HTTP {status}")


class ConnectError(FetchError):
    """DNS failure, connection refused or reset, a TLS failure."""

    transient = True


class TlsError(FetchError):
    """The server's certificate does not verify for the host name."""


class FetchTimeoutError(FetchError):
    """No answer within the timeouts."""

    transient = True


# --- results --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Validators:
    """What the last fetch of a URL returned, sent back as a conditional request."""

    etag: str | None = None
    last_modified: str | None = None

    def headers(self) -> dict[str, str]:
        found = {"If-None-Match": self.etag, "If-Modified-Since": self.last_modified}
        return {name: value for name, value in found.items() if value}


@dataclass(frozen=True)
class Response:
    url: str  # as requested
    final_url: str  # after redirects
    status: int  # 200 or 304
    body: bytes = b""
    etag: str | None = None
    last_modified: str | None = None
    declared_type: str | None = None  # the server's Content-Type, kept but never trusted

    @property
    def not_modified(self) -> bool:
        return self.status == 304


# --- the fetcher ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Target:
    url: str
    scheme: str
    host: str  # ASCII (IDNA) host name or IP literal, no brackets
    port: int
    path: str  # request target: path and query, percent-encoded


class Fetcher:
    """GET with the SSRF guard, conditional requests, retries, timeouts and a size cap.

    `allow_loopback` is for local mode only (COLLECT_ALLOW_LOOPBACK); `resolver`, `sleep`,
    `jitter`, `clock`, `wall_clock` and `ssl_context` are the seams tests use.
    """

    def __init__(
        self,
        *,
        allow_loopback: bool = False,
        user_agent: str | None = None,
        connect_timeout: float = 10.0,
        read_timeout: float = 30.0,
        total_timeout: float = 120.0,
        max_redirects: int = 5,
        max_attempts: int = 3,
        backoff_base: float = 1.0,
        backoff_cap: float = 20.0,
        retry_after_cap: float = 30.0,
        ssl_context: ssl.SSLContext | None = None,
        resolver: Resolver | None = None,
        sleep: Callable[[float], None] = time.sleep,
        jitter: Callable[[], float] = random.random,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.allow_loopback = allow_loopback
        self.user_agent = user_agent or settings.user_agent()
        self.connect_timeout, self.read_timeout = connect_timeout, read_timeout
        self.total_timeout = total_timeout
        self.max_redirects, self.max_attempts = max_redirects, max_attempts
        self.backoff_base, self.backoff_cap = backoff_base, backoff_cap
        self.retry_after_cap = retry_after_cap
        self.ssl_context = ssl_context or ssl.create_default_context()
        self.resolver = resolver or resolve
        self.sleep, self.jitter, self.clock, self.wall_clock = sleep, jitter, clock, wall_clock

    @classmethod
    def from_env(cls) -> Fetcher:
        return cls(allow_loopback=settings.allow_loopback())

    def fetch(
        self,
        url: str,
        *,
        max_bytes: int,
        allow_http: bool = False,
        validators: Validators | None = None,
    ) -> Response:
        """The body of `url` (status 200), or status 304 when `validators` still match."""
        deadline = self.clock() + self.total_timeout
        headers = {
            "User-Agent": self.user_agent,
            "Accept": "*/*",
            "Connection": "close",
            **(validators.headers() if validators else {}),
        }
        current = url
        for _hop in range(self.max_redirects + 1):
            target = parse_target(current, allow_http)
            pinned = self._checked_addresses(target)
            connection, response = self._request(target, pinned, headers, deadline)
            try:
                if response.status in REDIRECTS:
                    current = self._redirect(target, response)
                    continue
                if response.status == 304:
                    return self._response(url, target.url, response, b"")
                if response.status not in OK:
                    raise HttpStatusError(target.url, response.status)
                body = self._read(target.url, response, max_bytes, deadline)
                return self._response(url, target.url, response, body)
            finally:
                connection.close()
        raise TooManyRedirectsError(url, f"more than {self.max_redirects} redirects")

    # -- one hop ------------------------------------------------------------------------------

    def _checked_addresses(self, target: _Target) -> list[str]:
        """Resolve once; every address must pass, or the host is refused altogether."""
        try:
            found = list(self.resolver(target.host, target.port))
        except (OSError, UnicodeError) as exc:
            raise ConnectError(target.url, f"cannot resolve {target.host!r} ({exc})") from exc
        if not found:
            raise ConnectError(target.url, f"{target.host!r} has no address")
        for address in found:
            reason = addresses.refusal(address, self.allow_loopback)
            if reason:
                raise UnsafeAddressError(
                    target.url, f"{target.host} resolves to {address}, {reason}: refused"
                )
        return found

    def _request(
        self, target: _Target, pinned: list[str], headers: dict[str, str], deadline: float
    ) -> tuple[http.client.HTTPConnection, http.client.HTTPResponse]:
        for attempt in range(1, self.max_attempts + 1):
            last = attempt == self.max_attempts
            try:
                connection, response = self._send(target, pinned, headers)
            except (TimeoutError, ConnectError) as exc:
                if last or not self._wait(self._backoff(attempt), deadline):
                    if isinstance(exc, ConnectError):
                        raise
                    raise FetchTimeoutError(target.url, "timed out") from exc
                continue
            if response.status not in RETRYABLE:
                return connection, response
            retry_after = response.getheader("Retry-After")
            connection.close()
            delay = self._retry_delay(retry_after, attempt)
            if delay is None:
                raise HttpStatusError(
                    target.url,
                    response.status,
                    f"HTTP {response.status}, Retry-After {retry_after!r} is beyond the "
                    f"{self.retry_after_cap:g} s this run waits",
                )
            if last or not self._wait(delay, deadline):
                raise HttpStatusError(
                    target.url, response.status, f"HTTP {response.status} after {attempt} tries"
                )
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _send(
        self, target: _Target, pinned: list[str], headers: dict[str, str]
    ) -> tuple[http.client.HTTPConnection, http.client.HTTPResponse]:
        """One request to the first pinned address that accepts the connection."""
        error: Exception | None = None
        for address in pinned:
            connection = self._connection(target, address)
            try:
                connection.request("GET", target.path, headers=headers)
                return connection, connection.getresponse()
            except TimeoutError:
                connection.close()
                raise
            except ssl.SSLCertVerificationError as exc:
                connection.close()
                raise TlsError(target.url, f"certificate refused ({exc.verify_message})") from exc
            except (OSError, http.client.HTTPException) as exc:
                connection.close()
                error = exc
        raise ConnectError(target.url, f"cannot connect to {target.host} ({error})")

    def _connection(self, target: _Target, address: str) -> http.client.HTTPConnection:
        timeouts = (self.connect_timeout, self.read_timeout)
        if target.scheme == "https":
            return PinnedHTTPSConnection(
                target.host, target.port, address, *timeouts, context=self.ssl_context
            )
        return PinnedHTTPConnection(target.host, target.port, address, *timeouts)

    def _redirect(self, target: _Target, response: http.client.HTTPResponse) -> str:
        location = response.getheader("Location")
        if not location:
            raise HttpStatusError(target.url, response.status, "redirect without a Location")
        return urljoin(target.url, location.strip())

    def _read(
        self, url: str, response: http.client.HTTPResponse, max_bytes: int, deadline: float
    ) -> bytes:
        """The body, counted while it streams: stop (and drop the connection) past max_bytes."""
        declared = response.getheader("Content-Length", "")
        if declared.isdigit() and int(declared) > max_bytes:
            raise TooLargeError(url, f"Content-Length {declared} exceeds {max_bytes} bytes")
        chunks: list[bytes] = []
        total = 0
        try:
            # read1: at most one receive per call, so a server trickling bytes meets the deadline
            while chunk := response.read1(CHUNK):
                total += len(chunk)
                if total > max_bytes:
                    raise TooLargeError(url, f"body exceeds {max_bytes} bytes (stopped reading)")
                if self.clock() > deadline:
                    raise FetchTimeoutError(url, f"download took over {self.total_timeout:g} s")
                chunks.append(chunk)
        except TimeoutError as exc:
            raise FetchTimeoutError(url, "timed out while reading the body") from exc
        except (OSError, http.client.HTTPException) as exc:
            raise ConnectError(url, f"connection lost while reading the body ({exc})") from exc
        return b"".join(chunks)

    def _response(
        self, url: str, final_url: str, response: http.client.HTTPResponse, body: bytes
    ) -> Response:
        return Response(
            url=url,
            final_url=final_url,
            status=response.status,
            body=body,
            etag=response.getheader("ETag"),
            last_modified=response.getheader("Last-Modified"),
            declared_type=response.getheader("Content-Type"),
        )

    # -- waiting ------------------------------------------------------------------------------

    def _backoff(self, attempt: int) -> float:
        """Exponential backoff with jitter: half the step fixed, half random, so retries of
        many documents after one outage spread out instead of arriving together."""
        step = min(self.backoff_cap, self.backoff_base * 2 ** (attempt - 1))
        return step / 2 + self.jitter() * step / 2

    def _retry_delay(self, retry_after: str | None, attempt: int) -> float | None:
        """The server's Retry-After when given (None if beyond the cap), else the backoff."""
        if retry_after is None:
            return self._backoff(attempt)
        seconds = retry_after_seconds(retry_after, self.wall_clock())
        if seconds is None:
            return self._backoff(attempt)
        return seconds if seconds <= self.retry_after_cap else None

    def _wait(self, delay: float, deadline: float) -> bool:
        """Sleep `delay` unless that passes the deadline (then False: give up now)."""
        if self.clock() + delay > deadline:
            return False
        self.sleep(delay)
        return True


def retry_after_seconds(value: str, now: datetime) -> float | None:
    """Retry-After as seconds from `now`: delay-seconds or an HTTP date (RFC 9110 10.2.3);
    None when it is neither."""
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


def parse_target(url: str, allow_http: bool) -> _Target:
    """Check one URL (every hop's, redirects included) and split it for the request."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UnsafeUrlError(url, f"not a valid URL ({exc})") from exc
    schemes = ("https", "http") if allow_http else ("https",)
    if parts.scheme not in schemes:
        raise UnsafeUrlError(url, f"scheme {parts.scheme!r} refused (allowed: {schemes})")
    if parts.username is not None or parts.password is not None:
        raise UnsafeUrlError(url, "credentials in the URL refused")
    if not parts.hostname:
        raise UnsafeUrlError(url, "no host")
    try:
        host = parts.hostname.encode("idna").decode("ascii")
    except UnicodeError as exc:
        raise UnsafeUrlError(url, f"invalid host name ({exc})") from exc
    return _Target(
        url=url,
        scheme=parts.scheme,
        host=host,
        port=port or (443 if parts.scheme == "https" else 80),
        path=_request_target(parts),
    )


def _request_target(parts: SplitResult) -> str:
    path = quote(parts.path or "/", safe=_TARGET_SAFE)
    return path + (f"?{quote(parts.query, safe=_TARGET_SAFE)}" if parts.query else "")


def resolve(host: str, port: int) -> list[str]:
    """Every address `host` resolves to, in the resolver's order, each once."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


# --- connections pinned to a checked address ------------------------------------------------


class PinnedHTTPConnection(http.client.HTTPConnection):
    """An HTTP connection to `host` (Host header) made to `address` (already checked)."""

    def __init__(
        self, host: str, port: int, address: str, connect_timeout: float, read_timeout: float
    ) -> None:
        super().__init__(host, port, timeout=connect_timeout)
        self.address = address
        self.read_timeout = read_timeout

    def connect(self) -> None:
        self.sock = socket.create_connection((self.address, self.port), self.timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.settimeout(self.read_timeout)


class PinnedHTTPSConnection(PinnedHTTPConnection):
    """HTTPS to `address`, with `host` as SNI and as the name the certificate must carry."""

    default_port = 443

    def __init__(self, *args: Any, context: ssl.SSLContext) -> None:
        super().__init__(*args)
        self.context = context

    def connect(self) -> None:
        super().connect()
        self.sock = self.context.wrap_socket(self.sock, server_hostname=self.host)

"""The fetcher against a real web server on 127.0.0.1 (local/site.py)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from contract import settings as contract_env
from handlers.collect import settings
from handlers.collect.fetch import (
    ConnectError,
    Fetcher,
    FetchTimeoutError,
    HttpStatusError,
    TlsError,
    TooLargeError,
    TooManyRedirectsError,
    UnsafeAddressError,
    UnsafeUrlError,
    Validators,
    parse_target,
    retry_after_seconds,
)
from handlers.formats.sniff import media_type_of
from local.site import HUGE_BYTES, SAMPLES, DocumentSite, etag_of

MiB = 1024 * 1024


@pytest.fixture(name="site")
def site_fixture() -> Iterator[DocumentSite]:
    with DocumentSite() as site:
        yield site


class Sleeps(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def fetcher(sleeps: Sleeps | None = None, **options: object) -> Fetcher:
    """Local mode's fetcher: loopback allowed, sleeps recorded instead of slept."""
    settings_: dict[str, object] = {
        "allow_loopback": True,
        "sleep": sleeps if sleeps is not None else Sleeps(),
        "jitter": lambda: 0.5,
    }
    return Fetcher(**{**settings_, **options})  # type: ignore[arg-type]


def get(f: Fetcher, url: str, **options: object) -> object:
    return f.fetch(url, max_bytes=options.pop("max_bytes", 10 * MiB), allow_http=True, **options)  # type: ignore[arg-type]


# --- documents and validators ----------------------------------------------------------------


def test_a_document_with_its_validators_and_a_descriptive_user_agent(site: DocumentSite) -> None:
    data = (SAMPLES / "contract.pdf").read_bytes()
    url = site.url("/docs/contract.pdf")
    response = fetcher().fetch(url, max_bytes=10 * MiB, allow_http=True)
    assert (response.status, response.body, response.url, response.final_url) == (
        200,
        data,
        url,
        url,
    )
    assert response.etag == etag_of(data)
    assert response.last_modified == "Mon, 05 Jan 2026 09:30:00 GMT"
    (request,) = site.requests
    assert request.headers["User-Agent"] == f"docpipe-collector/{settings.COLLECTOR_VERSION}"
    assert request.headers["Accept-Encoding"] == "identity"
    assert request.headers["Host"] == f"127.0.0.1:{site.port}"
    assert "If-None-Match" not in request.headers


def test_the_user_agent_names_the_operators_contact(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(contract_env.COLLECT_CONTACT.name, "https://example.org/crawler")
    assert Fetcher().user_agent == (
        f"docpipe-collector/{settings.COLLECTOR_VERSION} (+https://example.org/crawler)"
    )


def test_the_collector_version_is_the_projects() -> None:
    import tomllib
    from pathlib import Path

    pyproject = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text())
    assert pyproject["project"]["version"] == settings.COLLECTOR_VERSION


def test_conditional_requests_get_304_until_the_document_changes(site: DocumentSite) -> None:
    f, url = fetcher(), site.url("/docs/letter.png")
    first = f.fetch(url, max_bytes=10 * MiB, allow_http=True)
    by_etag = f.fetch(
        url, max_bytes=10 * MiB, allow_http=True, validators=Validators(etag=first.etag)
    )
    by_date = f.fetch(
        url,
        max_bytes=10 * MiB,
        allow_http=True,
        validators=Validators(last_modified=first.last_modified),
    )
    assert (by_etag.status, by_etag.body, by_etag.not_modified) == (304, b"", True)
    assert (by_date.status, by_date.body) == (304, b"")
    assert site.requests[1].headers["If-None-Match"] == first.etag
    assert site.requests[2].headers["If-Modified-Since"] == first.last_modified

    site.change("letter.png", b"\x89PNG\r\n\x1a\n a new version")
    changed = f.fetch(
        url,
        max_bytes=10 * MiB,
        allow_http=True,
        validators=Validators(etag=first.etag, last_modified=first.last_modified),
    )
    assert (changed.status, changed.body) == (200, b"\x89PNG\r\n\x1a\n a new version")
    assert changed.etag != first.etag


def test_the_type_comes_from_the_bytes_not_the_content_type(site: DocumentSite) -> None:
    response = fetcher().fetch(
        site.url("/wrong-type/invoice.jpg"), max_bytes=10 * MiB, allow_http=True
    )
    assert response.declared_type == "text/html; charset=utf-8"
    assert media_type_of(response.body) == "image/jpeg"


# --- retries ---------------------------------------------------------------------------------


def test_429_waits_the_seconds_retry_after_asks(site: DocumentSite) -> None:
    sleeps = Sleeps()
    response = fetcher(sleeps).fetch(
        site.url("/throttled/contract.pdf?after=2"), max_bytes=10 * MiB, allow_http=True
    )
    assert response.status == 200
    assert sleeps == [2.0]
    assert site.state.hits["/throttled/contract.pdf"] == 2


def test_429_waits_until_an_http_date_retry_after(site: DocumentSite) -> None:
    sleeps = Sleeps()
    response = fetcher(sleeps).fetch(
        site.url("/throttled/contract.pdf?after=3&date=1"), max_bytes=10 * MiB, allow_http=True
    )
    assert response.status == 200
    (slept,) = sleeps
    assert 1.0 <= slept <= 3.0  # the header has whole seconds


def test_a_retry_after_beyond_the_cap_ends_the_attempt_without_waiting(
    site: DocumentSite,
) -> None:
    sleeps = Sleeps()
    with pytest.raises(HttpStatusError, match="Retry-After '3600' is beyond the 30 s") as raised:
        fetcher(sleeps).fetch(
            site.url("/throttled/contract.pdf?after=3600"), max_bytes=MiB, allow_http=True
        )
    assert (raised.value.status, raised.value.transient, sleeps) == (429, True, [])


def test_503_then_success_backs_off_once(site: DocumentSite) -> None:
    sleeps = Sleeps()
    response = fetcher(sleeps).fetch(
        site.url("/unavailable-once/report.tiff"), max_bytes=10 * MiB, allow_http=True
    )
    assert response.body == (SAMPLES / "report.tiff").read_bytes()
    assert sleeps == [0.75]  # step 1 s: half fixed, half jitter (0.5 here)


def test_a_server_that_stays_down_is_tried_max_attempts_times(site: DocumentSite) -> None:
    sleeps = Sleeps()
    with pytest.raises(HttpStatusError, match="HTTP 503 after 3 tries") as raised:
        fetcher(sleeps).fetch(site.url("/down"), max_bytes=MiB, allow_http=True)
    assert raised.value.transient
    assert sleeps == [0.75, 1.5]  # exponential: 1 s then 2 s steps
    assert site.state.hits["/down"] == 3


def test_backoff_grows_exponentially_up_to_its_cap() -> None:
    f = Fetcher(jitter=lambda: 1.0, backoff_base=1.0, backoff_cap=5.0)
    assert [f._backoff(n) for n in range(1, 6)] == [1.0, 2.0, 4.0, 5.0, 5.0]
    f = Fetcher(jitter=lambda: 0.0, backoff_base=1.0, backoff_cap=5.0)
    assert [f._backoff(n) for n in range(1, 4)] == [0.5, 1.0, 2.0]


def test_a_closed_port_is_a_transient_connect_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # free once closed: nothing listens there
    sleeps = Sleeps()
    with pytest.raises(ConnectError, match="cannot connect") as raised:
        fetcher(sleeps).fetch(f"http://127.0.0.1:{port}/x", max_bytes=MiB, allow_http=True)
    assert raised.value.transient
    assert len(sleeps) == 2


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("120", 120.0),
        (" 0 ", 0.0),
        ("Wed, 01 Jan 2031 00:00:30 GMT", 30.0),
        ("Tue, 31 Dec 2030 23:00:00 GMT", 0.0),  # in the past: now
        ("soon", None),
        ("-5", None),
    ],
)
def test_retry_after_values(value: str, seconds: float | None) -> None:
    now = datetime(2031, 1, 1, tzinfo=UTC)
    assert retry_after_seconds(value, now) == seconds


# --- redirects -------------------------------------------------------------------------------


def test_relative_redirects_are_followed_and_counted(site: DocumentSite) -> None:
    response = fetcher().fetch(site.url("/hops/3"), max_bytes=10 * MiB, allow_http=True)
    assert response.final_url == site.url("/docs/contract.pdf")
    assert response.url == site.url("/hops/3")
    with pytest.raises(TooManyRedirectsError, match="more than 5 redirects"):
        fetcher().fetch(site.url("/hops/5"), max_bytes=MiB, allow_http=True)


@pytest.mark.parametrize(
    ("target", "refused"),
    [
        ("http://10.0.0.1/admin", "10.0.0.1, private: refused"),
        ("http://169.254.169.254/latest/meta-data/", "the instance metadata service"),
        ("http://[fd00:ec2::254]/latest/meta-data/", "the instance metadata service"),
        ("http://[::ffff:a9fe:a9fe]/", "IPv4-mapped 169.254.169.254"),
        ("http://192.168.0.1:8080/", "private: refused"),
        ("http://100.100.100.200/", "carrier-grade NAT"),
    ],
)
def test_a_redirect_to_a_private_address_is_refused(
    site: DocumentSite, target: str, refused: str
) -> None:
    with pytest.raises(UnsafeAddressError, match=refused.replace("(", r"\(").replace(")", r"\)")):
        fetcher().fetch(site.url(f"/redirect?to={target}"), max_bytes=MiB, allow_http=True)
    assert site.paths() == [f"/redirect?to={target}"]  # the hop was refused before connecting


def test_a_redirect_to_another_scheme_is_refused(site: DocumentSite) -> None:
    with pytest.raises(UnsafeUrlError, match="scheme 'file' refused"):
        fetcher().fetch(site.url("/redirect?to=file:///etc/passwd"), max_bytes=MiB, allow_http=True)


# --- the SSRF guard on the first hop ---------------------------------------------------------


def test_loopback_is_refused_without_the_local_mode_flag(site: DocumentSite) -> None:
    with pytest.raises(UnsafeAddressError, match=r"resolves to 127\.0\.0\.1, loopback: refused"):
        Fetcher().fetch(site.url("/docs/contract.pdf"), max_bytes=MiB, allow_http=True)
    assert site.requests == []


def test_the_flag_comes_from_the_environment_only_when_it_is_1(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for value, allowed in (("1", True), ("true", False), ("", False)):
        monkeypatch.setenv(contract_env.COLLECT_ALLOW_LOOPBACK.name, value)
        assert Fetcher.from_env().allow_loopback is allowed


@pytest.mark.parametrize("host", ["2130706433", "127.1", "0x7f000001", "localhost"])
def test_numeric_and_named_forms_of_loopback_are_refused(site: DocumentSite, host: str) -> None:
    try:
        socket.getaddrinfo(host, site.port)
    except socket.gaierror:
        pytest.skip(f"this resolver does not read {host!r}")
    with pytest.raises(UnsafeAddressError, match="loopback: refused"):
        Fetcher().fetch(
            f"http://{host}:{site.port}/docs/contract.pdf", max_bytes=MiB, allow_http=True
        )
    assert site.requests == []


def test_https_only_unless_the_source_allows_http(site: DocumentSite) -> None:
    with pytest.raises(UnsafeUrlError, match="scheme 'http' refused"):
        fetcher().fetch(site.url("/docs/contract.pdf"), max_bytes=MiB)
    assert site.requests == []


def test_credentials_in_a_url_are_refused(site: DocumentSite) -> None:
    with pytest.raises(UnsafeUrlError, match="credentials in the URL refused"):
        fetcher().fetch(
            f"http://user:secret@127.0.0.1:{site.port}/docs/contract.pdf",
            max_bytes=MiB,
            allow_http=True,
        )


def test_the_connection_goes_to_the_checked_address_dns_rebinding(site: DocumentSite) -> None:
    """The resolver answers 127.0.0.1 once, then a private address: there is no second ask."""
    answers = [["127.0.0.1"], ["10.0.0.1"]]
    calls: list[tuple[str, int]] = []

    def rebinding(host: str, port: int) -> list[str]:
        calls.append((host, port))
        return answers[min(len(calls), 2) - 1]

    response = fetcher(resolver=rebinding).fetch(
        f"http://rebind.test:{site.port}/docs/contract.pdf", max_bytes=10 * MiB, allow_http=True
    )
    assert response.status == 200
    assert calls == [("rebind.test", site.port)]
    assert site.requests[0].headers["Host"] == f"rebind.test:{site.port}"


def test_a_host_with_any_private_address_is_refused(site: DocumentSite) -> None:
    def mixed(host: str, port: int) -> list[str]:
        return ["127.0.0.1", "10.0.0.5"]

    with pytest.raises(UnsafeAddressError, match=r"resolves to 10\.0\.0\.5, private"):
        fetcher(resolver=mixed).fetch(
            f"http://mixed.test:{site.port}/docs/contract.pdf", max_bytes=MiB, allow_http=True
        )
    assert site.requests == []


def test_an_unresolvable_host_is_a_connect_error() -> None:
    with pytest.raises(ConnectError, match=r"cannot resolve 'no-such-host\.invalid'"):
        fetcher().fetch("https://no-such-host.invalid/x.pdf", max_bytes=MiB)


# --- size and time ---------------------------------------------------------------------------


def test_an_oversize_body_is_refused_while_it_streams(site: DocumentSite) -> None:
    with pytest.raises(TooLargeError, match=r"body exceeds 1048576 bytes \(stopped reading\)"):
        fetcher().fetch(site.url("/huge"), max_bytes=MiB, allow_http=True)
    assert site.state.streamed.wait(10)
    # the server could push only what the socket buffers held before we hung up
    assert site.state.sent["/huge"] < HUGE_BYTES / 2


def test_a_declared_oversize_body_is_refused_before_reading(site: DocumentSite) -> None:
    with pytest.raises(TooLargeError, match=f"Content-Length {HUGE_BYTES} exceeds 1000 bytes"):
        fetcher().fetch(site.url("/huge-declared"), max_bytes=1000, allow_http=True)


def test_a_slow_server_times_out(site: DocumentSite) -> None:
    with pytest.raises(FetchTimeoutError, match="timed out"):
        fetcher(read_timeout=0.2, max_attempts=1).fetch(
            site.url("/slow?seconds=1"), max_bytes=MiB, allow_http=True
        )


def test_retries_stop_at_the_total_deadline(site: DocumentSite) -> None:
    sleeps = Sleeps()
    with pytest.raises(HttpStatusError, match="HTTP 503 after 1 tries"):
        fetcher(sleeps, total_timeout=0.5).fetch(site.url("/down"), max_bytes=MiB, allow_http=True)
    assert sleeps == []  # the first backoff (0.75 s) would pass the deadline


# --- TLS -------------------------------------------------------------------------------------


@pytest.fixture(name="tls_site")
def tls_site_fixture() -> Iterator[DocumentSite]:
    with DocumentSite(tls=True) as site:
        yield site


def test_https_verifies_the_name_while_connecting_to_the_checked_address(
    tls_site: DocumentSite,
) -> None:
    response = fetcher(ssl_context=tls_site.client_context()).fetch(
        tls_site.url("/docs/invoice.jpg"), max_bytes=10 * MiB
    )
    assert response.body == (SAMPLES / "invoice.jpg").read_bytes()
    assert tls_site.requests[0].headers["Host"] == f"localhost:{tls_site.port}"


def test_https_refuses_a_certificate_for_another_name(tls_site: DocumentSite) -> None:
    def to_loopback(host: str, port: int) -> list[str]:
        return ["127.0.0.1"]

    with pytest.raises(TlsError, match="certificate refused"):
        fetcher(ssl_context=tls_site.client_context(), resolver=to_loopback).fetch(
            f"https://other.test:{tls_site.port}/docs/invoice.jpg", max_bytes=MiB
        )


def test_https_refuses_an_untrusted_certificate(tls_site: DocumentSite) -> None:
    with pytest.raises(TlsError, match="certificate refused"):
        fetcher().fetch(tls_site.url("/docs/invoice.jpg"), max_bytes=MiB)


def test_a_redirect_from_https_down_to_http_is_refused(tls_site: DocumentSite) -> None:
    target = f"http://127.0.0.1:{tls_site.port}/docs/invoice.jpg"
    with pytest.raises(UnsafeUrlError, match="scheme 'http' refused"):
        fetcher(ssl_context=tls_site.client_context()).fetch(
            tls_site.url(f"/redirect?to={target}"), max_bytes=MiB
        )


# --- request targets -------------------------------------------------------------------------


def test_request_targets_are_ascii_and_hosts_idna() -> None:
    target = parse_target("https://bücher.example/Berichte/Jahr 2024.pdf?q=ä#top", False)
    assert target.host == "xn--bcher-kva.example"
    assert (target.port, target.path) == (443, "/Berichte/Jahr%202024.pdf?q=%C3%A4")
    assert parse_target("http://[::1]:8080", True).host == "::1"
    assert parse_target("http://[::1]:8080", True).path == "/"

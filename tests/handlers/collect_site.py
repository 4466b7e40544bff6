"""A small document web site on 127.0.0.1 for the collector's tests (and local mode).

It serves the sample documents (samples/) with ETag and Last-Modified and answers conditional
requests with 304; an RSS 2.0 feed, an Atom feed and a sitemap index linking to them; and the
misbehaviours a collector must survive: 429 with Retry-After, a 503 then success, redirects
(to a private address among others), a body far over any size cap streamed without a
Content-Length, a wrong Content-Type, a slow answer, an ETag that changes on every request.
Every request is recorded with its headers, and the bytes each response managed to send.

    with DocumentSite() as site:
        site.url("/feed.xml")  ->  "http://127.0.0.1:PORT/feed.xml"

`DocumentSite(tls=True)` serves HTTPS with a fresh self-signed certificate for `localhost`
and 127.0.0.1; `site.client_context()` trusts it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ssl
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from email.utils import format_datetime, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
SAMPLE_NAMES = ("contract.pdf", "invoice.jpg", "letter.png", "report.tiff")
HUGE_BYTES = 64 * 1024 * 1024
BASE_TIME = dt.datetime(2026, 1, 5, 9, 30, tzinfo=dt.UTC)


@dataclass(frozen=True)
class Seen:
    path: str
    headers: dict[str, str]


@dataclass
class SiteState:
    documents: dict[str, bytes]
    modified: dict[str, dt.datetime]
    requests: list[Seen] = field(default_factory=list)
    hits: Counter[str] = field(default_factory=Counter)
    sent: dict[str, int] = field(default_factory=dict)
    streamed: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)


class DocumentSite:
    def __init__(self, tls: bool = False) -> None:
        self.state = SiteState(
            documents={name: (SAMPLES / name).read_bytes() for name in SAMPLE_NAMES},
            modified=dict.fromkeys(SAMPLE_NAMES, BASE_TIME),
        )
        self.tls = tls
        self._tmp = tempfile.TemporaryDirectory(prefix="docpipe-site-")
        self._cert = Path(self._tmp.name) / "cert.pem"
        self.server = _Server(("127.0.0.1", 0), _Handler)
        self.server.daemon_threads = True
        self.server.state = self.state  # type: ignore[attr-defined]
        if tls:
            self.server.socket = self._server_context().wrap_socket(
                self.server.socket, server_side=True
            )
        self.port = self.server.server_address[1]
        self.server.base = self.base  # type: ignore[attr-defined]
        # a short poll interval: shutdown() waits for the loop to notice (0.5 s by default)
        self._thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def base(self) -> str:
        return f"{'https://localhost' if self.tls else 'http://127.0.0.1'}:{self.port}"

    def url(self, path: str) -> str:
        return self.base + path

    def __enter__(self) -> DocumentSite:
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=5)
        self._tmp.cleanup()

    # -- what the tests look at and change --------------------------------------------------

    @property
    def requests(self) -> list[Seen]:
        return list(self.state.requests)

    def paths(self) -> list[str]:
        return [r.path for r in self.state.requests]

    def change(self, name: str, data: bytes) -> None:
        """Publish a new version of a document (new bytes, ETag and Last-Modified)."""
        with self.state.lock:
            self.state.documents[name] = data
            self.state.modified[name] += dt.timedelta(days=1)

    def client_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self._cert))

    def _server_context(self) -> ssl.SSLContext:
        self._cert.write_bytes(_self_signed_pem())
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(str(self._cert))
        return context


def etag_of(data: bytes) -> str:
    return '"' + hashlib.sha256(data).hexdigest()[:16] + '"'


# --- pages -----------------------------------------------------------------------------------


def rss(base: str) -> bytes:
    items = "".join(
        f"<item><title>{name}</title><link>{base}/docs/{name}</link>"
        f"<guid>{base}/docs/{name}</guid></item>"
        for name in ("contract.pdf", "invoice.jpg")
    )
    enclosure = (
        f"<item><title>report</title><link>{base}/docs/report.tiff</link>"
        f'<enclosure url="/docs/letter.png" length="1" type="image/png"/></item>'
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
        f"<title>docpipe test site</title><link>{base}/</link>"
        f"<description>sample documents</description>{items}{enclosure}</channel></rss>"
    ).encode()


def atom(base: str) -> bytes:
    entries = "".join(
        f"<entry><id>urn:docpipe:{name}</id><title>{name}</title>"
        f'<updated>2026-01-05T09:30:00Z</updated><link href="docs/{name}"/></entry>'
        for name in SAMPLE_NAMES
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom" '
        f'xml:base="{base}/"><title>docpipe test site</title><id>urn:docpipe:site</id>'
        f'<updated>2026-01-05T09:30:00Z</updated><link rel="self" href="atom.xml"/>'
        f"{entries}</feed>"
    ).encode()


def sitemap_index(base: str) -> bytes:
    children = "".join(
        f"<sitemap><loc>{base}/{name}</loc></sitemap>"
        for name in ("sitemap-docs.xml", "sitemap-pages.xml")
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{children}'
        "</sitemapindex>"
    ).encode()


def urlset(base: str, paths: list[str]) -> bytes:
    urls = "".join(f"<url><loc>{base}{path}</loc></url>" for path in paths)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>'
    ).encode()


# --- the handler -----------------------------------------------------------------------------


class _Server(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hangs up early (size cap, timeout) is what the tests provoke."""
        import sys

        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError, ssl.SSLError)):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "docpipe-test-site/1"

    @property
    def state(self) -> SiteState:
        return self.server.state  # type: ignore[attr-defined]

    @property
    def base(self) -> str:
        return self.server.base  # type: ignore[attr-defined]

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet tests

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        path = parts.path
        with self.state.lock:
            self.state.requests.append(Seen(self.path, dict(self.headers.items())))
            self.state.hits[path] += 1
            hits = self.state.hits[path]
        route = path.split("/")[1] if "/" in path else path
        handler = getattr(self, f"route_{route.replace('-', '_').replace('.', '_')}", None)
        if handler is None:
            self.reply(404, b"not found", "text/plain")
            return
        handler(path, parse_qs(parts.query), hits)

    # -- replies ------------------------------------------------------------------------------

    def reply(
        self,
        status: int,
        body: bytes = b"",
        content_type: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.send_response(status)
        if content_type:
            self.send_header("Content-Type", content_type)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def document(self, name: str, content_type: str, extra: dict[str, str] | None = None) -> None:
        """A sample document with validators; 304 when the client's are current."""
        with self.state.lock:
            data = self.state.documents.get(name)
            modified = self.state.modified.get(name)
        if data is None or modified is None:
            self.reply(404, b"no such document", "text/plain")
            return
        validators = {"ETag": etag_of(data), "Last-Modified": format_datetime(modified, True)}
        validators.update(extra or {})
        if self.not_modified(validators["ETag"], modified):
            self.reply(304, headers=validators)
            return
        self.reply(200, data, content_type, validators)

    def not_modified(self, etag: str, modified: dt.datetime) -> bool:
        match = self.headers.get("If-None-Match")
        if match is not None:  # RFC 9110 13.1.2: If-None-Match wins over If-Modified-Since
            return match.strip() in ("*", etag)
        since = self.headers.get("If-Modified-Since")
        if since is None:
            return False
        try:
            return modified <= parsedate_to_datetime(since)
        except (TypeError, ValueError):
            return False

    # -- routes -------------------------------------------------------------------------------

    def route_docs(self, path: str, query: dict[str, list[str]], hits: int) -> None:
        self.document(path.rsplit("/", 1)[-1], "application/octet-stream")

    def route_wrong_type(self, path: str, query: dict[str, list[str]], hits: int) -> None:
        self.document(path.rsplit("/", 1)[-1], "text/html; charset=utf-8")

    def route_changing_etag(self, path: str, query: dict[str, list[str]], hits: int) -> None:
        """The same bytes under a new ETag on every request (a re-deployed web server)."""
        self.document(path.rsplit("/", 1)[-1], "application/pdf", {"ETag": f'"v{hits}"'})

    def route_feed_xml(self, path: str, query: dict[str, list[str]], hits: int) -> None:
        self.reply(200, rss(self.base), "application/rss+xml")

    def route_atom_xml(self, path: str, query: dict[str, list[str]], hits: int) -> None:
        self.reply(200, atom(self.base), "application/atom+xml")

    def route_sitemap_index_xml(self, path: str, query: dict[str, list[str]], hits: int) -> None:
        self.reply(200, sitemap_index(self.base), "application/xml")

    def route_sitemap_docs_xml(self, path: str, query: dict[str, list[str]], hits: int) -> None:
        paths = [f"/docs/{name}" for name in SAMPLE_NAMES]
        self.reply(200, urlset(self.base, paths), "application/xml")

    def route_sitemap_pages_xml(self, path: str, query: dict[str, list[str]], hits: int) -> None:
        self.reply(200, urlset(self.base, ["/", "/about.html"]), "application/xml")

    def route_throttled(self, path: str, query: dict[str, list[str]], hits: int) -> None:
        """429 with Retry-After (seconds, or ?date=1 an HTTP date; ?after=N), then the doc."""
        if hits == 1:
            after = query.get("after", ["1"])[0]
            if "date" in query:
                moment = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=int(after))
                after = format_datetime(moment, usegmt=True)
            self.reply(429, b"slow down", "text/plain", {"Retry-After": after})
            return
        self.document(path.rsplit("/", 1)[-1], "application/pdf")

    def route_unavailable_once(self, path: str, query: dict[str, list[str]], hits: int) -> None:
        if hits == 1:
            self.reply(503, b"try again", "text/plain")
            return
        self.document(path.rsplit("/", 1)[-1], "application/pdf")

    def route_down(self, path: str, query: dict[str, list[str]], hits: int) -> None:
        self.reply(503, b"down", "text/plain")

    def route_redirect(self, path: str, query: dict[str, list[str]], hits: int) -> None:
        self.reply(302, headers={"Location": query["to"][0]})

    def route_hops(self, path: str, query: dict[str, list[str]], hits: int) -> None:
        """/hops/N redirects to /hops/N-1 ... /hops/0 redirects to the contract."""
        left = int(path.rsplit("/", 1)[-1])
        target = f"/hops/{left - 1}" if left else "/docs/contract.pdf"
        self.reply(301, headers={"Location": target})

    def route_huge(self, path: str, query: dict[str, list[str]], hits: int) -> None:
        """HUGE_BYTES without Content-Length (close-delimited): only streaming can count it."""
        self.send_response(200)
        self.send_header("Content-Type", "application/pdf")
        self.send_header("Connection", "close")
        self.end_headers()
        chunk, sent = b"%PDF-1.7\n" + b"0" * 65_527, 0
        try:
            while sent < HUGE_BYTES:
                self.wfile.write(chunk)
                sent += len(chunk)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            pass  # the client hung up: what we measure
        finally:
            self.state.sent[path] = sent
            self.close_connection = True
            self.state.streamed.set()

    def route_huge_declared(self, path: str, query: dict[str, list[str]], hits: int) -> None:
        self.send_response(200)
        self.send_header("Content-Length", str(HUGE_BYTES))
        self.end_headers()
        self.wfile.write(b"%PDF-1.7\n")
        self.close_connection = True

    def route_slow(self, path: str, query: dict[str, list[str]], hits: int) -> None:
        time.sleep(float(query.get("seconds", ["2"])[0]))
        self.document("contract.pdf", "application/pdf")

    def route_empty(self, path: str, query: dict[str, list[str]], hits: int) -> None:
        self.reply(200, b"", "application/pdf")

    def route_about_html(self, path: str, query: dict[str, list[str]], hits: int) -> None:
        self.reply(200, b"<!doctype html><title>about</title>", "text/html")


def _self_signed_pem() -> bytes:
    """A key and a certificate for localhost and 127.0.0.1, valid for a day (PEM)."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    names = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return key_pem + cert.public_bytes(serialization.Encoding.PEM)

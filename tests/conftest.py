"""Real parts for tests: an HTTP server on 127.0.0.1 serving the sample web, an aiosmtpd server, SQLite files."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP as SMTPProtocol
from aiosmtpd.smtp import AuthResult, Envelope, Session

REPO = Path(__file__).resolve().parent.parent
WEB = REPO / "demo" / "web"
DATA = Path(__file__).resolve().parent / "data"
SEEDS = DATA / "seeds"  # a copy of ../shared/seeds, so a clone on its own can run the tests
HOSTS = [p.name for p in WEB.iterdir() if p.is_dir()]
SECRET = "3f9c1e7a5b2d4086c8e1f0a9b7d6c5e4a3b2c1d0e9f8a7b6c5d4e3f2a1b0c9d8"  # a $DIGEST_SECRET that passes the check

Route = Callable[[BaseHTTPRequestHandler], None]


@dataclass
class WebServer:
    """Serves demo/web as http://127.0.0.1:PORT/HOST/PATH, rewriting https://HOST/ links to itself, plus
    extra routes a test registers (status codes, redirects, slow or huge bodies)."""

    port: int = 0
    routes: dict[str, Route] = field(default_factory=dict)
    hits: list[str] = field(default_factory=list)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, real: str) -> str:
        """The local URL for a real one: https://host/path -> http://127.0.0.1:PORT/host/path."""
        return real.replace("https://", f"{self.base}/", 1)

    def route(self, path: str, fn: Route) -> str:
        self.routes[path] = fn
        return f"{self.base}{path}"

    def body(self, path: str) -> tuple[bytes, str] | None:
        target = WEB / path.lstrip("/")
        if path.endswith("/") or target.is_dir():
            target = target / "index"
        if not target.is_file():
            return None
        data = target.read_bytes()
        if data.startswith(b"%PDF"):
            return data, "application/pdf"
        for host in HOSTS:
            data = data.replace(f"https://{host}/".encode(), f"{self.base}/{host}/".encode())
        head = data[:200].lstrip()
        ctype = (
            "application/xml; charset=utf-8"
            if head.startswith((b"<?xml", b"<rss", b"<feed"))
            else "text/html; charset=utf-8"
        )
        return data, ctype


def _handler(server: WebServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            server.hits.append(self.path)
            path = self.path.split("?")[0]
            if path in server.routes:
                server.routes[path](self)
                return
            found = server.body(path)
            if found is None:
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            data, ctype = found
            etag = f'"{len(data):x}-{hash(data) & 0xFFFFFF:x}"'
            if self.headers.get("If-None-Match") == etag:
                self.send_response(304)
                self.send_header("ETag", etag)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            self.send_header("ETag", etag)
            self.end_headers()
            self.wfile.write(data)

    return Handler


@pytest.fixture
def web() -> Iterator[WebServer]:
    server = WebServer()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(server))
    httpd.daemon_threads = True
    server.port = httpd.server_address[1]
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield server
    httpd.shutdown()
    httpd.server_close()


def respond(
    status: int, body: bytes = b"", headers: dict[str, str] | None = None, ctype: str = "application/xml"
) -> Route:
    def fn(h: BaseHTTPRequestHandler) -> None:
        h.send_response(status)
        h.send_header("Content-Type", ctype)
        for k, v in (headers or {}).items():
            h.send_header(k, v)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        try:
            h.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client stopped reading (a size limit): that is the point

    return fn


def slow(seconds: float) -> Route:
    def fn(h: BaseHTTPRequestHandler) -> None:
        time.sleep(seconds)
        respond(200, b"<rss/>")(h)

    return fn


# ---- SMTP


@dataclass
class Mailbox:
    """What an aiosmtpd server received, and how it should misbehave."""

    messages: list[tuple[str, bytes]] = field(default_factory=list)  # (recipient, data)
    temp_fail_once: set[str] = field(default_factory=set)  # 451 at RCPT the first time
    temp_fail: dict[str, int] = field(default_factory=dict)  # 451 at RCPT the first n times
    unknown: set[str] = field(default_factory=set)  # 550 5.1.1 at RCPT
    senders: dict[str, str] = field(default_factory=dict)  # the envelope sender (MAIL FROM) of each recipient's last
    drop_during_data_once: set[str] = field(default_factory=set)
    hang_after_data_once: set[str] = field(default_factory=set)  # after the message, no answer for `hang` seconds
    hang: float = 2.0
    refuse_logins: int = 0  # refuse this many logins (535), then accept any
    login_refusal: str | None = None  # the refusal's reply instead of 535 (a 454: "try again later")
    delay: float = 0.0
    attempts: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def to(self, address: str) -> list[EmailMessage]:
        # As a mailbox stores them: with local line ends (the wire's CRLF would stay in a 7bit body's text).
        return [
            message_from_bytes(d.replace(b"\r\n", b"\n"), policy=policy.default)  # type: ignore[misc]
            for r, d in self.messages
            if r == address
        ]

    @property
    def recipients(self) -> list[str]:
        return [r for r, _ in self.messages]


class _Handler:
    def __init__(self, box: Mailbox) -> None:
        self.box = box

    async def handle_RCPT(
        self, server: SMTPProtocol, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        with self.box.lock:
            n = self.box.attempts[address] = self.box.attempts.get(address, 0) + 1
        if address in self.box.unknown:
            return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"
        if (address in self.box.temp_fail_once and n == 1) or n <= self.box.temp_fail.get(address, 0):
            return "451 4.7.1 Greylisted, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTPProtocol, session: Session, envelope: Envelope) -> str:
        if self.box.delay:
            await asyncio.sleep(self.box.delay)
        rcpt = envelope.rcpt_tos[0]
        with self.box.lock:
            hang = rcpt in self.box.hang_after_data_once
            self.box.hang_after_data_once.discard(rcpt)
        if hang:  # the client has sent the whole message and waits for a reply that does not come
            await asyncio.sleep(self.box.hang)
            assert server.transport is not None
            server.transport.close()
            return "421 too late"
        with self.box.lock:
            if rcpt in self.box.drop_during_data_once:
                self.box.drop_during_data_once.discard(rcpt)
                assert server.transport is not None
                server.transport.close()
                return "421 dropped"
            for r in envelope.rcpt_tos:
                self.box.messages.append((r, bytes(envelope.original_content or b"")))
                self.box.senders[r] = envelope.mail_from or ""
        return "250 2.0.0 Ok: queued"

    def authenticate(
        self, server: SMTPProtocol, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        with self.box.lock:
            refuse = self.box.refuse_logins > 0
            if refuse:
                self.box.refuse_logins -= 1
        # handled=False: aiosmtpd sends the 235 or 535 (or the refusal given)
        return AuthResult(success=not refuse, handled=False, message=self.box.login_refusal if refuse else None)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def smtp() -> Iterator[tuple[Mailbox, int]]:
    box = Mailbox()
    port = free_port()
    handler = _Handler(box)
    controller = Controller(
        handler, hostname="127.0.0.1", port=port, authenticator=handler.authenticate, auth_require_tls=False
    )
    controller.start()
    yield box, port
    controller.stop()


# ---- settings


@pytest.fixture
def make_config(tmp_path: Path) -> Callable[..., Path]:
    """Write a digest.yml (and a subscribers file) into tmp_path; return the config path."""

    def make(
        feeds: list[dict[str, Any]],
        *,
        subscribers: list[str] | None = None,
        smtp_port: int | None = None,
        extra: str = "",
    ) -> Path:
        lines = [
            "list_name: Probation Digest",
            "from_address: digest@probation-digest.example",
            "public_url: https://digest.example.org",
            "contact: editor@example.org",
            "database: digest.sqlite3",
            "subscribers_file: subscribers.yml",
            "backfill_hours: 175200",
            "fetch:",
            "  allow_private: [127.0.0.1]",
            "  timeout: 5",
            "feeds:",
        ]
        for f in feeds:
            lines.append(f"  - name: {json.dumps(f['name'])}")
            lines.append(f"    url: {f['url']}")
            for k in ("type", "kind", "filter"):
                if k in f:
                    lines.append(f"    {k}: {str(f[k]).lower() if isinstance(f[k], bool) else f[k]}")
        if smtp_port:
            lines += [
                "delivery:",
                "  method: smtp",
                "  smtp:",
                "    host: 127.0.0.1",
                f"    port: {smtp_port}",
                "    tls: none",
                "    rate: 1000",
                "    pool: 2",
                "    retries: 2",
            ]
        else:
            lines += ["delivery:", "  method: outbox", "  outbox_dir: outbox"]
        path = tmp_path / "digest.yml"
        path.write_text("\n".join(lines) + "\n" + extra, encoding="utf-8")
        subs = subscribers if subscribers is not None else ["reader@example.org"]
        (tmp_path / "subscribers.yml").write_text(
            "# the list\nsubscribers:\n" + "".join(f"  - email: {s}\n" for s in subs), encoding="utf-8"
        )
        return path

    return make


def demo_feeds(web: WebServer) -> list[dict[str, Any]]:
    """The demo's four feeds, served by the local web server."""
    return [
        {
            "name": "HM Inspectorate of Probation",
            "url": web.url("https://hmiprobation.justiceinspectorates.gov.uk/news/feed/"),
            "type": "inspectorate",
            "filter": False,
        },
        {"name": "Russell Webster", "url": web.url("https://www.russellwebster.com/feed/"), "type": "blog"},
        {
            "name": "Probation Matters",
            "url": web.url("https://probationmatters.blogspot.com/feeds/posts/default"),
            "type": "blog",
        },
        {
            "name": "HM Prison and Probation Service",
            "url": web.url("https://www.gov.uk/government/organisations/hm-prison-and-probation-service.atom"),
            "type": "govuk",
        },
    ]


# ---- a live web app


@dataclass
class LiveServer:
    base: str

    def client(self) -> Any:
        import httpx

        return httpx.Client(base_url=self.base, follow_redirects=False, timeout=30)


def serve_app(app: Any, port: int | None = None) -> Iterator[LiveServer]:
    """Run a starlette app under uvicorn on 127.0.0.1 in a thread, as `digest serve` does."""
    import uvicorn

    port = port or free_port()
    # No proxy headers: `digest serve` honours X-Forwarded-For only from web.trusted_proxies, none by default.
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on", proxy_headers=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.started, "uvicorn did not start"
    yield LiveServer(base=f"http://127.0.0.1:{port}")
    server.should_exit = True
    thread.join(10)

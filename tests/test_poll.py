"""Polling: HTTP semantics and every kind of bad feed, each recorded and none stopping the others."""

from __future__ import annotations

import asyncio
import gzip
import json
import os
from datetime import timedelta
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import httpx
import pytest

from digest import pipeline
from digest.config import FetchSettings, load_settings
from digest.errors import FetchError, UnsafeURLError
from digest.fetch import Fetcher
from digest.store import Store

from .conftest import WEB, WebServer, free_port, respond, slow
from .test_pipeline import NOON, clock

FEED = (WEB / "www.russellwebster.com/feed/index").read_bytes()


def poll(config: Path, *, force: bool = True) -> list[pipeline.PollResult]:
    settings = load_settings(config)

    async def run() -> list[pipeline.PollResult]:
        with Store(settings.database) as store:
            async with Fetcher(settings.fetch) as fetcher:
                return await pipeline.poll(settings, store, fetcher, clock=clock, force=force)

    return asyncio.run(run())


def health(config: Path) -> dict[str, Any]:
    settings = load_settings(config)
    with Store(settings.database) as store:
        return {h.name: h for h in store.feed_health()}


def redirect(location: str, status: int = 302) -> Any:
    def fn(h: BaseHTTPRequestHandler) -> None:
        h.send_response(status)
        h.send_header("Location", location)
        h.send_header("Content-Length", "0")
        h.end_headers()

    return fn


def test_every_bad_feed_is_recorded_and_the_good_one_still_polls(web: WebServer, make_config: Any) -> None:
    """Each failure has its kind and message in the feed's health; the good feed is read regardless."""
    closed = free_port()
    bomb = gzip.compress(b"<rss>" + b" " * 30_000_000 + b"</rss>")
    cases = {
        "good": web.route("/good", respond(200, FEED)),
        "timeout": web.route("/timeout", slow(3)),
        "refused": f"http://127.0.0.1:{closed}/feed",
        "dns": "http://no-such-host.invalid/feed",
        "404": web.route("/404", respond(404)),
        "500": web.route("/500", respond(500)),
        "html": web.route(
            "/html", respond(200, b"<!DOCTYPE html><html><body><p>A blog</p></body></html>", ctype="text/html")
        ),
        "empty": web.route("/empty", respond(200, b"")),
        "huge": web.route("/huge", respond(200, b"<rss>" + b"x" * 2_000_000 + b"</rss>")),
        "bomb": web.route("/bomb", lambda h: _raw_gzip(h, bomb)),
        "loop": web.route("/loop-a", redirect("/loop-b")),
        "private": web.route("/to-private", redirect("http://10.1.2.3/feed")),
        "garbage": web.route("/garbage", respond(200, b"<rss><channel><title>x</title>")),
    }
    web.route("/loop-b", redirect("/loop-a"))
    feeds = [{"name": n, "url": u, "type": "blog"} for n, u in cases.items()]
    config = make_config(feeds, extra="")
    text = config.read_text().replace("  timeout: 5", "  timeout: 1\n  max_bytes: 1000000")
    config.write_text(text)
    results = {r.feed.name: r for r in poll(config)}
    assert results["good"].status == "new" and results["good"].new == 3
    expected = {
        "timeout": "timeout",
        "refused": "connect",
        "dns": "dns",
        "404": "http",
        "500": "http",
        "html": "parse",
        "empty": "parse",
        "huge": "too-large",
        "bomb": "too-large",
        "loop": "redirect-loop",
        "private": "unsafe",
        "garbage": "parse",
    }
    h = health(config)
    for name, kind in expected.items():
        assert results[name].status == "error", name
        assert h[name].last_error_kind == kind, (name, h[name].last_error)
        assert h[name].failures == 1
    assert "HTML page" in h["html"].last_error
    assert "10.1.2.3" in h["private"].last_error


def _raw_gzip(h: BaseHTTPRequestHandler, data: bytes) -> None:
    h.send_response(200)
    h.send_header("Content-Type", "application/rss+xml")
    h.send_header("Content-Encoding", "gzip")
    h.send_header("Content-Length", str(len(data)))
    h.end_headers()
    try:
        h.wfile.write(data)
    except (BrokenPipeError, ConnectionResetError):
        pass


def test_conditional_get_304_parses_nothing(web: WebServer, make_config: Any) -> None:
    """The ETag is stored and sent back; a 304 means nothing to parse and nothing new."""
    url = web.url("https://www.russellwebster.com/feed/")
    config = make_config([{"name": "RW", "url": url, "type": "blog"}])
    assert poll(config)[0].status == "new"
    assert poll(config)[0].status == "not-modified"
    assert health(config)["RW"].last_success == NOON


def test_429_retry_after_defers_the_next_poll(web: WebServer, make_config: Any) -> None:
    """429 with Retry-After: the feed is not polled again before the server said."""
    url = web.route("/busy", respond(429, b"", {"Retry-After": "7200"}))
    config = make_config([{"name": "Busy", "url": url, "type": "blog"}])
    poll(config)
    h = health(config)["Busy"]
    assert h.next_poll == NOON + timedelta(hours=2)
    assert poll(config, force=False)[0].status == "skipped"


def test_cache_control_max_age_defers_the_next_poll(web: WebServer, make_config: Any) -> None:
    """max-age longer than the poll interval pushes the next poll back."""
    url = web.route("/cached", respond(200, FEED, {"Cache-Control": "public, max-age=10800"}))
    config = make_config([{"name": "Cached", "url": url, "type": "blog"}])
    poll(config)
    assert health(config)["Cached"].next_poll == NOON + timedelta(hours=3)


def test_410_disables_the_feed_with_the_reason(web: WebServer, make_config: Any) -> None:
    """410 Gone: the feed is disabled and not fetched again."""
    url = web.route("/gone", respond(410))
    config = make_config([{"name": "Gone", "url": url, "type": "blog"}])
    poll(config)
    assert health(config)["Gone"].disabled == "HTTP 410"
    hits = len(web.hits)
    assert poll(config)[0].status == "disabled"
    assert len(web.hits) == hits


def test_a_feed_disabled_in_the_settings_is_not_fetched(web: WebServer, make_config: Any) -> None:
    """enabled: false (the admin's "Disable"): the feed is not fetched, even by a forced poll, until enabled."""
    url = web.route("/paused", respond(200, FEED))
    config = make_config([{"name": "Paused", "url": url, "type": "blog"}])
    config.write_text(config.read_text().replace(f"    url: {url}\n", f"    url: {url}\n    enabled: false\n"))
    assert [(r.status, r.error) for r in poll(config)] == [("disabled", "disabled in the settings")]
    assert "/paused" not in web.hits
    config.write_text(config.read_text().replace("    enabled: false\n", ""))
    assert poll(config)[0].status == "new"


def test_permanent_redirect_is_followed_and_reported(web: WebServer, make_config: Any) -> None:
    """301: the feed is read from its new address, which is stored and reported."""
    new = web.route("/new-feed", respond(200, FEED))
    old = web.route("/old-feed", redirect(new, 301))
    config = make_config([{"name": "Moved", "url": old, "type": "blog"}])
    result = poll(config)[0]
    assert result.status == "new" and result.moved_to == new
    assert health(config)["Moved"].moved_to == new
    poll(config)
    assert web.hits.count("/old-feed") == 1  # the next poll goes straight to the new address


def test_a_redirect_to_an_unreadable_address_is_a_clear_fetch_error(web: WebServer, make_config: Any) -> None:
    """A Location urljoin cannot read (an unclosed IPv6 bracket) fails that feed with a message naming the
    address, as any other bad answer does, instead of a stack trace; the next feed is read."""
    bad = web.route("/bad-redirect", redirect("http://[oops/feed", 302))
    good = web.route("/good", respond(200, FEED))
    config = make_config([{"name": "Bad", "url": bad, "type": "blog"}, {"name": "Good", "url": good, "type": "blog"}])
    results = poll(config)
    assert [r.status for r in results] == ["error", "new"]
    assert results[0].error and "HTTP 302 to an address that cannot be read: 'http://[oops/feed'" in results[0].error


def test_first_poll_only_backfills_the_window(web: WebServer, make_config: Any) -> None:
    """Adding a feed never floods the next email: older items are recorded as seen, not new."""
    url = web.route("/feed", respond(200, FEED))
    config = make_config([{"name": "RW", "url": url, "type": "blog"}])
    config.write_text(config.read_text().replace("backfill_hours: 175200", "backfill_hours: 24"))
    assert poll(config)[0].new == 0
    assert health(config)["RW"].items == 3


def test_reposted_items_are_deduplicated_across_feeds(web: WebServer, make_config: Any) -> None:
    """The same post in two feeds (other guid, tracking parameters) is one item."""
    repost = FEED.replace(b'<guid isPermaLink="false">', b'<guid isPermaLink="false">mirror-').replace(
        b"much-better/</link>", b"much-better/?utm_source=rss</link>"
    )
    a = web.route("/a", respond(200, FEED))
    b = web.route("/b", respond(200, repost))
    config = make_config([{"name": "A", "url": a, "type": "blog"}, {"name": "B", "url": b, "type": "blog"}])
    results = poll(config)
    assert results[0].new + results[1].new == 3


def test_links_from_feeds_are_checked_before_fetching() -> None:
    """Pages named by feeds: only http(s), never loopback, private, link-local or metadata addresses, and never
    an address that cannot be read."""

    async def run(url: str, allow: tuple[str, ...] = ()) -> None:
        transport = httpx.MockTransport(lambda request: httpx.Response(200, content=b"ok"))
        async with Fetcher(FetchSettings(allow_private=allow), transport=transport) as f:
            await f.get(url)

    for bad in (
        "file:///etc/passwd",
        "ftp://example.org/x",
        "http://127.0.0.1/x",
        "http://169.254.169.254/latest",
        "http://10.0.0.1/",
        "http://[::1]/",
        "http://localhost/",
        "https://example.org:80a/report.pdf",  # a port that is no number: refused, not a ValueError
        "http://[oops/x",
    ):
        with pytest.raises(UnsafeURLError):
            asyncio.run(run(bad))
    asyncio.run(run("http://127.0.0.1/x", allow=("127.0.0.1",)))


def test_fetch_error_kinds_for_http_statuses() -> None:
    """FetchError carries the status, the kind and Retry-After for callers to act on."""

    async def run() -> FetchError:
        transport = httpx.MockTransport(lambda r: httpx.Response(503, headers={"Retry-After": "120"}))
        async with Fetcher(FetchSettings(allow_private=("example.org",)), transport=transport) as f:
            try:
                await f.get("http://example.org/feed")
            except FetchError as exc:
                return exc
        raise AssertionError("no error")

    exc = asyncio.run(run())
    assert (exc.status, exc.kind, exc.retry_after) == (503, "http", 120.0)


def test_feeds_check_changes_nothing(web: WebServer, make_config: Any, capsys: pytest.CaptureFixture[str]) -> None:
    """`digest feeds check URL` shows what would be imported and writes no state."""
    from digest.cli import main

    url = web.url("https://www.russellwebster.com/feed/")
    config = make_config([])
    main(["--config", str(config), "feeds", "check", url])
    out = capsys.readouterr().out
    assert "Russell Webster (rss20): 3 items" in out
    assert "2019-02-21  Another private probation service under-performing" in out
    assert not (config.parent / "digest.sqlite3").exists()


def test_an_item_edited_later_is_not_new_again(web: WebServer, make_config: Any) -> None:
    """The same guid with a changed title and body is an edit, not a new item."""
    url = web.route("/feed", respond(200, FEED))
    config = make_config([{"name": "RW", "url": url, "type": "blog"}])
    assert poll(config)[0].new == 3
    edited = FEED.replace(
        b"<title>Another private probation service under-performing</title>",
        b"<title>Another private probation service under-performing (updated)</title>",
    ).replace(b"Casework must improve", b"Casework must improve, say inspectors")
    web.route("/feed", respond(200, edited))
    assert poll(config)[0].new == 0


def test_a_50_mb_body_is_cut_off_while_streaming(web: WebServer, make_config: Any) -> None:
    """A 50 MB response with no Content-Length is stopped at the limit, long before the server has sent it."""
    sent = {"bytes": 0}

    def endless(h: BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "application/rss+xml")
        h.send_header("Connection", "close")
        h.end_headers()
        chunk = b"<item><title>x</title></item>" * 2000
        try:
            while sent["bytes"] < 50_000_000:
                h.wfile.write(chunk)
                sent["bytes"] += len(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass
        h.close_connection = True

    url = web.route("/fifty", endless)
    config = make_config([{"name": "Fifty", "url": url, "type": "blog"}])
    config.write_text(config.read_text().replace("  timeout: 5", "  timeout: 10\n  max_bytes: 1000000"))
    result = poll(config)[0]
    assert result.status == "error" and result.error is not None and result.error.startswith("too-large")
    assert sent["bytes"] < 20_000_000


@pytest.mark.parametrize("variable", [None, "SSL_CERT_FILE", "SSL_CERT_DIR"])
def test_the_fetchers_tls_context_is_the_one_httpx_would_make(variable: str | None, tmp_path: Path) -> None:
    """The fetcher reads its certificates itself, on a thread as the command starts: what it trusts must be what
    httpx would trust (certifi's bundle, or the file or folder $SSL_CERT_FILE / $SSL_CERT_DIR names), and it must
    check hostnames and certificates as httpx does."""
    import subprocess
    import sys

    import certifi

    env = {k: v for k, v in os.environ.items() if k not in ("SSL_CERT_FILE", "SSL_CERT_DIR")}
    if variable == "SSL_CERT_FILE":  # three of certifi's certificates, so the count says which file was read
        pems = certifi.contents().split("-----END CERTIFICATE-----")
        (tmp_path / "three.pem").write_text("-----END CERTIFICATE-----".join(pems[:3]) + "-----END CERTIFICATE-----\n")
        env[variable] = str(tmp_path / "three.pem")
    elif variable == "SSL_CERT_DIR":
        env[variable] = str(tmp_path)
    script = (
        "import json, httpx; from digest import tls; ours, theirs = tls.context(), httpx.create_ssl_context(); "
        "print(json.dumps([[c.cert_store_stats(), int(c.verify_mode), c.check_hostname, int(c.minimum_version), "
        "int(c.options)] for c in (ours, theirs)]))"
    )
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=60)
    assert r.returncode == 0, r.stderr
    ours, theirs = json.loads(r.stdout)
    assert ours == theirs
    bundle = len(certifi.contents().split("END CERTIFICATE")) - 1
    assert ours[0]["x509_ca"] == {None: bundle, "SSL_CERT_FILE": 3, "SSL_CERT_DIR": 0}[variable]


def test_certificates_put_right_are_read_at_the_next_fetch(tmp_path: Path) -> None:
    """`digest serve` runs for weeks: certificates unreadable at one poll (a bundle mid-rewrite, a volume mounted
    late) must not stay a failure until a restart, and the error raised for each feed must not carry the
    tracebacks of all the ones before it."""
    import subprocess
    import sys

    import certifi

    bundle = tmp_path / "bundle.pem"
    script = f"""
import shutil, traceback
from digest import tls
depths = []
for _ in range(50):
    try:
        tls.context()
    except tls.TlsError as exc:
        depths.append(len(traceback.extract_tb(exc.__traceback__)))
shutil.copy({certifi.where()!r}, {str(bundle)!r})
print(len(set(depths)), len(depths), tls.context().cert_store_stats()["x509_ca"] > 0)
"""
    env = {**os.environ, "SSL_CERT_FILE": str(bundle)}
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["1", "50", "True"]  # every traceback as deep as the first; then read


def _hosts(port: int, count: int, handler: type[BaseHTTPRequestHandler]) -> list[Any]:
    """A server on each of 127.0.0.1 … 127.0.0.`count`, all on `port`: as many hosts, as the fetcher sees them."""
    import threading
    from http.server import ThreadingHTTPServer

    servers = []
    for n in range(1, count + 1):
        httpd = ThreadingHTTPServer((f"127.0.0.{n}", port), handler)
        httpd.daemon_threads = True
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        servers.append(httpd)
    return servers


def _stop(servers: list[Any]) -> None:
    for httpd in servers:
        httpd.shutdown()
        httpd.server_close()


def test_feeds_on_many_hosts_keep_few_connections_open() -> None:
    """Each host has a pool of its own (up to `per_host` connections), and the pools of hosts least recently used
    are closed once more hosts than `concurrency` have one: polling feeds on many hosts does not leave a socket
    open to each of them. Every fetch still succeeds, and a host fetched again reuses its connection."""
    import threading

    port = free_port()
    open_now: dict[str, int] = {}
    accepted: dict[str, int] = {}
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:
            pass

        def setup(self) -> None:
            super().setup()
            host = str(self.server.server_address[0])
            with lock:
                open_now[host] = open_now.get(host, 0) + 1
                accepted[host] = accepted.get(host, 0) + 1

        def finish(self) -> None:
            super().finish()
            with lock:
                open_now[str(self.server.server_address[0])] -= 1

        def do_GET(self) -> None:
            respond(200, b"<rss version='2.0'><channel><title>t</title></channel></rss>")(self)

    servers = _hosts(port, 6, Handler)
    settings = FetchSettings(concurrency=2, per_host=1, allow_private=["127.0.0.0/8"])

    async def run() -> list[int]:
        statuses = []
        async with Fetcher(settings) as fetcher:
            for n in [1, 1, 2, 3, 4, 5, 6, 6]:
                statuses.append((await fetcher.get(f"http://127.0.0.{n}:{port}/feed")).status)
            await asyncio.sleep(0.2)  # the servers see the closed connections
            with lock:
                assert sum(open_now.values()) <= 2, open_now
                assert open_now.get("127.0.0.6") == 1 and open_now.get("127.0.0.1", 0) == 0, open_now
                assert accepted["127.0.0.1"] == 1 and accepted["127.0.0.6"] == 1, accepted
        return statuses

    try:
        assert asyncio.run(run()) == [200] * 8
    finally:
        _stop(servers)


def test_two_requests_ending_together_never_lose_a_response() -> None:
    """Two requests that end at once both close the pools of hosts no longer used: neither may close one the other
    is closing (a KeyError had thrown a whole answer away, one run in eight here). Forty rounds, all answered."""
    import threading

    port = free_port()
    together = threading.Barrier(2)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            if self.path == "/together":
                try:
                    together.wait(timeout=2)
                except threading.BrokenBarrierError:
                    pass
            respond(200, b"ok", ctype="text/plain")(self)

    servers = _hosts(port, 5, Handler)
    settings = FetchSettings(concurrency=2, per_host=1, allow_private=["127.0.0.0/8"])

    async def round_() -> list[int]:
        async with Fetcher(settings) as fetcher:
            for n in (1, 2, 3):  # two hosts' idle pools are left, one more than `concurrency` allows
                await fetcher.get(f"http://127.0.0.{n}:{port}/")
            together.reset()
            answers = await asyncio.gather(
                fetcher.get(f"http://127.0.0.4:{port}/together"), fetcher.get(f"http://127.0.0.5:{port}/together")
            )
            return [a.status for a in answers]

    try:
        for _ in range(40):
            assert asyncio.run(round_()) == [200, 200]
    finally:
        _stop(servers)

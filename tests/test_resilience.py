"""One source never stops the day's email: bad feeds, dying workers and slow servers, through the real processes."""

from __future__ import annotations

import email
import os
import re
import signal
import subprocess
import sys
import time
from email import policy
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest

from .conftest import SECRET, WEB, WebServer, respond

FEED = (WEB / "www.russellwebster.com/feed/index").read_bytes()


def digest(config: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "digest.cli", "--config", str(config), *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=config.parent)


def trickle(seconds: int) -> Any:
    """A server that answers 200 and then sends one byte a second, for at most `seconds`."""

    def fn(h: BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "application/rss+xml")
        h.send_header("Content-Length", str(10_000))
        h.end_headers()
        for _ in range(seconds):
            try:
                h.wfile.write(b" ")
                h.wfile.flush()
            except (BrokenPipeError, ConnectionResetError):
                return  # the client gave up: the point of the test
            time.sleep(1)

    return fn


def _titles(outbox: Path) -> str:
    messages = sorted(outbox.rglob("*.eml"))
    assert messages, "no email was written"
    msg = email.message_from_bytes(messages[0].read_bytes(), policy=policy.default)
    body = msg.get_body(("plain",))
    assert body is not None
    return str(body.get_content())


def test_bad_feeds_fail_alone_and_the_good_feed_reaches_the_email(web: WebServer, make_config: Any) -> None:
    """An HTML page, an empty body, malformed XML and a trickling server each fail their own feed only: `digest
    poll` finishes within the fetch deadline, `digest feeds` shows each failure, and the email carries the good
    feed's items."""
    feeds = [
        {"name": "Good blog", "url": web.route("/good", respond(200, FEED)), "type": "blog"},
        {
            "name": "Maintenance page",
            "url": web.route(
                "/html",
                respond(
                    200, b"<!DOCTYPE html><html><body><h1>Down for maintenance</h1></body></html>", ctype="text/html"
                ),
            ),
            "type": "blog",
        },
        {"name": "Empty body", "url": web.route("/empty", respond(200, b"")), "type": "blog"},
        {
            "name": "Broken XML",
            "url": web.route("/garbage", respond(200, b"<rss><channel><title>x</ti")),
            "type": "blog",
        },
        {"name": "Trickle", "url": web.route("/trickle", trickle(60)), "type": "blog"},
    ]
    config = make_config(feeds)
    config.write_text(config.read_text().replace("  timeout: 5", "  timeout: 5\n  deadline: 4"))

    started = time.monotonic()
    r = digest(config, "poll", "--all")
    elapsed = time.monotonic() - started
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr
    assert elapsed < 40, f"the trickling feed held the poll for {elapsed:.0f} s"
    lines = {line.split(":")[0]: line for line in r.stdout.splitlines() if line.startswith("poll ")}
    assert "new of" in lines["poll Good blog"]
    for name in ("Maintenance page", "Empty body", "Broken XML", "Trickle"):
        assert "ERROR" in lines[f"poll {name}"], r.stdout

    shown = digest(config, "feeds").stdout
    assert "got an HTML page, not a feed" in shown
    assert "empty response body" in shown
    assert "malformed feed" in shown or "not a feed" in shown
    assert "deadline" in shown
    assert "1 failure in a row" in shown and "0 items;" in shown and " 1 failures" not in shown

    sent = digest(config, "send")
    assert sent.returncode == 0, sent.stderr + sent.stdout
    text = _titles(config.parent / "outbox")
    assert "Probation Digest" in text
    assert "Russell Webster" in text or "Good blog" in text


def test_poll_after_a_bad_feed_still_reads_items_in_workers(web: WebServer, make_config: Any) -> None:
    """A failed parse in a worker does not break the pool for the reading that follows in the same run."""
    feeds = [
        {"name": "Broken", "url": web.route("/html", respond(200, b"<html><body>x</body></html>", ctype="text/html"))},
        {"name": "Good blog", "url": web.route("/good", respond(200, FEED)), "type": "blog"},
    ]
    config = make_config(feeds)
    r = digest(config, "poll", "--all")
    assert r.returncode == 0, r.stderr
    assert "BrokenProcessPool" not in r.stderr
    n = int(r.stdout.rsplit("summarised ", 1)[1].split()[0])
    assert n > 0


def test_certificates_that_cannot_be_read_fail_each_feed_with_a_message_that_says_so(
    web: WebServer, make_config: Any
) -> None:
    """A wrong $SSL_CERT_FILE used to end `digest poll` with a traceback before any feed. Now each feed's poll
    fails with a message naming the variable and the file, the poll finishes, and `digest feeds` shows it; the
    feeds are not blamed (no backoff), so once the variable is put right the next poll, not forced, reads them."""
    feeds = [{"name": "Good blog", "url": web.route("/good", respond(200, FEED)), "type": "blog"}]
    config = make_config(feeds)
    missing = config.parent / "no-such-bundle.pem"
    env = {**os.environ, "SSL_CERT_FILE": str(missing)}
    cmd = [sys.executable, "-m", "digest.cli", "--config", str(config), "poll", "--all", "--no-read"]
    for _ in range(3):
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=config.parent, env=env)
        assert r.returncode == 0, r.stderr
        assert "Traceback" not in r.stderr
        said = "poll Good blog: ERROR local: cannot read the certificates to check servers with, "
        said += f"$SSL_CERT_FILE ({missing})"
        assert said in r.stdout, r.stdout
    listed = digest(config, "feeds")
    assert "cannot read the certificates" in listed.stdout
    again = digest(config, "poll", "--no-read")
    assert again.returncode == 0, again.stderr
    assert re.search(r"poll Good blog: [1-9]\d* new of", again.stdout), again.stdout


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc to find the workers")
def test_workers_die_with_a_killed_serve_and_the_port_is_free(web: WebServer, make_config: Any, tmp_path: Path) -> None:
    """SIGKILL of `digest serve` leaves no worker process behind, and a restart on the same port comes up."""
    from .conftest import free_port

    config = make_config([{"name": "Good blog", "url": web.route("/good", respond(200, FEED)), "type": "blog"}])
    port = free_port()
    cmd = [sys.executable, "-m", "digest.cli", "--config", str(config), "serve", "--port", str(port)]
    env = {**os.environ, "DIGEST_SECRET": SECRET}
    log = (tmp_path / "serve.log").open("wb")
    proc = subprocess.Popen(cmd, cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        children = _wait_for_children(proc.pid, want=1, seconds=60)
        assert children, "the first poll started no worker processes"
        _wait_for_port(port)
        proc.kill()
        proc.wait(10)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and any(_alive(c) for c in children):
            time.sleep(0.1)
        assert not [c for c in children if _alive(c)], "worker processes outlived their parent"
        again = subprocess.Popen(cmd, cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            _wait_for_port(port)
            assert again.poll() is None, (tmp_path / "serve.log").read_text()
        finally:
            again.terminate()
            again.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        log.close()


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def _descendants(pid: int) -> list[int]:
    out = []
    for child in _children(pid):
        out += [child, *_descendants(child)]
    return out


def _wait_for_children(pid: int, *, want: int, seconds: float) -> list[int]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = _descendants(pid)
        if len(found) >= want:
            time.sleep(1)  # let the pool start all its workers
            return _descendants(pid)
        time.sleep(0.1)
    return []


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _wait_for_port(port: int, seconds: float = 30) -> None:
    import httpx

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/health", timeout=2)
            return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise AssertionError(f"nothing answered on port {port}")


def test_a_killed_worker_fails_one_call_and_the_pool_recovers() -> None:
    """A worker killed mid-task (the OOM killer, a segfault) fails that call alone; the calls caught in the same
    break are retried and succeed, and the pool keeps working."""
    import asyncio

    from digest.errors import WorkerError
    from digest.workers import WorkerPool

    async def run() -> tuple[list[Any], int]:
        with WorkerPool(workers=2) as pool:
            calls = [pool.run(_square_or_die, n) for n in (1, 2, 13, 4, 5)]
            results = await asyncio.gather(*calls, return_exceptions=True)
            after = await pool.run(_square_or_die, 6)
            return list(results), after

    results, after = asyncio.run(run())
    assert results[:2] == [1, 4] and results[3:] == [16, 25]
    assert isinstance(results[2], WorkerError)
    assert after == 36


_CRASHES = """
import asyncio, sys
from tests.test_resilience import _square_or_die
from digest.workers import WorkerPool

async def main():
    with WorkerPool(workers=2) as pool:
        for _ in range(6):  # a worker killed while others are busy or being started, again and again
            results = await asyncio.gather(*(pool.run(_square_or_die, n) for n in (1, 13, 2, 3, 13, 4)),
                                           return_exceptions=True)
            assert [r for r in results if isinstance(r, int)] == [1, 4, 9, 16], results
    print("done", pool.rebuilds)

asyncio.run(main())
"""


def test_a_process_whose_workers_keep_dying_still_exits() -> None:
    """After workers are killed again and again, the process (a `digest poll`, say) finishes and exits: no
    worker is left that the pool waits on for ever."""
    from .conftest import REPO

    r = subprocess.run([sys.executable, "-c", _CRASHES], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("done")


def test_a_closed_pool_refuses_work_instead_of_starting_again() -> None:
    """A job still running when the service stops gets a WorkerError, not a new pool nobody will close."""
    import asyncio

    from digest.errors import WorkerError
    from digest.workers import WorkerPool

    pool = WorkerPool(workers=1)
    pool.close()
    with pytest.raises(WorkerError, match="closed"):
        asyncio.run(pool.run(_square_or_die, 2))


def test_an_exception_that_cannot_cross_back_is_reported_not_fatal() -> None:
    """An exception that cannot be unpickled in the parent arrives as a WorkerError; the pool is not broken."""
    import asyncio

    from digest.errors import WorkerError
    from digest.workers import WorkerPool

    async def run() -> tuple[BaseException | None, int]:
        with WorkerPool(workers=1) as pool:
            try:
                await pool.run(_raise_unpicklable)
                caught: BaseException | None = None
            except WorkerError as exc:
                caught = exc
            return caught, await pool.run(_square_or_die, 3)

    caught, after = asyncio.run(run())
    assert isinstance(caught, WorkerError) and "Unpicklable" in str(caught)
    assert after == 9


def _square_or_die(n: int) -> int:
    if n == 13:
        os.kill(os.getpid(), signal.SIGKILL)
    time.sleep(0.2)
    return n * n


class Unpicklable(Exception):
    def __init__(self, message: str, *, where: str) -> None:
        super().__init__(message)
        self.where = where


def _raise_unpicklable() -> None:
    raise Unpicklable("bad", where="here")


def _hostile_feed() -> bytes:
    long_title = "Probation " + "very " * 40_000 + "long title"
    items = [
        ("javascript:alert(document.cookie)", "Probation officers and javascript links"),
        ("data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==", "Probation data links"),
        ("https://example.org/long", long_title),
        ("https://example.org/bidi", "Probation \u202egnp.exe\u202c and \x85C1\x9b controls"),
    ]
    body = "".join(
        f"<item><title>{t}</title><link>{link}</link><guid isPermaLink='false'>g{n}</guid>"
        f"<pubDate>Mon, 23 Nov 2026 08:00:00 GMT</pubDate>"
        f"<description>Probation supervision in England and Wales: a community order, unpaid work and licence "
        f"conditions, discussed by the probation service. \u202eReversed\u202c text \x9b here.</description></item>"
        for n, (link, t) in enumerate(items)
    )
    return (
        "<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel><title>Hostile</title>"
        f"<link>javascript:void(0)</link>{body}</channel></rss>"
    ).encode()


def test_feed_links_and_text_are_made_safe_before_they_reach_the_email(web: WebServer, make_config: Any) -> None:
    """javascript: and data: item links never become links; a 200,000-character title is cut to fit the email's
    budget; bidi overrides and C1 controls never reach the message or the preview."""
    config = make_config(
        [{"name": "Hostile", "url": web.route("/hostile", respond(200, _hostile_feed())), "type": "blog"}]
    )
    assert digest(config, "poll", "--all").returncode == 0
    preview = digest(config, "preview")
    assert preview.returncode == 0, preview.stderr
    sent = digest(config, "send")
    assert sent.returncode == 0, sent.stderr
    (eml,) = sorted((config.parent / "outbox").rglob("*.eml"))
    msg = email.message_from_bytes(eml.read_bytes(), policy=policy.default)
    html_part = msg.get_body(("html",))
    text_part = msg.get_body(("plain",))
    assert html_part is not None and text_part is not None
    html = str(html_part.get_content())
    text = str(text_part.get_content())
    assert "Probation officers and javascript links" in html  # the item is kept, its link is not
    for page in (html, text, preview.stdout):
        lowered = page.lower()
        assert "javascript:" not in lowered and "data:text" not in lowered
        assert not any(c in page for c in "\u202e\u202c\x85\x9b")
    assert len(html.encode()) < 90_000
    assert "very very" in html and "long title" not in html  # cut, not dropped


def _future_send_time() -> str:
    """A send time later today in London, so a real `digest serve` neither catches up nor counts as overdue."""
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    now = datetime.now(ZoneInfo("Europe/London"))
    later = now + timedelta(hours=2)
    return later.strftime("%H:%M") if later.date() == now.date() else "23:59"


def _serve(config: Path, tmp_path: Path, port: int, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-m", "digest.cli", "--config", str(config), "serve", "--port", str(port)]
    log = (tmp_path / f"serve-{port}.log").open("wb")
    proc = subprocess.Popen(
        cmd, cwd=tmp_path, env={**os.environ, "DIGEST_SECRET": SECRET, **(env or {})}, stdout=log, stderr=log
    )
    log.close()
    return proc


def test_health_says_polling_is_broken_when_no_feed_can_be_read(
    web: WebServer, make_config: Any, tmp_path: Path
) -> None:
    """With every feed answering an HTML page, `digest serve`'s /health turns 503 after its first poll, names the
    problem and lists each failing feed; the admin dashboard says the same."""
    import httpx

    from digest.auth import hash_password

    from .conftest import free_port

    html = respond(200, b"<!doctype html><html><body>Maintenance</body></html>", ctype="text/html")
    config = make_config(
        [{"name": "Down A", "url": web.route("/a", html)}, {"name": "Down B", "url": web.route("/b", html)}],
        extra=f'schedule:\n  send_time: "{_future_send_time()}"\n',
    )
    # Served over plain http here, so the session cookie must not be marked Secure.
    config.write_text(config.read_text().replace("https://digest.example.org", "http://127.0.0.1"))
    port = free_port()
    proc = _serve(config, tmp_path, port, {"DIGEST_ADMIN_PASSWORD_HASH": hash_password("pw")})
    try:
        _wait_for_port(port)
        deadline = time.monotonic() + 60
        while True:
            r = httpx.get(f"http://127.0.0.1:{port}/health", timeout=5)
            if (r.status_code == 503 and len(r.json()["feeds_in_error"]) == 2) or time.monotonic() > deadline:
                break  # both feeds have been tried (they are polled concurrently, recorded one by one)
            time.sleep(0.3)
        body = r.json()
        assert r.status_code == 503, body
        assert body["status"] == "failing"
        assert any("no feed has been read successfully" in p for p in body["problems"])
        assert {f["name"] for f in body["feeds_in_error"]} == {"Down A", "Down B"}
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            import re

            csrf = re.search(r'name="csrf" value="([^"]+)"', client.get("/admin/login").text)[1]  # type: ignore[index]
            client.post("/admin/login", data={"password": "pw", "csrf": csrf})
            page = client.get("/admin").text
        assert "Needs attention" in page and "no feed has been read successfully" in page
    finally:
        proc.terminate()
        proc.wait(30)


def test_health_reports_a_send_that_stopped_part_way(web: WebServer, make_config: Any, tmp_path: Path) -> None:
    """A `digest send` that could not reach the mail server leaves recipients pending; the running service's
    /health then says the send stopped, with 503, instead of "ok"."""
    import httpx

    from .conftest import free_port

    closed = free_port()
    config = make_config(
        [{"name": "Good blog", "url": web.route("/good", respond(200, FEED)), "type": "blog"}],
        smtp_port=closed,
        extra=f'schedule:\n  send_time: "{_future_send_time()}"\n',
    )
    assert digest(config, "poll", "--all").returncode == 0
    sent = digest(config, "send")
    assert sent.returncode != 0 and "pending" in sent.stdout + sent.stderr
    port = free_port()
    proc = _serve(config, tmp_path, port)
    try:
        _wait_for_port(port)
        r = httpx.get(f"http://127.0.0.1:{port}/health", timeout=5)
        assert r.status_code == 503
        assert any("send stopped with 1 recipient not yet sent" in p for p in r.json()["problems"])
    finally:
        proc.terminate()
        proc.wait(30)


def test_the_pre_send_poll_stops_at_the_send_time_and_the_send_does_not_poll(
    web: WebServer, make_config: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A feed trickling for a minute cannot hold the pre-send poll past the send time (two seconds away here),
    and the send job itself fetches nothing: it goes with what has been read."""
    import asyncio
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from digest.config import load_settings
    from digest.service import Service

    monkeypatch.setenv("DIGEST_SECRET", SECRET)
    config = make_config(
        [{"name": "Trickle", "url": web.route("/trickle", trickle(60)), "type": "blog"}],
        extra='schedule:\n  send_time: "12:00"\n  send_empty: true\n',
    )
    just_before = datetime(2026, 11, 24, 11, 59, 58, tzinfo=ZoneInfo("Europe/London"))
    svc = Service(load_settings(config), clock=lambda: just_before)
    started = time.monotonic()
    asyncio.run(svc.pre_send_poll_job())
    assert time.monotonic() - started < 6
    assert svc.poll_state is not None and svc.poll_state.error is None
    hits = len(web.hits)
    asyncio.run(svc.send_job())
    assert len(web.hits) == hits
    assert "1 sent" in svc.last_send


def test_processes_opening_a_new_database_together_both_succeed(tmp_path: Path) -> None:
    """A `digest serve` and a `digest send` started at the same moment on a new database both open it: the
    schema is made once, never twice ("table feeds already exists")."""
    script = (
        "import sys; from digest.store import Store\n"
        "with Store(sys.argv[1]) as s: s.db.execute('SELECT count(*) FROM feeds').fetchone()\n"
    )
    for attempt in range(5):
        db = tmp_path / f"new-{attempt}.sqlite3"
        procs = [subprocess.Popen([sys.executable, "-c", script, str(db)], stderr=subprocess.PIPE) for _ in range(6)]
        errors = [p.communicate(timeout=60)[1].decode() for p in procs]
        assert all(p.returncode == 0 for p in procs), errors


def test_a_second_poll_counts_the_entries_it_already_has(web: WebServer, make_config: Any) -> None:
    """A later poll hands the store's guids to the parser, which counts those entries without building them:
    `digest poll` still says how many the feed held, and nothing old comes back as new."""
    config = make_config([{"name": "Good blog", "url": web.route("/good", respond(200, FEED)), "type": "blog"}])
    first = digest(config, "poll", "--all")
    assert first.returncode == 0, first.stderr
    assert "poll Good blog: 3 new of 3" in first.stdout, first.stdout
    again = digest(config, "poll", "--all")
    assert again.returncode == 0, again.stderr
    assert "poll Good blog: 0 new of 3" in again.stdout, again.stdout


def test_serve_starts_with_an_evening_send_time(make_config: Any, tmp_path: Path) -> None:
    """`digest serve` with a send time after 18:00 (the default cut-off for a missed digest) starts and answers:
    it used to stop at start-up, the send job's grace for a missed send worked out as negative."""
    import httpx

    from .conftest import free_port

    config = make_config([], extra='schedule:\n  send_time: "21:15"\n')
    port = free_port()
    proc = _serve(config, tmp_path, port)
    try:
        _wait_for_port(port)
        assert httpx.get(f"http://127.0.0.1:{port}/health", timeout=5).status_code in (200, 503)
        assert proc.poll() is None
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)

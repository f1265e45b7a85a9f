"""The web app over HTTP: guards on admin pages, CSRF, signed links, one-click unsubscribe, health."""

from __future__ import annotations

import asyncio
import logging
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from digest import daily
from digest.auth import hash_password
from digest.config import load_settings
from digest.deliver import OutboxSender
from digest.service import Service
from digest.store import Store
from digest.web import create_app

from .conftest import SECRET, Mailbox, WebServer, demo_feeds, free_port, serve_app
from .test_cli import run

NOW = datetime(2026, 11, 24, 14, 0, tzinfo=UTC)


@pytest.fixture
def app(make_config: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[tuple[httpx.Client, Any]]:
    monkeypatch.setenv("DIGEST_ADMIN_PASSWORD_HASH", hash_password("correct horse"))
    monkeypatch.setenv("DIGEST_SECRET", SECRET)
    port_holder: dict[str, int] = {}
    config = make_config([], subscribers=["reader@example.org"])
    settings = load_settings(config, overrides={"public_url": "http://127.0.0.1"})
    del port_holder
    application = create_app(settings, clock=lambda: NOW, sender=OutboxSender(tmp_path / "outbox"))
    for live in serve_app(application):
        with live.client() as client:
            yield client, settings


def login(client: httpx.Client) -> str:
    page = client.get("/admin/login").text
    csrf = re.search(r'name="csrf" value="([^"]+)"', page)[1]  # type: ignore[index]
    r = client.post("/admin/login", data={"password": "correct horse", "csrf": csrf}, follow_redirects=False)
    assert r.status_code == 303
    return re.search(r'name="csrf" value="([^"]+)"', client.get("/admin").text)[1]  # type: ignore[index]


def _opens_admin(base: str, cookie: str) -> bool:
    """Whether a request carrying only this session cookie gets the dashboard (not the login redirect)."""
    with httpx.Client(base_url=base, cookies={"digest_session": cookie}) as other:
        r = other.get("/admin", follow_redirects=False)
    assert r.status_code == 200 or (r.status_code, r.headers["location"]) == (303, "/admin/login?next=/admin")
    return r.status_code == 200


def test_logout_ends_the_session_for_good(app: Any) -> None:
    """A session cookie copied before logging out no longer opens the admin afterwards."""
    client, _ = app
    csrf = login(client)
    copied = client.cookies["digest_session"]
    assert _opens_admin(str(client.base_url), copied)
    assert client.post("/admin/logout", data={"csrf": csrf}).status_code == 303
    assert client.get("/admin").status_code == 303
    assert not _opens_admin(str(client.base_url), copied)


def test_logging_in_again_starts_a_new_session(app: Any) -> None:
    """Logging in anew rotates the session: the cookie from before it no longer opens the admin."""
    client, _ = app
    login(client)
    first = client.cookies["digest_session"]
    login(client)
    second = client.cookies["digest_session"]
    assert second != first
    assert _opens_admin(str(client.base_url), second)
    assert not _opens_admin(str(client.base_url), first)


@pytest.mark.parametrize(
    ("path", "post_status"),
    [("/admin", 405), ("/admin/subscribers", 401), ("/admin/preview", 405), ("/admin/send", 401), ("/admin/log", 405)],
)
def test_admin_pages_need_a_session(app: Any, path: str, post_status: int) -> None:
    """Without a session every admin page redirects to the login, and every action is refused (pages that take
    no POST say so)."""
    client, settings = app
    r = client.get(path, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/admin/login?next={path}"
    assert client.post(path, data={"action": "add", "email": "x@example.org"}).status_code == post_status
    assert "x@example.org" not in settings.subscribers_file.read_text()


def test_admin_actions_need_the_csrf_token(app: Any) -> None:
    """A logged-in POST without the form's CSRF token is rejected and changes nothing."""
    client, settings = app
    csrf = login(client)
    r = client.post("/admin/subscribers", data={"action": "add", "email": "evil@example.org"})
    assert r.status_code == 403
    assert "evil@example.org" not in settings.subscribers_file.read_text()
    r = client.post("/admin/subscribers", data={"action": "add", "email": "new@example.org", "csrf": csrf})
    assert r.status_code == 200 and "Added new@example.org." in r.text
    assert "new@example.org" in settings.subscribers_file.read_text()


def test_session_cookie_is_httponly_samesite_and_secure(make_config: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The admin session cookie cannot be read by scripts or sent cross-site, and with an https public URL
    it is sent over https only."""
    monkeypatch.setenv("DIGEST_ADMIN_PASSWORD_HASH", hash_password("pw"))
    settings = load_settings(make_config([]))  # public_url is https://digest.example.org
    for live in serve_app(create_app(settings, clock=lambda: NOW)):
        with live.client() as client:
            raw = client.get("/admin/login").headers["set-cookie"].lower()
    assert "httponly" in raw and "samesite=strict" in raw and "secure" in raw


def test_login_locks_out_after_repeated_failures(app: Any) -> None:
    """Five wrong passwords lock the client out, even with the right one next."""
    client, _ = app
    csrf = re.search(r'name="csrf" value="([^"]+)"', client.get("/admin/login").text)[1]  # type: ignore[index]
    for _ in range(5):
        assert client.post("/admin/login", data={"password": "wrong", "csrf": csrf}).status_code == 401
    r = client.post("/admin/login", data={"password": "correct horse", "csrf": csrf})
    assert r.status_code == 429


def test_one_click_unsubscribe_and_forged_tokens(app: Any) -> None:
    """RFC 8058 one-click works with no page; a forged or other-list token is refused."""
    client, settings = app
    url = daily.unsubscribe_url(settings, "reader@example.org").replace(settings.public_url, "")
    page = client.get(url)
    assert page.status_code == 200 and "reader@example.org" in page.text
    r = client.post(
        url, content=b"List-Unsubscribe=One-Click", headers={"content-type": "application/x-www-form-urlencoded"}
    )
    assert r.status_code == 200
    with Store(settings.database) as store:
        assert store.suppressions() == {"reader@example.org": "unsubscribed"}
    token = url.rsplit("/", 1)[1]
    forged = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    assert client.post(f"/unsubscribe/{forged}").status_code == 400
    from digest.tokens import Tokens

    other_list = Tokens(SECRET, "another-list.example").unsubscribe("reader@example.org")
    assert client.post(f"/unsubscribe/{other_list}").status_code == 400


def test_expired_confirmation_is_rejected(app: Any) -> None:
    """A confirmation link past its age is refused and adds nobody."""
    client, settings = app
    token = daily.tokens(settings).confirm("late@example.org")
    from digest.tokens import Tokens

    assert Tokens(settings.keys.current, daily.list_id(settings)).read_confirm(token, max_age=-1) is None
    assert client.post("/confirm/not-a-token").status_code == 400


def _signed_for_another_purpose(settings: Any) -> dict[str, list[str]]:
    """Tokens signed with the site's secret that are not this route's: the other kind of link, or a payload that
    is not what the route expects."""
    from itsdangerous import URLSafeTimedSerializer

    lid = daily.list_id(settings)
    ours = daily.tokens(settings)
    confirm = URLSafeTimedSerializer(settings.keys.current, salt="confirm-subscription")
    unsub = URLSafeTimedSerializer(settings.keys.current, salt="unsubscribe")
    return {
        "confirm": [
            ours.unsubscribe("reader@example.org"),
            confirm.dumps({"e": "x@example.org", "l": lid}),  # no name field
            confirm.dumps({"e": ["x@example.org"], "n": "", "l": lid}),  # not an address
            confirm.dumps({"e": "not an address", "n": "", "l": lid}),
            confirm.dumps(["x@example.org"]),
            confirm.make_signer(confirm.salt).sign(b"not-json").decode(),
        ],
        "unsubscribe": [
            ours.confirm("reader@example.org"),
            ours.preferences("reader@example.org"),
            unsub.make_signer(unsub.salt).sign(b"not-json").decode(),
        ],
        "preferences": [ours.unsubscribe("reader@example.org"), ours.confirm("reader@example.org")],
    }


GARBAGE = ["%ff%fe", "garbage", "a.b.c", "%00", "..a", "%C3%A9.%C3%A9.x", "x" * 3000, "eyJlIjoiYSJ9.AAAA.BBBB"]


def test_malformed_links_give_the_not_valid_page(app: Any) -> None:
    """Garbled links, and links signed for another purpose, get the 400 "not valid" page (never a 500) and
    change nothing."""
    client, settings = app
    before = settings.subscribers_file.read_text()
    other = _signed_for_another_purpose(settings)
    for route, title in (
        ("confirm", "This link has expired or is not valid"),
        ("unsubscribe", "This link is not valid"),
        ("preferences", "This link is not valid"),
    ):
        for token in GARBAGE + other[route]:
            for method in ("GET", "POST"):
                r = client.request(method, f"/{route}/{token}")
                assert (r.status_code, title in r.text) == (400, True), (method, route, token)
    assert settings.subscribers_file.read_text() == before
    with Store(settings.database) as store:
        assert store.suppressions() == {}


def test_subscribe_gives_one_answer_and_is_rate_limited(app: Any, tmp_path: Path) -> None:
    """The same page whether or not the address exists; a confirmation email is written; limits apply."""
    client, _ = app
    page = client.get("/subscribe").text
    csrf = re.search(r'name="csrf" value="([^"]+)"', page)[1]  # type: ignore[index]
    answers = {
        client.post("/subscribe", data={"email": e, "csrf": csrf}).text
        for e in ("reader@example.org", "stranger@example.org")
    }
    assert len(answers) == 1 and "Check your inbox" in answers.pop()
    assert sorted(p.name for p in (tmp_path / "outbox").rglob("*.eml")) == [
        "reader@example.org.eml",
        "stranger@example.org.eml",
    ]
    codes = [
        client.post("/subscribe", data={"email": "stranger@example.org", "csrf": csrf}).status_code for _ in range(3)
    ]
    assert codes[-1] == 429


INJECTION = "Eve\r\nBcc: x@evil.example"


def test_subscribe_refuses_a_name_that_would_add_a_mail_header(app: Any, tmp_path: Path) -> None:
    """A name with a line break (a Bcc: header in waiting) is refused with a 400 that says why; no confirmation
    is sent and nothing is stored."""
    client, settings = app
    before = settings.subscribers_file.read_text()
    csrf = re.search(r'name="csrf" value="([^"]+)"', client.get("/subscribe").text)[1]  # type: ignore[index]
    for name in (INJECTION, "Eve\nBcc: x@evil.example", "Eve\x00", "Eve \u202eevil"):
        r = client.post("/subscribe", data={"email": "eve@example.org", "name": name, "csrf": csrf})
        assert r.status_code == 400
        assert "a name cannot contain line breaks, control characters or text-direction overrides" in r.text
        # the message is tied to the field it is about, for a screen reader (WCAG 3.3.1)
        assert 'id="name-error"' in r.text and 'aria-describedby="name-error"' in r.text
    bad = client.post("/subscribe", data={"email": "not an address", "csrf": csrf})
    assert bad.status_code == 400 and 'id="email-error"' in bad.text
    assert re.search(r'<input type="email" id="email"[^>]*aria-invalid="true" aria-describedby="email-error"', bad.text)
    assert list((tmp_path / "outbox").rglob("*.eml")) == []
    assert settings.subscribers_file.read_text() == before


def test_admin_add_refuses_a_name_with_control_characters(app: Any) -> None:
    """The editor's add form refuses a name with a line break, says why, and leaves the list as it was."""
    client, settings = app
    csrf = login(client)
    before = settings.subscribers_file.read_text()
    r = client.post(
        "/admin/subscribers", data={"action": "add", "email": "eve@example.org", "name": INJECTION, "csrf": csrf}
    )
    assert r.status_code == 400
    assert "Not done: a name cannot contain line breaks" in r.text
    assert settings.subscribers_file.read_text() == before


def test_health_is_503_when_todays_digest_is_overdue(app: Any) -> None:
    """At 14:00 with no digest sent today, /health says overdue with 503; after an empty day, 200."""
    client, settings = app
    r = client.get("/health")
    assert r.status_code == 503 and r.json()["status"] == "overdue"
    with Store(settings.database) as store:
        daily.send_digest(settings, store, OutboxSender(settings.outbox_dir), clock=lambda: NOW)
    r = client.get("/health")
    assert r.status_code == 200
    assert r.json()["today"] == "empty" and r.json()["feeds_in_error"] == []


def test_web_version_of_a_digest(app: Any) -> None:
    """/digests/DATE shows what was sent that day; an unknown day is a 404 page."""
    client, _ = app
    assert client.get("/digests/2026-11-24").status_code == 404
    assert client.get("/digests/not-a-date").status_code == 404


def _policy(response: httpx.Response) -> dict[str, str]:
    """The response's Content-Security-Policy as {directive: sources}."""
    directives = (d.strip().split(" ", 1) for d in response.headers["content-security-policy"].split(";"))
    return {d[0]: d[1] if len(d) > 1 else "" for d in directives if d[0]}


async def _fails(self: Any) -> None:
    raise RuntimeError("a fault nobody foresaw")


def test_every_response_carries_the_security_headers(app: Any) -> None:
    """Subscriber pages, the web version of a digest, the admin, /health, 404s and even a 500 send a strict
    Content-Security-Policy (nothing may run a script), nosniff, no Referer, and may not be framed by other
    sites; only the admin's own preview frame may show the email, and only inside the admin."""
    client, settings = app
    responses = [client.get("/health")]  # 503: today's digest is overdue
    with Store(settings.database) as store:  # a digest sent today, for its web version
        daily.send_digest(
            replace(settings, send_empty=True), store, OutboxSender(settings.outbox_dir), clock=lambda: NOW
        )
    pages = ["/", "/subscribe", "/unsubscribe", "/confirm/garbage", "/unsubscribe/garbage", "/digests/2026-11-24"]
    pages += ["/digests/2020-01-01", "/no-such-page", "/admin/login", "/static/site.css"]
    responses += [client.get(path) for path in pages] + [client.post("/health"), client.post("/admin/send")]
    login(client)
    responses += [client.get(p) for p in ("/admin", "/admin/subscribers", "/admin/preview", "/admin/send")]
    responses += [client.get("/admin/log"), client.get("/admin/preview?format=html")]
    settings.subscribers_file.write_text("subscribers: [\n")  # the editor broke the file by hand: 503, said so
    responses.append(client.get("/admin/subscribers"))
    with pytest.MonkeyPatch.context() as patch:  # a fault nobody foresaw: the last resort, to see a 500's headers
        patch.setattr(Service, "subscribers", _fails)
        responses.append(client.get("/admin/subscribers"))
    assert sorted({r.status_code for r in responses}) == [200, 400, 401, 404, 405, 500, 503]

    for r in responses:
        where = f"{r.request.method} {r.request.url.path}?{r.request.url.query.decode()}"
        policy = _policy(r)
        framed_by_admin = r.request.url.path == "/admin/preview" and r.request.url.query == b"format=html"
        assert policy["default-src"] == "'none'", where
        assert not any(d.startswith("script-src") for d in policy), where  # so no script: default-src 'none'
        assert all("'unsafe-inline'" not in v for d, v in policy.items() if d != "style-src-attr"), where
        assert "'unsafe-eval'" not in r.headers["content-security-policy"], where
        assert policy["base-uri"] == "'none'", where
        assert policy["frame-ancestors"] == ("'self'" if framed_by_admin else "'none'"), where
        assert r.headers["x-frame-options"] == ("SAMEORIGIN" if framed_by_admin else "DENY"), where
        assert r.headers["x-content-type-options"] == "nosniff", where
        assert r.headers["referrer-policy"] == "no-referrer", where

    # The site's pages keep their CSS in one stylesheet from the site itself: nothing inline for the policy to block.
    site = [r for r in responses if r.headers["content-type"].startswith("text/html") and "/digests/" not in str(r.url)]
    site = [r for r in site if "format=html" not in str(r.url)]
    for r in site:
        assert '<link rel="stylesheet" href="/static/site.css">' in r.text, r.url
        assert not re.search(r"<style|<script|\sstyle=|\son[a-z]+=", r.text), r.url
        assert _policy(r)["style-src"] == "'self'", r.url
    (css,) = [r for r in responses if r.url.path == "/static/site.css"]
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")


def test_service_catches_up_a_missed_send_on_start(
    make_config: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Started at 14:00 with nothing sent today, the scheduler sends once; a restart does not send again."""
    monkeypatch.setenv("DIGEST_SECRET", SECRET)
    config = make_config([], subscribers=["reader@example.org"], extra="schedule:\n  send_empty: true\n")
    settings = load_settings(config)
    outbox = tmp_path / "outbox"
    for _ in range(2):
        app = create_app(settings, clock=lambda: NOW, sender=OutboxSender(outbox), scheduler=True)
        for live in serve_app(app):
            with live.client() as client:
                deadline = time.monotonic() + 10
                while client.get("/health").json()["today"] != "done":
                    assert time.monotonic() < deadline, "the catch-up send did not run"
                    time.sleep(0.05)
    assert [p.name for p in outbox.rglob("*.eml")] == ["reader@example.org.eml"]
    with Store(settings.database) as store:
        assert store.delivery_counts(daily.run_key(settings, NOW.date())) == {"sent": 1}


def test_a_send_that_failed_is_tried_again_and_health_clears_once_the_day_is_sent(
    make_config: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The noon send fails (the subscriber list was lost); /health says so. Once the file is back the service's
    retry sends the day without anyone running `digest send`; and a day sent by hand instead clears /health too (it
    had kept the morning's error until midnight)."""
    monkeypatch.setenv("DIGEST_SECRET", SECRET)
    config = make_config([], subscribers=["reader@example.org"], extra="schedule:\n  send_empty: true\n")
    settings = load_settings(config)
    listed = settings.subscribers_file.read_text(encoding="utf-8")
    for mend in ("retry", "by hand"):
        with Store(settings.database) as store:
            store.db.execute("DELETE FROM deliveries")
            store.db.execute("DELETE FROM runs")
        outbox = tmp_path / mend.replace(" ", "-")
        svc = Service(settings, clock=lambda: NOW, sender=OutboxSender(outbox))
        settings.subscribers_file.unlink()
        svc._send(force=False, resend_failed=False)
        with svc.store() as store:
            body, ok = svc.health(store, NOW)
        assert not ok and any("the last send failed" in p and "file not found" in p for p in body["problems"])
        settings.subscribers_file.write_text(listed, encoding="utf-8")
        asyncio.run(svc.list_job())  # the job that reads the list every minute
        if mend == "retry":
            asyncio.run(svc.send_retry_job())
        else:  # as `digest send` does, a minute later
            with Store(settings.database) as store:
                daily.send_digest(settings, store, OutboxSender(outbox), clock=lambda: NOW.replace(minute=1))
        with svc.store() as store:
            body, ok = svc.health(store, NOW.replace(second=1))
        assert ok and body["problems"] == [] and body["today"] == "done", (mend, body)
        assert [p.name for p in outbox.rglob("*.eml")] == ["reader@example.org.eml"]
    # A forced resend that fails after the day's digest has gone is still a failure: that one never went.
    settings.subscribers_file.unlink()
    svc.clock = lambda: NOW.replace(hour=15)
    svc._send(force=True, resend_failed=False)
    with svc.store() as store:
        body, ok = svc.health(store, NOW.replace(hour=15))
    assert not ok and any("the last send failed" in p for p in body["problems"]), body


def test_rows_a_greylisting_server_left_pending_are_retried_and_a_refused_login_is_not(
    make_config: Any, smtp: tuple[Mailbox, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A server that greylists one reader past the send's own retries leaves their row pending, with no error:
    the retry job sends it (it had waited for the error a whole run's stop records, and the reader lost the
    day). A refused login is not tried again and again all afternoon (relays lock accounts that keep failing)."""
    box, port = smtp
    monkeypatch.setenv("DIGEST_SECRET", SECRET)
    box.temp_fail["grey@example.org"] = 3  # more than the send's own tries
    config = make_config(
        [], subscribers=["a@example.org", "grey@example.org"], smtp_port=port, extra="schedule:\n  send_empty: true\n"
    )
    settings = load_settings(config)
    svc = Service(settings, clock=lambda: NOW)
    svc._send(force=False, resend_failed=False)
    key = daily.run_key(settings, NOW.date())
    with Store(settings.database) as store:
        assert store.delivery_counts(key) == {"sent": 1, "pending": 1}
    asyncio.run(svc.send_retry_job())
    with Store(settings.database) as store:
        assert store.delivery_counts(key) == {"sent": 2}
    assert sorted(box.recipients) == ["a@example.org", "grey@example.org"]

    box.refuse_logins = 100
    login = config.read_text().replace("    tls: none\n", "    tls: none\n    username: digest@example.org\n")
    config.write_text(login)
    monkeypatch.setenv("DIGEST_SMTP_PASSWORD", "wrong")
    settings = load_settings(config)
    svc = Service(settings, clock=lambda: NOW)
    svc._send(force=True, resend_failed=False)
    assert svc.send_state is not None and svc.send_state.error and svc.send_state.final
    tried = box.refuse_logins
    for _ in range(4):
        asyncio.run(svc.send_retry_job())
    assert box.refuse_logins == tried  # no login tried again


def test_a_send_that_keeps_failing_is_tried_quarter_hourly_then_hourly_and_last_before_the_cut_off(
    make_config: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Nothing can be written (here the outbox: the mail server down would do the same) from noon to the 18:00
    cut-off: the retry job, run every 15 minutes, tries at once for the first hour, then hourly, and once in the
    last quarter before the cut-off, and never after it. It had tried at 15, 30, 60, 120 and 240 minutes only,
    so a server back at 16:05 lost the day."""
    monkeypatch.setenv("DIGEST_SECRET", SECRET)
    config = make_config([], subscribers=["reader@example.org"], extra="schedule:\n  send_empty: true\n")
    settings = load_settings(config)
    (tmp_path / "afile").write_text("not a folder")
    noon = NOW.replace(hour=12)  # 12:00 GMT: the send time in London in November
    now = [noon]
    svc = Service(settings, clock=lambda: now[0], sender=OutboxSender(tmp_path / "afile" / "outbox"))
    svc._send(force=False, resend_failed=False)
    tries = []
    for quarter in range(1, 30):  # 12:15 to 19:15
        now[0] = noon + timedelta(minutes=15 * quarter)
        before = svc.send_state
        asyncio.run(svc.send_retry_job())
        if svc.send_state is not before:
            tries.append(f"{now[0]:%H:%M}")
    assert tries == ["12:15", "12:30", "12:45", "13:00", "14:00", "15:00", "16:00", "17:00", "17:45"]


def test_a_temporary_login_refusal_is_tried_once_a_send_and_again_by_the_retry(
    make_config: Any, smtp: tuple[Mailbox, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 454 at login (Gmail's "too many login attempts") stops the send after one login, not four (each more
    login keeps the lockout going), is not final, and the retry job sends the day once the server takes the login."""
    box, port = smtp
    monkeypatch.setenv("DIGEST_SECRET", SECRET)
    monkeypatch.setenv("DIGEST_SMTP_PASSWORD", "s3cret")
    config = make_config(
        [], subscribers=["reader@example.org"], smtp_port=port, extra="schedule:\n  send_empty: true\n"
    )
    config.write_text(
        config.read_text().replace("    tls: none\n", "    tls: none\n    username: digest@example.org\n")
    )
    box.refuse_logins, box.login_refusal = 100, "454 4.7.0 Temporary authentication failure, try again later"
    settings = load_settings(config)
    svc = Service(settings, clock=lambda: NOW)
    svc._send(force=False, resend_failed=False)
    assert svc.send_state is not None and "SMTP login refused: 454" in (svc.send_state.error or "")
    assert not svc.send_state.final and box.refuse_logins == 99  # one login tried (it tried four)
    box.refuse_logins = 0
    asyncio.run(svc.send_retry_job())
    assert box.recipients == ["reader@example.org"]


def test_a_send_the_mail_server_stopped_says_why_in_health(
    make_config: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The mail server is unreachable at noon: the rows stay pending and /health gives the reason beside the count
    (it said only "stopped with 1 recipient not yet sent"; the why was in the log alone). Once the run is finished
    later (here as `digest send` would, by another way out), /health is ok again: the run made at noon, before
    the error, was finished after it."""
    monkeypatch.setenv("DIGEST_SECRET", SECRET)
    config = make_config(
        [], subscribers=["reader@example.org"], smtp_port=free_port(), extra="schedule:\n  send_empty: true\n"
    )
    settings = load_settings(config)
    ticks = iter(range(10_000))
    svc = Service(settings, clock=lambda: NOW + timedelta(seconds=next(ticks)))  # time goes on during the send
    svc._send(force=False, resend_failed=False)
    with svc.store() as store:
        body, ok = svc.health(store, NOW)
        assert store.delivery_counts(daily.run_key(settings, NOW.date())) == {"pending": 1}
    assert not ok
    assert any(p.startswith("the last send failed: ") and "unreachable" in p for p in body["problems"]), body
    with Store(settings.database) as store:
        daily.send_digest(settings, store, OutboxSender(tmp_path / "outbox"), clock=lambda: NOW.replace(hour=15))
    with svc.store() as store:
        body, ok = svc.health(store, NOW.replace(hour=15))
    assert ok and body["today"] == "done", body
    assert [p.name for p in (tmp_path / "outbox").rglob("*.eml")] == ["reader@example.org.eml"]


def test_health_says_before_noon_what_would_stop_the_send(
    make_config: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An SMTP login without its password, or a subscriber list with nobody on it, was found only when the noon
    send stopped; /health said ok all morning. Now each is a problem from the start, and clears once mended."""
    monkeypatch.setenv("DIGEST_SECRET", SECRET)
    monkeypatch.delenv("DIGEST_SMTP_PASSWORD", raising=False)
    config = make_config([], subscribers=[], smtp_port=free_port())
    config.write_text(
        config.read_text().replace("    tls: none\n", "    tls: none\n    username: digest@example.org\n")
    )
    settings = load_settings(config)
    settings.subscribers_file.unlink()
    morning = NOW.replace(hour=9)
    svc = Service(settings, clock=lambda: morning)
    svc.check_subscribers()  # as at start: the list read once, off the pages
    with svc.store() as store:
        body, ok = svc.health(store, morning)
    assert not ok
    assert body["problems"] == [
        f"no one is on the subscriber list ({settings.subscribers_file}: file not found), so the send will refuse it",
        "SMTP user digest@example.org is set but $DIGEST_SMTP_PASSWORD is empty, so no digest can be sent",
    ]
    monkeypatch.setenv("DIGEST_SMTP_PASSWORD", "s3cret")
    settings.subscribers_file.write_text("subscribers:\n  - email: a@example.org\n", encoding="utf-8")
    asyncio.run(svc.list_job())  # the job that reads the list when it changes
    with svc.store() as store:
        body, ok = svc.health(store, morning.replace(second=1))
    assert ok and body["problems"] == []


def test_a_poll_stopped_by_the_service_stopping_is_no_failed_job(
    make_config: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """SIGTERM while a poll waits on a feed that never answers: the scheduler cancels the job. The job ends
    quietly, saying so, instead of raising CancelledError for the scheduler to log as a failed job with a
    traceback (seen on Python 3.11.2, in the container) — and it records no poll failure."""
    import socket

    monkeypatch.setenv("DIGEST_SECRET", SECRET)
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen()  # connects, never answers
    try:
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/feed.xml"
        settings = load_settings(make_config([{"name": "Silent", "url": url}]))
        svc = Service(settings, clock=lambda: NOW)

        async def stopped() -> bool:
            job = asyncio.ensure_future(svc.poll_job())
            await asyncio.sleep(1)
            assert not job.done()
            job.cancel()
            await asyncio.wait([job])
            return job.cancelled()

        with caplog.at_level(logging.INFO, logger="digest"):
            assert asyncio.run(stopped()) is False
        assert "poll stopped: the service is stopping" in caplog.text
        assert svc.poll_state is None
    finally:
        silent.close()


def test_digest_serve_stops_cleanly_on_sigterm(make_config: Any, tmp_path: Path) -> None:
    """`digest serve` answers /health; SIGTERM shuts it down gracefully (uvicorn then exits by the signal,
    which systemd and Docker count as a clean stop)."""
    import os
    import signal
    import subprocess
    import sys

    from .conftest import free_port

    port = free_port()
    config = make_config([])
    proc = subprocess.Popen(
        [sys.executable, "-m", "digest.cli", "--config", str(config), "serve", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env={**os.environ, "DIGEST_SECRET": SECRET},
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                r = httpx.get(f"http://127.0.0.1:{port}/health", timeout=2)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "digest serve did not start"
                time.sleep(0.1)
        assert "next_send" in r.json()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) in (0, -signal.SIGTERM)
        assert proc.stdout is not None
        log = proc.stdout.read().decode()
        assert "Application shutdown complete." in log and "Finished server process" in log
    finally:
        if proc.poll() is None:
            proc.kill()
        assert proc.stdout is not None
        proc.stdout.close()


@contextmanager
def digest_serve(config: Path) -> Iterator[httpx.Client]:
    """A real `digest serve` process on a free port (the editor's password: correct horse), and a client for it."""
    port = free_port()
    # Over plain http here: with the https public URL the session cookie would be Secure and never sent back.
    config.write_text(config.read_text().replace("https://digest.example.org", f"http://127.0.0.1:{port}"))
    env = {**os.environ, "DIGEST_SECRET": SECRET, "DIGEST_ADMIN_PASSWORD_HASH": hash_password("correct horse")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "digest.cli", "--config", str(config), "serve", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
    )
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            deadline = time.monotonic() + 20
            while True:
                try:
                    client.get("/health")
                    break
                except httpx.TransportError:
                    assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
                    assert time.monotonic() < deadline, "digest serve did not start"
                    time.sleep(0.1)
            yield client
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        if proc.stderr is not None:
            proc.stderr.close()


def _login_as(client: httpx.Client, forwarded_for: str, password: str) -> int:
    """One login attempt in a fresh session, claiming to come from `forwarded_for`; the status code."""
    client.cookies.clear()
    csrf = re.search(r'name="csrf" value="([^"]+)"', client.get("/admin/login").text)[1]  # type: ignore[index]
    data = {"password": password, "csrf": csrf}
    return client.post("/admin/login", data=data, headers={"X-Forwarded-For": forwarded_for}).status_code


def test_forwarded_for_does_not_reset_the_login_lockout(make_config: Any) -> None:
    """With no trusted proxies, `digest serve` ignores X-Forwarded-For: a new address in it on every try neither
    resets the lock-out nor lets the right password in during it."""
    with digest_serve(make_config([])) as client:
        assert [_login_as(client, f"203.0.113.{i}", "wrong") for i in range(5)] == [401] * 5
        assert _login_as(client, "198.51.100.99", "correct horse") == 429


def test_forwarded_for_counts_from_a_trusted_proxy(make_config: Any) -> None:
    """With web.trusted_proxies: [127.0.0.1], the address the proxy forwards is the client's: it is the one
    locked out, and another address behind the same proxy can still log in."""
    config = make_config([], extra="web:\n  trusted_proxies: [127.0.0.1]\n")
    with digest_serve(config) as client:
        assert [_login_as(client, "203.0.113.7", "wrong") for _ in range(5)] == [401] * 5
        assert _login_as(client, "203.0.113.7", "correct horse") == 429
        assert _login_as(client, "198.51.100.2", "correct horse") == 303


def test_the_lockout_is_logged_with_the_client_address(app: Any, caplog: pytest.LogCaptureFixture) -> None:
    """When five wrong passwords lock a client out, the log says so once, with the client's address."""
    client, _ = app
    csrf = re.search(r'name="csrf" value="([^"]+)"', client.get("/admin/login").text)[1]  # type: ignore[index]
    with caplog.at_level(logging.WARNING, logger="digest"):
        for _ in range(4):
            client.post("/admin/login", data={"password": "wrong", "csrf": csrf})
        assert not [r for r in caplog.records if "locked out" in r.getMessage()]
        client.post("/admin/login", data={"password": "wrong", "csrf": csrf})
        client.post("/admin/login", data={"password": "wrong", "csrf": csrf})
    (record,) = [r for r in caplog.records if "locked out" in r.getMessage()]
    assert record.levelname == "WARNING"
    assert record.getMessage() == (
        "admin login: 5 wrong passwords from 127.0.0.1; that client is locked out for 15 minutes"
    )


def test_a_hash_pasted_in_double_quotes_is_reported(
    make_config: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A password hash that went through a shell in double quotes (every $ eaten) is named in the log at start and
    on the login page, instead of answering 'Wrong password.' to the right password for ever; with none set, the
    log says once that the admin is unavailable."""
    good = hash_password("correct horse")
    mangled = subprocess.run(
        ["bash", "-c", f'H="{good}"; printf %s "$H"'], capture_output=True, text=True, check=True
    ).stdout
    assert mangled != good
    monkeypatch.setenv("DIGEST_SECRET", SECRET)
    monkeypatch.setenv("DIGEST_ADMIN_PASSWORD_HASH", mangled)
    settings = load_settings(make_config([]), overrides={"public_url": "http://127.0.0.1"})
    with caplog.at_level(logging.WARNING, logger="digest"):
        application = create_app(settings, clock=lambda: NOW)
    assert "$DIGEST_ADMIN_PASSWORD_HASH cannot be used" in caplog.text and "single quotes" in caplog.text
    for live in serve_app(application):
        with live.client() as client:
            csrf = re.search(r'name="csrf" value="([^"]+)"', client.get("/admin/login").text)[1]  # type: ignore[index]
            r = client.post("/admin/login", data={"password": "correct horse", "csrf": csrf})
    assert r.status_code == 401 and "is not a hash" in r.text
    monkeypatch.setenv("DIGEST_ADMIN_PASSWORD_HASH", f"'{good}'")  # docker run --env-file keeps the quotes
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="digest"):
        create_app(settings, clock=lambda: NOW)
    assert "wrapped in quotes" in caplog.text
    monkeypatch.setenv("DIGEST_ADMIN_PASSWORD_HASH", good)
    caplog.clear()
    create_app(settings, clock=lambda: NOW)
    assert "cannot be used" not in caplog.text
    monkeypatch.delenv("DIGEST_ADMIN_PASSWORD_HASH")
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="digest"):
        create_app(settings, clock=lambda: NOW)
    said = [r.getMessage() for r in caplog.records]
    assert said == [
        "$DIGEST_ADMIN_PASSWORD_HASH is not set, so the admin (/admin) is unavailable; set it to the output of "
        "`digest hash-password`"
    ]


def test_after_todays_send_health_and_dashboard_show_tomorrow_in_the_schedules_zone(
    make_config: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Before noon /health and the dashboard name today's send; once today's send has gone (here an empty day)
    they name tomorrow's, and the dashboard gives every time in the schedule's zone, never UTC."""
    monkeypatch.setenv("DIGEST_ADMIN_PASSWORD_HASH", hash_password("correct horse"))
    monkeypatch.setenv("DIGEST_SECRET", SECRET)
    morning = datetime(2026, 7, 1, 8, 0, tzinfo=UTC)  # 09:00 BST
    config = make_config([], subscribers=["reader@example.org"])
    settings = load_settings(config, overrides={"public_url": "http://127.0.0.1"})
    application = create_app(settings, clock=lambda: morning, sender=OutboxSender(tmp_path / "outbox"))
    for live in serve_app(application):
        with live.client() as client:
            assert client.get("/health").json()["next_send"] == "2026-07-01T12:00:00+01:00"
            csrf = login(client)
            assert "Wednesday 1 July, 12:00 BST" in client.get("/admin").text
            client.post("/admin/send", data={"csrf": csrf, "mode": "continue", "confirmed": "yes"})
            deadline = time.monotonic() + 10
            while client.get("/health").json()["today"] != "empty":
                assert time.monotonic() < deadline, "the send did not finish"
                time.sleep(0.05)
            assert client.get("/health").json()["next_send"] == "2026-07-02T12:00:00+01:00"
            dashboard = client.get("/admin").text
            assert "Thursday 2 July, 12:00 BST" in dashboard
            assert "UTC" not in dashboard


def test_dashboard_counts_as_the_email_does_and_lists_what_was_left_out(
    web: WebServer, make_config: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The dashboard counts the waiting items as the email will (6 items from 7 feed items) and lists the feed
    item the filter left out, with the reason."""
    monkeypatch.setenv("DIGEST_ADMIN_PASSWORD_HASH", hash_password("correct horse"))
    monkeypatch.setenv("DIGEST_SECRET", SECRET)
    config = make_config(demo_feeds(web), subscribers=["reader@example.org"])
    assert run("poll", config=config).returncode == 0
    settings = load_settings(config, overrides={"public_url": "http://127.0.0.1"})
    application = create_app(settings, sender=OutboxSender(tmp_path / "outbox"))
    for live in serve_app(application):
        with live.client() as client:
            login(client)
            dashboard = client.get("/admin").text
    assert "Waiting for the next digest: 6 items (from 7 feed items about probation, grouped by publication)" in (
        dashboard
    )
    assert "Prison officer recruitment drive opens in the North West</a></td><td>HM Prison and Probation Service" in (
        dashboard
    )
    assert "hardly mentions probation" in dashboard


def test_the_dashboard_headline_counts_feeds_in_error_and_not_yet_read(
    web: WebServer, make_config: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """ "Healthy: polls and sends are working" stood alone while feeds failed or had never been read (the service
    is healthy while some feed answers): the headline now counts them, and an unread feed's row says so, not ok."""
    monkeypatch.setenv("DIGEST_ADMIN_PASSWORD_HASH", hash_password("correct horse"))
    monkeypatch.setenv("DIGEST_SECRET", SECRET)
    broken = {"name": "Gone away", "url": web.url("https://gone.example/feed/")}
    config = make_config([*demo_feeds(web), broken], subscribers=["reader@example.org"])
    settings = load_settings(config, overrides={"public_url": "http://127.0.0.1"})

    def headline() -> str:
        morning = NOW.replace(hour=9)  # before the send: nothing overdue
        for live in serve_app(create_app(settings, clock=lambda: morning, sender=OutboxSender(tmp_path / "outbox"))):
            with live.client() as client:
                login(client)
                page = client.get("/admin").text
        return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page))

    with Store(settings.database) as store:
        store.sync_feeds(settings.feeds)
    assert "5 feeds not yet read" in headline()
    run("poll", config=config)  # one feed fails, alone
    said = headline()
    assert "Healthy: polls and sends are working. 1 of 5 feeds has an error (below)." in said
    assert "not yet read" not in said


def test_destructive_admin_posts_need_the_confirmation_step(
    make_config: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Removing a subscriber or sending, posted without the confirmation page's second step, only shows that
    page (with what will happen): the list is unchanged and nothing is sent."""
    monkeypatch.setenv("DIGEST_ADMIN_PASSWORD_HASH", hash_password("correct horse"))
    monkeypatch.setenv("DIGEST_SECRET", SECRET)
    config = make_config([], subscribers=["reader@example.org", "other@example.org"])
    settings = load_settings(config, overrides={"public_url": "http://127.0.0.1", "send_empty": True})
    outbox = tmp_path / "outbox"
    morning = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
    for live in serve_app(create_app(settings, clock=lambda: morning, sender=OutboxSender(outbox))):
        with live.client() as client:
            csrf = login(client)
            r = client.post(
                "/admin/subscribers", data={"csrf": csrf, "action": "remove", "email": "reader@example.org"}
            )
            assert r.status_code == 200 and "Remove reader@example.org?" in r.text
            assert "reader@example.org" in settings.subscribers_file.read_text()
            r = client.post("/admin/send", data={"csrf": csrf, "mode": "continue"})
            assert "will go to 2 recipients now" in r.text
            time.sleep(0.5)
            assert client.get("/health").json()["today"] is None  # no run was started
            assert not list(outbox.rglob("*.eml"))


def test_the_delivery_log_pages_through_every_recipient(
    make_config: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """With more deliveries than a page holds, the log shows 50 and links to the rest, keeping the filter."""
    from datetime import date

    monkeypatch.setenv("DIGEST_ADMIN_PASSWORD_HASH", hash_password("correct horse"))
    monkeypatch.setenv("DIGEST_SECRET", SECRET)
    settings = load_settings(make_config([]), overrides={"public_url": "http://127.0.0.1"})
    now = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
    with Store(settings.database) as store:
        people = [(f"r{i:02d}@example.org", None, f"<{i}@x>") for i in range(60)]
        store.create_run(
            "probation-digest:2026-11-24",
            day=date(2026, 11, 24),
            now=now,
            subject="s",
            item_ids=[],
            html="h",
            text="t",
            recipients=people,
        )
    for live in serve_app(create_app(settings, clock=lambda: now, sender=OutboxSender(tmp_path / "o"))):
        with live.client() as client:
            login(client)
            first = client.get("/admin/log?status=pending").text
            assert "1–50 of 60 deliveries" in first and first.count("@example.org</a>") == 50
            older = re.search(r'<a href="([^"]+)">Older</a>', first)[1].replace("&amp;", "&")  # type: ignore[index]
            assert "status=pending" in older
            second = client.get(older).text
            assert "51–60 of 60 deliveries" in second and "Newer" in second and "Older" not in second
            assert "No deliveries match." in client.get("/admin/log?status=sent").text
            for past_the_end in ("3", "999", "99999999999999999999999"):  # the last page, not "2951–2950 of 60"
                last = client.get(f"/admin/log?status=pending&page={past_the_end}")
                assert last.status_code == 200 and "51–60 of 60 deliveries" in last.text


def test_an_item_number_too_large_for_the_database_is_no_such_item(app: Any) -> None:
    """The editor's item form with a number SQLite cannot hold says there is no such item (400), not a 500."""
    client, _ = app
    csrf = login(client)
    for item in ("99999999999999999999999", "-3", "x"):
        r = client.post("/admin/items", data={"csrf": csrf, "item": item, "choice": "leave-out", "confirm": "yes"})
        assert (r.status_code, "No such item." in r.text) == (400, True), item


@pytest.mark.skipif(sys.platform != "linux", reason="the edit waits on a Linux lease while the file is held")
def test_an_edit_waiting_for_the_list_file_does_not_hold_up_other_requests(app: Any) -> None:
    """Someone has the subscriber file open (a hand edit in progress, a `tail -f`): an admin's add waits for them,
    up to 0.2 s, before it can be sure no line of theirs is lost. It waits off the event loop, so /health and
    every other request are answered meanwhile."""
    import threading

    client, settings = app
    csrf = login(client)
    hold = "import sys, time; f = open(sys.argv[1]); print('open', flush=True); time.sleep(5)"
    holder = subprocess.Popen(
        [sys.executable, "-c", hold, str(settings.subscribers_file)], stdout=subprocess.PIPE, text=True
    )
    done: dict[str, float] = {}
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "open"

        def add() -> None:
            r = client.post("/admin/subscribers", data={"action": "add", "email": "new@example.org", "csrf": csrf})
            assert r.status_code == 200 and "Added new@example.org." in r.text
            done["add"] = time.monotonic()

        adding = threading.Thread(target=add)
        adding.start()
        time.sleep(0.05)
        with httpx.Client(base_url=str(client.base_url)) as other:
            assert other.get("/health").status_code in (200, 503)
        done["health"] = time.monotonic()
        adding.join(timeout=30)
    finally:
        holder.kill()
        holder.wait()
        assert holder.stdout is not None
        holder.stdout.close()
    assert done["health"] < done["add"]
    assert "new@example.org" in settings.subscribers_file.read_text()


def test_a_hand_edit_of_the_list_shows_on_the_next_page(app: Any) -> None:
    """The server keeps its copy of the subscriber list between pages, and a hand edit made meanwhile is on the
    next one: the admin's list, a subscriber's own page."""
    client, settings = app
    login(client)
    assert "added-by-hand@example.org" not in client.get("/admin/subscribers").text
    with settings.subscribers_file.open("a", encoding="utf-8") as f:
        f.write("  - added-by-hand@example.org\n")
    assert "added-by-hand@example.org" in client.get("/admin/subscribers").text
    page = client.get("/admin/subscriber", params={"email": "added-by-hand@example.org"})
    assert page.status_code == 200, page.text[:300]


def test_health_is_worked_out_again_when_anything_it_reports_changes(make_config: Any, tmp_path: Path) -> None:
    """/health may answer a second's requests from the first answer of that second, but a job's outcome, a change
    to the database by another connection, or the next second is seen at once."""
    from datetime import timedelta

    from digest.health import JobState
    from digest.service import Service

    settings = load_settings(make_config([], subscribers=["reader@example.org"]))
    now = [NOW]
    svc = Service(settings, clock=lambda: now[0], sender=OutboxSender(tmp_path / "outbox"))
    store = svc.reader()
    first, ok = svc.health(store, now[0])
    assert not ok and first["status"] == "overdue"
    assert svc.health(store, now[0]) == (first, ok)  # the same second, nothing changed
    svc.poll_state = JobState(finished=NOW, error="database is locked")
    body, _ = svc.health(store, now[0])
    assert "the last poll failed: database is locked" in body["problems"]
    with Store(settings.database) as other:
        daily.send_digest(settings, other, OutboxSender(tmp_path / "outbox"), clock=lambda: NOW)
    body, _ = svc.health(store, now[0])
    assert body["today"] == "empty" and body["status"] != "overdue"
    now[0] = NOW + timedelta(days=1, hours=2)  # tomorrow afternoon: tomorrow's digest is overdue in turn
    body, _ = svc.health(store, now[0])
    assert body["status"] == "overdue" and body["today"] is None


def test_a_broken_hand_edit_of_the_list_is_named_on_the_pages_and_in_health(app: Any) -> None:
    """A hand edit that leaves the subscriber list unreadable: the admin's pages say which file and line, /health
    and the dashboard say the next send would fail, a reader's page says to come back later (naming none of the
    server's files), an unsubscribe still works, and all is well again once the file is fixed."""
    client, settings = app
    login(client)
    path = settings.subscribers_file
    good = path.read_text(encoding="utf-8")
    prefs = daily.preferences_url(settings, "reader@example.org").replace(settings.public_url, "")
    path.write_text(good.replace("- email: reader@example.org", "- email reader@example.org", 1), encoding="utf-8")

    page = client.get("/admin/subscribers")
    assert page.status_code == 503, page.text[:300]
    assert f"{path.name}:3: subscribers[0].email" in page.text and "not a valid address" in page.text
    health = client.get("/health")
    assert health.status_code == 503
    assert any("subscriber list cannot be read" in p and path.name in p for p in health.json()["problems"])
    assert "subscriber list cannot be read" in client.get("/admin").text
    reader = client.get(prefs)
    assert reader.status_code == 503 and "try again later" in reader.text and str(path.parent) not in reader.text
    unsubscribe = daily.unsubscribe_url(settings, "reader@example.org").replace(settings.public_url, "")
    assert client.post(unsubscribe).status_code == 200
    with Store(settings.database) as store:
        assert "reader@example.org" in store.suppressions()

    path.write_text(good, encoding="utf-8")
    assert client.get("/admin/subscribers").status_code == 200
    assert not any("subscriber list" in p for p in client.get("/health").json()["problems"])

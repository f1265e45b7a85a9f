"""The bounce mailbox over IMAP, against a real dovecot on 127.0.0.1: a bounce appended to the mailbox is
processed by `digest bounces poll` (and the service's job), the subscriber is suppressed, the next digest skips
them, and every processed message is moved, unread, to the processed folder; nothing is deleted."""

from __future__ import annotations

import asyncio
import imaplib
from email.utils import make_msgid
from pathlib import Path
from typing import Any

import pytest

from digest.config import load_settings
from digest.service import Service
from digest.store import Store

from .conftest import DATA, Mailbox, WebServer, demo_feeds
from .dovecot import Imap, dovecot  # noqa: F401 - the fixture
from .test_bounce_policy import DOMAIN, _dsn, run

PASSWORD_ENV = "DIGEST_TEST_IMAP_PASSWORD"


def _imap_settings(server: Imap) -> str:
    return (
        f"bounces:\n  address: bounces@{DOMAIN}\n  imap:\n    host: 127.0.0.1\n    port: {server.port}\n"
        f"    tls: none\n    username: {server.user}\n    password_env: {PASSWORD_ENV}\n"
        f"    folder: INBOX\n    processed_folder: Processed\n"
    )


def _connect(server: Imap) -> imaplib.IMAP4:
    conn = imaplib.IMAP4("127.0.0.1", server.port)
    conn.login(server.user, server.password)
    return conn


def _append(server: Imap, *messages: bytes) -> None:
    conn = _connect(server)
    conn.create("INBOX")
    for raw in messages:
        typ, data = conn.append("INBOX", None, None, raw)
        assert typ == "OK", data
    conn.logout()


def _folder(server: Imap, name: str) -> list[tuple[bytes, bytes]]:
    """Each message in a folder: its flags and its Message-ID header line."""
    conn = _connect(server)
    typ, _ = conn.select(f'"{name}"', readonly=True)
    if typ != "OK":
        conn.logout()
        return []
    _typ, data = conn.uid("SEARCH", "ALL")
    out = []
    for uid in data[0].split():
        _typ, fetched = conn.uid("FETCH", uid.decode(), "(FLAGS BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])")
        out.append((fetched[0][0], fetched[0][1].strip()))
    conn.logout()
    return out


def _empty(server: Imap) -> None:
    """Start each test with an empty INBOX and Processed (the server lives for the session)."""
    conn = _connect(server)
    for name in ("INBOX", "Processed"):
        typ, data = conn.select(f'"{name}"')
        if typ == "OK" and int(data[0] or 0) > 0:
            conn.store("1:*", "+FLAGS.SILENT", r"(\Deleted)")
            conn.expunge()
    conn.logout()


@pytest.fixture
def list_with_mailbox(
    web: WebServer,
    smtp: tuple[Mailbox, int],
    make_config: Any,
    dovecot: Imap,  # noqa: F811 - the fixture
    monkeypatch: pytest.MonkeyPatch,
) -> tuple[Path, Mailbox, Imap]:
    """Today's digest sent through aiosmtpd to kim and lee, with a bounce mailbox on dovecot."""
    box, port = smtp
    _empty(dovecot)
    monkeypatch.setenv(PASSWORD_ENV, dovecot.password)
    subs = ["kim@example.org", "lee@example.org"]
    config = make_config(demo_feeds(web)[1:2], subscribers=subs, smtp_port=port, extra=_imap_settings(dovecot))
    assert run("poll", config=config).returncode == 0
    assert b"2 sent" in run("send", config=config).stdout
    return config, box, dovecot


def test_a_bounce_in_the_mailbox_suppresses_and_is_moved_unread(list_with_mailbox: Any) -> None:
    """A DSN to kim's return path and an out-of-office reply in the INBOX: `digest bounces poll` suppresses kim
    alone, moves both to Processed still unread, and the next digest goes to lee alone."""
    config, box, server = list_with_mailbox
    auto = (DATA / "bounces" / "out-of-office.eml").read_bytes()
    _append(server, _dsn(box.senders["kim@example.org"], "kim@example.org", message_id="<kim@mx.example>"), auto)
    r = run("bounces", "poll", config=config)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.decode().splitlines()
    assert lines[0].startswith("kim@example.org: hard bounce (5.1.1); suppressed: Status: 5.1.1")
    assert lines[1].endswith("not a bounce (auto-reply); nothing done")
    assert _folder(server, "INBOX") == []
    moved = _folder(server, "Processed")
    assert sorted(m for _, m in moved) == [b"", b"Message-ID: <kim@mx.example>"]  # the auto-reply has none
    assert all(b"\\Seen" not in flags for flags, _ in moved)  # moved, not marked read: a person can still look

    box.messages.clear()
    assert b"1 sent, 0 failed, 1 suppressed" in run("send", "--force", config=config).stdout
    assert box.recipients == ["lee@example.org"]
    listed = run("subscribers", "list", config=config).stdout.decode()
    assert any(ln.startswith("kim@example.org") and " bounced " in ln for ln in listed.splitlines())


def test_the_service_polls_the_mailbox(list_with_mailbox: Any) -> None:
    """The service's bounce job processes a complaint that arrived in the mailbox, like `bounces poll`."""
    config, _box, server = list_with_mailbox
    complaint = (DATA / "bounces" / "arf-yahoo-complaint.eml").read_bytes()
    _append(server, complaint.replace(b"annoyed.reader@yahoo.example", b"lee@example.org"))
    settings = load_settings(config)
    asyncio.run(Service(settings).bounce_poll_job())
    with Store(settings.database) as store:
        assert store.suppressions() == {"lee@example.org": "complained"}
    assert _folder(server, "INBOX") == [] and len(_folder(server, "Processed")) == 1


def test_a_refused_login_leaves_the_mail_where_it_is(list_with_mailbox: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """With the wrong password the poll exits 1 saying the login was refused, and the bounce stays unread."""
    config, box, server = list_with_mailbox
    _append(server, _dsn(box.senders["kim@example.org"], "kim@example.org", message_id=make_msgid()))
    monkeypatch.setenv(PASSWORD_ENV, "wrong")
    r = run("bounces", "poll", config=config)
    assert r.returncode == 1
    assert r.stderr.decode().startswith("error: IMAP 127.0.0.1: login refused for bounces")
    [(flags, _)] = _folder(server, "INBOX")
    assert b"\\Seen" not in flags


def test_health_says_when_the_bounce_mailbox_cannot_be_read(
    list_with_mailbox: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An operator sees on /health (and the dashboard) that bounces are going unread: after the service's bounce
    job is refused its login, the verdict is not ok and says why; the next poll that gets in clears it."""
    config, _box, server = list_with_mailbox
    _append(server, _dsn("bounces@" + DOMAIN, "kim@example.org", message_id=make_msgid()))
    settings = load_settings(config)
    svc = Service(settings)
    monkeypatch.setenv(PASSWORD_ENV, "wrong")
    asyncio.run(svc.bounce_poll_job())
    with Store(settings.database) as store:
        verdict = svc.verdict(store)
    assert not verdict.ok
    assert any(
        p.startswith("the bounce mailbox could not be read: IMAP 127.0.0.1: login refused") for p in verdict.problems
    )
    monkeypatch.setenv(PASSWORD_ENV, server.password)
    asyncio.run(svc.bounce_poll_job())
    with Store(settings.database) as store:
        assert not any("bounce mailbox" in p for p in svc.verdict(store).problems)

"""What the list does about mail that comes back: the policy over a real SQLite file, and `digest bounces process`
end to end (a bounce arrives for a subscriber, the next digest skips them, the editor sees why)."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from digest.bounce_policy import Processor
from digest.config import BounceSettings
from digest.store import Store
from digest.verp import ReturnPaths

from .conftest import DATA, SECRET, Mailbox, WebServer, demo_feeds

FIXTURES = DATA / "bounces"
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
DOMAIN = "probation-digest.example"


def _dsn(to: str, final_recipient: str, status: str = "5.1.1", message_id: str = "<n1@mx.example>") -> bytes:
    """A Postfix-shaped DSN delivered to `to` (the VERP return path) about `final_recipient`."""
    verb = "550" if status.startswith("5") else "452"
    return (
        f"Delivered-To: {to}\r\nFrom: MAILER-DAEMON@mx.example (Mail Delivery System)\r\nTo: {to}\r\n"
        f"Subject: Undelivered Mail Returned to Sender\r\nMessage-ID: {message_id}\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n\r\n'
        "--B\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n"
        "--B\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example\r\n\r\n"
        f"Final-Recipient: rfc822; {final_recipient}\r\nAction: failed\r\nStatus: {status}\r\n"
        f"Diagnostic-Code: smtp; {verb} {status} mailbox says no\r\n--B--\r\n"
    ).encode()


def _processor(store: Store, paths: ReturnPaths | None, subscribers: list[str], **settings: Any) -> Processor:
    return Processor(store, BounceSettings(**settings), paths, lambda: subscribers, source="test")


def test_a_hard_bounce_suppresses_at_once_with_its_evidence(tmp_path: Path) -> None:
    """A 5.1.1 for a subscriber suppresses them, recorded as bounced with the diagnostic line and the date."""
    with Store(tmp_path / "d.sqlite3") as store:
        out = _processor(store, None, ["gone.away@probation.example"]).process(
            (FIXTURES / "postfix-user-unknown.eml").read_bytes(), now=NOW
        )
        assert out.suppressed and out.email == "gone.away@probation.example"
        why = store.suppression_details()["gone.away@probation.example"]
        assert why.reason == "bounced" and "User unknown in virtual mailbox table" in why.detail
        assert why.created == NOW
        [recorded] = store.bounces()
        assert (recorded.kind, recorded.status, recorded.source) == ("hard", "5.1.1", "test")


def test_soft_bounces_suppress_after_the_limit_within_the_window(tmp_path: Path) -> None:
    """Three soft bounces within 14 days suppress; two, or three spread wider, do not; a lift starts the count
    again."""
    email = "full.box@probation.example"
    with Store(tmp_path / "d.sqlite3") as store:
        p = _processor(store, None, [email], soft_limit=3, soft_days=14)

        def soft(day: int) -> bool:
            data = _dsn("bounces@x.example", email, "4.2.2", message_id=f"<soft{day}@mx.example>")
            return p.process(data, now=NOW + timedelta(days=day)).suppressed

        assert not soft(0) and not soft(12)
        assert not soft(20)  # day 0 has left the window: two within 14 days
        assert soft(25)  # days 12, 20, 25
        assert "3 soft bounces in 14 days; last: Status: 4.2.2" in store.suppression_details()[email].detail
        assert store.unsuppress(email)
        assert not soft(26)  # the bounces before the lift no longer count


def test_the_same_notice_twice_counts_once(tmp_path: Path) -> None:
    """A notice delivered or processed twice (same Message-ID) is one soft bounce, not two."""
    email = "full.box@probation.example"
    with Store(tmp_path / "d.sqlite3") as store:
        p = _processor(store, None, [email], soft_limit=2)
        data = _dsn("bounces@x.example", email, "4.2.2")
        assert not p.process(data, now=NOW).suppressed
        assert "already recorded" in p.process(data, now=NOW).note
        assert store.soft_bounces(email, since=NOW - timedelta(days=1)) == 1


def test_a_complaint_suppresses_and_an_auto_reply_does_nothing(tmp_path: Path) -> None:
    """An ARF complaint suppresses the complainer; an out-of-office reply changes nothing."""
    with Store(tmp_path / "d.sqlite3") as store:
        p = _processor(store, None, ["annoyed.reader@yahoo.example", "pat.officer@probation.example"])
        assert p.process((FIXTURES / "arf-yahoo-complaint.eml").read_bytes(), now=NOW).suppressed
        assert not p.process((FIXTURES / "out-of-office.eml").read_bytes(), now=NOW).suppressed
        assert store.suppressions() == {"annoyed.reader@yahoo.example": "complained"}


def test_the_verp_token_names_the_subscriber_not_the_text(tmp_path: Path) -> None:
    """A bounce whose text names a forwarding address is still about the subscriber its token names."""
    paths = ReturnPaths(SECRET, f"bounces@{DOMAIN}")
    with Store(tmp_path / "d.sqlite3") as store:
        p = _processor(store, paths, ["kim@example.org", "lee@example.org"])
        out = p.process(_dsn(paths.bounce_address("kim@example.org"), "kim.forwarded@elsewhere.example"), now=NOW)
        assert out.email == "kim@example.org" and out.suppressed
        assert list(store.suppressions()) == ["kim@example.org"]


def test_a_bounce_for_an_address_the_list_does_not_know_is_ignored(tmp_path: Path) -> None:
    """Without a token, the named address is used only if it is on the list: a stranger is never suppressed."""
    with Store(tmp_path / "d.sqlite3") as store:
        out = _processor(store, None, ["kim@example.org"]).process(_dsn("x@y.example", "stranger@z.example"), now=NOW)
        assert not out.suppressed and "not an address on the list" in out.note
        assert store.suppressions() == {}


def test_a_forged_token_unsubscribes_nobody(tmp_path: Path) -> None:
    """A message to unsubscribe+<token made with another key> changes nothing."""
    ours = ReturnPaths(SECRET, f"bounces@{DOMAIN}")
    theirs = ReturnPaths("another key entirely, long enough to pass", f"bounces@{DOMAIN}")
    to = theirs.unsubscribe_mailto("kim@example.org").removeprefix("mailto:").partition("?")[0]
    with Store(tmp_path / "d.sqlite3") as store:
        p = _processor(store, ours, ["kim@example.org"])
        out = p.process(f"From: kim@example.org\r\nTo: {to}\r\nSubject: unsubscribe\r\n\r\n".encode(), now=NOW)
        assert not out.suppressed and store.suppressions() == {}


# ---- end to end, through the real commands


def run(*args: str, config: Path, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "DIGEST_SECRET": SECRET}
    cmd = [sys.executable, "-m", "digest.cli", "--config", str(config), *args]
    return subprocess.run(cmd, input=stdin, capture_output=True, timeout=300, env=env)


@pytest.fixture
def sent(web: WebServer, smtp: tuple[Mailbox, int], make_config: Any) -> tuple[Path, Mailbox]:
    """Today's digest sent through aiosmtpd to three subscribers, with VERP return paths."""
    box, port = smtp
    extra = f"editors: [editor@example.org]\nbounces:\n  address: bounces@{DOMAIN}\n"
    subs = ["kim@example.org", "lee@example.org", "max@example.org", "ned@example.org"]
    config = make_config(demo_feeds(web)[1:2], subscribers=subs, smtp_port=port, extra=extra)
    assert run("poll", config=config).returncode == 0
    r = run("send", config=config)
    assert r.returncode == 0 and b"4 sent" in r.stdout, r.stderr
    return config, box


def test_each_message_carries_its_own_return_path_and_mailto_unsubscribe(sent: tuple[Path, Mailbox]) -> None:
    """MAIL FROM is bounces+<token>@domain, and List-Unsubscribe offers unsubscribe+<token>@domain beside the
    https one-click link; the tokens differ per subscriber and per purpose."""
    _config, box = sent
    paths = ReturnPaths(SECRET, f"bounces@{DOMAIN}")
    assert box.senders["kim@example.org"] == paths.bounce_address("kim@example.org")
    assert box.senders["kim@example.org"] != box.senders["lee@example.org"]
    [kim] = box.to("kim@example.org")
    header = str(kim["List-Unsubscribe"])
    assert header.startswith("<https://digest.example.org/unsubscribe/")
    assert f"<{paths.unsubscribe_mailto('kim@example.org')}>" in header
    assert header.count("mailto:unsubscribe+") == 1 and str(kim["From"]).endswith(f"<digest@{DOMAIN}>")


def test_a_bounce_and_a_mailto_unsubscribe_through_bounces_process_stop_the_next_digest(
    sent: tuple[Path, Mailbox],
) -> None:
    """A DSN to kim's return path and a mail to lee's mailto: unsubscribe, piped to `digest bounces process -`,
    suppress them; the next digest goes to max alone, and `subscribers list` says why for each."""
    config, box = sent
    kim = _dsn(box.senders["kim@example.org"], "kim@example.org", message_id="<kim-dsn@mx.example>")
    r = run("bounces", "process", "-", config=config, stdin=kim)
    assert r.returncode == 0, r.stderr
    assert r.stdout.decode().strip() == (
        "kim@example.org: hard bounce (5.1.1); suppressed: Status: 5.1.1; Diagnostic-Code: smtp; 550 5.1.1 "
        "mailbox says no"
    )
    [lee] = box.to("lee@example.org")
    mailto = str(lee["List-Unsubscribe"]).split("<mailto:")[1].partition("?")[0]
    reply = f"From: lee@example.org\r\nTo: {mailto}\r\nSubject: unsubscribe\r\n\r\n".encode()
    r = run("bounces", "process", "-", config=config, stdin=reply)
    assert r.stdout.decode().strip() == "lee@example.org: unsubscribed (List-Unsubscribe mailto:)"

    box.messages.clear()
    box.unknown = {"ned@example.org"}  # and ned's server now refuses him during the send
    r = run("send", "--force", config=config)
    assert b"1 sent, 1 failed, 3 suppressed" in r.stdout, r.stdout
    assert [r for r in box.recipients if r != "editor@example.org"] == ["max@example.org"]
    [report] = box.to("editor@example.org")
    body = report.get_content()
    assert "Suppressed since the last report (bounces, complaints, unsubscribes):" in body
    assert "  kim@example.org: bounced: Status: 5.1.1; Diagnostic-Code: smtp; 550 5.1.1 mailbox says no" in body
    assert "  lee@example.org: unsubscribed\n" in body
    assert "  ned@example.org: bounced: 550 5.1.1 <ned@example.org>: Recipient address rejected" in body

    listed = run("subscribers", "list", config=config).stdout.decode()
    lines = {ln.split()[0]: ln for ln in listed.splitlines()}
    assert lines["kim@example.org"].split()[1] == "bounced"
    assert "Diagnostic-Code: smtp; 550 5.1.1 mailbox says no" in lines["kim@example.org"]
    assert lines["lee@example.org"].split()[1] == "unsubscribed"
    assert lines["max@example.org"].split()[1] == "active"
    with Store(config.parent / "digest.sqlite3") as store:  # ned's refusal is a bounce like the others
        assert [(b.email, b.kind, b.status, b.source) for b in store.bounces(q="ned")] == [
            ("ned@example.org", "hard", "5.1.1", "smtp")
        ]


def test_an_mbox_is_processed_message_by_message(sent: tuple[Path, Mailbox], tmp_path: Path) -> None:
    """An mbox file with a bounce and an auto-reply: one line each, only the bounce suppresses."""
    config, box = sent
    mbox = tmp_path / "bounces.mbox"
    auto = (FIXTURES / "out-of-office.eml").read_bytes().replace(b"\r\n", b"\n")
    dsn = _dsn(box.senders["lee@example.org"], "lee@example.org").replace(b"\r\n", b"\n")
    mbox.write_bytes(
        b"From MAILER-DAEMON Mon Nov 23 12:00:00 2026\n" + dsn + b"\nFrom pat Mon Nov 23 12:01:00 2026\n" + auto + b"\n"
    )
    r = run("bounces", "process", str(mbox), config=config)
    assert r.returncode == 0, r.stderr
    out = r.stdout.decode().splitlines()
    assert len(out) == 2 and out[0].startswith("lee@example.org: hard bounce (5.1.1); suppressed")
    assert "not a bounce (auto-reply); nothing done" in out[1]


@pytest.mark.parametrize(
    ("content", "error"),
    [
        (b"", "empty; expected an email message or an mbox"),
        (b"\x00\x01\x02 not mail at all", "not an email message (no headers)"),
    ],
)
def test_unreadable_input_is_a_clear_error(make_config: Any, content: bytes, error: str) -> None:
    """Input that is not mail exits 2 with one line naming it, and no traceback."""
    config = make_config([], subscribers=["kim@example.org"])
    r = run("bounces", "process", "-", config=config, stdin=content)
    assert r.returncode == 2 and r.stderr.decode() == f"error: stdin: {error}\n"
    r = run("bounces", "process", "/nonexistent/file.eml", config=config)
    assert r.returncode == 2 and "cannot read" in r.stderr.decode()

"""Delivery and the ledger against real SMTP servers that misbehave; crashes lose nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from pathlib import Path
from typing import Any

import pytest

from digest import daily
from digest.config import load_settings
from digest.deliver import SmtpSender
from digest.errors import LockedError
from digest.store import Store

from .conftest import Mailbox, WebServer, demo_feeds
from .test_pipeline import NOON, clock, poll_all


def send(config: Path, **kw: Any) -> daily.SendOutcome:
    settings = load_settings(config)
    assert settings.smtp is not None
    with Store(settings.database) as store:
        return daily.send_digest(settings, store, SmtpSender(settings.smtp, backoff=0.01), clock=clock, **kw)


def ledger(config: Path, when: datetime = NOON) -> dict[str, str]:
    settings = load_settings(config)
    with Store(settings.database) as store:
        day = daily.digest_day(settings, when)
        return {d.email: d.state for d in store.deliveries(daily.run_key(settings, day))}


@pytest.fixture
def ready(web: WebServer, smtp: tuple[Mailbox, int], make_config: Any):  # type: ignore[no-untyped-def]
    """A polled database and a config pointing at the SMTP server, for a list of subscribers."""

    def make(subs: list[str]) -> Path:
        config: Path = make_config(demo_feeds(web)[1:2], subscribers=subs, smtp_port=smtp[1])
        poll_all(config)
        return config

    return make


def test_greylisting_451_is_retried_and_delivered(ready: Any, smtp: tuple[Mailbox, int]) -> None:
    """A 4xx reply is temporary: the message is retried with backoff and delivered once."""
    box, _ = smtp
    box.temp_fail_once = {"grey@example.org"}
    config = ready(["ok@example.org", "grey@example.org"])
    outcome = send(config)
    assert outcome.report is not None and outcome.report.sent == 2
    assert Counter(box.recipients) == {"ok@example.org": 1, "grey@example.org": 1}
    assert box.attempts["grey@example.org"] == 2
    assert ledger(config) == {"ok@example.org": "sent", "grey@example.org": "sent"}


def test_unknown_user_fails_and_is_suppressed(ready: Any, smtp: tuple[Mailbox, int]) -> None:
    """550 5.1.1 is final: recorded as failed with the reply, and the address is never sent to again."""
    box, _ = smtp
    box.unknown = {"gone@example.org"}
    config = ready(["ok@example.org", "gone@example.org"])
    outcome = send(config)
    assert outcome.report is not None
    assert outcome.report.failed == [
        ("gone@example.org", "550 5.1.1 <gone@example.org>: Recipient address rejected: User unknown")
    ]
    assert outcome.report.suppressed == ["gone@example.org"]
    assert box.attempts["gone@example.org"] == 1  # no retry of a permanent failure
    settings = load_settings(config)
    with Store(settings.database) as store:
        assert store.suppressions() == {"gone@example.org": "bounced"}
    # --resend-failed retries only the failed; a suppressed address is skipped even then.
    retry = send(config, resend_failed=True)
    assert retry.report is None and "already sent today to 1 subscriber;" in retry.message
    assert ledger(config)["gone@example.org"] == "suppressed"
    assert box.recipients == ["ok@example.org"]


def test_connection_dropped_during_data_is_retried(ready: Any, smtp: tuple[Mailbox, int]) -> None:
    """A server that hangs up in the middle of DATA: reconnect, send again, record it once."""
    box, _ = smtp
    box.drop_during_data_once = {"drop@example.org"}
    config = ready(["drop@example.org", "ok@example.org"])
    outcome = send(config)
    assert outcome.report is not None and outcome.report.sent == 2
    assert Counter(box.recipients) == {"drop@example.org": 1, "ok@example.org": 1}


def test_slow_server_still_delivers_everyone(ready: Any, smtp: tuple[Mailbox, int]) -> None:
    """A slow server (0.2 s a message) holds things up but loses nothing."""
    box, _ = smtp
    box.delay = 0.2
    subs = [f"s{i}@example.org" for i in range(6)]
    config = ready(subs)
    outcome = send(config)
    assert outcome.report is not None and outcome.report.sent == 6
    assert sorted(box.recipients) == sorted(subs)


def test_force_starts_a_new_run_for_a_day_already_sent(ready: Any, smtp: tuple[Mailbox, int]) -> None:
    """A day already sent is sent again only with --force, and then to everyone, under new Message-IDs: a server
    that has seen a Message-ID drops a message that repeats it, so the second email would silently not arrive."""
    box, _ = smtp
    config = ready(["a@example.org"])
    send(config)
    assert "already sent" in send(config).message
    forced = send(config, force=True)
    assert forced.report is not None and forced.report.sent == 1
    assert box.recipients == ["a@example.org", "a@example.org"]
    first, again = (message_from_bytes(data)["Message-ID"] for _, data in box.messages)
    assert first and again and first != again


def test_a_second_sender_is_locked_out_and_a_dead_ones_lock_is_recovered(tmp_path: Path) -> None:
    """Two senders cannot run at once; a lock left by a dead process is taken over."""
    with Store(tmp_path / "d.sqlite3") as store:
        store.acquire_lock("send", now=NOON)
        with Store(tmp_path / "d.sqlite3") as other:
            # Same process id: pretend the holder is another live process on this host.
            other.db.execute("UPDATE locks SET owner='otherhost:1', host='otherhost'")
            with pytest.raises(LockedError):
                other.acquire_lock("send", now=NOON)
            # A lease that ran out is recovered.
            other.acquire_lock("send", now=NOON + timedelta(minutes=11))
            # A holder on this host whose process is gone is recovered at once.
            dead = subprocess.Popen([sys.executable, "-c", "pass"])
            dead.wait()
            other.db.execute(
                "UPDATE locks SET owner=?, pid=?, host=?, expires=?",
                (
                    f"here:{dead.pid}",
                    dead.pid,
                    __import__("socket").gethostname(),
                    (NOON + timedelta(hours=1)).isoformat(),
                ),
            )
            other.acquire_lock("send", now=NOON)


def test_sigkill_mid_send_loses_nothing(ready: Any, smtp: tuple[Mailbox, int], tmp_path: Path) -> None:
    """Killed with SIGKILL part-way through 500 recipients, a second run completes the rest; at most one
    duplicate, however many connections (the documented window)."""
    box, _ = smtp
    box.delay = 0.003
    subs = [f"user{i:03d}@example.org" for i in range(500)]
    config = ready(subs)
    env = {**os.environ, "DIGEST_CONFIG": str(config)}
    cmd = [sys.executable, "-m", "digest.cli", "send"]
    first = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while len(box.messages) < 120 and time.monotonic() < deadline and first.poll() is None:
        time.sleep(0.01)
    first.send_signal(signal.SIGKILL)
    first.wait()
    got_before = len(box.messages)
    assert 0 < got_before < 500, "the kill should land mid-run"
    today = datetime.now(UTC)  # the subprocesses use the real clock
    states = Counter(ledger(config, today).values())
    assert states["sent"] + states["sending"] + states["pending"] == 500
    second = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert second.returncode == 0, second.stderr
    counts = Counter(box.recipients)
    assert set(counts) == set(subs)
    duplicates = sum(n - 1 for n in counts.values())
    assert duplicates <= 1  # the pool's 2 connections take turns from the end of DATA to the ledger's write
    assert Counter(ledger(config, today).values()) == {"sent": 500}


def test_editors_get_a_delivery_report(web: WebServer, smtp: tuple[Mailbox, int], make_config: Any) -> None:
    """After a run the editors get a short report: sent, failed with the reason, feeds with errors."""
    from digest.cli import main

    box, port = smtp
    box.unknown = {"gone@example.org"}
    config = make_config(
        demo_feeds(web)[1:2],
        subscribers=["ok@example.org", "gone@example.org"],
        smtp_port=port,
        extra="editors: [editor@example.org]\n",
    )
    poll_all(config)
    with pytest.raises(SystemExit) as exit_:
        main(["--config", str(config), "send"])
    assert exit_.value.code == 1  # a delivery failed
    report = box.to("editor@example.org")[0]
    assert report["Subject"] == "Probation Digest delivery report: 1 sent, 1 failed"
    body = report.get_content()
    assert "gone@example.org: 550 5.1.1" in body


@pytest.mark.parametrize("mode", ["starttls", "tls"])
def test_tls_modes_deliver_and_verify_the_certificate(mode: str, tmp_path: Path) -> None:
    """STARTTLS and implicit TLS both deliver; a server whose certificate is not trusted is refused."""
    import ssl

    from aiosmtpd.controller import Controller

    from digest.config import SmtpSettings
    from digest.errors import DeliveryError
    from digest.models import Message

    from .conftest import DATA, _Handler, free_port

    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(DATA / "smtp-test.crt", DATA / "smtp-test.key")
    box = Mailbox()
    port = free_port()
    kwargs: dict[str, Any] = (
        {"ssl_context": server_ctx} if mode == "tls" else {"tls_context": server_ctx, "require_starttls": True}
    )
    controller = Controller(_Handler(box), hostname="127.0.0.1", port=port, **kwargs)
    controller.start()
    try:
        message = Message(
            to="a@example.org", sender="digest@example.org", message_id="<1@x>", data=b"Subject: hi\r\n\r\nhello\r\n"
        )
        trusted = SmtpSender(SmtpSettings(host="127.0.0.1", port=port, tls=mode, ca_file=DATA / "smtp-test.crt"))
        assert trusted.send(message).startswith("250")
        trusted.close()
        assert box.recipients == ["a@example.org"]
        untrusted = SmtpSender(SmtpSettings(host="127.0.0.1", port=port, tls=mode))
        with pytest.raises(DeliveryError, match="certificate is not trusted") as err:
            untrusted.send(message)
        assert err.value.transport and err.value.permanent  # no retries: they cannot help
        untrusted.close()
    finally:
        controller.stop()


def test_an_unreachable_server_stops_the_run_and_leaves_everyone_pending(
    ready: Any, smtp: tuple[Mailbox, int], tmp_path: Path
) -> None:
    """With the server down nobody is marked failed: the run stops and the next one sends to everyone."""
    from .conftest import free_port

    box, port = smtp
    config = ready(["a@example.org", "b@example.org", "c@example.org"])
    closed = free_port()
    config.write_text(config.read_text().replace(f"port: {port}", f"port: {closed}"))
    down = send(config)
    assert down.report is not None and down.report.aborted is not None
    assert "cannot connect to 127.0.0.1" in down.report.aborted
    assert down.report.failed == []
    assert set(ledger(config).values()) == {"pending"}
    config.write_text(config.read_text().replace(f"port: {closed}", f"port: {port}"))
    up = send(config)
    assert up.report is not None and up.report.sent == 3
    assert sorted(box.recipients) == ["a@example.org", "b@example.org", "c@example.org"]


def test_login_with_the_password_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """SMTP AUTH uses the password from the named environment variable; a wrong one is refused outright."""
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult, LoginPassword

    from digest.config import SmtpSettings
    from digest.errors import DeliveryError
    from digest.models import Message

    from .conftest import _Handler, free_port

    def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == (b"digest", b"s3cret")
        return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd sends the 535 itself

    box = Mailbox()
    port = free_port()
    controller = Controller(
        _Handler(box), hostname="127.0.0.1", port=port, authenticator=authenticator, auth_require_tls=False
    )
    controller.start()
    try:
        settings = SmtpSettings(
            host="127.0.0.1", port=port, tls="none", username="digest", password_env="PW", timeout=5
        )
        message = Message(
            to="a@example.org", sender="digest@example.org", message_id="<1@x>", data=b"Subject: hi\r\n\r\nhello\r\n"
        )
        monkeypatch.setenv("PW", "s3cret")
        sender = SmtpSender(settings)
        assert sender.send(message).startswith("250")
        sender.close()
        monkeypatch.setenv("PW", "wrong")
        sender = SmtpSender(settings)
        with pytest.raises(DeliveryError, match="SMTP login refused: 535") as err:
            sender.send(message)
        assert err.value.transport
        sender.close()
        assert box.recipients == ["a@example.org"]
    finally:
        controller.stop()


def test_a_long_send_keeps_renewing_its_lock(tmp_path: Path) -> None:
    """While a run sends, the lock's lease is renewed, so a slow list never lets a second sender in."""
    from datetime import date

    from digest.deliver import OutboxSender
    from digest.ledger import send_run
    from digest.models import Message

    times = iter(NOON + timedelta(minutes=m) for m in range(100))

    def ticking() -> datetime:
        return next(times)

    with Store(tmp_path / "d.sqlite3") as store:
        owner = store.acquire_lock("send", now=NOON)
        store.create_run(
            "k",
            day=date(2026, 11, 24),
            now=NOON,
            subject="s",
            item_ids=[1],
            html="",
            text="",
            recipients=[(f"r{i}@example.org", None, f"<{i}@x>") for i in range(3)],
        )

        def build(d: Any, name: str | None) -> Message:
            return Message(to=d.email, sender="s@example.org", message_id=d.message_id, data=b"Subject: x\r\n\r\nx\r\n")

        beats: list[datetime] = []

        def heartbeat() -> None:
            now = ticking()
            beats.append(now)
            store.renew_lock("send", owner, now=now)

        report = send_run(
            store, "k", build, OutboxSender(tmp_path / "out"), clock=ticking, heartbeat=heartbeat, heartbeat_every=0
        )
        assert report.sent == 3 and len(beats) == 3
        expires = store.db.execute("SELECT expires FROM locks WHERE name='send'").fetchone()[0]
        assert datetime.fromisoformat(expires) == beats[-1] + timedelta(minutes=10)


def test_sigterm_stops_a_send_cleanly_with_no_duplicates(ready: Any, smtp: tuple[Mailbox, int]) -> None:
    """SIGTERM mid-send: the messages in flight finish and are recorded; the rerun sends the rest, once each."""
    box, _ = smtp
    box.delay = 0.02
    subs = [f"user{i:03d}@example.org" for i in range(120)]
    config = ready(subs)
    env = {**os.environ, "DIGEST_CONFIG": str(config)}
    cmd = [sys.executable, "-m", "digest.cli", "send"]
    first = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while len(box.messages) < 20 and time.monotonic() < deadline and first.poll() is None:
        time.sleep(0.01)
    first.send_signal(signal.SIGTERM)
    out, err = first.communicate(timeout=60)
    assert first.returncode == 1, err
    assert "stopping after the messages in flight" in err and "stopped early" in out
    today = datetime.now(UTC)
    states = Counter(ledger(config, today).values())
    assert set(states) <= {"sent", "pending"} and states["sent"] == len(box.messages) < 120
    rerun = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert rerun.returncode == 0, rerun.stderr
    assert Counter(box.recipients) == dict.fromkeys(subs, 1)


def attempts(config: Path, when: datetime) -> dict[str, int]:
    settings = load_settings(config)
    with Store(settings.database) as store:
        key = daily.run_key(settings, daily.digest_day(settings, when))
        return {d.email: d.attempts for d in store.deliveries(key)}


def test_the_ledger_counts_every_attempt(ready: Any, smtp: tuple[Mailbox, int]) -> None:
    """Two 451 replies and then success: `digest send` records 3 attempts in the ledger, as the server saw."""
    from .test_cli import run

    box, _ = smtp
    box.temp_fail = {"grey@example.org": 2}
    config = ready(["grey@example.org", "ok@example.org"])
    r = run("send", config=config)
    assert r.returncode == 0, r.stderr
    assert box.attempts == {"grey@example.org": 3, "ok@example.org": 1}
    assert attempts(config, datetime.now(UTC)) == {"grey@example.org": 3, "ok@example.org": 1}


def test_no_answer_after_data_is_left_for_the_next_send(ready: Any, smtp: tuple[Mailbox, int]) -> None:
    """A server that takes a message and never answers leaves that delivery pending, not failed: the next plain
    `digest send` delivers it, with no --resend-failed."""
    from .test_cli import run

    box, _ = smtp
    box.hang_after_data_once = {"hang@example.org"}
    config = ready(["hang@example.org", "ok@example.org"])
    settings = config.read_text().replace("    retries: 2\n", "    retries: 0\n    timeout: 1\n")
    config.write_text(settings + "editors: [editor@example.org]\n")
    first = run("send", config=config)
    assert first.returncode == 1
    assert ": 1 sent, 0 failed, 0 suppressed, 1 left pending after a temporary error" in first.stdout
    assert "  pending hang@example.org: connection lost: " in first.stderr
    report = box.to("editor@example.org")[0]
    assert report["Subject"] == "Probation Digest delivery report: 1 sent, 0 failed, 1 still pending"
    body = report.get_content()
    assert "\nPending: 1\n" in body
    assert "Left pending (the next `digest send` tries again):\n  hang@example.org: connection lost: " in body
    assert "timed out (1 attempt)\n" in body
    today = datetime.now(UTC)
    assert ledger(config, today) == {"hang@example.org": "pending", "ok@example.org": "sent"}
    second = run("send", config=config)
    assert second.returncode == 0, second.stderr
    assert ": 1 sent, 0 failed, 0 suppressed" in second.stdout
    assert ledger(config, today) == {"hang@example.org": "sent", "ok@example.org": "sent"}
    assert Counter(box.recipients) == {"hang@example.org": 1, "ok@example.org": 1, "editor@example.org": 2}
    assert attempts(config, today) == {"hang@example.org": 2, "ok@example.org": 1}


def test_a_bounce_during_the_send_is_counted_as_suppressed(ready: Any, smtp: tuple[Mailbox, int]) -> None:
    """A 550 5.1.1 during the send suppresses the address, and `digest send`'s summary and the editors' report
    count it as suppressed."""
    from .test_cli import run

    box, _ = smtp
    box.unknown = {"gone@example.org"}
    config = ready(["ok@example.org", "gone@example.org"])
    config.write_text(config.read_text() + "editors: [editor@example.org]\n")
    r = run("send", config=config)
    assert r.returncode == 1
    assert ": 1 sent, 1 failed, 1 suppressed" in r.stdout
    body = box.to("editor@example.org")[0].get_content()
    assert "\nSent: 1\nFailed: 1\nSuppressed: 1\n" in body
    assert "  gone@example.org: 550 5.1.1 <gone@example.org>: Recipient address rejected: User unknown" in body


def test_a_send_stopped_by_sigterm_says_so(ready: Any, smtp: tuple[Mailbox, int]) -> None:
    """SIGTERM mid-send: `digest send` and the editors' report say the run stopped early because of SIGTERM
    and how many are still pending."""
    box, _ = smtp
    box.delay = 0.02
    config = ready([f"user{i:03d}@example.org" for i in range(120)])
    config.write_text(config.read_text() + "editors: [editor@example.org]\n")
    cmd = [sys.executable, "-m", "digest.cli", "--config", str(config), "send"]
    first = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while len(box.messages) < 20 and time.monotonic() < deadline and first.poll() is None:
        time.sleep(0.01)
    first.send_signal(signal.SIGTERM)
    out, err = first.communicate(timeout=60)
    assert first.returncode == 1, err
    pending = Counter(ledger(config, datetime.now(UTC)).values())["pending"]
    assert 0 < pending < 100
    assert f"; stopped early (SIGTERM received) with {pending} still pending; run again to continue" in out
    report = box.to("editor@example.org")[0]
    assert report["Subject"].endswith(f", {pending} still pending")
    assert "\nStopped early: SIGTERM received. Run `digest send` again to send the rest.\n" in report.get_content()


def test_a_send_stopped_by_a_refused_login_says_so(
    ready: Any, smtp: tuple[Mailbox, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The SMTP server refuses the login: `digest send` and the editors' report (sent once the login works
    again) say the run stopped because the login was refused, with everyone still pending."""
    from .test_cli import run

    box, _ = smtp
    box.refuse_logins = 1
    monkeypatch.setenv("DIGEST_SMTP_PASSWORD", "s3cret")
    config = ready(["a@example.org"])
    settings = config.read_text().replace("    retries: 2\n", "    retries: 2\n    username: digest\n")
    config.write_text(settings + "editors: [editor@example.org]\n")
    r = run("send", config=config)
    assert r.returncode == 1
    assert ": 0 sent, 0 failed, 0 suppressed; STOPPED with 1 still pending: SMTP login refused: 535 " in r.stdout
    body = box.to("editor@example.org")[0].get_content()
    assert "\nStopped: SMTP login refused: 535 5.7.8 Authentication credentials invalid.\n" in body
    assert ledger(config, datetime.now(UTC)) == {"a@example.org": "pending"}


def test_dot_quoting_gives_the_bytes_smtplib_would() -> None:
    """A line that opens with a dot must reach the reader with it: the sender doubles it as smtplib's own
    data() does, for every mix of dots and line endings (a difference would cut or garble an email)."""
    import itertools
    import smtplib

    from digest.deliver import _dot_quoted

    for n in range(9):
        for chars in itertools.product(b".\r\na", repeat=n):
            data = bytes(chars)
            assert _dot_quoted(data) == smtplib._quote_periods(data), data  # type: ignore[attr-defined]


def test_an_acceptance_only_the_journal_holds_is_settled_not_sent_again(ready: Any, smtp: tuple[Mailbox, int]) -> None:
    """A send killed after the server's 250 was written to the acceptance journal but before the ledger's row
    leaves that row `sending`: the next `digest send` settles it from the journal (the reader is not sent the
    digest twice), sends the rest, and removes the journal. A last line cut short by the kill is no acceptance."""
    from digest import acceptances

    from .test_cli import run

    box, _ = smtp
    box.temp_fail = {"settled@example.org": 99, "cut@example.org": 99}
    config = ready(["ok@example.org", "settled@example.org", "cut@example.org"])
    config.write_text(config.read_text().replace("    retries: 2\n", "    retries: 0\n"))
    first = run("send", config=config)
    assert first.returncode == 1, first.stderr
    today = datetime.now(UTC)
    assert ledger(config, today) == {
        "ok@example.org": "sent",
        "settled@example.org": "pending",
        "cut@example.org": "pending",
    }
    settings = load_settings(config)
    key = daily.run_key(settings, daily.digest_day(settings, today))
    journal = acceptances.journal_path(settings.database)
    assert journal is not None and acceptances.journal_files(settings.database) == []  # a finished send leaves none
    journal.write_text(
        f"{key}\tsettled@example.org\t250 2.0.0 Ok: queued as 7\n{key}\tcut@example.org\t250 2.0", encoding="utf-8"
    )
    box.temp_fail = {}
    second = run("send", config=config)
    assert second.returncode == 0, second.stderr
    assert Counter(box.recipients) == {"ok@example.org": 1, "cut@example.org": 1}
    assert ledger(config, today) == {"ok@example.org": "sent", "settled@example.org": "sent", "cut@example.org": "sent"}
    with Store(settings.database) as store:
        settled = next(d for d in store.deliveries(key) if d.email == "settled@example.org")
    assert settled.reply == "250 2.0.0 Ok: queued as 7"
    assert acceptances.journal_files(settings.database) == []


def test_a_journal_that_cannot_be_written_stops_the_send_without_a_duplicate(
    ready: Any, smtp: tuple[Mailbox, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Found in review: a failed journal write (a full disk) looked like a dropped connection, so the accepted
    message was sent again, up to four times. Now the row is written to the ledger inside the turn, the send
    stops saying why, and the next send delivers the rest: every reader gets one copy. (The disk is filled by
    making the journal's write fail: the one patch of our own code here, as a full disk cannot be arranged.)"""
    import errno

    from digest import acceptances

    box, _ = smtp
    subs = [f"reader{i}@example.org" for i in range(6)]
    config = ready(subs)

    def full(self: acceptances.Journal, key: str, email: str, reply: str) -> None:
        self.broken = True
        raise OSError(errno.ENOSPC, "No space left on device")

    with monkeypatch.context() as m:
        m.setattr(acceptances.Journal, "record", full)
        first = send(config)
    assert first.report is not None and first.report.aborted is not None
    assert "cannot write the acceptance journal" in first.report.aborted and "No space left" in first.report.aborted
    assert 1 <= len(box.recipients) < len(subs)
    assert Counter(box.recipients).most_common(1)[0][1] == 1  # nothing sent twice
    assert Counter(ledger(config).values())["sent"] == len(box.recipients)
    second = send(config)
    assert second.report is not None and second.report.aborted is None
    assert Counter(box.recipients) == dict.fromkeys(subs, 1)
    assert Counter(ledger(config).values()) == {"sent": len(subs)}

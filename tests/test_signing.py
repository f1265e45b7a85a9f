"""DKIM: every message that leaves through a sender is signed, verifies against the record `digest dkim-record`
prints, and stops verifying once altered; a bad key is refused when the settings are read."""

from __future__ import annotations

import base64
import re
import shutil
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import dkim
import pytest

from digest import messages
from digest.config import load_settings
from digest.deliver import make_sender
from digest.errors import ConfigError

from .conftest import Mailbox, WebServer, demo_feeds
from .test_cli import run
from .test_pipeline import poll_all

KEYS = Path(__file__).resolve().parent / "data" / "dkim"  # test-only keys, made with `openssl genrsa`
DKIM = "dkim:\n  selector: digest2026\n  key_file: dkim.key\n"
NAME = "digest2026._domainkey.probation-digest.example"


def record(config: Path) -> str:
    """The TXT value `digest dkim-record` prints for the settings' key."""
    r = run("dkim-record", config=config)
    assert r.returncode == 0, r.stderr
    assert f"name:  {NAME}" in r.stdout
    value = re.search(r"^value: (.*)$", r.stdout, re.M)
    assert value is not None, r.stdout
    return value.group(1)


def dns(value: str) -> Callable[..., bytes | None]:
    """A resolver that knows only the published record (dkimpy asks for the name with a trailing dot)."""

    def lookup(name: bytes, timeout: int = 5) -> bytes | None:
        return value.encode() if name.decode().rstrip(".") == NAME else None

    return lookup


def configured(make_config: Any, web: WebServer, port: int, extra: str = "") -> Path:
    config: Path = make_config(
        demo_feeds(web)[1:2], subscribers=["ann@example.org", "bob@example.org"], smtp_port=port, extra=DKIM + extra
    )
    shutil.copy(KEYS / "test.key", config.parent / "dkim.key")
    return config


def test_the_digest_and_the_editors_report_verify_against_the_published_record(
    web: WebServer, smtp: tuple[Mailbox, int], make_config: Any
) -> None:
    """`digest send` through a real SMTP server: each subscriber's digest and the editors' report arrive with a
    relaxed/relaxed DKIM signature over the headers that matter, which verifies against `digest dkim-record`."""
    box, port = smtp
    config = configured(make_config, web, port, "editors: [editor@example.org]\n")
    poll_all(config)
    r = run("send", config=config)
    assert r.returncode == 0, r.stderr
    assert sorted(box.recipients) == ["ann@example.org", "bob@example.org", "editor@example.org"]
    lookup = dns(record(config))
    for rcpt, data in box.messages:
        assert dkim.verify(data, dnsfunc=lookup), rcpt
    head = box.to("ann@example.org")[0]["DKIM-Signature"]
    tags = dict(t.strip().split("=", 1) for t in re.sub(r"\s+", " ", head).split(";") if t.strip())
    assert tags["c"] == "relaxed/relaxed" and tags["d"] == "probation-digest.example" and tags["s"] == "digest2026"
    signed = set(tags["h"].replace(" ", "").split(":"))
    assert {"from", "to", "subject", "date", "message-id", "list-unsubscribe", "list-unsubscribe-post"} <= signed
    assert {"mime-version", "content-type"} <= signed


def test_a_message_altered_after_signing_fails_verification(
    web: WebServer, smtp: tuple[Mailbox, int], make_config: Any
) -> None:
    """A changed word in the body, a changed subject or an unsubscribe link swapped for another all break the
    signature, as a receiver would see."""
    box, port = smtp
    config = configured(make_config, web, port)
    poll_all(config)
    assert run("send", config=config).returncode == 0
    lookup = dns(record(config))
    data = dict(box.messages)["ann@example.org"]
    assert dkim.verify(data, dnsfunc=lookup)
    body = data.index(b"\r\n\r\n")
    assert b"Probation" in data[body:]
    altered = [
        data[:body] + data[body:].replace(b"Probation", b"Probatien", 1),
        re.sub(rb"(?m)^Subject: ", b"Subject: Re: ", data, count=1),
        data.replace(b"/unsubscribe/", b"/unsubscribe-elsewhere/", 1),
    ]
    for i, bad in enumerate(altered):
        assert bad != data
        assert not dkim.verify(bad, dnsfunc=lookup), i
    other = base64.b64encode(b"\x00" * 300).decode()  # a record for some other key
    assert not dkim.verify(data, dnsfunc=dns(f"v=DKIM1; k=rsa; p={other}"))


def test_the_confirmation_email_is_signed_through_smtp_and_the_outbox(
    web: WebServer, smtp: tuple[Mailbox, int], make_config: Any, tmp_path: Path
) -> None:
    """The plain-text emails (the subscription confirmation) are signed too, whichever sender the settings pick."""
    box, port = smtp
    config = configured(make_config, web, port)
    lookup = dns(record(config))
    settings = load_settings(config)
    when = datetime(2026, 11, 24, 12, tzinfo=UTC)
    email = messages.confirmation(settings, "new@example.org", "https://x/c/1", date=when, message_id="<c1@x>")
    sender = make_sender(settings)
    try:
        sender.send(email)
    finally:
        sender.close()
    assert dkim.verify(dict(box.messages)["new@example.org"], dnsfunc=lookup)

    outbox = make_config(demo_feeds(web)[1:2], extra=DKIM)  # no smtp: the outbox folder
    sender = make_sender(load_settings(outbox))
    reply = sender.send(email)
    written = Path(reply.removeprefix("250 written to ")).read_bytes()
    assert written.startswith(b"DKIM-Signature: ") and dkim.verify(written, dnsfunc=lookup)


def test_dkim_record_prints_the_public_half_of_the_key() -> None:
    """The record's p= is the key's public half exactly as `openssl rsa -pubout` gives it."""
    from digest.config import DkimSettings
    from digest.signing import dns_record, zone_line

    key = DkimSettings(
        domain="example.org", selector="s1", key_file=KEYS / "test.key", key=(KEYS / "test.key").read_bytes()
    )
    name, value = dns_record(key)
    pem = (KEYS / "test.pub").read_text()
    assert name == "s1._domainkey.example.org"
    assert value == "v=DKIM1; k=rsa; p=" + "".join(line for line in pem.splitlines() if "-----" not in line)
    line = zone_line(name, value)
    parts = re.findall(r'"([^"]*)"', line)
    assert line.startswith("s1._domainkey.example.org. IN TXT (") and "".join(parts) == value
    assert all(len(p) <= 255 for p in parts) and len(parts) == 2


@pytest.mark.parametrize(
    ("key", "says"),
    [
        (None, "dkim.key not found; make one with `openssl genrsa"),
        ("folder", "cannot read"),
        ("test.pub", "is not an RSA private key in PEM form"),
        ("garbage", "is not an RSA private key in PEM form"),
        ("short.key", "is a 512-bit key; receivers ignore DKIM keys under 1024 bits"),
    ],
)
def test_a_missing_or_unusable_key_is_refused_naming_the_setting(tmp_path: Path, key: str | None, says: str) -> None:
    """A key file that is missing, unreadable, not a private key or too short stops the settings from loading,
    with the file, the line and `dkim.key_file` in the message, before anything is sent unsigned."""
    config = tmp_path / "digest.yml"
    config.write_text("from_address: digest@example.org\n" + DKIM)
    target = tmp_path / "dkim.key"
    if key == "folder":
        target.mkdir()
    elif key == "garbage":
        target.write_bytes(b"-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n")
    elif key is not None:
        shutil.copy(KEYS / key, target)
    with pytest.raises(ConfigError) as caught:
        load_settings(config)
    assert caught.value.key == "dkim.key_file" and caught.value.line == 4
    assert says in str(caught.value) and str(config) in str(caught.value)
    r = run("status", config=config)
    assert r.returncode == 2 and "dkim.key_file" in r.stderr


@pytest.mark.parametrize(
    ("section", "says"),
    [
        ("dkim:\n  key_file: dkim.key\n", ":3: dkim.selector: missing; a dkim section needs a selector and a key_file"),
        ("dkim:\n  selector: s\n  key_file: dkim.key\n  domian: x\n", ":5: dkim.domian: unknown key 'domian'"),
    ],
)
def test_a_dkim_section_that_is_incomplete_or_misspelt_is_refused(tmp_path: Path, section: str, says: str) -> None:
    """The dkim section's mistakes are named like any other setting's: file, line, key and what it needs."""
    config = tmp_path / "digest.yml"
    config.write_text("from_address: digest@example.org\n" + section)
    shutil.copy(KEYS / "test.key", tmp_path / "dkim.key")
    with pytest.raises(ConfigError, match=re.escape(f"{config}{says}")):
        load_settings(config)


def test_without_a_dkim_section_nothing_is_signed_and_the_record_command_says_why(
    web: WebServer, make_config: Any
) -> None:
    """No dkim section: messages go unsigned (as before) and `digest dkim-record` names the file and says what to
    add."""
    config = make_config(demo_feeds(web)[1:2])
    settings = load_settings(config)
    assert settings.dkim is None
    when = datetime(2026, 11, 24, 12, tzinfo=UTC)
    email = messages.confirmation(settings, "new@example.org", "https://x/c/1", date=when, message_id="<c1@x>")
    reply = make_sender(settings).send(email)
    assert not Path(reply.removeprefix("250 written to ")).read_bytes().startswith(b"DKIM-Signature")
    r = run("dkim-record", config=config)
    assert r.returncode == 2  # and the message names the settings file that lacks it
    assert (
        r.stderr.strip()
        == f"error: {config}: no dkim section; add dkim: {{selector: ..., key_file: ...}} (see README, DKIM)"
    )

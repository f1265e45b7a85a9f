"""Links in emails keep working: the signing key is checked when given, made once and kept when not, and a link
that no longer works leads to unsubscribing by address."""

from __future__ import annotations

import re
import stat
import time
from concurrent.futures import ThreadPoolExecutor
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import pytest

from digest import daily, secret
from digest.cli import main as cli_main
from digest.config import load_settings
from digest.deliver import OutboxSender
from digest.errors import ConfigError
from digest.store import Store
from digest.web import create_app

from .conftest import SECRET, Mailbox, serve_app


def _send_today(config: Path, capsys: pytest.CaptureFixture[str]) -> str:
    """Run `digest send` and return the unsubscribe link in the email it wrote to the outbox (local path)."""
    cli_main(["--config", str(config), "send"])
    capsys.readouterr()
    (eml,) = (config.parent / "outbox").rglob("reader@example.org.eml")
    msg = message_from_bytes(eml.read_bytes(), policy=policy.default)
    link = re.search(r"<(https://[^>]+/unsubscribe/[^>]+)>", str(msg["List-Unsubscribe"]))[1]  # type: ignore[index]
    return link.replace("https://digest.example.org", "")


def _opens(config: Path, path: str) -> int:
    """Start the web app afresh (a restart) and GET the path."""
    for live in serve_app(create_app(load_settings(config))):
        with live.client() as client:
            return int(client.get(path).status_code)
    raise AssertionError("unreachable")


@pytest.fixture
def no_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DIGEST_SECRET", raising=False)


@pytest.mark.usefixtures("no_secret")
def test_without_digest_secret_a_key_is_made_once_and_links_survive_restarts(
    make_config: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """With no $DIGEST_SECRET the first run makes a key beside the database (0600); the unsubscribe link in the
    email it sends still opens after restarts, and the key never changes."""
    config = make_config([], extra="schedule:\n  send_empty: true\n")
    link = _send_today(config, capsys)
    key_file = config.parent / "digest.secret"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    key = key_file.read_text()
    assert len(key.strip()) == 64
    for _ in range(2):
        assert _opens(config, link) == 200
    assert key_file.read_text() == key


def test_setting_digest_secret_later_keeps_the_links_already_sent(
    make_config: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """An operator who sets $DIGEST_SECRET after emails went out signed with the kept key breaks none of their
    links; new links are signed with the new secret."""
    monkeypatch.delenv("DIGEST_SECRET", raising=False)
    config = make_config([], extra="schedule:\n  send_empty: true\n")
    old_link = _send_today(config, capsys)
    monkeypatch.setenv("DIGEST_SECRET", SECRET)
    settings = load_settings(config)
    assert settings.keys.current == SECRET
    new_link = daily.unsubscribe_url(settings, "reader@example.org").replace(settings.public_url, "")
    assert new_link != old_link
    assert _opens(config, old_link) == 200
    assert _opens(config, new_link) == 200


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("x", "too short to sign links (1 of at least 32 characters)"),
        ("changeme", "too short"),
        ("changeme-changeme-changeme-changeme", "looks like a placeholder"),
        ("s" * 40, "looks like a placeholder"),
        ("please-replace-me-with-a-real-secret-value", "looks like a placeholder"),
    ],
)
def test_serve_refuses_a_weak_digest_secret(
    make_config: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], value: str, says: str
) -> None:
    """`digest serve` will not start with a short or placeholder $DIGEST_SECRET: it exits 2 saying what is wrong
    and how to make a good one."""
    monkeypatch.setenv("DIGEST_SECRET", value)
    with pytest.raises(SystemExit) as exc:
        cli_main(["--config", str(make_config([])), "serve"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert says in err and "$DIGEST_SECRET" in err and "openssl rand -hex 32" in err


@pytest.mark.usefixtures("no_secret")
def test_a_fresh_install_starts_with_its_data_folder_not_yet_made(make_config: Any) -> None:
    """The example settings keep the database and the key in data/, which a fresh install does not have yet:
    `digest serve` makes it (as the database would) and starts, instead of refusing to start until some other
    command had made the folder."""
    config = make_config([])
    config.write_text(config.read_text().replace("database: digest.sqlite3", "database: data/digest.sqlite3"))
    assert not (config.parent / "data").exists()
    assert _opens(config, "/subscribe") == 200
    assert stat.S_IMODE((config.parent / "data" / "digest.secret").stat().st_mode) == 0o600


def test_two_processes_starting_together_agree_on_one_key(tmp_path: Path) -> None:
    """However many start at once without $DIGEST_SECRET, they all use the one key that ends up in the file."""
    path = tmp_path / "digest.secret"
    with ThreadPoolExecutor(8) as pool:
        got = set(pool.map(lambda _: secret.keys(None, "DIGEST_SECRET", path).current, range(16)))
    assert got == {path.read_text().strip()}
    assert [p.name for p in tmp_path.iterdir()] == ["digest.secret"]  # no temporary files left


def test_a_damaged_key_file_is_an_error_not_a_new_key(make_config: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """An emptied key file is reported (replacing it silently would break every link sent), naming the file."""
    monkeypatch.delenv("DIGEST_SECRET", raising=False)
    config = make_config([])
    (config.parent / "digest.secret").write_text("\n")
    with pytest.raises(ConfigError, match=r"digest\.secret: holds no usable key"):
        create_app(load_settings(config))


# ---- the way out of a link that does not work


def _csrf(page: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', page)[1]  # type: ignore[index]


def _wait_for(box: Mailbox, address: str, seconds: float = 10) -> list[Any]:
    deadline = time.monotonic() + seconds
    while not box.to(address):
        assert time.monotonic() < deadline, f"no email to {address}"
        time.sleep(0.05)
    return box.to(address)


def test_an_invalid_link_leads_to_unsubscribing_by_address(
    make_config: Any, smtp: tuple[Mailbox, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A broken unsubscribe link shows a form; giving the address emails it a signed link (the page says the same
    for an address not on the list, which gets nothing), and that link unsubscribes it."""
    monkeypatch.setenv("DIGEST_SECRET", SECRET)
    box, port = smtp
    # Over plain http: with the https public URL the session cookie (and so the form's CSRF token) would not come back.
    config = make_config([], subscribers=["reader@example.org"], smtp_port=port)
    settings = load_settings(config, overrides={"public_url": "http://127.0.0.1"})
    for live in serve_app(create_app(settings)):
        with live.client() as client:
            page = client.get("/unsubscribe/not-a-real-token")
            assert page.status_code == 400
            assert "This link is not valid" in page.text and 'action="/unsubscribe"' in page.text
            answers = {}
            for address in ("reader@example.org", "stranger@example.org"):
                r = client.post("/unsubscribe", data={"email": address, "csrf": _csrf(page.text)})
                assert r.status_code == 200
                answers[address] = r.text.replace(address, "ADDRESS")
            assert answers["reader@example.org"] == answers["stranger@example.org"]
            assert "Check your inbox" in answers["reader@example.org"]
            (mail,) = _wait_for(box, "reader@example.org")
            assert mail["Subject"] == "Unsubscribe from Probation Digest"
            time.sleep(0.3)  # the stranger's background check has had its chance to send
            assert box.to("stranger@example.org") == []
            link = re.search(r"http://127\.0\.0\.1(/unsubscribe/\S+)", mail.get_content())[1]  # type: ignore[index]
            confirm = client.get(link)
            assert confirm.status_code == 200 and "reader@example.org" in confirm.text
            assert client.post(link).status_code == 200
    with Store(settings.database) as store:
        assert store.suppressions() == {"reader@example.org": "unsubscribed"}


def test_unsubscribing_by_address_is_rate_limited(make_config: Any, tmp_path: Path) -> None:
    """Asking for unsubscribe links for one address is limited like subscribing: the fourth in an hour is refused."""
    settings = load_settings(make_config([]), overrides={"public_url": "http://127.0.0.1"})
    for live in serve_app(create_app(settings, sender=OutboxSender(tmp_path / "outbox"))):
        with live.client() as client:
            csrf = _csrf(client.get("/unsubscribe").text)
            codes = [
                client.post("/unsubscribe", data={"email": "reader@example.org", "csrf": csrf}).status_code
                for _ in range(4)
            ]
            form_without_token = client.post("/unsubscribe", data={"email": "reader@example.org"})
    assert codes == [200, 200, 200, 429]
    assert form_without_token.status_code == 403

"""`make demo` keeps to its state folder: whatever is done on the demo site, no file of the repository changes,
and `--reset` brings back the sample subscribers."""

from __future__ import annotations

import os
import re
import subprocess
from email import message_from_bytes, policy
from pathlib import Path

import pytest

from digest.auth import hash_password
from digest.cli import main as cli_main
from digest.config import load_settings
from digest.demo import main as demo_main
from digest.web import create_app

from .conftest import SECRET, serve_app

REPO = Path(__file__).resolve().parent.parent


def _repository_state() -> dict[str, tuple[int, int]]:
    """Every file git tracks, or would list as new, with its size and modification time."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=REPO,
        capture_output=True,
        check=True,
    ).stdout.decode()
    state = {}
    for name in filter(None, listed.split("\0")):
        path = REPO / name
        if path.is_file():
            st = path.stat()
            state[name] = (st.st_size, st.st_mtime_ns)
    return state


def _csrf(page: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', page)[1]  # type: ignore[index]


def test_the_demo_site_never_writes_to_the_repository(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Subscribing on the demo site, adding in its admin and `digest subscribers add` change the demo's copy of
    the list; subscribers.example.yml and every other file in the repository stay as they were (no .lock
    either), and `--reset` restores the sample list."""
    monkeypatch.setenv("DIGEST_SECRET", SECRET)
    monkeypatch.setenv("DIGEST_ADMIN_PASSWORD_HASH", hash_password("correct horse"))
    state = tmp_path / "demo"
    example = (REPO / "subscribers.example.yml").read_bytes()
    before = _repository_state()

    demo_main(["--state", str(state)])
    config = state / "digest.yml"
    cli_main(["--config", str(config), "subscribers", "add", "cli@example.org"])
    settings = load_settings(config, overrides={"public_url": "http://127.0.0.1"})
    for live in serve_app(create_app(settings)):
        with live.client() as client:
            page = client.get("/subscribe").text
            assert client.post("/subscribe", data={"email": "site@example.org", "csrf": _csrf(page)}).status_code == 200
            (confirmation,) = (state / "outbox").rglob("site@example.org.eml")
            body = message_from_bytes(confirmation.read_bytes(), policy=policy.default).get_content()
            token = re.search(r"/confirm/(\S+)", body)[1]  # type: ignore[index]
            assert client.post(f"/confirm/{token}").status_code == 200
            login = client.get("/admin/login").text
            client.post("/admin/login", data={"password": "correct horse", "csrf": _csrf(login)})
            csrf = _csrf(client.get("/admin/subscribers").text)
            r = client.post("/admin/subscribers", data={"action": "add", "email": "admin@example.org", "csrf": csrf})
            assert "Added admin@example.org." in r.text

    copy = (state / "subscribers.yml").read_text()
    assert all(f"{who}@example.org" in copy for who in ("cli", "site", "admin"))
    assert (REPO / "subscribers.example.yml").read_bytes() == example
    assert _repository_state() == before
    assert not [p.name for p in REPO.iterdir() if p.name.endswith(".lock")]

    capsys.readouterr()
    demo_main(["--state", str(state), "--reset"])
    assert "reset: deleted" in capsys.readouterr().out
    assert (state / "subscribers.yml").read_bytes() == example
    assert _repository_state() == before


def test_make_demo_state_is_ignored_by_git() -> None:
    """The default state folder, .demo/, is ignored, so `make demo` leaves `git status` clean."""
    for name in (".demo/subscribers.yml", ".demo/digest.secret", ".demo/outbox/x.eml"):
        assert subprocess.run(["git", "check-ignore", "-q", name], cwd=REPO, env=os.environ).returncode == 0, name

"""What the list promises a reader is true for them: the configured send time (not a hard-coded noon), and that
they can choose daily or weekly, on the pages, in the confirmation email, after confirming and in a digest's
footer."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import httpx
import pytest

from digest import daily
from digest.config import load_settings
from digest.deliver import OutboxSender
from digest.models import Digest
from digest.render import Renderer
from digest.web import create_app

from .conftest import SECRET, serve_app

NOW = datetime(2026, 11, 24, 14, 0, tzinfo=UTC)
SCHEDULE = 'schedule:\n  send_time: "07:45"\n  timezone: Europe/Paris\n'


def words(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).replace("&#39;", "'")


@pytest.fixture
def site(make_config: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[tuple[httpx.Client, Any]]:
    monkeypatch.setenv("DIGEST_SECRET", SECRET)
    feeds = [
        {"name": "HM Inspectorate of Probation", "url": "https://hmiprobation.example/feed/"},
        {"name": "HM Prison and Probation Service", "url": "https://www.gov.uk/search/news.atom?x=1"},
    ]
    config = make_config(feeds, subscribers=["reader@example.org"], extra=SCHEDULE)
    settings = load_settings(config, overrides={"public_url": "http://127.0.0.1"})  # the session cookie over http
    app = create_app(settings, clock=lambda: NOW, sender=OutboxSender(tmp_path / "outbox"))
    for live in serve_app(app):
        with live.client() as client:
            yield client, settings


def test_the_pages_say_the_configured_send_time_and_offer_weekly(site: Any) -> None:
    """The home, subscribe and confirm pages name the send time the settings give, and the weekly choice."""
    client, settings = site
    token = daily.tokens(settings).confirm("new@example.org")
    for path in ("/", "/subscribe", f"/confirm/{token}"):
        page = words(client.get(path).text)
        assert "noon" not in page, path
        assert "one email a day at 07:45 europe/paris time, or one a week on a day you choose" in page.lower(), path
    # the sources the list follows, by name: GOV.UK's too, not only "the inspectorate and the sector's blogs"
    home = words(client.get("/").text)
    assert "everything new from HM Inspectorate of Probation and HM Prison and Probation Service" in home


def test_the_confirmation_email_says_the_send_time_and_links_the_preferences(site: Any, tmp_path: Path) -> None:
    """The double opt-in email states the configured time, offers weekly, and links the reader's preferences."""
    client, settings = site
    csrf = re.search(r'name="csrf" value="([^"]+)"', client.get("/subscribe").text)[1]  # type: ignore[index]
    r = client.post("/subscribe", data={"email": "new@example.org", "csrf": csrf})
    assert "Check your inbox" in r.text, r.text
    email = message_from_bytes(
        (tmp_path / "outbox").rglob("new@example.org.eml").__next__().read_bytes(), policy=policy.default
    )
    body = email.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "everything new from HM Inspectorate of Probation and HM Prison and Probation Service." in body
    flat = " ".join(body.split())
    assert "noon" not in flat
    assert "one email a day at 07:45 Europe/Paris time, or one a week on a day you choose" in flat
    link = re.search(r"http://127\.0\.0\.1/preferences/\S+", body)
    assert link is not None and daily.tokens(settings).read_preferences(link[0].rsplit("/", 1)[1]) == "new@example.org"


def test_confirming_says_what_the_reader_gets_and_links_their_preferences(site: Any) -> None:
    """After the confirm button: what they get at the configured time, and a "Change what you get" link of theirs."""
    client, settings = site
    token = daily.tokens(settings).confirm("new@example.org")
    page = client.post(f"/confirm/{token}").text
    assert "noon" not in page
    assert "everything new, every day at 07:45 Europe/Paris time" in words(page)
    link = re.search(r'<a href="([^"]+)">Change what you get</a>', page)
    assert link is not None
    assert client.get(link[1].replace(settings.public_url, "")).status_code == 200


def test_a_footer_without_preferences_says_the_send_time(tmp_path: Path) -> None:
    """A digest rendered without a reader's sentence (the web version, the preview) names the configured time and
    the daily-or-weekly choice, not noon."""
    renderer = Renderer(public_url="https://digest.example.org", send_time="07:45 Europe/Paris time")
    digest = Digest(list_name="Probation Digest", day=date(2026, 11, 24), subject="s", sections=())
    for web in (False, True):
        html = words(renderer.render(digest, web=web).html)
        assert "noon" not in html
        assert "07:45 Europe/Paris time" in html and re.search(r"weekly|a week", html)

"""A weekly email's web version: the email's "View in your browser" (HTML and plain text) opens a page with the
same contents, each item linked to its archive page, for the usual week and for a reader whose email covered
fewer days (new to weekly); the archive's index lists the weekly emails. Real sends through aiosmtpd, as
test_weekly runs them, and the app over HTTP."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime
from email import message_from_bytes, policy
from typing import Any

import httpx
import pytest

from digest.web import create_app

from .conftest import SECRET, serve_app
from .test_weekly import Days, days  # noqa: F401 - the fixture

MONDAY = date(2026, 11, 23)
BASE = "https://digest.example.org"


@pytest.fixture
def site(days: Days, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[httpx.Client, Days]]:  # noqa: F811
    monkeypatch.setenv("DIGEST_SECRET", SECRET)
    days.run(date(2026, 11, 16), date(2026, 11, 18))
    days.switch("switcher@example.org", frequency="weekly", weekday=0)  # weekly from Wednesday's send on
    days.run(date(2026, 11, 19), MONDAY)
    app = create_app(days.settings, clock=lambda: datetime(2026, 11, 23, 14, 0, tzinfo=UTC))
    for live in serve_app(app):
        with live.client() as client:
            yield client, days


def weekly_email(run: Days, email: str) -> tuple[str, str]:
    """The HTML and plain text of the last email `email` received."""
    data = [d for to, d in run.box.messages if to == email][-1]
    message = message_from_bytes(data, policy=policy.default)
    html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    return html, text


def contents(html: str) -> list[str]:
    """The titles in the contents list, in order."""
    listed = html.split('id="headlines"', 1)[1].split("</ul>", 1)[0]
    return re.findall(r'<a href="[^"]+"[^>]*>([^<]+)</a>', listed)


def browser_link(html: str, text: str) -> str:
    found = re.search(r'<a href="([^"]+)"[^>]*>View in your browser</a>', html)
    assert found is not None, "no 'View in your browser' in the weekly email"
    link = found[1].replace("&amp;", "&")
    assert f"View in your browser: {link}" in text
    assert link.startswith(f"{BASE}/digests/week/2026-11-23")
    return link.removeprefix(BASE)


def test_the_weekly_email_links_its_web_version_with_the_same_contents(site: Any) -> None:
    """A weekly reader's "View in your browser" opens the week, Tuesday to Monday, with the email's contents
    list, and every item there links to its own archive page."""
    client, run = site
    html, text = weekly_email(run, "weekly@example.org")
    link = browser_link(html, text)
    assert link == "/digests/week/2026-11-23?since=2026-11-17"
    page = client.get(link)
    assert page.status_code == 200
    assert "default-src 'none'" in page.headers["content-security-policy"]
    titles = [f"Item-202611{d}: news from the sector" for d in range(23, 16, -1)]
    assert contents(html) == titles
    assert contents(page.text) == titles
    assert "This is the web version of Probation Digest's weekly email" in page.text
    items = re.findall(r'href="https://digest\.example\.org/items/(\d+)"', page.text.split('id="headlines"')[1])
    assert len(set(items)) == 7
    for item in set(items):
        assert client.get(f"/items/{item}").status_code == 200
    assert client.get("/digests/week/2026-11-23").text == page.text  # the index's link: the usual week


def test_a_reader_new_to_weekly_sees_the_days_their_email_covered(site: Any) -> None:
    """A reader weekly since Wednesday's send got Thursday to Monday; their link's page shows those five days,
    not the whole week they partly had daily."""
    client, run = site
    html, text = weekly_email(run, "switcher@example.org")
    link = browser_link(html, text)
    assert link == "/digests/week/2026-11-23?since=2026-11-19"
    titles = [f"Item-202611{d}: news from the sector" for d in range(23, 18, -1)]
    assert contents(html) == contents(client.get(link).text) == titles


def test_the_index_lists_the_weekly_emails_and_odd_weeks_are_not_found(site: Any) -> None:
    """/digests links the weekly email beside the days one went out; a week in the future, before anything was
    sent, or spanning months is not found."""
    client, _ = site
    index = client.get("/digests").text
    weekly = re.findall(r'href="/digests/week/([\d-]+)"', index)
    assert weekly == ["2026-11-23", "2026-11-16"]
    for path in (
        "/digests/week/2026-11-30",
        "/digests/week/2026-01-05",
        "/digests/week/2026-11-23?since=2026-06-01",
        "/digests/week/2026-11-23?since=2026-11-24",
        "/digests/week/nonsense",
        "/digests/week/2026-11-23?since=nonsense",
    ):
        assert client.get(path).status_code == 404, path

"""WCAG 2.2 AA as axe-core (from npm) checks it, in real Chromium: the email and every page a person can reach."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from digest import daily
from digest.auth import hash_password
from digest.config import load_settings
from digest.deliver import OutboxSender
from digest.render import PREFERENCES, RECIPIENT, UNSUBSCRIBE
from digest.store import Store
from digest.web import create_app

from .browser import browser  # noqa: F401 - the fixture
from .conftest import REPO, SECRET, WebServer, free_port, serve_app
from .test_render import render

AXE = Path(os.environ.get("AXE_CORE", REPO / ".axe/node_modules/axe-core/axe.min.js"))
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]


@pytest.fixture(scope="module")
def axe() -> str:
    if not AXE.exists():
        pytest.skip(f"axe-core is not installed at {AXE} (make test installs it with npm)")
    return AXE.read_text(encoding="utf-8")


def violations(browser: Any, axe: str, *, url: str | None = None, html: str | None = None) -> list[str]:  # noqa: F811
    """axe-core's WCAG A/AA violations on one page; the page's own policy is bypassed only to load axe itself."""
    context = browser.new_context(bypass_csp=True, viewport={"width": 1024, "height": 900})
    page = context.new_page()
    if url is not None:
        page.goto(url)
    else:
        page.set_content(html or "")
    page.add_script_tag(content=axe)
    found = page.evaluate(
        "async (tags) => (await axe.run(document, {runOnly: {type: 'tag', values: tags}})).violations"
        ".map(v => `${v.id}: ${v.help} (${v.nodes.map(n => n.target.join(' ')).slice(0, 3).join(', ')})`)",
        TAGS,
    )
    context.close()
    return list(found)


def test_the_email_meets_wcag_aa(browser: Any, axe: str) -> None:  # noqa: F811
    """The digest email as a reader's client shows it has no WCAG 2.2 A/AA violations."""
    _, rendered = render()
    html = (
        rendered.html.replace(UNSUBSCRIBE, "https://digest.example.org/unsubscribe/T")
        .replace(PREFERENCES, "https://digest.example.org/preferences/T")
        .replace(RECIPIENT, "reader@example.org")
    )
    assert violations(browser, axe, html=html) == []


@pytest.fixture
def live(
    make_config: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, web: WebServer
) -> Iterator[tuple[str, Any]]:
    monkeypatch.setenv("DIGEST_ADMIN_PASSWORD_HASH", hash_password("pw"))
    monkeypatch.setenv("DIGEST_SECRET", SECRET)
    port = free_port()
    feed = {"name": "Russell Webster", "url": web.url("https://www.russellwebster.com/feed/"), "type": "blog"}
    config = make_config([feed], subscribers=["reader@example.org"], extra="schedule:\n  send_empty: true\n")
    settings = load_settings(config, overrides={"public_url": f"http://127.0.0.1:{port}"})
    with Store(settings.database) as store:
        daily.send_digest(settings, store, OutboxSender(tmp_path / "outbox"), clock=daily_clock)
        # One suppression with its bounce, so the bounces page shows both tables and the lift form.
        store.add_bounce(
            "reader@example.org",
            "hard",
            status="5.1.1",
            evidence="550 5.1.1 User unknown",
            source="process",
            now=daily_clock(),
        )
        store.suppress("reader@example.org", "bounced", now=daily_clock(), detail="550 5.1.1 User unknown")
    for server in serve_app(create_app(settings, clock=daily_clock, sender=OutboxSender(tmp_path / "out2")), port):
        yield server.base, settings


def daily_clock() -> Any:
    from datetime import UTC, datetime

    return datetime(2026, 11, 24, 12, 30, tzinfo=UTC)


def test_every_page_meets_wcag_aa(browser: Any, axe: str, live: tuple[str, Any]) -> None:  # noqa: F811
    """Subscriber pages (the reader's preferences page included), the web version of a digest, link pages and
    every admin page have no WCAG 2.2 A/AA violations."""
    base, settings = live
    token = daily.tokens(settings).unsubscribe("reader@example.org")
    prefs = daily.tokens(settings).preferences("reader@example.org")
    public = [
        "/",
        "/subscribe",
        "/unsubscribe",
        f"/unsubscribe/{token}",
        "/unsubscribe/not-a-token",
        "/preferences",
        f"/preferences/{prefs}",
        "/preferences/not-a-token",
        "/digests/2026-11-24",
    ]
    found = {path: violations(browser, axe, url=base + path) for path in public}
    # The admin, logged in: the session cookie is shared by the page contexts through the browser's storage.
    context = browser.new_context(bypass_csp=True)
    page = context.new_page()
    page.goto(base + "/admin/login")
    page.fill("#password", "pw")
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/admin$"))
    feed = quote(settings.feeds[0].url)
    admin_pages = [
        "/admin/login",
        "/admin",
        "/admin/feeds",
        f"/admin/feeds/edit?url={feed}",
        "/admin/items",
        "/admin/subscribers",
        "/admin/subscriber?email=reader%40example.org",
        "/admin/bounces",
        "/admin/bounces?kind=soft&q=nobody",
        "/admin/preview",
        "/admin/preview?email=reader%40example.org",
        "/admin/send",
        "/admin/log",
        "/admin/log?status=sent&run=probation-digest%3A2026-11-24",
    ]

    def check(name: str) -> None:
        page.add_script_tag(content=axe)
        found[name] = page.evaluate(
            "async (tags) => (await axe.run(document, {runOnly: {type: 'tag', values: tags}})).violations"
            ".map(v => `${v.id}: ${v.help}`)",
            TAGS,
        )

    for path in admin_pages:
        page.goto(base + path)
        check(path)
    # The pages a form leads to: the feed check, a confirmation, the send's count, a result inside the admin.
    page.goto(base + "/admin/feeds")
    page.fill("#feed-url", settings.feeds[0].url.replace("/feed/", "/feed/?again"))
    page.click("text=Check this URL")
    page.wait_for_selector("text=Add this feed")
    check("feed check")
    page.goto(base + "/admin/feeds")
    page.click("button[aria-label='Poll now: Russell Webster']")
    page.wait_for_selector("text=Polled Russell Webster", timeout=60_000)
    check("feeds after a poll")
    page.goto(base + "/admin/items")
    page.wait_for_selector("text=Leave out")
    check("items waiting")
    page.goto(base + "/admin/subscribers")
    page.click("button[aria-label='Remove reader@example.org']")
    page.wait_for_selector("h1:has-text('Remove reader@example.org?')")
    check("confirmation")
    page.goto(base + "/admin/send")
    page.check("input[value=force]")
    page.click("button:has-text('Send now')")
    page.wait_for_selector("h1:has-text('Send now?')")
    check("send confirmation")
    page.goto(base + "/admin/preview")
    page.fill("#to", "me@example.org")
    page.click("text=Send a test to me")
    page.wait_for_selector("h1:has-text('Test copy sent')")
    check("test copy sent")
    context.close()
    assert {path: v for path, v in found.items() if v} == {}


@pytest.fixture
def archive_live(make_config: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[tuple[str, Any, Path]]:
    from .archive_data import seed_archive

    monkeypatch.setenv("DIGEST_SECRET", SECRET)
    port = free_port()
    settings = load_settings(make_config([]), overrides={"public_url": f"http://127.0.0.1:{port}"})
    ids = seed_archive(settings, tmp_path / "outbox")
    for server in serve_app(create_app(settings, clock=daily_clock), port):
        yield server.base, ids, tmp_path / "outbox"


def test_the_archive_meets_wcag_aa(browser: Any, axe: str, archive_live: tuple[str, Any]) -> None:  # noqa: F811
    """The archive's pages (index, an item's card, search with results, with none and with an error, the ratings
    tracker with its chart, sorted and filtered) and the email with its ratings chart have no WCAG 2.2 A/AA
    violations."""
    base, ids, outbox = archive_live
    paths = [
        "/digests",
        f"/items/{ids['wakefield-2026']}",
        f"/items/{ids['accommodation']}",
        "/search",
        "/search?q=caseloads",
        "/search?q=unicorns",
        "/search?q=x&from=nonsense",
        "/ratings",
        "/ratings?sort=rating&order=asc&region=Wales",
        "/ratings?region=Mars",
        "/search?q=probation&kind=zzz",
        "/items/999",
        "/digests/week/2026-11-24",  # a weekly email's web version
    ]
    found = {path: violations(browser, axe, url=base + path) for path in paths}
    eml = message_from_bytes((outbox / "20261124" / "reader@example.org.eml").read_bytes(), policy=policy.default)
    found["email with the chart"] = violations(browser, axe, html=eml.get_body(("html",)).get_content())  # type: ignore[union-attr]
    assert {path: v for path, v in found.items() if v} == {}

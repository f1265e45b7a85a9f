"""The preferences flow end to end, as a reader lives it: a real `digest send` to a real aiosmtpd server, the
"Change what you get" link taken out of the received email and opened in real Chromium (at desktop and phone
width), boxes changed and saved, and the next digests (the send path the service runs) reflect it."""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
from datetime import UTC, date, datetime, time, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from digest import daily
from digest.config import Settings, load_settings
from digest.deliver import SmtpSender
from digest.models import WEEKDAYS, Item, Summary
from digest.store import Store
from digest.web import create_app

from .browser import ARTIFACTS, CspWatch, browser  # noqa: F401 - the fixture
from .conftest import SECRET, Mailbox, free_port, serve_app

LONDON = ZoneInfo("Europe/London")
FEEDS = {"HM Inspectorate of Probation": "http://127.0.0.1:9/hmip.xml", "Sector blog": "http://127.0.0.1:9/blog.xml"}
WIDTHS = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def publish(settings: Settings, title: str, *, kind: str, day: date) -> None:
    """An item read and summarised, as a poll leaves it: an inspection from the inspectorate, or a blog post."""
    source = "HM Inspectorate of Probation" if kind == "inspection" else "Sector blog"
    url = f"https://example.org/{hashlib.sha256(title.encode()).hexdigest()[:12]}/"
    published = datetime.combine(day, time(8, 0), tzinfo=LONDON).astimezone(UTC)
    item = Item(
        feed_url=FEEDS[source],
        source=source,
        guid=url,
        url=url,
        canonical_url=url,
        title=title,
        published=published,
        content_html="<p>text</p>",
        summary_html="",
        content_hash=hashlib.sha256(url.encode()).hexdigest(),
    )
    summary = Summary(
        title=title,
        kind=kind,  # type: ignore[arg-type]
        about_probation=True,
        summary="What it found.",
        organisation=title.split(":")[0] if kind == "inspection" else None,
        rating="Good" if kind == "inspection" else None,
    )
    with Store(settings.database) as store:
        (new,) = store.add_items(item.feed_url, [item], now=published, backfill_since=None)
        assert new.id is not None
        store.save_summary(new.id, summary, now=published)


def titles(message: EmailMessage) -> str:
    return str(message.get_body(("plain",)).get_content())  # type: ignore[union-attr]


@pytest.fixture
def site(make_config: Any, smtp: tuple[Mailbox, int], monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    box, smtp_port = smtp
    monkeypatch.setenv("DIGEST_SECRET", SECRET)  # the `digest send` process signs with it too
    port = free_port()
    config: Path = make_config(
        [{"name": name, "url": url} for name, url in FEEDS.items()],
        subscribers=["reader@example.org", "other@example.org"],
        smtp_port=smtp_port,
    )
    config.write_text(config.read_text().replace("https://digest.example.org", f"http://127.0.0.1:{port}"))
    settings = load_settings(config)
    with Store(settings.database) as store:
        store.sync_feeds(settings.feeds)
    clock = Clock(datetime.now(UTC))
    assert settings.smtp is not None
    app = create_app(settings, clock=clock, sender=SmtpSender(settings.smtp, backoff=0.01))
    for live in serve_app(app, port):
        yield live, settings, clock, box


def service_send(settings: Settings, clock: Clock, day: date) -> daily.SendOutcome:
    """The noon send of `day`, as the service's send job runs it."""
    assert settings.smtp is not None
    clock.now = datetime.combine(day, time(12, 0), tzinfo=LONDON)
    with Store(settings.database) as store:
        return daily.send_digest(settings, store, SmtpSender(settings.smtp, backoff=0.01), clock=clock)


@pytest.mark.parametrize("width", list(WIDTHS))
def test_a_reader_changes_what_they_get_from_the_link_in_their_email(
    browser: Any,  # noqa: F811
    site: Any,
    width: str,
) -> None:
    """From the email's link a reader drops blog posts, and the next digest has the inspection but not the post;
    then goes weekly on a later day, and gets no daily email (the other reader does) until that day's weekly
    one, which carries both days' inspections and says what they get."""
    live, settings, clock, box = site
    today = datetime.now(LONDON).date()
    publish(settings, "West Kent PDU: an inspection", kind="inspection", day=today)
    publish(settings, "A blog post about caseloads", kind="blog", day=today)
    sent = subprocess.run(
        [sys.executable, "-m", "digest.cli", "--config", str(settings.path), "send"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert sent.returncode == 0, sent.stderr
    (first,) = box.to("reader@example.org")
    assert "A blog post about caseloads" in titles(first)
    assert "You get: everything new, every day at 12:00 UK time." in titles(first)
    link = re.search(r"Change what you get: (\S+)", titles(first))[1]  # type: ignore[index]
    assert link.startswith(f"{live.base}/preferences/")

    page = browser.new_page(viewport=WIDTHS[width])
    csp = CspWatch(page)
    page.goto(link)
    expect(page.get_by_role("heading", name="Change what you get")).to_be_visible()
    expect(page.locator("main")).to_contain_text("You get: everything new, every day at 12:00 UK time.")
    page.screenshot(path=str(ARTIFACTS / f"preferences-{width}.png"), full_page=True)
    page.get_by_label("Blog posts").uncheck()
    page.get_by_role("button", name="Save what I get").click()
    expect(page.get_by_role("status")).to_contain_text(
        "you get: inspections, thematics, research, news and other items, at 12:00 UK time on days with any"
    )
    csp.check()

    tomorrow = today + timedelta(days=1)
    clock.now = datetime.combine(tomorrow, time(9, 0), tzinfo=LONDON)
    publish(settings, "Cardiff PDU: an inspection", kind="inspection", day=tomorrow)
    publish(settings, "Another blog post", kind="blog", day=tomorrow)
    service_send(settings, clock, tomorrow)
    second = titles(box.to("reader@example.org")[-1])
    assert "Cardiff PDU: an inspection" in second
    assert "Another blog post" not in second
    assert "Another blog post" in titles(box.to("other@example.org")[-1])  # the other reader still gets posts

    weekly_day = tomorrow + timedelta(days=2)
    page.goto(link)
    page.get_by_label("Weekly: the week's items in one email").check()
    page.get_by_label("Day for the weekly email").select_option(WEEKDAYS[weekly_day.weekday()])
    page.screenshot(path=str(ARTIFACTS / f"preferences-weekly-{width}.png"), full_page=True)
    page.get_by_role("button", name="Save what I get").click()
    every = f"weekly on {WEEKDAYS[weekly_day.weekday()].title()}s"
    expect(page.get_by_role("status")).to_contain_text(every)
    csp.check()

    day3 = tomorrow + timedelta(days=1)
    publish(settings, "Leeds PDU: an inspection", kind="inspection", day=day3)
    before = len(box.to("reader@example.org"))
    service_send(settings, clock, day3)
    assert len(box.to("reader@example.org")) == before  # weekly now: no daily email
    assert "Leeds PDU: an inspection" in titles(box.to("other@example.org")[-1])
    publish(settings, "Hull PDU: an inspection", kind="inspection", day=weekly_day)
    service_send(settings, clock, weekly_day)
    weekly = box.to("reader@example.org")[-1]
    assert weekly["Subject"].startswith("Probation Digest weekly,")
    body = titles(weekly)
    assert "Leeds PDU: an inspection" in body and "Hull PDU: an inspection" in body
    assert "Cardiff PDU: an inspection" not in body  # already sent, not again
    assert "This week: 2 inspection reports." in body
    assert f"You get: inspections, thematics, research, news and other items, {every}." in " ".join(body.split())

    page.close()

    email = browser.new_page(viewport=WIDTHS[width])  # a blank page of its own, as a mail client shows it
    email.set_content(weekly.get_body(("html",)).get_content())  # type: ignore[union-attr]
    expect(email.locator("h1")).to_contain_text("Probation Digest: the week")
    expect(email.locator(".masthead")).to_have_css("background-color", "rgb(29, 53, 87)")
    email.screenshot(path=str(ARTIFACTS / f"weekly-email-{width}.png"), full_page=True)
    email.close()


def test_an_unsubscribed_reader_is_told_so_and_can_subscribe_again_from_the_link(
    browser: Any,  # noqa: F811
    site: Any,
) -> None:
    """After the one-click unsubscribe, the preferences link from the same email says they are unsubscribed (not
    what they "get"), saving says nothing is sent, the list shows no "gets"; "Subscribe me again" (a POST) makes
    them active, and the next digest reaches them."""
    import httpx

    _live, settings, clock, box = site
    today = datetime.now(LONDON).date()
    publish(settings, "West Kent PDU: an inspection", kind="inspection", day=today)
    service_send(settings, clock, today)
    (first,) = box.to("reader@example.org")
    link = re.search(r"Change what you get: (\S+)", titles(first))[1]  # type: ignore[index]
    one_click = re.search(r"<(http://[^>]+/unsubscribe/[^>]+)>", first["List-Unsubscribe"])[1]  # type: ignore[index]
    r = httpx.post(
        one_click, content=b"List-Unsubscribe=One-Click", headers={"content-type": "application/x-www-form-urlencoded"}
    )
    assert r.status_code == 200

    page = browser.new_page(viewport=WIDTHS["desktop"])
    csp = CspWatch(page)
    page.goto(link)
    main = page.locator("main")
    expect(main).to_contain_text("You are unsubscribed: nothing is sent to this address")
    expect(main).not_to_contain_text("You get:")
    expect(main).not_to_contain_text("Unsubscribe instead")
    page.get_by_label("Blog posts").uncheck()
    page.get_by_role("button", name="Save what I get").click()
    expect(page.get_by_role("status")).to_contain_text("Nothing is sent to you while you are unsubscribed")
    expect(page.get_by_role("status")).not_to_contain_text("From the next email on")
    listed = subprocess.run(
        [sys.executable, "-m", "digest.cli", "--config", str(settings.path), "subscribers", "list"],
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    (line,) = [x for x in listed.splitlines() if x.startswith("reader@example.org")]
    assert "unsubscribed" in line and "gets" not in line
    page.screenshot(path=str(ARTIFACTS / "preferences-unsubscribed.png"), full_page=True)

    page.get_by_role("button", name="Subscribe me again").click()
    expect(page.get_by_role("status")).to_contain_text(
        "You are subscribed again. From the next email on, you get: inspections, thematics, research, news and "
        "other items, at 12:00 UK time on days with any"
    )
    expect(main).not_to_contain_text("You are unsubscribed")
    csp.check()
    page.close()
    tomorrow = today + timedelta(days=1)
    publish(settings, "Cardiff PDU: an inspection", kind="inspection", day=tomorrow)
    service_send(settings, clock, tomorrow)
    assert "Cardiff PDU: an inspection" in titles(box.to("reader@example.org")[-1])

"""A subscriber and the editor in a real browser: double opt-in, the digest, one-click unsubscribe; the admin.
Every page is checked for Content-Security-Policy violations: a policy that breaks a page is a defect."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from digest import daily
from digest.auth import hash_password
from digest.config import load_settings
from digest.deliver import SmtpSender
from digest.store import Store
from digest.web import create_app

from .browser import ARTIFACTS, CspWatch, browser  # noqa: F401 - the fixture
from .conftest import SECRET, Mailbox, free_port, serve_app


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def site(make_config: Any, smtp: tuple[Mailbox, int], monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    box, smtp_port = smtp
    monkeypatch.setenv("DIGEST_ADMIN_PASSWORD_HASH", hash_password("editor pass"))
    monkeypatch.setenv("DIGEST_SECRET", SECRET)
    port = free_port()
    config = make_config(
        [], subscribers=["reader@example.org"], smtp_port=smtp_port, extra="schedule:\n  send_empty: true\n"
    )
    settings = load_settings(config, overrides={"public_url": f"http://127.0.0.1:{port}"})
    clock = Clock()
    assert settings.smtp is not None
    app = create_app(settings, clock=clock, sender=SmtpSender(settings.smtp, backoff=0.01))
    for live in serve_app(app, port):
        yield live, settings, clock, box


NAVY = "rgb(29, 53, 87)"  # the masthead's colour, on the site and in the email: the CSS applied


def background(page: Any, selector: str) -> str:
    return str(page.eval_on_selector(selector, "e => getComputedStyle(e).backgroundColor"))


def send_day(settings: Any, clock: Clock, day: int) -> None:
    assert settings.smtp is not None
    clock.now = datetime(2026, 11, day, 12, 0, tzinfo=UTC)
    with Store(settings.database) as store:
        daily.send_digest(settings, store, SmtpSender(settings.smtp, backoff=0.01), clock=clock)


def test_subscribe_confirm_receive_unsubscribe(browser: Any, site: Any) -> None:  # noqa: F811
    """Double opt-in adds the address only after the link; one-click unsubscribe stops the next digest."""
    live, settings, clock, box = site
    page = browser.new_page(viewport={"width": 375, "height": 800})
    csp = CspWatch(page)
    page.goto(f"{live.base}/subscribe")
    assert background(page, "header") == NAVY
    page.fill("#email", "new@example.org")
    page.fill("#name", "New Reader")
    page.screenshot(path=str(ARTIFACTS / "web-subscribe.png"))
    page.click("button[type=submit]")
    assert page.locator("h1").inner_text() == "Check your inbox"
    csp.check()
    assert "new@example.org" not in settings.subscribers_file.read_text()  # nothing added before confirming

    confirmation = box.to("new@example.org")[0]
    link = re.search(r"http://\S+/confirm/\S+", confirmation.get_content())[0]  # type: ignore[index]
    page.goto(link)
    page.click("text=Yes, subscribe me")
    assert page.locator("h1").inner_text() == "You are subscribed"
    page.screenshot(path=str(ARTIFACTS / "web-confirmed.png"))
    assert "name: New Reader" in settings.subscribers_file.read_text()
    csp.check()

    send_day(settings, clock, 24)
    # The web version: the email's own inline CSS, under its own policy.
    page.goto(f"{live.base}/digests/2026-11-24")
    assert page.locator("h1").inner_text() == "Probation Digest"
    assert background(page, ".masthead") == NAVY
    # A web page says what it is and how to subscribe, not what an email says.
    expect(page.locator("body")).to_contain_text("This is the web version of Probation Digest for Tuesday 24 November")
    expect(page.locator("body")).not_to_contain_text("View in your browser")
    expect(page.locator("body")).not_to_contain_text("You get this email")
    assert page.get_attribute("text=Subscribe", "href") == f"{live.base}/subscribe"
    # a page among the archive's: a main landmark to skip to, and the way back to the other pages
    expect(page.get_by_role("main")).to_contain_text("Nothing new from the sources you follow today.")
    assert (
        page.get_by_role("navigation", name="Archive").get_by_role("link", name="Past digests").get_attribute("href")
        == f"{live.base}/digests"
    )
    page.screenshot(path=str(ARTIFACTS / "web-version.png"), full_page=True)
    csp.check()
    digest = [m for m in box.to("new@example.org") if m["Subject"].startswith("Probation Digest")]
    assert len(digest) == 1
    # What Gmail does with List-Unsubscribe-Post: a POST with the one-click body, no page, no cookies.
    one_click = re.search(r"<(http://[^>]+/unsubscribe/[^>]+)>", digest[0]["List-Unsubscribe"])[1]  # type: ignore[index]
    r = httpx.post(
        one_click, content=b"List-Unsubscribe=One-Click", headers={"content-type": "application/x-www-form-urlencoded"}
    )
    assert r.status_code == 200

    send_day(settings, clock, 25)
    days = [m["Subject"] for m in box.to("new@example.org") if m["Subject"].startswith("Probation Digest")]
    assert days == ["Probation Digest, Tue 24 Nov: nothing new"]
    assert [m["Subject"] for m in box.to("reader@example.org")] == [
        "Probation Digest, Tue 24 Nov: nothing new",
        "Probation Digest, Wed 25 Nov: nothing new",
    ]
    # Re-subscribing later works.
    page.goto(f"{live.base}/subscribe")
    page.fill("#email", "new@example.org")
    page.click("button[type=submit]")
    link = re.search(r"http://\S+/confirm/\S+", box.to("new@example.org")[-1].get_content())[0]  # type: ignore[index]
    page.goto(link)
    page.click("text=Yes, subscribe me")
    send_day(settings, clock, 26)
    assert box.to("new@example.org")[-1]["Subject"] == "Probation Digest, Thu 26 Nov: nothing new"
    csp.check()
    page.close()


def test_editor_logs_in_adds_previews_and_sends(browser: Any, site: Any) -> None:  # noqa: F811
    """The editor adds a subscriber in the UI, previews today's digest, sends it and sees it in the log."""
    live, settings, _clock, box = site
    page = browser.new_page(viewport={"width": 1100, "height": 900})
    csp = CspWatch(page)
    page.goto(f"{live.base}/admin")
    assert "/admin/login" in page.url
    page.fill("#password", "wrong")
    page.click("button[type=submit]")
    expect(page.locator("body")).to_contain_text("Wrong password.")  # waits out the navigation the click started
    page.fill("#password", "editor pass")
    page.click("button[type=submit]")
    assert page.locator("h1").inner_text() == "Dashboard"
    page.screenshot(path=str(ARTIFACTS / "admin-dashboard.png"))

    page.click("text=Subscribers")
    page.fill("#add-email", "added@example.org")
    page.fill("#add-name", "Added In The UI")
    page.click("form >> text=Add")
    expect(page.locator("body")).to_contain_text(
        "Added added@example.org."
    )  # waits out the navigation the click started
    assert "added@example.org" in settings.subscribers_file.read_text()
    page.screenshot(path=str(ARTIFACTS / "admin-subscribers.png"))

    page.click("nav >> text=Preview")
    expect(page.locator("body")).to_contain_text(
        "Probation Digest, Tue 24 Nov: nothing new"
    )  # waits out the navigation the click started
    frame = page.frame_locator("iframe[title='HTML preview']")
    assert frame.locator("h1").inner_text() == "Probation Digest"
    assert frame.locator(".masthead").evaluate("e => getComputedStyle(e).backgroundColor") == NAVY
    assert page.eval_on_selector("iframe", "e => getComputedStyle(e).height") == "800px"  # site.css applied
    page.screenshot(path=str(ARTIFACTS / "admin-preview.png"), full_page=True)
    csp.check()

    page.click("nav >> text=Send")
    page.click("button:has-text('Send now')")
    expect(page.locator("main")).to_contain_text("will go to 2 recipients now")  # a confirmation step first
    page.click("button:has-text('Send to 2 now')")
    page.wait_for_url(f"{live.base}/admin/log")
    # A locator, not wait_for_function: that evaluates a string, which the page's policy (rightly) refuses.
    page.get_by_text("Sending…").wait_for(state="detached", timeout=20_000)
    page.reload()
    expect(page.locator("body")).to_contain_text("2 sent")  # waits out the navigation the click started
    page.screenshot(path=str(ARTIFACTS / "admin-log.png"))
    assert sorted(box.recipients) == ["added@example.org", "reader@example.org"]
    csp.check()
    page.close()


def test_a_bounce_suppresses_the_next_digest_and_the_editor_sees_why_and_lifts_it(
    browser: Any,  # noqa: F811
    site: Any,
) -> None:
    """A DSN for the subscriber, piped to `digest bounces process`, stops the next day's digest; the editor sees
    the reason and evidence on the bounces page and lifts the suppression only after a confirmation step."""
    import subprocess
    import sys

    from .test_bounce_policy import _dsn

    live, settings, clock, box = site
    send_day(settings, clock, 24)
    assert box.recipients == ["reader@example.org"]
    dsn = _dsn("digest@probation-digest.example", "reader@example.org", message_id="<b1@mx.example>")
    cmd = [sys.executable, "-m", "digest.cli", "--config", str(settings.path), "bounces", "process", "-"]
    done = subprocess.run(cmd, input=dsn, capture_output=True, timeout=60)
    assert done.returncode == 0 and b"reader@example.org: hard bounce (5.1.1); suppressed" in done.stdout
    send_day(settings, clock, 25)
    assert box.recipients == ["reader@example.org"]  # the 25th's digest went to no one

    page = browser.new_page(viewport={"width": 1100, "height": 900})
    csp = CspWatch(page)
    page.goto(f"{live.base}/admin/login")
    page.fill("#password", "editor pass")
    page.click("button[type=submit]")
    expect(page.locator("h1")).to_contain_text("Dashboard")
    page.click("nav >> text=Bounces")
    row = page.locator("table").first.locator("tr", has_text="reader@example.org")
    expect(row).to_contain_text("bounced")
    expect(row).to_contain_text("Diagnostic-Code: smtp; 550 5.1.1 mailbox says no")
    expect(page.locator("table").nth(1)).to_contain_text("process")
    page.select_option("#kind", "soft")
    page.click("button:has-text('Filter')")
    expect(page.locator("body")).to_contain_text("No bounces of that kind.")
    page.goto(f"{live.base}/admin/bounces")
    page.click("button:has-text('Lift suppression')")
    expect(page.locator("h1")).to_have_text("Send to reader@example.org again?")  # a confirmation step first
    with Store(settings.database) as store:
        assert "reader@example.org" in store.suppressions()
    page.click("button:has-text('Lift the suppression')")
    expect(page.locator("[role=status]")).to_contain_text("reader@example.org will receive the digest again.")
    expect(page.locator("body")).to_contain_text("No one is suppressed")
    page.screenshot(path=str(ARTIFACTS / "admin-bounces.png"), full_page=True)
    csp.check()
    page.close()
    with Store(settings.database) as store:
        assert store.suppressions() == {}

"""The editor's admin in a real browser: feeds (check, add, edit, disable, poll now) written to the settings file
with its comments kept, today's items (leave out, include anyway) as the preview and the send honour them,
the one-choice send with its count, the delivery log per recipient, a subscriber's page and preview, the
confirmation steps and the test copy. Every page is watched for Content-Security-Policy violations."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from digest.auth import hash_password
from digest.config import load_settings
from digest.deliver import OutboxSender, SmtpSender
from digest.web import create_app

from .browser import ARTIFACTS, CspWatch, browser  # noqa: F401 - the fixture
from .conftest import SECRET, Mailbox, WebServer, free_port, serve_app

NOW = datetime(2026, 11, 24, 11, 0, tzinfo=UTC)  # before the send; GMT
GOVUK = "https://www.gov.uk/government/organisations/hm-prison-and-probation-service.atom"
BLOG = "https://www.russellwebster.com/feed/"
SUBSCRIBERS = """# the list, kept by hand
subscribers:
  - email: reader@example.org
    name: Rita Reader
  - email: prefs@example.org
    preferences:
      kinds: [inspection]   # only report cards
  - email: gone@example.org
"""


@pytest.fixture
def site(
    make_config: Any, smtp: tuple[Mailbox, int], web: WebServer, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[str, Any, Mailbox, WebServer]]:
    box, smtp_port = smtp
    box.unknown.add("gone@example.org")
    monkeypatch.setenv("DIGEST_ADMIN_PASSWORD_HASH", hash_password("editor pass"))
    monkeypatch.setenv("DIGEST_SECRET", SECRET)
    port = free_port()
    config = make_config([{"name": "HMPPS", "url": web.url(GOVUK), "type": "govuk"}], smtp_port=smtp_port)
    text = config.read_text().replace("feeds:\n", "# the feeds we follow, kept by hand\nfeeds:\n")
    config.write_text(text.replace("type: govuk\n", "type: govuk            # GOV.UK news\n"))
    settings = load_settings(config, overrides={"public_url": f"http://127.0.0.1:{port}"})
    settings.subscribers_file.write_text(SUBSCRIBERS)
    assert settings.smtp is not None
    app = create_app(settings, clock=lambda: NOW, sender=SmtpSender(settings.smtp, backoff=0.01))
    for live in serve_app(app, port):
        yield live.base, settings, box, web


def login(browser: Any, base: str) -> tuple[Any, CspWatch]:  # noqa: F811
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    csp = CspWatch(page)
    page.goto(f"{base}/admin/login")
    page.fill("#password", "editor pass")
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/admin$"))
    return page, csp


def poll_now(page: Any, base: str, name: str) -> None:
    page.goto(f"{base}/admin/feeds")
    page.click(f"button[aria-label='Poll now: {name}']")
    expect(page.locator("[role=status]")).to_contain_text(f"Polled {name}:", timeout=60_000)


def test_feeds_check_add_edit_disable_and_poll_now(browser: Any, site: Any) -> None:  # noqa: F811
    """The editor adds a feed only after its URL is checked (a page that is not a feed is refused with the
    reason), polls it now, edits and disables it; the settings file follows, its comments intact."""
    base, settings, _box, web = site
    config: Path = settings.path
    page, csp = login(browser, base)
    page.click("nav >> text=Feeds")
    expect(page.locator("tbody")).to_contain_text("HMPPS")
    expect(page.locator("tbody")).to_contain_text("never")

    before = config.read_text()
    page.fill("#feed-url", web.url("https://www.russellwebster.com/private-probation-in-south-yorks-much-better/"))
    page.click("text=Check this URL")
    expect(page.locator("[role=status]")).to_contain_text("Not a feed we can read: got an HTML page, not a feed")
    assert config.read_text() == before

    page.fill("#feed-url", web.url(BLOG))
    page.select_option("#feed-type", "blog")
    page.click("text=Check this URL")
    expect(page.locator("h1")).to_have_text("Russell Webster")
    expect(page.locator("main")).to_contain_text("Another private probation service under-performing")
    assert config.read_text() == before  # checking saves nothing
    page.screenshot(path=str(ARTIFACTS / "admin-feed-check.png"), full_page=True)
    page.click("text=Add this feed")
    expect(page.locator("[role=status]")).to_contain_text("Added Russell Webster")
    text = config.read_text()
    assert "# the feeds we follow, kept by hand\nfeeds:\n" in text
    assert "type: govuk            # GOV.UK news" in text
    assert f"  - name: Russell Webster\n    url: {web.url(BLOG)}\n    type: blog\n" in text
    assert load_settings(config).feeds[1].name == "Russell Webster"

    poll_now(page, base, "Russell Webster")
    expect(page.locator("[role=status]")).to_contain_text("Polled Russell Webster: 3 new of 3 items.")
    row = page.locator("tr", has_text="Russell Webster")
    expect(row).to_contain_text("2026-11-24 11:00 GMT")  # last success, in the schedule's zone
    page.screenshot(path=str(ARTIFACTS / "admin-feeds.png"), full_page=True)

    page.click("a[aria-label='Edit Russell Webster']")
    page.fill("#feed-name", "RW blog")
    page.uncheck("input[name=filter]")
    page.click("button:has-text('Save')")
    expect(page.locator("[role=status]")).to_contain_text("Saved RW blog.")
    text = config.read_text()
    assert "  - name: RW blog\n" in text and "    filter: false\n" in text
    assert "# the feeds we follow, kept by hand" in text

    page.click("button[aria-label='Disable RW blog']")
    expect(page.locator("h1")).to_have_text("Disable RW blog?")  # a confirmation step, not a dialog
    assert "enabled: false" not in config.read_text()
    page.click("button:has-text('Disable RW blog')")
    expect(page.locator("[role=status]")).to_contain_text("RW blog is disabled.")
    assert "    enabled: false\n" in config.read_text()
    expect(page.locator("button[aria-label='Poll now: RW blog']")).to_have_count(0)
    page.click("button[aria-label='Enable RW blog']")
    expect(page.locator("[role=status]")).to_contain_text("RW blog is enabled.")
    assert "enabled: false" not in config.read_text()
    assert "type: govuk            # GOV.UK news" in config.read_text()
    csp.check()
    page.close()


def test_poll_now_leaves_the_other_pages_answering(browser: Any, site: Any) -> None:  # noqa: F811
    """While "Poll now" waits on a slow feed, the admin's other pages still answer: the poll does not block the
    event loop."""
    import threading
    import time

    import httpx

    from .conftest import slow

    base, settings, _box, web = site
    slow_url = web.route("/slow.rss", slow(4))
    text = settings.path.read_text().replace("feeds:\n", f"feeds:\n  - name: Slow\n    url: {slow_url}\n", 1)
    settings.path.write_text(text)
    page, _csp = login(browser, base)
    # The service reads the file it edits, so take the new feed in the way the admin does: through an edit.
    page.goto(f"{base}/admin/feeds/edit?url={web.url(GOVUK)}")
    page.click("button:has-text('Save')")
    expect(page.locator("tbody")).to_contain_text("Slow")
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    answered: list[float] = []

    def other_page() -> None:
        time.sleep(1)
        started = time.monotonic()
        httpx.get(f"{base}/admin/log", cookies=cookies, timeout=10)
        answered.append(time.monotonic() - started)

    t = threading.Thread(target=other_page)
    t.start()
    page.click("button[aria-label='Poll now: Slow']")
    expect(page.locator("[role=status]")).to_contain_text("Polled Slow:", timeout=20_000)
    t.join()
    assert answered and answered[0] < 2, answered
    page.close()


def test_items_leave_out_and_include_anyway_shape_preview_and_send(browser: Any, site: Any) -> None:  # noqa: F811
    """The editor includes the item the filter dropped and leaves out one it kept, each after a confirmation;
    the preview and the email sent show exactly that; a subscriber's own preview honours their preferences."""
    base, _settings, box, _web = site
    page, csp = login(browser, base)
    poll_now(page, base, "HMPPS")
    page.click("nav >> text=Today's items")
    prison = page.locator("tr", has_text="Prison officer recruitment drive")
    expect(prison).to_contain_text("no:")
    officers = page.locator("tr", has_text="Record number of new probation officers")
    expect(officers).to_contain_text("yes")
    page.screenshot(path=str(ARTIFACTS / "admin-items.png"), full_page=True)

    prison.locator("button:has-text('Include anyway')").click()
    expect(page.locator("h1")).to_have_text("Include it anyway?")
    page.click("button:has-text('Include it')")
    expect(page.locator("tr", has_text="Prison officer recruitment drive")).to_contain_text("yes (included by you)")
    page.locator("tr", has_text="Record number of new probation officers").locator("text=Leave out").click()
    expect(page.locator("h1")).to_have_text("Leave it out?")
    page.click("button:has-text('Leave it out')")
    expect(page.locator("tr", has_text="Record number of new probation officers")).to_contain_text(
        "no: left out by the editor"
    )

    page.click("nav >> text=Preview")
    expect(page.locator("pre")).to_contain_text("Prison officer recruitment drive")
    expect(page.locator("pre")).not_to_contain_text("Record number of new probation officers")

    page.goto(f"{base}/admin/subscriber?email=prefs%40example.org")
    expect(page.locator("main")).to_contain_text("inspection")
    page.click("text=Preview today's digest as prefs@example.org gets it")
    # nothing of theirs today, so no email for them today, as the send's plan has it
    expect(page.locator("h1")).to_have_text("The next email to prefs@example.org")
    expect(page.locator("main")).to_contain_text("Nothing today is of what they chose, so no email goes to them today")
    expect(page.locator("main")).to_contain_text("0 items")
    expect(page.locator("pre")).not_to_contain_text("Prison officer recruitment drive")

    page.click("nav >> text=Send")
    expect(page.locator("main")).to_contain_text("1 with nothing today that they chose")
    page.click("button:has-text('Send now')")
    expect(page.locator("main")).to_contain_text("will go to 2 recipients now")  # not prefs@: nothing of theirs
    page.click("button:has-text('Send to 2 now')")
    page.wait_for_url(re.compile(r"/admin/log"))
    page.get_by_text("Sending…").wait_for(state="detached", timeout=20_000)
    body = box.to("reader@example.org")[0].get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    assert "Prison officer recruitment drive" in body
    assert "Record number of new probation officers" not in body
    assert box.to("prefs@example.org") == []
    csp.check()
    page.close()


def test_send_is_one_choice_with_a_count_and_the_log_shows_each_recipient(browser: Any, site: Any) -> None:  # noqa: F811
    """ "Send now" offers one choice (radio buttons) and says how many will get it before it sends; the log then
    shows each recipient's status, time and the server's reply, filtered by status and by day."""
    base, _settings, _box, _web = site
    page, csp = login(browser, base)
    page.click("nav >> text=Send")
    page.click("button:has-text('Send now')")
    expect(page.locator("main")).to_contain_text("no email will go to anyone; today is recorded as an empty day")
    poll_now(page, base, "HMPPS")
    page.click("nav >> text=Send")
    expect(page.locator("main")).to_contain_text(
        "Sending now goes to 2 of 3 subscribers (0 suppressed, 1 with nothing today that they chose)"
    )
    radios = page.locator("input[name=mode]")
    expect(radios).to_have_count(3)
    assert {radios.nth(i).get_attribute("type") for i in range(3)} == {"radio"}
    page.check("input[value=resend]")
    page.check("input[value=force]")
    assert not page.is_checked("input[value=resend]")  # one choice: ticking one unticks the other
    page.check("input[value=continue]")
    page.click("button:has-text('Send now')")
    expect(page.locator("h1")).to_have_text("Send now?")
    expect(page.locator("main")).to_contain_text("will go to 2 recipients now")  # not prefs@: no post for them
    page.screenshot(path=str(ARTIFACTS / "admin-send-confirm.png"))
    page.click("button:has-text('Send to 2 now')")
    page.wait_for_url(re.compile(r"/admin/log"))
    page.get_by_text("Sending…").wait_for(state="detached", timeout=20_000)
    page.reload()
    rows = page.locator("tbody").nth(1)
    expect(rows.locator("tr", has_text="reader@example.org")).to_contain_text("250 2.0.0 Ok: queued")
    expect(rows.locator("tr", has_text="reader@example.org")).to_contain_text("2026-11-24 11:00 GMT")
    expect(rows.locator("tr", has_text="gone@example.org")).to_contain_text("550 5.1.1")
    page.screenshot(path=str(ARTIFACTS / "admin-log.png"), full_page=True)

    page.select_option("#status", "failed")
    page.click("button:has-text('Show')")
    expect(page.locator("main")).to_contain_text("1 delivery")
    expect(page.locator("main")).not_to_contain_text("1–1 of")
    expect(page.locator("tbody").nth(1)).not_to_contain_text("reader@example.org")
    page.select_option("#status", "")
    page.select_option("#run", label="2026-11-24")
    page.click("button:has-text('Show')")
    expect(page.locator("main")).to_contain_text("2 deliveries")
    page.get_by_label("Address contains").fill("READER@")  # a part of an address, in any case, as on the bounces page
    page.click("button:has-text('Show')")
    expect(page.locator("main")).to_contain_text("1 delivery")
    expect(page.locator("tbody").nth(1)).to_contain_text("reader@example.org")
    expect(page.locator("tbody").nth(1)).not_to_contain_text("gone@example.org")
    page.get_by_label("Address contains").fill("")

    # Sending again now: the confirmation says there is nothing to do rather than counting anyone.
    page.click("nav >> text=Send")
    page.click("button:has-text('Send now')")
    expect(page.locator("h1")).to_have_text("Nothing to send")
    expect(page.locator("nav[aria-label=Admin]")).to_be_visible()
    page.click("nav >> text=Send")
    expect(page.locator("main")).to_contain_text("Sending now would send nothing: already sent today to 1 subscriber")

    # One new reader: the first step and its confirmation both count only them, as `send` would.
    _settings.subscribers_file.write_text(SUBSCRIBERS + "  - email: new@example.org\n")
    page.reload()
    expect(page.locator("main")).to_contain_text(
        "Sending now goes to 1 of 4 subscribers (1 suppressed, 1 already sent today, "
        "1 with nothing today that they chose)"
    )
    page.click("button:has-text('Send now')")
    expect(page.locator("main")).to_contain_text("will go to 1 recipient now")
    _settings.subscribers_file.write_text(SUBSCRIBERS)

    page.click("nav >> text=Subscribers")
    page.click("text=reader@example.org")
    expect(page.locator("h1")).to_have_text("reader@example.org")
    expect(page.locator("main")).to_contain_text("Rita Reader")
    expect(page.locator("main")).to_contain_text("every kind")
    expect(page.locator("tbody").nth(1)).to_contain_text("250 2.0.0 Ok: queued")
    page.screenshot(path=str(ARTIFACTS / "admin-subscriber.png"), full_page=True)
    page.click("button:has-text('Remove reader@example.org')")
    expect(page.locator("h1")).to_have_text("Remove reader@example.org?")
    page.click("text=Cancel")
    expect(page.locator("h1")).to_contain_text("Subscribers")
    expect(page.locator("main")).to_contain_text("reader@example.org")
    page.click("button[aria-label='Remove reader@example.org']")
    page.click("button:has-text('Remove reader@example.org')")
    expect(page.locator("[role=status]")).to_contain_text("Removed reader@example.org.")
    expect(page.locator("nav[aria-label=Admin] >> text=Archive")).to_have_attribute("href", "/digests")
    csp.check()
    page.close()


def test_test_copy_page_keeps_the_menu_and_names_no_server_path(
    browser: Any,  # noqa: F811
    make_config: Any,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    """The test copy's result page stays inside the admin (its menu) and does not show where the outbox is."""
    monkeypatch.setenv("DIGEST_ADMIN_PASSWORD_HASH", hash_password("editor pass"))
    monkeypatch.setenv("DIGEST_SECRET", SECRET)
    settings = load_settings(make_config([]))
    outbox = tmp_path / "outbox-folder"
    for live in serve_app(create_app(settings, clock=lambda: NOW, sender=OutboxSender(outbox))):
        page, csp = login(browser, live.base)
        page.click("nav >> text=Preview")
        page.fill("#to", "me@example.org")
        page.click("text=Send a test to me")
        expect(page.locator("h1")).to_have_text("Test copy sent")
        expect(page.locator("[role=status]")).to_contain_text("A test copy of today's digest went to me@example.org.")
        assert str(tmp_path) not in page.content() and ".eml" not in page.content()
        expect(page.locator("nav[aria-label=Admin]")).to_contain_text("Delivery log")
        assert list(outbox.rglob("*.eml"))  # it was written all the same
        csp.check()
        page.close()


def test_a_readers_page_and_preview_show_their_real_choices_and_their_next_email(browser: Any, site: Any) -> None:  # noqa: F811
    """A subscriber's page shows every choice in the file (regions, weekly day, pause) and when their next email
    goes; their preview says they get nothing today and when they do, and shows what that email carries: for a
    weekly reader, the items owed so far, in a weekly email."""
    base, settings, _box, _web = site
    settings.subscribers_file.write_text(
        SUBSCRIBERS
        + "  - email: paused@example.org\n    preferences:\n      regions: ['Kent, Surrey and Sussex', national]\n"
        + "      frequency: weekly\n      day: wednesday\n      paused_until: 2026-11-30\n"
        + "  - email: thursday@example.org\n    preferences:\n      frequency: weekly\n      day: thursday\n"
    )
    page, csp = login(browser, base)
    poll_now(page, base, "HMPPS")
    page.goto(f"{base}/admin/subscriber?email=paused%40example.org")
    main = page.locator("main")
    expect(main).to_contain_text("Kent, Surrey and Sussex, national")
    expect(main).to_contain_text("weekly, on Wednesdays")
    expect(main).to_contain_text("30 November 2026")
    expect(main).to_contain_text(
        "Not due today (paused until 30 November 2026, then weekly on Wednesdays); their next email goes on "
        "Wednesday 2 December 2026"
    )
    page.screenshot(path=str(ARTIFACTS / "admin-subscriber-weekly.png"), full_page=True)
    page.click("text=Preview today's digest as paused@example.org gets it")
    expect(page.locator("h1")).to_have_text("The next email to paused@example.org")
    expect(page.get_by_role("status")).to_contain_text("their next email goes on Wednesday 2 December 2026")
    expect(page.get_by_role("status")).to_contain_text("Items that come out while they are paused are not kept")

    page.goto(f"{base}/admin/preview?email=thursday%40example.org")
    expect(page.locator("h1")).to_have_text("The next email to thursday@example.org")
    expect(page.get_by_role("status")).to_contain_text(
        "Not due today (weekly on Thursdays); their next email goes on Thursday 26 November 2026"
    )
    expect(main).to_contain_text("Probation Digest weekly")
    expect(page.locator("pre")).to_contain_text("Record number of new probation officers")
    csp.check()
    page.close()

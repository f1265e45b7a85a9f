"""The archive in real Chromium at desktop (1280x800) and phone (390x844) widths: every page shows what it
should under the site's policy (no violation, no page without one), nothing is wider than the screen, and a reader
gets from the index to a digest, from search to an item's card, and through the ratings tracker by links and forms
alone. Screenshots go to artifacts/archive-*.png."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from digest.config import load_settings
from digest.web import create_app

from .archive_data import seed_archive
from .browser import ARTIFACTS, CspWatch, browser  # noqa: F401 - the fixture
from .conftest import SECRET, free_port, serve_app

SIZES = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}
NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
NAVY = "rgb(29, 53, 87)"


@pytest.fixture(scope="module")
def archive_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, int], Path]]:
    tmp = tmp_path_factory.mktemp("archive")
    port = free_port()
    (tmp / "digest.yml").write_text(
        "list_name: Probation Digest\nfrom_address: digest@probation-digest.example\n"
        f"public_url: http://127.0.0.1:{port}\ndatabase: digest.sqlite3\nsubscribers_file: subscribers.yml\n"
        "feeds: []\ndelivery:\n  method: outbox\n  outbox_dir: outbox\n",
        encoding="utf-8",
    )
    (tmp / "subscribers.yml").write_text("subscribers:\n  - email: reader@example.org\n", encoding="utf-8")
    with pytest.MonkeyPatch.context() as env:  # module scope: the function-scoped monkeypatch cannot serve
        env.setenv("DIGEST_SECRET", SECRET)
        settings = load_settings(tmp / "digest.yml")
        ids = seed_archive(settings, tmp / "outbox")
        for live in serve_app(create_app(settings, clock=lambda: NOW), port):
            yield live.base, ids, tmp / "outbox"


def fits(page: Any) -> None:
    """Nothing makes the page scroll sideways (the ratings table scrolls inside its own box on a phone)."""
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], f"{page.url} is {width}px wide"


@pytest.fixture(params=list(SIZES))
def screen(request: pytest.FixtureRequest, browser: Any) -> Iterator[tuple[str, Any, CspWatch]]:  # noqa: F811
    page = browser.new_page(viewport=SIZES[request.param])
    csp = CspWatch(page)
    yield request.param, page, csp
    csp.check()
    page.close()


def shot(page: Any, name: str, size: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"archive-{name}-{size}.png"), full_page=True)


def test_index_to_a_digest_and_back(archive_site: Any, screen: Any) -> None:
    """The index lists the digests newest first; a click opens the day's web version; the feed is linked."""
    base, _, _ = archive_site
    size, page, _ = screen
    page.goto(f"{base}/digests")
    assert page.locator("header").evaluate("e => getComputedStyle(e).backgroundColor") == NAVY  # site.css applied
    expect(page.locator("ul.digests li").first).to_contain_text("Tuesday 24 November 2026 2 items")
    expect(page.locator("a[href='/digests.atom']")).to_be_visible()
    fits(page)
    shot(page, "index", size)
    page.click("text=Friday 2 October 2026")
    expect(page.locator("body")).to_contain_text("A thematic inspection of accommodation for people on probation")
    shot(page, "digest-day", size)


def test_a_weekly_emails_web_version(archive_site: Any, screen: Any) -> None:
    """The weekly email's page shows the week's contents list and counts; a contents entry opens the item's card."""
    base, ids, _ = archive_site
    size, page, _ = screen
    page.goto(f"{base}/digests/week/2026-11-24")
    expect(page.locator("h1")).to_contain_text("Probation Digest: the week")
    expect(page.locator("body")).to_contain_text("This week:")
    expect(page.locator("ul.headlines")).to_contain_text("An inspection of probation services in: Wakefield PDU (2026)")
    expect(page.locator("ul.headlines")).to_contain_text("Why probation caseloads matter")
    expect(page.locator("body")).to_contain_text("web version of Probation Digest's weekly email")
    fits(page)
    shot(page, "weekly", size)
    page.click("ul.headlines >> text=Why probation caseloads matter")
    page.wait_for_url(f"{base}/items/{ids['caseloads-post']}")
    expect(page.locator("article.card h1")).to_have_text("Why probation caseloads matter")


def test_search_with_filters_then_the_items_card(archive_site: Any, screen: Any) -> None:
    """A reader types words, picks a kind, sees the match highlighted, and opens the item's full card."""
    base, ids, _ = archive_site
    size, page, _ = screen
    page.goto(f"{base}/search")
    page.fill("#q", "caseloads")
    page.select_option("#kind", "inspection")
    page.click("button[type=submit]")
    expect(page.locator("#results")).to_contain_text("1 item matching “caseloads”")
    expect(page.locator("ol.results mark").first).to_have_text("caseloads")
    expect(page.locator("#kind")).to_have_value("inspection")  # the form keeps the choice
    fits(page)
    shot(page, "search", size)
    page.click("ol.results >> text=Wakefield PDU (2026)")
    page.wait_for_url(f"{base}/items/{ids['wakefield-2026']}")
    card = page.locator("article.card")
    expect(card).to_contain_text("Rated: Requires improvement")
    expect(card).to_contain_text("Previously: Good (December 2022)")
    expect(card).to_contain_text("Region: Yorkshire and the Humber")
    expect(card).to_contain_text("Reduce caseloads to a safe level.")
    badge = page.locator(".badge").evaluate("e => getComputedStyle(e).backgroundColor")
    assert badge == "rgb(255, 183, 3)"  # the amber of 'Requires improvement', from site.css
    fits(page)
    shot(page, "item", size)
    page.click("text=digest of 24 November 2026")
    page.wait_for_url(f"{base}/digests/2026-11-24")


def test_a_search_that_finds_nothing_and_one_with_a_bad_date(archive_site: Any, screen: Any) -> None:
    """No match says so; a date the browser lets through that is not one is a clear error on the same page."""
    base, _, _ = archive_site
    size, page, _ = screen
    page.goto(f"{base}/search?q=%22NEAR(+unicorns")
    expect(page.locator("#results")).to_have_text("Nothing found")
    page.goto(f"{base}/search?q=wakefield&from=yesterday")
    expect(page.locator("#from-error")).to_contain_text("'yesterday' is not a date")
    expect(page.locator("#from")).to_have_attribute("aria-describedby", "from-error")  # tied to its field
    expect(page.locator("#from")).to_have_attribute("aria-invalid", "true")
    shot(page, "search-error", size)
    # every wrong value at once, each beside its field (a bad kind had hidden a bad date)
    page.goto(f"{base}/search?q=wakefield&kind=bogus&to=soon")
    expect(page.locator("#kind-error")).to_contain_text("“bogus” is not one of the kinds")
    expect(page.locator("#to-error")).to_contain_text("'soon' is not a date")


def test_a_filter_value_that_is_not_a_choice_is_an_error_beside_it(archive_site: Any, screen: Any) -> None:
    """A region or kind that is not one of the choices (a hand-edited link) says so beside its list, with the
    choices, and shows no results instead of everything."""
    base, _, _ = archive_site
    size, page, _ = screen
    response = page.goto(f"{base}/ratings?region=Mars")
    assert response is not None and response.status == 400
    expect(page.locator("#region-error")).to_contain_text("“Mars” is not one of the regions")
    expect(page.locator("#region-error")).to_contain_text("Yorkshire and the Humber")
    expect(page.locator("#region")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#list")).to_have_text("0 inspections")
    shot(page, "ratings-bad-filter", size)
    response = page.goto(f"{base}/search?q=probation&kind=zzz")
    assert response is not None and response.status == 400
    expect(page.locator("#kind-error")).to_contain_text("“zzz” is not one of the kinds")
    expect(page.locator("#results")).to_have_text("Nothing found")


def test_ratings_tracker_filters_sorts_and_charts(archive_site: Any, screen: Any) -> None:
    """The tracker shows the chart's bars at widths in proportion to the counts, filters by form and sorts by the
    column links."""
    base, _, _ = archive_site
    size, page, _ = screen
    page.goto(f"{base}/ratings")
    expect(page.locator("#list")).to_have_text("4 inspections")
    bars = page.locator("table.chart td.bar[bgcolor]")
    widths = [bars.nth(i).evaluate("e => e.getBoundingClientRect().width") for i in range(bars.count())]
    assert len(widths) == 3 and max(widths) - min(widths) < 2 and widths[0] > 20  # 1, 1 and 1: equal bars
    shot(page, "ratings", size)
    page.select_option("#region", "Yorkshire and the Humber")
    page.click("button[type=submit]")
    expect(page.locator("#list")).to_have_text("2 inspections")
    page.click("th >> text=Overall rating")
    expect(page.locator("table.ratings tbody tr").first).to_contain_text("Good")
    expect(page.locator("th[aria-sort]")).to_contain_text("Overall rating")
    fits(page)
    shot(page, "ratings-filtered", size)


def test_the_feed_is_served_as_atom(archive_site: Any, browser: Any) -> None:  # noqa: F811
    """The browser gets the feed as Atom XML under the site's headers."""
    base, _, _ = archive_site
    page = browser.new_page()
    response = page.goto(f"{base}/digests.atom")
    assert response.headers["content-type"].startswith("application/atom+xml")
    assert "content-security-policy" in response.headers
    assert b'<feed xmlns="http://www.w3.org/2005/Atom">' in response.body()
    page.close()


def test_the_email_shows_the_chart_and_links_into_the_archive(archive_site: Any, screen: Any) -> None:
    """The day's email, as a mail client shows it (its inline CSS only), draws the year's ratings as bars of
    proportional width beside their counts, says the previous rating, and its title links open the archive."""
    base, ids, outbox = archive_site
    size, page, _ = screen
    eml = message_from_bytes((outbox / "20261124" / "reader@example.org.eml").read_bytes(), policy=policy.default)
    html = eml.get_body(("html",)).get_content()  # type: ignore[union-attr]
    page.set_content(html)
    chart = page.locator("table.chart")
    expect(chart).to_contain_text("Ratings this year: inspections published in 2026")
    expect(page.locator(".entry").first).to_contain_text("Previously: Good (December 2022)")
    bars = chart.locator("td.bar[bgcolor]")
    widths = [bars.nth(i).evaluate("e => e.getBoundingClientRect().width") for i in range(bars.count())]
    assert len(widths) == 3 and widths[0] > 20 and max(widths) - min(widths) < 2
    chart.scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / f"archive-email-{size}.png"), full_page=True)
    link = page.locator(".entry h3 a").first.get_attribute("href")
    assert link == f"{base}/items/{ids['wakefield-2026']}"
    page.goto(link)
    expect(page.locator("h1")).to_contain_text("Wakefield PDU (2026)")

"""The email HTML in a real browser at desktop and phone widths: nothing overflows, every link is absolute; and its
web version as the app serves it, under its Content-Security-Policy."""

from __future__ import annotations

from typing import Any

import pytest

from digest import daily
from digest.config import load_settings
from digest.models import Feed
from digest.render import PREFERENCES, RECIPIENT, UNSUBSCRIBE
from digest.store import Store
from digest.web import create_app

from .browser import ARTIFACTS, CspWatch, browser  # noqa: F401 - the fixture
from .conftest import serve_app
from .test_render import DAY, NOW, candidates, render


@pytest.mark.parametrize("width", [600, 375])
def test_email_fits_and_links_are_absolute(browser: Any, width: int) -> None:  # noqa: F811
    """At 600 px and 375 px nothing is wider than the screen; every link is absolute; screenshots are kept."""
    _, rendered = render()
    html = (
        rendered.html.replace(UNSUBSCRIBE, "https://digest.example.org/unsubscribe/TOKEN")
        .replace(PREFERENCES, "https://digest.example.org/preferences/TOKEN")
        .replace(RECIPIENT, "reader@example.org")
    )
    page = browser.new_page(viewport={"width": width, "height": 900})
    page.set_content(html)
    scroll, client = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert scroll <= client, f"{scroll}px of content in a {client}px window"
    wide = page.evaluate(
        "Array.from(document.querySelectorAll('body *')).filter(e => e.getBoundingClientRect().right > "
        "document.documentElement.clientWidth + 1).map(e => e.tagName)"
    )
    assert wide == []
    hrefs = page.evaluate("Array.from(document.querySelectorAll('a')).map(a => a.getAttribute('href'))")
    assert hrefs and all(h.startswith(("https://", "http://", "mailto:")) for h in hrefs), hrefs
    page.screenshot(path=str(ARTIFACTS / f"email-{width}px.png"), full_page=True)
    page.close()


def test_dark_mode_keeps_text_readable(browser: Any) -> None:  # noqa: F811
    """With the reader's dark scheme, the body text is light on a dark background."""
    _, rendered = render()
    page = browser.new_page(viewport={"width": 600, "height": 900}, color_scheme="dark")
    page.set_content(rendered.html)
    color, background = page.evaluate(
        "(() => { const p = document.querySelector('.entry p:not(.meta)'); const c = document.querySelector("
        "'.container'); return [getComputedStyle(p).color, getComputedStyle(c).backgroundColor]; })()"
    )
    assert color == "rgb(232, 234, 237)" and background == "rgb(27, 31, 36)"
    page.screenshot(path=str(ARTIFACTS / "email-dark.png"))
    page.close()


def test_web_version_keeps_all_its_css_under_the_policy(browser: Any, make_config: Any) -> None:  # noqa: F811
    """The web version of a full digest, served by the app with its Content-Security-Policy, fits a phone and
    keeps its dark-mode colours: the policy blocks none of its CSS (no violation on the console)."""
    digest, rendered = render()
    settings = load_settings(make_config([]))
    with Store(settings.database) as store:
        # The web version is rendered from the run's items (every one in full), so the store has them.
        found = candidates()
        store.sync_feeds([Feed(name="Sources", url=found[0].item.feed_url)])
        stored = store.add_items(found[0].item.feed_url, [c.item for c in found], now=NOW, backfill_since=None)
        for c, kept in zip(found, stored, strict=True):
            assert kept.id is not None
            store.save_document(kept.id, c.document)
            store.save_summary(kept.id, c.summary, now=NOW)
        carried = [kept.id for c, kept in zip(found, stored, strict=True) if c.summary.about_probation]
        key = daily.run_key(settings, DAY)
        store.create_run(
            key, day=DAY, now=NOW, subject=digest.subject, item_ids=carried, html=rendered.html, text="", recipients=[]
        )
    for live in serve_app(create_app(settings)):
        page = browser.new_page(viewport={"width": 375, "height": 900}, color_scheme="dark")
        csp = CspWatch(page)
        page.goto(f"{live.base}/digests/{DAY.isoformat()}")
        scroll, client = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
        assert scroll <= client
        color, background = page.evaluate(
            "(() => { const p = document.querySelector('.entry p:not(.meta)'); const c = document.querySelector("
            "'.container'); return [getComputedStyle(p).color, getComputedStyle(c).backgroundColor]; })()"
        )
        assert color == "rgb(232, 234, 237)" and background == "rgb(27, 31, 36)"
        page.screenshot(path=str(ARTIFACTS / "web-version-dark.png"), full_page=True)
        csp.check()
        page.close()

"""Items about the same publication in the archive, on the real South Yorkshire report (2017) and Russell
Webster's post about it, summarised by the real summariser: each one's page links the other (as the email's
"Also discussed by" does), a post weeks later stands alone, and a search lists the publication once."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from digest.config import load_settings
from digest.extract import extract_text
from digest.models import Item
from digest.store import Store
from digest.summarise import Hints, summarise
from digest.web import create_app

from .archive_data import BLOG, INSPECTORATE, seed_archive
from .conftest import SECRET, SEEDS, serve_app

REPORT_DAY = datetime(2017, 6, 29, 9, 0, tzinfo=UTC)
NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


def _add(store: Store, feed: Any, key: str, seed: str, when: datetime, source_type: str) -> int:
    """Store a seed text as a feed's item, read and summarised as the pipeline does; return its id."""
    doc = extract_text((SEEDS / seed).read_text(encoding="utf-8"), url=f"{feed.url}{key}/")
    title = "Quality & Impact inspection: South Yorkshire" if source_type == "inspectorate" else doc.title
    url = f"{feed.url.rsplit('/feed/', 1)[0]}/{key}/"
    item = Item(
        feed_url=feed.url, source=feed.name, guid=url, url=url, canonical_url=url, title=title, published=when,
        content_html="", summary_html="", content_hash=key,
    )  # fmt: skip
    # Recorded as seen, as a backfill records a feed's older items (as archive_data does).
    store.add_items(feed.url, [item], now=when, backfill_since=datetime.max.replace(tzinfo=UTC))
    item_id = int(store.db.execute("SELECT id FROM items WHERE guid=?", (url,)).fetchone()[0])
    store.save_document(item_id, replace(doc, url=url))
    store.save_summary(item_id, summarise(doc, Hints(title=title, source_type=source_type)), now=when)
    return item_id


@pytest.fixture
def archive(
    make_config: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[tuple[httpx.Client, dict[str, int]]]:
    monkeypatch.setenv("DIGEST_SECRET", SECRET)
    settings = load_settings(make_config([]), overrides={"public_url": "https://digest.example.org"})
    ids = seed_archive(settings, tmp_path / "outbox")
    with Store(settings.database) as store:
        ids["report"] = _add(
            store, INSPECTORATE, "sy-report", "report_south_yorkshire_2017.txt", REPORT_DAY, "inspectorate"
        )
        ids["post"] = _add(
            store, BLOG, "sy-post", "blog_south_yorkshire_2017.txt", REPORT_DAY + timedelta(days=3), "blog"
        )
        ids["late"] = _add(
            store, BLOG, "sy-late", "blog_south_yorkshire_2017.txt", REPORT_DAY + timedelta(days=40), "blog"
        )
    for live in serve_app(create_app(settings, clock=lambda: NOW)):
        with live.client() as client:
            yield client, ids


def section(html: str, heading: str) -> str:
    """The list under a heading on an item page ('' when the page has no such heading)."""
    found = re.search(rf"<h2>{heading}</h2>\s*<ul[^>]*>(.*?)</ul>", html, re.S)
    return found[1] if found else ""


def test_the_reports_page_lists_the_post_that_discussed_it(archive: Any) -> None:
    """The report's page says "Also discussed by" with the post three days later, linked to its page; the post
    forty days later, another occasion, is not listed."""
    client, ids = archive
    page = client.get(f"/items/{ids['report']}").text
    also = section(page, "Also discussed by")
    assert f'href="/items/{ids["post"]}"' in also and "Russell Webster" in also
    assert f"/items/{ids['late']}" not in page


def test_the_posts_page_links_the_report_it_discusses(archive: Any) -> None:
    """The post's page lists the report it is about, first, under "About the same publication"."""
    client, ids = archive
    about = section(client.get(f"/items/{ids['post']}").text, "About the same publication")
    assert re.findall(r'href="/items/(\d+)"', about) == [str(ids["report"])]
    assert "HM Inspectorate of Probation" in about
    late = client.get(f"/items/{ids['late']}").text
    assert "Also discussed by" not in late and "About the same publication" not in late


def test_a_search_lists_the_publication_once(archive: Any) -> None:
    """A search that matches the report and the post about it shows one result, the report, with the post as
    "Also reported by"; the later post, about another occasion, is a result of its own."""
    client, ids = archive
    html = client.get("/search", params={"q": "South Yorkshire"}).text
    rows = re.findall(r'<li><a href="/items/(\d+)">', html)
    assert str(ids["report"]) in rows and str(ids["post"]) not in rows and str(ids["late"]) in rows
    also = re.search(r'Also reported by: <a href="/items/(\d+)">Russell Webster', html)
    assert also is not None and also[1] == str(ids["post"])
    # the count says items; the list shows publications: the difference is said, not left to puzzle over
    count = int(re.search(r'<h2 id="results">(\d+) items', html)[1])  # type: ignore[index]
    assert count == len(rows) + 1 and "1 item on this page is another feed’s report of a publication" in html

"""`digest backfill FEED --pages N` against WordPress-shaped feed pages served from 127.0.0.1: older pages come in
as seen (never sent) but read and summarised, so the ratings tracker and the archive start full.

The pages are built from the labelled corpus: six of HM Inspectorate of Probation's press releases (Crown
copyright, OGL v3.0; each sidecar names its source_url, which the feed item links to, and its licence)."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit
from xml.sax.saxutils import escape

import pytest

from digest import daily
from digest.config import load_settings
from digest.deliver import OutboxSender
from digest.store import Store

from .conftest import DATA, SECRET, WebServer
from .test_cli import run

CORPUS = DATA / "corpus"
# Newest first, two a page, as WordPress pages a feed: (corpus slug, the date the fixture publishes it).
PAGES = [
    [("birmingham-yos-2023-press-release", datetime(2023, 9, 12, 9, 0, tzinfo=UTC)),
     ("bridgend-yjs-2022-press-release", datetime(2022, 11, 8, 9, 0, tzinfo=UTC))],
    [("barnsley-yjs-2023-press-release", datetime(2023, 3, 7, 9, 0, tzinfo=UTC)),
     ("bedfordshire-pdu-press-release", datetime(2022, 6, 14, 9, 0, tzinfo=UTC))],
    [("birmingham-yos-2020-press-release", datetime(2020, 10, 20, 9, 0, tzinfo=UTC)),
     ("bridgend-yjs-outstanding-press-release", datetime(2019, 2, 5, 9, 0, tzinfo=UTC))],
]  # fmt: skip


def wordpress_page(entries: list[tuple[str, datetime]]) -> bytes:
    """One page of a WordPress RSS 2.0 feed, each item's full text in content:encoded."""
    items = []
    for n, (slug, when) in enumerate(entries):
        meta = json.loads((CORPUS / f"{slug}.json").read_text(encoding="utf-8"))
        assert meta["licence"] == "OGL-3.0"
        paragraphs = (CORPUS / f"{slug}.txt").read_text(encoding="utf-8").split("\n\n")
        body = "".join(f"<p>{escape(p)}</p>" for p in paragraphs if p.strip())
        items.append(
            f"<item><title>{escape(meta['title'])}</title><link>{escape(meta['source_url'])}</link>"
            f'<guid isPermaLink="false">https://hmiprobation.example/?p={slug}-{n}</guid>'
            f"<pubDate>{format_datetime(when)}</pubDate><category>Inspection</category>"
            f"<content:encoded><![CDATA[{body}]]></content:encoded></item>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0" '
        'xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel>'
        "<title>HM Inspectorate of Probation</title><link>https://hmiprobation.example/</link>"
        f"<description>News</description>{''.join(items)}</channel></rss>"
    ).encode()


def serve_pages(web: WebServer, *, repeat_last: bool = False) -> str:
    """The feed at /feed/, its older pages at /feed/?paged=N; past the last, a 404 (or the last page again)."""

    def route(h: BaseHTTPRequestHandler) -> None:
        n = int(parse_qs(urlsplit(h.path).query).get("paged", ["1"])[0])
        if n > len(PAGES) and repeat_last:
            n = len(PAGES)
        if n > len(PAGES):
            h.send_response(404)
            h.send_header("Content-Length", "0")
            h.end_headers()
            return
        data = wordpress_page(PAGES[n - 1])
        h.send_response(200)
        h.send_header("Content-Type", "application/rss+xml; charset=UTF-8")
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        h.wfile.write(data)

    return web.route("/feed/", route)


@pytest.fixture
def config(web: WebServer, make_config: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("DIGEST_SECRET", SECRET)
    url = serve_pages(web)
    return make_config([{"name": "HM Inspectorate of Probation", "url": url, "type": "inspectorate", "filter": False}])


def test_backfill_imports_older_pages_as_seen_and_the_tracker_starts_full(web: WebServer, config: Any) -> None:
    """Pages 1-3 are read, page 4's 404 stops it; every item is summarised, none is sent, and `digest ratings`
    lists the six inspections with the Birmingham service's two ratings three years apart."""
    r = run("backfill", "HM Inspectorate of Probation", "--pages", "10", config=config)
    assert r.returncode == 0, r.stderr
    assert [line.split(":")[0] for line in r.stdout.splitlines()[:3]] == ["page 1", "page 2", "page 3"]
    assert (
        "stopped: page 4 does not exist (404); 6 items added as already seen (not sent); 6 read and summarised"
        in r.stdout
    )
    assert [h for h in web.hits if "paged" in h] == ["/feed/?paged=2", "/feed/?paged=3", "/feed/?paged=4"]

    rows = list(csv.DictReader(io.StringIO(run("ratings", "--csv", config=config).stdout)))
    assert len(rows) == 6
    birmingham = [(r["published"], r["rating"], r["type"]) for r in rows if r["organisation"].startswith("Birmingham")]
    assert birmingham == [
        ("2023-09-12", "Requires improvement", "youth justice"),
        ("2020-10-20", "Requires improvement", "youth justice"),
    ]
    sources = {json.loads((CORPUS / f"{slug}.json").read_text())["source_url"] for page in PAGES for slug, _ in page}
    assert {r["url"] for r in rows} == sources  # each row links to the press release it came from

    settings = load_settings(config)
    with Store(settings.database) as store:
        assert store.pending_items() == []  # backfilled items wait for no digest
        now = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
        outcome = daily.send_digest(
            settings, store, OutboxSender(settings.database.parent / "outbox"), clock=lambda: now
        )
        assert outcome.message.startswith("nothing new today")


def test_backfill_stops_at_a_page_it_has_read_before(
    web: WebServer, make_config: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A site that answers every page past the last with the last page again: the repeat stops the import."""
    monkeypatch.setenv("DIGEST_SECRET", SECRET)
    url = serve_pages(web, repeat_last=True)
    config = make_config([{"name": "Inspectorate", "url": url, "type": "inspectorate", "filter": False}])
    r = run("backfill", url, "--pages", "8", config=config)
    assert "stopped: page 4 repeats an earlier page; 6 items added" in r.stdout, r.stdout + r.stderr


def test_backfill_reads_only_the_pages_asked_for_and_names_an_unknown_feed(config: Any, web: WebServer) -> None:
    """--pages 1 reads the feed itself and no older page; a feed not in the settings is an input error (exit 2)."""
    r = run("backfill", "hm inspectorate of probation", "--pages", "1", config=config)
    assert "stopped: read the 1 page asked for; 2 items added" in r.stdout, r.stdout + r.stderr
    assert not [h for h in web.hits if "paged" in h]
    missing = run("backfill", "Nobody's blog", config=config)
    assert missing.returncode == 2 and 'no feed named "Nobody\'s blog"' in missing.stderr

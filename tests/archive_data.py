"""An archive to test against: inspections of the same bodies years apart, a thematic, a blog post and an item not
about probation, carried by three digests sent on three days (through `daily.send_digest`, as in service)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from digest import daily
from digest.deliver import OutboxSender
from digest.models import Document, Feed, Item, Recommendation, Summary
from digest.store import Store

INSPECTORATE = Feed("HM Inspectorate of Probation", "https://hmiprobation.example/feed/", "inspectorate", False)
BLOG = Feed("Russell Webster", "https://blog.example/feed/", "blog")


@dataclass(frozen=True)
class Seed:
    key: str
    feed: Feed
    summary: Summary
    published: datetime
    day: date | None  # the digest that carries it (None: not carried, as a backfilled item)


def _summary(title: str, kind: str = "inspection", **fields: Any) -> Summary:
    return Summary(title=title, kind=kind, about_probation=fields.pop("about_probation", True), **fields)  # type: ignore[arg-type]


SEEDS = [
    Seed(
        "wakefield-2022",
        INSPECTORATE,
        _summary(
            "An inspection of probation services in: Wakefield PDU",
            organisation="Wakefield PDU",
            unit="probation delivery unit",
            rating="Good",
            summary="Wakefield PDU was rated Good. Staff knew the people they supervised well.",
            published=date(2022, 12, 6),
        ),
        datetime(2022, 12, 6, 9, 0, tzinfo=UTC),
        None,
    ),
    Seed(
        "cardiff-yjs",
        INSPECTORATE,
        _summary(
            "An inspection of youth justice services in Cardiff",
            organisation="Cardiff Youth Justice Service",
            unit="youth justice service",
            rating="Outstanding",
            summary="Cardiff Youth Justice Service was rated Outstanding for its work with children.",
            published=date(2026, 3, 10),
        ),
        datetime(2026, 3, 10, 9, 0, tzinfo=UTC),
        date(2026, 6, 30),
    ),
    Seed(
        "north-west",
        INSPECTORATE,
        _summary(
            "A regional inspection of the North West probation region",
            organisation="North West region",
            unit="probation region",
            rating="Inadequate",
            summary="The North West region was rated Inadequate: leadership did not grip the staffing crisis.",
            published=date(2026, 6, 16),
        ),
        datetime(2026, 6, 16, 9, 0, tzinfo=UTC),
        date(2026, 6, 30),
    ),
    Seed(
        "accommodation",
        INSPECTORATE,
        _summary(
            "A thematic inspection of accommodation for people on probation",
            kind="thematic",
            summary="Too many people leave prison with nowhere to live; homelessness undermines supervision.",
            key_findings=("One in ten people left prison homeless.",),
            published=date(2026, 10, 1),
        ),
        datetime(2026, 10, 1, 9, 0, tzinfo=UTC),
        date(2026, 10, 2),
    ),
    Seed(
        "wakefield-2026",
        INSPECTORATE,
        _summary(
            "An inspection of probation services in: Wakefield PDU (2026)",
            organisation="Wakefield PDU",
            unit="probation delivery unit",
            rating="Requires improvement",
            standard_ratings=(("1.1 Leadership", "Good"), ("1.2 Staffing", "Inadequate")),
            summary="Wakefield PDU now requires improvement: caseloads are too high for safe supervision.",
            key_findings=("Caseloads were far above the workload measurement tool's limit.",),
            recommendations=(Recommendation("Reduce caseloads to a safe level.", "The Probation Service"),),
            chief_inspector="Martin Jones",
            chief_inspector_quote="Staff in Wakefield are working hard, but there are too few of them.",
            published=date(2026, 11, 20),
        ),
        datetime(2026, 11, 20, 9, 0, tzinfo=UTC),
        date(2026, 11, 24),
    ),
    Seed(
        "caseloads-post",
        BLOG,
        _summary(
            "Why probation caseloads matter",
            kind="blog",
            summary="A post on unpaid work, caseloads and the workload measurement tool.",
        ),
        datetime(2026, 11, 21, 9, 0, tzinfo=UTC),
        date(2026, 11, 24),
    ),
    Seed(
        "off-topic",
        BLOG,
        _summary(
            "A post about gardening", kind="blog", summary="Roses and caseloads of compost.", about_probation=False
        ),
        datetime(2026, 11, 22, 9, 0, tzinfo=UTC),
        date(2026, 11, 24),
    ),
]


def _item(seed: Seed) -> Item:
    url = f"{seed.feed.url.rsplit('/feed/', 1)[0]}/{seed.key}/"
    return Item(
        feed_url=seed.feed.url,
        source=seed.feed.name,
        guid=url,
        url=url,
        canonical_url=url,
        title=seed.summary.title,
        published=seed.published,
        content_html="",
        summary_html="",
        content_hash=hashlib.sha256(seed.key.encode()).hexdigest(),
    )


def seed_archive(settings: Any, outbox: Path) -> dict[str, int]:
    """Store the seeds and send the digests that carry them; return each seed's item id by key."""
    ids: dict[str, int] = {}
    with Store(settings.database) as store:
        store.sync_feeds([INSPECTORATE, BLOG])
        days = sorted({s.day for s in SEEDS if s.day}, key=lambda d: d)
        for day in [None, *days]:
            for seed in (s for s in SEEDS if s.day == day):
                item = _item(seed)
                # Not carried by a digest: recorded as seen, as a backfill records a feed's older items.
                since = None if day else datetime.max.replace(tzinfo=UTC)
                store.add_items(seed.feed.url, [item], now=seed.published, backfill_since=since)
                item_id = store.db.execute("SELECT id FROM items WHERE guid=?", (item.guid,)).fetchone()[0]
                ids[seed.key] = item_id
                store.save_document(item_id, Document(url=item.url, title=item.title, text="", format="html"))
                store.save_summary(item_id, seed.summary, now=seed.published)
            if day is None:
                continue
            clock = lambda d=day: datetime(d.year, d.month, d.day, 12, 0, tzinfo=UTC)  # noqa: E731
            daily.send_digest(settings, store, OutboxSender(outbox), clock=clock)
    return ids

"""The ratings tracker: every inspection the store knows, with its organisation, type, region, date and ratings;
an earlier inspection of the same body ("previously: Good (December 2022)"); and the year's count by rating.
Pure: stored items and summaries in, frozen rows out (the store's query is `store_archive.inspection_rows`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

from .bodies import place_of, same_body, tidy
from .models import RATINGS, Bar, Chart, Item, Summary
from .regions import NATIONAL, region_of
from .text import TITLE_LIMIT, safe_text, web_link

# Reports of one inspection from several feeds (the inspectorate's item, a blog's post): one row.
SAME_REPORT_WINDOW = timedelta(days=14)
NO_RATING = "No overall rating"
# What was inspected, from the card's unit (card.inspected_unit) or else from the organisation's name.
_TYPE_OF_UNIT = {
    "probation delivery unit": "PDU",
    "youth justice service": "youth justice",
    "community rehabilitation company": "CRC",
    "NPS division": "NPS division",
    "probation region": "regional",
    "CRC and NPS area inspection": "area",
    "thematic inspection": "national",
}
_TYPE_OF_NAME = [
    (re.compile(r"\b(?:PDUs?|Probation Delivery Units?)\b"), "PDU"),
    (re.compile(r"\b(?:YJS|YOS|YOT|YJPS|Youth|Young)\b"), "youth justice"),
    (re.compile(r"\b(?:CRC|Community Rehabilitation Company)\b"), "CRC"),
    (re.compile(r"\bNPS\b|\b[Dd]ivision\b"), "NPS division"),
    (re.compile(r"\b[Rr]egion\b"), "regional"),
]
TYPES = ("PDU", "youth justice", "CRC", "NPS division", "regional", "area", "national", "other")
SORTS = ("date", "organisation", "rating", "region", "type")


@dataclass(frozen=True)
class Inspection:
    """One inspection as the tracker lists it."""

    item_id: int
    organisation: str
    type: str  # one of TYPES
    region: str | None  # a probation region, "national", or None when the table does not know the body
    published: date
    rating: str | None  # one of RATINGS
    standards: tuple[tuple[str, str], ...]  # per standard, where the report gives them
    title: str
    url: str
    inspectorate: bool = False  # from the inspectorate's own feed

    @property
    def when(self) -> str:
        return self.published.strftime("%B %Y")


def inspection_type(summary: Summary, region: str | None) -> str:
    typed = _TYPE_OF_UNIT.get(summary.unit or "")
    if typed:
        return typed
    name = summary.organisation or ""
    found = next((kind for rx, kind in _TYPE_OF_NAME if rx.search(name)), None)
    if found:
        return found
    return "national" if region == NATIONAL else "other"


def inspections(rows: Iterable[tuple[Item, Summary]]) -> list[Inspection]:
    """The inspections among stored items, newest first, one row per report: several feeds' items about the same
    body within a fortnight are one inspection, told by the inspectorate's item where there is one."""
    found: list[Inspection] = []
    for item, s in rows:
        if s.kind != "inspection" or not s.about_probation or not s.organisation or item.id is None:
            continue
        organisation = safe_text(s.organisation, TITLE_LIMIT)
        region = _region(organisation)
        found.append(
            Inspection(
                item_id=item.id,
                organisation=organisation,
                type=inspection_type(s, region),
                region=region,
                published=s.published or item.published.date(),
                rating=s.rating if s.rating in RATINGS else None,
                standards=tuple((safe_text(n, 200), safe_text(r, 60)) for n, r in s.standard_ratings),
                title=safe_text(s.title or item.title, TITLE_LIMIT),
                url=web_link(item.url) or item.feed_url,
                inspectorate=item.source_type == "inspectorate",
            )
        )
    # The inspectorate's own and the fullest first, so that a blog's report of the same inspection joins it.
    found.sort(key=lambda i: (not i.inspectorate, i.rating is None, -len(i.standards), i.item_id))
    kept: list[Inspection] = []
    by_day: dict[int, list[Inspection]] = {}  # kept rows by day, so each is compared with a month's rows only
    window = SAME_REPORT_WINDOW.days
    for i in found:
        day = i.published.toordinal()
        near = (k for d in range(day - window, day + window + 1) for k in by_day.get(d, ()))
        if not any(_maybe_same(i.organisation, k.organisation) for k in near):
            kept.append(i)
            by_day.setdefault(day, []).append(i)
    return sorted(kept, key=lambda i: (i.published, i.item_id), reverse=True)


# The region of each name, once: the table's lookup costs ~0.1 ms, and the same bodies come back year after year.
_region = lru_cache(maxsize=4096)(region_of)


@lru_cache(maxsize=4096)
def _start(name: str) -> str:
    """The first letters of a body's place: two names same_body matches always share them (it matches a place
    word only to another that starts the same, three letters at least)."""
    return re.sub(r"[^a-z0-9]+", "", place_of(tidy(name)).lower())[:3]


@lru_cache(maxsize=65536)
def _maybe_same(a: str, b: str) -> bool:
    """same_body, asked only of names that could match, and once a pair: it is slow (regular expressions), and
    a tracker compares the same few hundred names again and again."""
    return _start(a) == _start(b) and same_body(a, b)


def previous(organisation: str | None, published: date, history: Sequence[Inspection]) -> Inspection | None:
    """The latest rated inspection of the same body before this one (`history` from `inspections`)."""
    if not organisation:
        return None
    earlier = [
        i
        for i in history
        if i.rating and i.published < published - SAME_REPORT_WINDOW and _maybe_same(i.organisation, organisation)
    ]
    return max(earlier, key=lambda i: i.published, default=None)


def previously(organisation: str | None, published: date, history: Sequence[Inspection]) -> str | None:
    """What the card says about the last inspection: "Good (December 2022)"; None when none is known."""
    before = previous(organisation, published, history)
    return f"{before.rating} ({before.when})" if before else None


def chart(history: Iterable[Inspection], year: int, *, until: date | None = None, this_year: bool = True) -> Chart:
    """How many inspections published in `year` (up to `until`) got each overall rating; `this_year` when `year` is
    the current one (the caption says "this year" only then)."""
    those = [i for i in history if i.published.year == year and (until is None or i.published <= until)]
    counts = {r: sum(1 for i in those if i.rating == r) for r in RATINGS}
    top = max(counts.values(), default=0) or 1
    bars = tuple(Bar(r, n, max(1, round(100 * n / top)) if n else 0) for r, n in counts.items())
    return Chart(year=year, bars=bars, unrated=sum(1 for i in those if i.rating is None), this_year=this_year)


def select(
    rows: Sequence[Inspection],
    *,
    region: str | None = None,
    rating: str | None = None,
    type: str | None = None,
    year: int | None = None,
    sort: str = "date",
    descending: bool = True,
) -> list[Inspection]:
    """The tracker's rows filtered and sorted as its page and `digest ratings` offer."""
    out = [
        i
        for i in rows
        if (region is None or i.region == region)
        and (rating is None or (i.rating or NO_RATING) == rating)
        and (type is None or i.type == type)
        and (year is None or i.published.year == year)
    ]
    order = {r: n for n, r in enumerate(RATINGS)}
    keys = {
        "date": lambda i: (i.published, i.organisation.lower()),
        "organisation": lambda i: (i.organisation.lower(), i.published),
        "rating": lambda i: (order.get(i.rating or "", len(RATINGS)), i.organisation.lower()),
        "region": lambda i: (i.region or "~", i.organisation.lower()),
        "type": lambda i: (i.type, i.organisation.lower()),
    }
    return sorted(out, key=keys.get(sort, keys["date"]), reverse=descending)

"""The store's archive queries: past digests page by page, one item with the digest that carried it, the search
over every summary (FTS5, `summary_search`, kept in step by triggers: store_schema) and the inspections for the
ratings tracker."""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from .errors import InputError
from .models import Document, Item, Summary
from .regions import region_of
from .store_items import ItemStore
from .store_schema import ts


@dataclass(frozen=True)
class DigestInfo:
    """A past digest as the archive's index and feed list it."""

    day: date
    subject: str
    created_at: datetime
    item_ids: tuple[int, ...]  # the feed items its run claimed: compose them to count as the email did (archive)


@dataclass(frozen=True)
class SearchQuery:
    """What a reader searches for: words (each matched as typed, never as FTS5 syntax) and filters."""

    words: str = ""
    kind: str | None = None
    region: str | None = None
    rating: str | None = None
    since: date | None = None
    until: date | None = None


@dataclass(frozen=True)
class Found:
    item: Item
    summary: Summary
    document: Document | None
    snippet: str  # the words around the match, with the matched words between \x02 and \x03
    day: date | None  # the digest that carried it


def fts_query(words: str) -> str:
    """A reader's words as an FTS5 query that cannot be a syntax error: each word a quoted string (quotes in it
    doubled), all of them required; a trailing * keeps its meaning as a prefix search."""
    terms = []
    for word in words.split():
        prefix = word.endswith("*") and len(word.strip("*")) > 1
        word = word.strip("*")
        if re.search(r"\w", word):
            terms.append('"' + word.replace('"', '""') + '"' + ("*" if prefix else ""))
    return " ".join(terms)


class ArchiveStore(ItemStore):
    """Past digests, items and their search, and the inspections for the ratings tracker."""

    def digests(self, *, limit: int, offset: int = 0) -> tuple[list[DigestInfo], int]:
        """Past digests that went out (not empty days), newest first, one page; and how many there are."""
        where = "FROM runs WHERE status != 'empty' AND html != ''"
        total = int(self.db.execute(f"SELECT count(*) {where}").fetchone()[0])
        rows = self.db.execute(
            f"SELECT day, subject, created, item_ids {where} ORDER BY day DESC, created DESC LIMIT ? OFFSET ?",
            (limit, offset),
        ).fetchall()
        found = [
            DigestInfo(date.fromisoformat(r[0]), r[1], datetime.fromisoformat(r[2]), tuple(json.loads(r[3])))
            for r in rows
        ]
        return found, total

    def editions_between(self, first: date, last: date) -> tuple[str, ...]:
        """The runs (editions) that carried items, from `first` to `last` days inclusive, oldest first: what a
        weekly email sent on `last` carries to a reader last sent one before `first`."""
        rows = self.db.execute(
            "SELECT key FROM runs WHERE day BETWEEN ? AND ? AND status != 'empty' AND item_ids != '[]' "
            "ORDER BY day, created",
            (first.isoformat(), last.isoformat()),
        )
        return tuple(r[0] for r in rows)

    def weekly_days(self, days: Iterable[date]) -> set[date]:
        """Which of these days' sends delivered a weekly digest to someone."""
        wanted = [d.isoformat() for d in days]
        if not wanted:
            return set()
        rows = self.db.execute(
            "SELECT DISTINCT r.day FROM runs r JOIN deliveries d ON d.run_key=r.key "
            f"WHERE d.period LIKE 'weekly:%' AND r.day IN ({','.join('?' * len(wanted))})",
            wanted,
        )
        return {date.fromisoformat(r[0]) for r in rows}

    def published_between(self, start: datetime, end: datetime) -> list[int]:
        """Items published in a window (new or backfilled, never a duplicate), oldest first: the neighbours an
        item page looks through for other items about the same publication."""
        rows = self.db.execute(
            "SELECT id FROM items WHERE published BETWEEN ? AND ? AND state != 'duplicate' ORDER BY published, id",
            (ts(start), ts(end)),
        )
        return [int(r[0]) for r in rows]

    def item_day(self, item_id: int) -> date | None:
        """The day of the digest that carried an item, if one did."""
        r = self.db.execute(
            "SELECT r.day FROM items i JOIN runs r ON r.key=i.run_key WHERE i.id=? AND r.status != 'empty'",
            (item_id,),
        ).fetchone()
        return date.fromisoformat(r[0]) if r else None

    def search(self, query: SearchQuery, *, limit: int, offset: int = 0) -> tuple[list[Found], int]:
        """Items about probation matching the words (best first) or, without words, all of them (newest first),
        within the filters; one page, and how many match."""
        self.db.create_function("region_of", 1, region_of, deterministic=True)
        # What matches (counted), then what a page shows. Only new and backfilled items are summarised, never a
        # duplicate; and the item's columns read here come before its (long) content, so counting stays quick.
        matched = "FROM summary_text t JOIN items i ON i.id=t.item_id"
        where = ["t.relevant"]
        args: list[Any] = []
        match = fts_query(query.words)
        if query.words.strip() and not match:
            return [], 0  # only punctuation: nothing can match
        if match:
            matched = """FROM summary_search JOIN summary_text t ON t.item_id=summary_search.rowid
                         JOIN items i ON i.id=t.item_id"""
            where.append("summary_search MATCH ?")
            args.append(match)
        if query.kind:
            where.append("t.kind = ?")
            args.append(query.kind)
        if query.rating:
            where.append("t.rating = ?")
            args.append(query.rating)
        if query.region:
            # as a reader's region choice reads an item: an inspection is its body's region; anything else (a
            # thematic, research, news, a post), or a body placed nowhere, is national
            where.append("coalesce(CASE WHEN t.kind = 'inspection' THEN region_of(t.organisation) END, 'national') = ?")
            args.append(query.region)
        if query.since:  # days as the store keeps times: UTC
            where.append("substr(i.published, 1, 10) >= ?")
            args.append(query.since.isoformat())
        if query.until:
            where.append("substr(i.published, 1, 10) <= ?")
            args.append(query.until.isoformat())
        sql_where = " AND ".join(where)
        try:
            total = int(self.db.execute(f"SELECT count(*) {matched} WHERE {sql_where}", args).fetchone()[0])
        except sqlite3.OperationalError as exc:  # quoting leaves no syntax to get wrong; a guard all the same
            raise InputError(f"that search could not be run: {exc}") from exc
        snippet = "snippet(summary_search, -1, char(2), char(3), '…', 24)" if match else "''"
        order = "summary_search.rank" if match else "i.published DESC, i.id DESC"
        rows = self.db.execute(
            f"""SELECT i.*, f.url AS feed_url, f.name AS source, f.kind AS source_type, f.filter AS feed_filter,
                s.data AS summary_data, d.url AS doc_url, d.title AS doc_title, d.format AS doc_format,
                d.text AS doc_text, d.published AS doc_published, d.scanned AS doc_scanned,
                d.pages AS doc_pages, d.report_url AS doc_report_url, d.pdf_url AS doc_pdf_url,
                {snippet} AS snip, CASE WHEN r.status != 'empty' THEN r.day END AS carried
                {matched} JOIN feeds f ON f.id=i.feed_id JOIN summaries s ON s.item_id=i.id
                LEFT JOIN documents d ON d.item_id=i.id LEFT JOIN runs r ON r.key=i.run_key
                WHERE {sql_where} ORDER BY {order} LIMIT ? OFFSET ?""",
            [*args, limit, offset],
        ).fetchall()
        found = []
        for r in rows:
            item, summary, doc = self._read(r)
            day = date.fromisoformat(r["carried"]) if r["carried"] else None
            found.append(Found(item, summary, doc, r["snip"] or "", day))
        return found, total

    def count_items(self, feed_url: str) -> int:
        return int(
            self.db.execute(
                "SELECT count(*) FROM items i JOIN feeds f ON f.id=i.feed_id WHERE f.url=?", (feed_url,)
            ).fetchone()[0]
        )

    def unsummarised_seen(self, feed_url: str) -> list[Item]:
        """A feed's items recorded as seen (a backfill's) that have no summary yet, oldest first."""
        rows = self.db.execute(
            f"""{self._ITEM_SELECT} WHERE f.url=? AND i.state='seen'
                AND i.id NOT IN (SELECT item_id FROM summaries) ORDER BY i.published, i.id""",
            (feed_url,),
        ).fetchall()
        return [self._item(r) for r in rows]

    def inspection_rows(self) -> list[tuple[Item, Summary]]:
        """Every stored item summarised as an inspection (the tracker picks and merges: `tracker.inspections`)."""
        rows = self.db.execute(
            f"""{self._READ_SELECT} WHERE i.id IN (SELECT t.item_id FROM summary_text t WHERE t.kind = 'inspection')
                ORDER BY i.published, i.id"""
        ).fetchall()
        return [self._read(r)[:2] for r in rows]

"""The store's feeds, items, documents and summaries, and the one place a Summary becomes JSON and back."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import replace
from datetime import date, datetime
from typing import Any

from .errors import StoreError
from .models import (
    Document,
    Feed,
    FeedErrorKind,
    FeedHealth,
    FeedState,
    Item,
    Recommendation,
    Summary,
)
from .store_schema import Database
from .store_schema import dt as _dt
from .store_schema import ts as _ts

# The `--json` contract (README, "digest summarise --json"): these keys, in this order, stable from 0.1.
_CONTRACT = (
    "title",
    "kind",
    "about_probation",
    "organisation",
    "rating",
    "published",
    "chief_inspector",
    "summary",
    "key_findings",
    "recommendations",
)


def summary_json(summary: Summary, *, contract: bool = False) -> dict[str, object]:
    """A summary as JSON: the whole record the store keeps, or (`contract`) the stable `--json` keys, where a
    recommendation is its text alone."""
    data: dict[str, object] = {
        "title": summary.title,
        "kind": summary.kind,
        "about_probation": summary.about_probation,
        "organisation": summary.organisation,
        "rating": summary.rating,
        "published": summary.published.isoformat() if summary.published else None,
        "chief_inspector": summary.chief_inspector,
        "summary": summary.summary,
        "key_findings": list(summary.key_findings),
        "recommendations": [{"text": r.text, "owner": r.owner} for r in summary.recommendations],
        "unit": summary.unit,
        "facts": list(summary.facts),
        "rating_note": summary.rating_note,
        "standard_ratings": [list(p) for p in summary.standard_ratings],
        "chief_inspector_quote": summary.chief_inspector_quote,
        "scanned": summary.scanned,
    }
    if not contract:
        return data
    # Added in 0.2, after the keys of 0.1: whom each recommendation is for, in the same order (null: not said).
    return {k: data[k] for k in _CONTRACT} | {
        "recommendations": [r.text for r in summary.recommendations],
        "recommendation_owners": [r.owner for r in summary.recommendations],
    }


def summary_from_json(d: dict[str, Any]) -> Summary:
    """The summary `summary_json` wrote (older rows lack the later keys)."""
    return Summary(
        title=d["title"],
        kind=d["kind"],
        about_probation=d["about_probation"],
        summary=d["summary"],
        organisation=d["organisation"],
        rating=d["rating"],
        unit=d.get("unit"),
        facts=tuple(d.get("facts", [])),
        rating_note=d.get("rating_note"),
        standard_ratings=tuple((a, b) for a, b in d.get("standard_ratings", [])),
        published=date.fromisoformat(d["published"]) if d["published"] else None,
        chief_inspector=d["chief_inspector"],
        chief_inspector_quote=d.get("chief_inspector_quote"),
        key_findings=tuple(d["key_findings"]),
        recommendations=tuple(Recommendation(x["text"], x["owner"]) for x in d["recommendations"]),
        scanned=d.get("scanned", False),
    )


class ItemStore(Database):
    """Feeds and their HTTP state, items, their documents and summaries."""

    def sync_feeds(self, feeds: Iterable[Feed]) -> None:
        """Make sure every configured feed has a row; names follow the config."""
        with self.transaction() as db:
            for f in feeds:
                db.execute(
                    "INSERT INTO feeds (url, name, kind, filter) VALUES (?, ?, ?, ?) ON CONFLICT(url) DO UPDATE "
                    "SET name=excluded.name, kind=excluded.kind, filter=excluded.filter",
                    (f.url, f.name, f.source_type, f.filter),
                )

    def _feed_row(self, url: str) -> sqlite3.Row:
        row: sqlite3.Row | None = self.db.execute("SELECT * FROM feeds WHERE url=?", (url,)).fetchone()
        if row is None:
            raise StoreError(f"unknown feed {url}")
        return row

    def feed_state(self, url: str) -> FeedState:
        r = self._feed_row(url)
        return FeedState(
            url=r["url"],
            name=r["name"],
            etag=r["etag"],
            last_modified=r["last_modified"],
            first_polled=_dt(r["first_polled"]),
            failures=r["failures"],
            next_poll=_dt(r["next_poll"]),
            disabled=r["disabled"],
            moved_to=r["moved_to"],
        )

    def feed_polled(
        self,
        url: str,
        *,
        now: datetime,
        etag: str | None,
        last_modified: str | None,
        next_poll: datetime | None,
        moved_to: str | None = None,
    ) -> None:
        self.db.execute(
            """UPDATE feeds SET etag=coalesce(?, etag), last_modified=coalesce(?, last_modified),
               first_polled=coalesce(first_polled, ?), last_polled=?, last_success=?, failures=0,
               last_error=NULL, last_error_kind=NULL, next_poll=?, moved_to=coalesce(?, moved_to)
               WHERE url=?""",
            (etag, last_modified, _ts(now), _ts(now), _ts(now), _ts(next_poll), moved_to, url),
        )

    def feed_failed(
        self,
        url: str,
        *,
        now: datetime,
        kind: FeedErrorKind,
        message: str,
        next_poll: datetime | None,
        disable: bool = False,
        counted: bool = True,
    ) -> None:
        """The poll failed; `counted=False` for a failure that is not the feed's (no backoff builds up from it)."""
        self.db.execute(
            """UPDATE feeds SET last_polled=?, last_error=?, last_error_kind=?, failures=failures+?,
               next_poll=?, disabled=CASE WHEN ? THEN ? ELSE disabled END WHERE url=?""",
            (_ts(now), message, kind, int(counted), _ts(next_poll), disable, message, url),
        )

    def feed_enabled(self, url: str) -> None:
        """The editor enabled the feed: whatever disabled it (a 410 Gone) is forgotten and it is polled next."""
        self.db.execute("UPDATE feeds SET disabled=NULL, failures=0, next_poll=NULL WHERE url=?", (url,))

    def feed_health(self, configured: Iterable[Feed] | None = None) -> list[FeedHealth]:
        """Each feed's health; with `configured`, only theirs: a feed taken out of the settings keeps its row (its
        items are in the archive) but is no one's concern any more."""
        rows = self.db.execute(
            "SELECT f.*, f.items AS n FROM feeds f ORDER BY f.name"  # kept by a trigger (store_schema, 3)
        ).fetchall()
        if configured is not None:
            urls = {f.url for f in configured}
            rows = [r for r in rows if r["url"] in urls]
        return [
            FeedHealth(
                url=r["url"],
                name=r["name"],
                last_success=_dt(r["last_success"]),
                last_error=r["last_error"],
                last_error_kind=r["last_error_kind"],
                failures=r["failures"],
                next_poll=_dt(r["next_poll"]),
                disabled=r["disabled"],
                moved_to=r["moved_to"],
                items=r["n"],
            )
            for r in rows
        ]

    # ---- items

    def recent_guids(self, feed_url: str, limit: int = 1_000) -> frozenset[str]:
        """The guids of a feed's latest items: the entries a later poll of it will mostly find again."""
        feed_id = self._feed_row(feed_url)["id"]
        rows = self.db.execute("SELECT guid FROM items WHERE feed_id=? ORDER BY id DESC LIMIT ?", (feed_id, limit))
        return frozenset(r[0] for r in rows)

    def add_items(
        self, feed_url: str, items: Sequence[Item], *, now: datetime, backfill_since: datetime | None
    ) -> list[Item]:
        """Record a feed's items; return the ones that are new. Dedupe by guid, canonical URL and content hash.

        With `backfill_since` (a feed's first poll), older items are recorded as seen, not new.
        """
        feed_id = self._feed_row(feed_url)["id"]
        new: list[Item] = []
        with self.transaction() as db:
            known = {r[0] for r in db.execute("SELECT guid FROM items WHERE feed_id=?", (feed_id,))}
            fresh: list[Item] = []
            for item in items:
                if item.guid not in known:  # a guid seen already: an edit, not a new item
                    known.add(item.guid)
                    fresh.append(item)
            # Every earlier item sharing a canonical URL or a content hash with these, in one query (one a
            # item had cost a poll of 200 new feeds a third of its event loop's time); the earliest stored wins.
            held: list[tuple[int, str, str]] = []
            for chunk in _chunks(fresh, 200):  # 2 parameters an item, within SQLite's limit
                urls = [i.canonical_url for i in chunk]
                hashes = [i.content_hash for i in chunk]
                held += map(
                    tuple,
                    db.execute(
                        f"SELECT id, canonical_url, content_hash FROM items WHERE canonical_url IN ({_marks(urls)}) "
                        f"OR content_hash IN ({_marks(hashes)})",
                        (*urls, *hashes),
                    ),
                )
            by_url: dict[str, int] = {}
            by_hash: dict[str, int] = {}
            for row_id, url, digest in sorted(held):  # the earliest copy of each, whichever chunk found it
                by_url.setdefault(url, row_id)
                by_hash.setdefault(digest, row_id)
            for item in fresh:
                dup = by_url.get(item.canonical_url) or by_hash.get(item.content_hash)
                state = "new"
                if dup is not None:
                    state = "duplicate"
                elif backfill_since is not None and item.published < backfill_since:
                    state = "seen"
                cur = db.execute(
                    """INSERT INTO items (feed_id, guid, url, canonical_url, title, published, discovered,
                       authors, categories, links, content_html, summary_html, content_hash, state, duplicate_of)
                       VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)""",
                    (
                        feed_id,
                        item.guid,
                        item.url,
                        item.canonical_url,
                        item.title,
                        _ts(item.published),
                        _ts(now),
                        json.dumps(item.authors),
                        json.dumps(item.categories),
                        json.dumps(item.links),
                        item.content_html,
                        item.summary_html,
                        item.content_hash,
                        state,
                        dup,
                    ),
                )
                by_url.setdefault(item.canonical_url, cur.lastrowid or 0)
                by_hash.setdefault(item.content_hash, cur.lastrowid or 0)
                if state == "new":
                    new.append(replace(item, id=cur.lastrowid))
        return new

    def _item(self, r: sqlite3.Row) -> Item:
        return Item(
            id=r["id"],
            feed_url=r["feed_url"],
            source=r["source"],
            guid=r["guid"],
            url=r["url"],
            canonical_url=r["canonical_url"],
            title=r["title"],
            published=datetime.fromisoformat(r["published"]),
            content_html=r["content_html"],
            summary_html=r["summary_html"],
            content_hash=r["content_hash"],
            authors=tuple(json.loads(r["authors"])),
            categories=tuple(json.loads(r["categories"])),
            links=tuple(json.loads(r["links"])),
            source_type=r["source_type"],
            filter=bool(r["feed_filter"]),
        )

    _ITEM_SELECT = """SELECT i.*, f.url AS feed_url, f.name AS source, f.kind AS source_type, f.filter AS feed_filter
                      FROM items i JOIN feeds f ON f.id=i.feed_id"""
    # An item with its summary and document, in one row (documents' columns renamed apart from the item's).
    _READ_SELECT = """SELECT i.*, f.url AS feed_url, f.name AS source, f.kind AS source_type, f.filter AS feed_filter,
                      s.data AS summary_data, d.url AS doc_url, d.title AS doc_title, d.format AS doc_format,
                      d.text AS doc_text, d.published AS doc_published, d.scanned AS doc_scanned,
                      d.pages AS doc_pages, d.report_url AS doc_report_url, d.pdf_url AS doc_pdf_url
                      FROM items i JOIN feeds f ON f.id=i.feed_id JOIN summaries s ON s.item_id=i.id
                      LEFT JOIN documents d ON d.item_id=i.id"""

    def _read(self, r: sqlite3.Row) -> tuple[Item, Summary, Document | None]:
        return self._item(r), summary_from_json(json.loads(r["summary_data"])), _document(r, "doc_")

    def unsummarised_items(self) -> list[Item]:
        rows = self.db.execute(
            f"""{self._ITEM_SELECT} WHERE i.state='new' AND i.run_key IS NULL
                AND i.id NOT IN (SELECT item_id FROM summaries) ORDER BY i.published, i.id"""
        ).fetchall()
        return [self._item(r) for r in rows]

    def pending_items(self) -> list[tuple[Item, Summary, Document | None]]:
        """Items summarised and not yet carried by any digest run, oldest first, with their summaries and
        documents: one query."""
        rows = self.db.execute(
            f"{self._READ_SELECT} WHERE i.state='new' AND i.run_key IS NULL ORDER BY i.published, i.id"
        ).fetchall()
        return [self._read(r) for r in rows]

    def run_items(self, key: str) -> list[tuple[Item, Summary, Document | None]]:
        """Every item a run claimed, those it carried and those the filter left out, oldest first."""
        rows = self.db.execute(f"{self._READ_SELECT} WHERE i.run_key=? ORDER BY i.published, i.id", (key,)).fetchall()
        return [self._read(r) for r in rows]

    def summarised_items(self, ids: Iterable[int]) -> list[tuple[Item, Summary, Document | None]]:
        """The given items that have a summary, in the order given, with their summaries and documents: one
        query."""
        ids = list(ids)
        if not ids:
            return []
        marks = ",".join("?" * len(ids))
        rows = self.db.execute(f"{self._READ_SELECT} WHERE i.id IN ({marks})", ids).fetchall()
        by_id = {r["id"]: self._read(r) for r in rows}
        return [by_id[i] for i in ids if i in by_id]

    def pending_version(self) -> tuple[object, ...]:
        """What changes whenever the items waiting for the next digest, or their summaries, change: a cache of
        what is computed from them (the dashboard's tally) is good while this stays the same. One indexed pass
        over the waiting items, not the history."""
        row = self.db.execute(
            """SELECT count(*), max(i.id), count(s.item_id), max(s.created), total(length(s.data))
               FROM items i LEFT JOIN summaries s ON s.item_id=i.id WHERE i.state='new' AND i.run_key IS NULL"""
        ).fetchone()
        return tuple(row)

    def count_unsummarised(self) -> int:
        return int(
            self.db.execute(
                "SELECT count(*) FROM items WHERE state='new' AND run_key IS NULL "
                "AND id NOT IN (SELECT item_id FROM summaries)"
            ).fetchone()[0]
        )

    # ---- documents and summaries

    def save_document(self, item_id: int, doc: Document | None, error: str | None = None) -> None:
        if doc is None:
            doc = Document(url="", title="", text="", format="feed")
        self.db.execute(
            """INSERT OR REPLACE INTO documents (item_id, url, title, format, text, published, scanned, pages,
               report_url, pdf_url, error) VALUES (?,?,?,?,?,?,?,?,?,?,?)""",
            (
                item_id,
                doc.url,
                doc.title,
                doc.format,
                doc.text,
                doc.published.isoformat() if doc.published else None,
                doc.scanned,
                doc.pages,
                doc.report_url,
                doc.pdf_url,
                error,
            ),
        )

    def document(self, item_id: int) -> Document | None:
        return _document(self.db.execute("SELECT * FROM documents WHERE item_id=?", (item_id,)).fetchone())

    def save_summary(self, item_id: int, summary: Summary, *, now: datetime) -> None:
        self.db.execute(
            # An upsert, not INSERT OR REPLACE: a replace's delete fires no trigger, and the search index
            # (summary_search) is kept in step by the update triggers.
            "INSERT INTO summaries (item_id, data, created) VALUES (?,?,?) "
            "ON CONFLICT(item_id) DO UPDATE SET data=excluded.data, created=excluded.created",
            (item_id, json.dumps(summary_json(summary)), _ts(now)),
        )

    def summary(self, item_id: int) -> Summary | None:
        r = self.db.execute("SELECT data FROM summaries WHERE item_id=?", (item_id,)).fetchone()
        return None if r is None else summary_from_json(json.loads(r[0]))


def _marks(values: Sequence[object]) -> str:
    return ",".join("?" * len(values))


def _chunks(items: Sequence[Item], size: int) -> Iterator[Sequence[Item]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _document(r: sqlite3.Row | None, prefix: str = "") -> Document | None:
    """A stored document (columns named with `prefix` in a joined row); None where none was read."""
    if r is None or not r[f"{prefix}url"]:
        return None
    published = r[f"{prefix}published"]
    return Document(
        url=r[f"{prefix}url"],
        title=r[f"{prefix}title"],
        text=r[f"{prefix}text"],
        format=r[f"{prefix}format"],
        published=date.fromisoformat(published) if published else None,
        scanned=bool(r[f"{prefix}scanned"]),
        pages=r[f"{prefix}pages"],
        report_url=r[f"{prefix}report_url"],
        pdf_url=r[f"{prefix}pdf_url"],
    )

"""SQLite storage: feeds and their HTTP state, items, documents, summaries, digest runs and the delivery ledger.

WAL mode and a busy timeout let the scheduler, the web app and a manual CLI run share one file. The schema
moves forward by numbered migrations under `PRAGMA user_version`. Callers pass `now`; nothing here reads the
clock.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from .errors import LockedError, StoreError
from .models import (
    Delivery,
    DeliveryState,
    Document,
    Feed,
    FeedErrorKind,
    FeedHealth,
    FeedState,
    Item,
    Recommendation,
    Run,
    RunInfo,
    Summary,
)

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
    return {k: data[k] for k in _CONTRACT} | {"recommendations": [r.text for r in summary.recommendations]}


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


_MIGRATIONS: tuple[str, ...] = (
    # 1: the first schema
    """
    CREATE TABLE feeds (
        id INTEGER PRIMARY KEY,
        url TEXT NOT NULL UNIQUE,
        name TEXT NOT NULL,
        kind TEXT,
        filter INTEGER NOT NULL DEFAULT 1,
        etag TEXT,
        last_modified TEXT,
        first_polled TEXT,
        last_polled TEXT,
        last_success TEXT,
        last_error TEXT,
        last_error_kind TEXT,
        failures INTEGER NOT NULL DEFAULT 0,
        next_poll TEXT,
        disabled TEXT,
        moved_to TEXT
    );
    CREATE TABLE items (
        id INTEGER PRIMARY KEY,
        feed_id INTEGER NOT NULL REFERENCES feeds(id),
        guid TEXT NOT NULL,
        url TEXT NOT NULL,
        canonical_url TEXT NOT NULL,
        title TEXT NOT NULL,
        published TEXT NOT NULL,
        discovered TEXT NOT NULL,
        authors TEXT NOT NULL,
        categories TEXT NOT NULL,
        links TEXT NOT NULL,
        content_html TEXT NOT NULL,
        summary_html TEXT NOT NULL,
        content_hash TEXT NOT NULL,
        state TEXT NOT NULL,          -- new | seen (backfill) | duplicate
        duplicate_of INTEGER,
        run_key TEXT,                 -- the digest run that carried it
        UNIQUE (feed_id, guid)
    );
    CREATE INDEX items_canonical ON items(canonical_url);
    CREATE INDEX items_hash ON items(content_hash);
    CREATE INDEX items_pending ON items(state, run_key);
    CREATE TABLE documents (
        item_id INTEGER PRIMARY KEY REFERENCES items(id),
        url TEXT NOT NULL,
        title TEXT NOT NULL,
        format TEXT NOT NULL,
        text TEXT NOT NULL,
        published TEXT,
        scanned INTEGER NOT NULL,
        pages INTEGER NOT NULL,
        report_url TEXT,
        pdf_url TEXT,
        error TEXT
    );
    CREATE TABLE summaries (
        item_id INTEGER PRIMARY KEY REFERENCES items(id),
        data TEXT NOT NULL,
        created TEXT NOT NULL
    );
    CREATE TABLE runs (
        key TEXT PRIMARY KEY,          -- list:YYYY-MM-DD
        day TEXT NOT NULL,
        created TEXT NOT NULL,
        subject TEXT NOT NULL,
        status TEXT NOT NULL,          -- empty | sending | done
        item_ids TEXT NOT NULL,
        html TEXT NOT NULL,            -- rendered once, with per-subscriber placeholders
        text TEXT NOT NULL,
        finished TEXT
    );
    CREATE TABLE deliveries (
        run_key TEXT NOT NULL REFERENCES runs(key),
        email TEXT NOT NULL,
        name TEXT,
        state TEXT NOT NULL,           -- pending | sending | sent | failed | suppressed
        message_id TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        reply TEXT NOT NULL DEFAULT '',
        updated TEXT NOT NULL,
        PRIMARY KEY (run_key, email)
    );
    CREATE INDEX deliveries_state ON deliveries(run_key, state);
    CREATE TABLE suppressions (
        email TEXT PRIMARY KEY,        -- lower-cased
        reason TEXT NOT NULL,          -- unsubscribed | bounced | manual
        detail TEXT NOT NULL DEFAULT '',
        created TEXT NOT NULL
    );
    CREATE TABLE locks (
        name TEXT PRIMARY KEY,
        owner TEXT NOT NULL,
        pid INTEGER NOT NULL,
        host TEXT NOT NULL,
        expires TEXT NOT NULL
    );
    """,
    # 2: the editor's admin sessions; the signed cookie carries an id, and only an id with a row here is signed in
    """
    CREATE TABLE sessions (
        id TEXT PRIMARY KEY,           -- sha256 of the id in the cookie: this file alone signs nobody in
        created TEXT NOT NULL,
        expires TEXT NOT NULL
    );
    """,
)


def _ts(dt: datetime | None) -> str | None:
    return dt.astimezone(UTC).isoformat(timespec="seconds") if dt else None


def _dt(s: str | None) -> datetime | None:
    return datetime.fromisoformat(s) if s else None


class Store:
    """One connection to the database file. Use one Store per thread."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        if str(path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.db = sqlite3.connect(str(path), timeout=30, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as exc:
            raise StoreError(f"{path}: cannot open database: {exc}") from exc
        self.db.row_factory = sqlite3.Row
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA busy_timeout=30000")
        self.db.execute("PRAGMA foreign_keys=ON")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self._migrate()

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _migrate(self) -> None:
        version = self.db.execute("PRAGMA user_version").fetchone()[0]
        if version > len(_MIGRATIONS):
            raise StoreError(f"{self.path}: schema version {version} is newer than this program knows")
        for n, script in enumerate(_MIGRATIONS[version:], start=version + 1):
            with self.transaction():
                for statement in script.split(";"):
                    if statement.strip():
                        self.db.execute(statement)
                self.db.execute(f"PRAGMA user_version={n}")

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    # ---- feeds

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
    ) -> None:
        self.db.execute(
            """UPDATE feeds SET last_polled=?, last_error=?, last_error_kind=?, failures=failures+1,
               next_poll=?, disabled=CASE WHEN ? THEN ? ELSE disabled END WHERE url=?""",
            (_ts(now), message, kind, _ts(next_poll), disable, message, url),
        )

    def feed_health(self) -> list[FeedHealth]:
        rows = self.db.execute(
            """SELECT f.*, (SELECT count(*) FROM items i WHERE i.feed_id=f.id) AS n FROM feeds f ORDER BY f.name"""
        ).fetchall()
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
            for item in items:
                if item.guid in known:
                    continue  # same guid: an edit, not a new item
                known.add(item.guid)
                dup = db.execute(
                    "SELECT id FROM items WHERE canonical_url=? OR content_hash=? LIMIT 1",
                    (item.canonical_url, item.content_hash),
                ).fetchone()
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
                        dup[0] if dup else None,
                    ),
                )
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
            "INSERT OR REPLACE INTO summaries (item_id, data, created) VALUES (?,?,?)",
            (item_id, json.dumps(summary_json(summary)), _ts(now)),
        )

    def summary(self, item_id: int) -> Summary | None:
        r = self.db.execute("SELECT data FROM summaries WHERE item_id=?", (item_id,)).fetchone()
        return None if r is None else summary_from_json(json.loads(r[0]))

    # ---- digest runs

    def run(self, key: str) -> Run | None:
        r = self.db.execute("SELECT * FROM runs WHERE key=?", (key,)).fetchone()
        if r is None:
            return None
        return Run(
            key=r["key"],
            day=date.fromisoformat(r["day"]),
            created_at=datetime.fromisoformat(r["created"]),
            subject=r["subject"],
            status=r["status"],
            item_ids=tuple(int(i) for i in json.loads(r["item_ids"])),
            html=r["html"],
            text=r["text"],
        )

    def create_run(
        self,
        key: str,
        *,
        day: date,
        now: datetime,
        subject: str,
        item_ids: Sequence[int],
        html: str,
        text: str,
        recipients: Sequence[tuple[str, str | None, str]],
        considered: Sequence[int] = (),
    ) -> None:
        """Record a run and its ledger in one transaction: the items it carries and one pending row each.

        `recipients` are (email, name, message_id); suppressed addresses are recorded as suppressed.
        `considered` items (those filtered out as not about probation) are claimed by the run too, so they do
        not wait for ever.
        """
        status = "sending" if recipients else "empty"
        with self.transaction() as db:
            db.execute("DELETE FROM deliveries WHERE run_key=?", (key,))
            db.execute(
                "INSERT OR REPLACE INTO runs (key, day, created, subject, status, item_ids, html, text) "
                "VALUES (?,?,?,?,?,?,?,?)",
                (key, day.isoformat(), _ts(now), subject, status, json.dumps(list(item_ids)), html, text),
            )
            claimed = sorted(set(item_ids) | set(considered))
            if claimed:
                marks = ",".join("?" * len(claimed))
                db.execute(f"UPDATE items SET run_key=? WHERE id IN ({marks})", (key, *claimed))
            suppressed = {r[0] for r in db.execute("SELECT email FROM suppressions")}
            db.executemany(
                "INSERT INTO deliveries (run_key, email, name, state, message_id, updated) VALUES (?,?,?,?,?,?)",
                [
                    (
                        key,
                        email,
                        name,
                        "suppressed" if email.lower() in suppressed else "pending",
                        mid,
                        _ts(now),
                    )
                    for email, name, mid in recipients
                ],
            )

    def release_items(self, key: str) -> None:
        """Let a run's items be carried again (used by --force before rebuilding a day)."""
        self.db.execute("UPDATE items SET run_key=NULL WHERE run_key=?", (key,))

    def deliveries(self, key: str, states: Sequence[DeliveryState] | None = None) -> list[Delivery]:
        sql = "SELECT * FROM deliveries WHERE run_key=?"
        args: list[Any] = [key]
        if states:
            sql += f" AND state IN ({','.join('?' * len(states))})"
            args += list(states)
        rows = self.db.execute(sql + " ORDER BY rowid", args).fetchall()
        return [
            Delivery(
                run_key=r["run_key"],
                email=r["email"],
                state=r["state"],
                message_id=r["message_id"],
                attempts=r["attempts"],
                reply=r["reply"],
                updated_at=_dt(r["updated"]),
            )
            for r in rows
        ]

    def delivery_names(self, key: str) -> dict[str, str | None]:
        return {r[0]: r[1] for r in self.db.execute("SELECT email, name FROM deliveries WHERE run_key=?", (key,))}

    def mark(
        self,
        key: str,
        email: str,
        state: DeliveryState,
        *,
        now: datetime,
        reply: str = "",
        attempt: bool = False,
    ) -> None:
        self.db.execute(
            "UPDATE deliveries SET state=?, reply=?, updated=?, attempts=attempts+? WHERE run_key=? AND email=?",
            (state, reply, _ts(now), 1 if attempt else 0, key, email),
        )

    def add_recipient(self, key: str, email: str, name: str | None, message_id: str, *, now: datetime) -> bool:
        cur = self.db.execute(
            "INSERT OR IGNORE INTO deliveries (run_key, email, name, state, message_id, updated) VALUES (?,?,?,?,?,?)",
            (key, email, name, "pending", message_id, _ts(now)),
        )
        return cur.rowcount > 0

    def reset_failed(self, key: str, *, now: datetime) -> int:
        cur = self.db.execute(
            "UPDATE deliveries SET state='pending', updated=? WHERE run_key=? AND state='failed'",
            (_ts(now), key),
        )
        self.db.execute("UPDATE runs SET status='sending', finished=NULL WHERE key=? AND status='done'", (key,))
        return cur.rowcount

    def finish_run(self, key: str, *, now: datetime) -> None:
        self.db.execute("UPDATE runs SET status='done', finished=? WHERE key=? AND status='sending'", (_ts(now), key))

    def delivery_counts(self, key: str) -> dict[str, int]:
        return {
            r[0]: r[1]
            for r in self.db.execute("SELECT state, count(*) FROM deliveries WHERE run_key=? GROUP BY state", (key,))
        }

    def suppressed_count(self, key: str) -> int:
        """A run's recipients who are suppressed: skipped as such, or failed and then suppressed (a 5.1.1)."""
        return int(
            self.db.execute(
                "SELECT count(*) FROM deliveries WHERE run_key=? AND (state='suppressed' OR "
                "(state='failed' AND lower(email) IN (SELECT email FROM suppressions)))",
                (key,),
            ).fetchone()[0]
        )

    def recent_runs(self, limit: int = 10) -> list[RunInfo]:
        rows = self.db.execute("SELECT * FROM runs ORDER BY day DESC, created DESC LIMIT ?", (limit,)).fetchall()
        return [
            RunInfo(
                key=r["key"],
                day=date.fromisoformat(r["day"]),
                subject=r["subject"],
                created_at=datetime.fromisoformat(r["created"]),
                status=r["status"],
                items=len(json.loads(r["item_ids"])),
                counts=self.delivery_counts(r["key"]),
            )
            for r in rows
        ]

    def last_poll(self) -> datetime | None:
        r = self.db.execute("SELECT max(last_polled) FROM feeds").fetchone()
        return _dt(r[0])

    # ---- suppressions

    def suppress(self, email: str, reason: str, *, now: datetime, detail: str = "") -> None:
        self.db.execute(
            "INSERT INTO suppressions (email, reason, detail, created) VALUES (?,?,?,?) "
            "ON CONFLICT(email) DO UPDATE SET reason=excluded.reason, detail=excluded.detail",
            (email.lower(), reason, detail, _ts(now)),
        )

    def unsuppress(self, email: str) -> bool:
        return self.db.execute("DELETE FROM suppressions WHERE email=?", (email.lower(),)).rowcount > 0

    def suppressions(self) -> dict[str, str]:
        return {r[0]: r[1] for r in self.db.execute("SELECT email, reason FROM suppressions")}

    # ---- admin sessions

    def open_session(self, sid: str, *, now: datetime, ttl: timedelta) -> None:
        """Sign a session id in until now + ttl (and forget the sessions that have run out)."""
        with self.transaction() as db:
            db.execute("DELETE FROM sessions WHERE expires <= ?", (_ts(now),))
            db.execute(
                "INSERT INTO sessions (id, created, expires) VALUES (?,?,?)", (_sid(sid), _ts(now), _ts(now + ttl))
            )

    def session_open(self, sid: str, *, now: datetime) -> bool:
        row = self.db.execute("SELECT expires FROM sessions WHERE id=?", (_sid(sid),)).fetchone()
        return row is not None and datetime.fromisoformat(row[0]) > now

    def close_session(self, sid: str) -> None:
        self.db.execute("DELETE FROM sessions WHERE id=?", (_sid(sid),))

    # ---- locks

    def acquire_lock(self, name: str, *, now: datetime, ttl: timedelta = timedelta(minutes=10)) -> str:
        """Take a named lock, recovering one whose holder died or whose lease ran out. Returns the owner id."""
        host = socket.gethostname()
        owner = f"{host}:{os.getpid()}"
        with self.transaction() as db:
            row = db.execute("SELECT * FROM locks WHERE name=?", (name,)).fetchone()
            if row is not None and row["owner"] != owner:
                expired = datetime.fromisoformat(row["expires"]) <= now
                dead = row["host"] == host and not _pid_alive(row["pid"])
                if not (expired or dead):
                    raise LockedError(name, row["owner"])
            db.execute(
                "INSERT OR REPLACE INTO locks (name, owner, pid, host, expires) VALUES (?,?,?,?,?)",
                (name, owner, os.getpid(), host, _ts(now + ttl)),
            )
        return owner

    def lock_held(self, name: str, *, now: datetime) -> bool:
        """Whether a live holder has the named lock (a lapsed lease or a dead holder does not count)."""
        row = self.db.execute("SELECT * FROM locks WHERE name=?", (name,)).fetchone()
        if row is None or datetime.fromisoformat(row["expires"]) <= now:
            return False
        return not (row["host"] == socket.gethostname() and not _pid_alive(row["pid"]))

    def renew_lock(self, name: str, owner: str, *, now: datetime, ttl: timedelta = timedelta(minutes=10)) -> None:
        self.db.execute("UPDATE locks SET expires=? WHERE name=? AND owner=?", (_ts(now + ttl), name, owner))

    def release_lock(self, name: str, owner: str) -> None:
        self.db.execute("DELETE FROM locks WHERE name=? AND owner=?", (name, owner))


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


def _sid(sid: str) -> str:
    return hashlib.sha256(sid.encode()).hexdigest()


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True

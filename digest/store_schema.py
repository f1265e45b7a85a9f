"""The database file: one SQLite connection in WAL mode with a busy timeout, and the schema, which moves forward
by numbered migrations under `PRAGMA user_version`. The queries live in store_items and store_runs."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Self

from .errors import StoreError

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
    # bounces and complaints as they come back, with their evidence; a suppression's reason points here
    """
    CREATE TABLE bounces (
        id INTEGER PRIMARY KEY,
        email TEXT NOT NULL,           -- lower-cased
        kind TEXT NOT NULL,            -- hard | soft | complaint
        status TEXT,                   -- the enhanced status code, 5.1.1
        evidence TEXT NOT NULL,        -- the line that decided it (a Diagnostic-Code, a Feedback-Type)
        source TEXT NOT NULL,          -- smtp (refused during the send) | process | imap | webhook:<provider>
        notice_id TEXT,                -- the notice's Message-ID or event id: the same notice counts once
        created TEXT NOT NULL,
        lifted INTEGER NOT NULL DEFAULT 0  -- 1 once the editor lifted the suppression it led to
    );
    CREATE INDEX bounces_email ON bounces(email, created);
    CREATE UNIQUE INDEX bounces_notice ON bounces(notice_id, email) WHERE notice_id IS NOT NULL;
    CREATE TABLE webhook_seen (        -- each signed webhook request once: a replay is refused
        provider TEXT NOT NULL,
        key TEXT NOT NULL,             -- Mailgun's token, SNS's MessageId, a hash of SendGrid's signature…
        seen TEXT NOT NULL,
        PRIMARY KEY (provider, key)
    );
    """,
    # what each reader is owed: every day's run (edition) is owed once to each reader and settled by the one
    # delivery that carries it to them (daily, or in a weekly digest); deliveries name their period
    """
    CREATE TABLE owed (
        email TEXT NOT NULL,           -- lower-cased
        run_key TEXT NOT NULL REFERENCES runs(key),
        day TEXT NOT NULL,             -- the run's day, local to the schedule
        settled_by TEXT,               -- the run whose delivery carries it to them (NULL while owed)
        PRIMARY KEY (email, run_key)
    );
    CREATE INDEX owed_open ON owed(email, settled_by);
    ALTER TABLE deliveries ADD COLUMN period TEXT;   -- daily:2026-11-23 | weekly:2026-W48
    CREATE UNIQUE INDEX deliveries_period ON deliveries(lower(email), period);
    """,
    # the editor's call on an item waiting for the digest: leave it out, or include one the filter dropped
    """
    CREATE TABLE item_choices (
        item_id INTEGER PRIMARY KEY REFERENCES items(id),
        choice TEXT NOT NULL,          -- leave-out | include
        created TEXT NOT NULL
    );
    """,
    # the archive's search. Each summary's words and the fields the search filters on (read out of its JSON by
    # the view summary_words) are kept in summary_text by triggers on summaries, and the FTS5 index summary_search
    # (external content: summary_text) by triggers on summary_text. FTS5 cannot read its content straight from a
    # view that walks JSON arrays.
    """
    CREATE VIEW summary_words (item_id, kind, relevant, rating, title, organisation, body) AS
        SELECT item_id, json_extract(data, '$.kind'), json_extract(data, '$.about_probation'),
               json_extract(data, '$.rating'),
               coalesce(json_extract(data, '$.title'), ''), coalesce(json_extract(data, '$.organisation'), ''),
               coalesce(json_extract(data, '$.summary'), '') || ' ' || coalesce(json_extract(data, '$.unit'), '')
               || ' ' || coalesce(json_extract(data, '$.chief_inspector'), '')
               || ' ' || coalesce(json_extract(data, '$.chief_inspector_quote'), '')
               || ' ' || coalesce((SELECT group_concat(value, ' ') FROM json_each(data, '$.key_findings')), '')
               || ' ' || coalesce((SELECT group_concat(json_extract(value, '$.text'), ' ')
                                   FROM json_each(data, '$.recommendations')), '')
               || ' ' || coalesce((SELECT group_concat(value, ' ') FROM json_each(data, '$.facts')), '')
        FROM summaries;
    CREATE TABLE summary_text (
        item_id INTEGER PRIMARY KEY REFERENCES summaries(item_id) ON DELETE CASCADE,
        kind TEXT,                     -- the summary's kind, about_probation and rating, for the search's filters
        relevant INTEGER,
        rating TEXT,
        title TEXT NOT NULL,
        organisation TEXT NOT NULL,
        body TEXT NOT NULL
    );
    CREATE VIRTUAL TABLE summary_search USING fts5 (
        title, organisation, body, content='summary_text', content_rowid='item_id',
        tokenize='porter unicode61 remove_diacritics 2'
    );
    CREATE TRIGGER summary_text_insert AFTER INSERT ON summary_text BEGIN
        INSERT INTO summary_search (rowid, title, organisation, body)
            VALUES (new.item_id, new.title, new.organisation, new.body);
    END;
    CREATE TRIGGER summary_text_delete AFTER DELETE ON summary_text BEGIN
        INSERT INTO summary_search (summary_search, rowid, title, organisation, body)
            VALUES ('delete', old.item_id, old.title, old.organisation, old.body);
    END;
    CREATE TRIGGER summaries_insert AFTER INSERT ON summaries BEGIN
        INSERT INTO summary_text SELECT * FROM summary_words WHERE item_id = new.item_id;
    END;
    CREATE TRIGGER summaries_update AFTER UPDATE ON summaries BEGIN
        DELETE FROM summary_text WHERE item_id = old.item_id;
        INSERT INTO summary_text SELECT * FROM summary_words WHERE item_id = new.item_id;
    END;
    CREATE TRIGGER summaries_delete AFTER DELETE ON summaries BEGIN
        DELETE FROM summary_text WHERE item_id = old.item_id;
    END;
    INSERT INTO summary_text SELECT * FROM summary_words;
    CREATE INDEX items_published ON items(published);
    """,
    # counts kept as they change, in the same statement (triggers), so /health, the dashboard and `digest
    # status` read a few rows however long the ledger and the item history grow
    """
    CREATE TABLE run_counts (
        run_key TEXT NOT NULL,
        state TEXT NOT NULL,
        n INTEGER NOT NULL,
        PRIMARY KEY (run_key, state)
    ) WITHOUT ROWID;
    INSERT INTO run_counts (run_key, state, n) SELECT run_key, state, count(*) FROM deliveries GROUP BY 1, 2;
    CREATE TRIGGER deliveries_counted AFTER INSERT ON deliveries BEGIN
        INSERT INTO run_counts (run_key, state, n) VALUES (new.run_key, new.state, 1)
            ON CONFLICT (run_key, state) DO UPDATE SET n = n + 1;
    END;
    CREATE TRIGGER deliveries_uncounted AFTER DELETE ON deliveries BEGIN
        UPDATE run_counts SET n = n - 1 WHERE run_key = old.run_key AND state = old.state;
    END;
    CREATE TRIGGER deliveries_recounted AFTER UPDATE OF state, run_key ON deliveries
    WHEN old.state IS NOT new.state OR old.run_key IS NOT new.run_key BEGIN
        UPDATE run_counts SET n = n - 1 WHERE run_key = old.run_key AND state = old.state;
        INSERT INTO run_counts (run_key, state, n) VALUES (new.run_key, new.state, 1)
            ON CONFLICT (run_key, state) DO UPDATE SET n = n + 1;
    END;
    ALTER TABLE feeds ADD COLUMN items INTEGER NOT NULL DEFAULT 0;
    UPDATE feeds SET items = (SELECT count(*) FROM items i WHERE i.feed_id = feeds.id);
    CREATE TRIGGER items_counted AFTER INSERT ON items BEGIN
        UPDATE feeds SET items = items + 1 WHERE id = new.feed_id;
    END;
    CREATE TRIGGER items_uncounted AFTER DELETE ON items BEGIN
        UPDATE feeds SET items = items - 1 WHERE id = old.feed_id;
    END;
    CREATE TRIGGER items_moved AFTER UPDATE OF feed_id ON items WHEN old.feed_id IS NOT new.feed_id BEGIN
        UPDATE feeds SET items = items - 1 WHERE id = old.feed_id;
        UPDATE feeds SET items = items + 1 WHERE id = new.feed_id;
    END;
    """,
    # A run's items in order (`digest status` reads the last seven runs): the index on (state, run_key)
    # could not serve it, so each read scanned every item ever polled.
    """
    CREATE INDEX items_run ON items(run_key, published, id);
    """,
)


def _statements(script: str) -> Iterator[str]:
    """A migration's statements one by one; a trigger's body holds semicolons of its own."""
    statement = ""
    for line in script.splitlines(keepends=True):
        statement += line
        if sqlite3.complete_statement(statement):
            yield statement.strip()
            statement = ""
    if statement.strip():
        yield statement.strip()


def ts(dt: datetime | None) -> str | None:
    return dt.astimezone(UTC).isoformat(timespec="seconds") if dt else None


def dt(s: str | None) -> datetime | None:
    return datetime.fromisoformat(s) if s else None


def unusable(path: Path | str, exc: sqlite3.DatabaseError) -> StoreError:
    """Why the database cannot be used, with what to do: a damaged file (or another program's) is restored or
    moved aside; a locked, read-only or full one is not damaged, and moving it aside would lose the ledger."""
    code = (getattr(exc, "sqlite_errorcode", 0) or 0) & 0xFF
    if code in (sqlite3.SQLITE_NOTADB, sqlite3.SQLITE_CORRUPT):  # "file is not a database", "… is malformed"
        return StoreError(
            f"{path}: cannot use the database: {exc} (a damaged file, or not this program's: restore it from a "
            "backup, or move it aside to start afresh)"
        )
    return StoreError(f"{path}: cannot use the database: {exc}")


JOURNAL_LIMIT = 16 * 1024 * 1024  # bytes of write-ahead log kept on disk after a restart


class Database:
    """One connection to the database file, migrated to the newest schema. Use one per thread."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        if str(path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.db = sqlite3.connect(str(path), timeout=30, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as exc:
            raise StoreError(f"{path}: cannot open database: {exc}") from exc
        self.db.row_factory = sqlite3.Row
        try:
            self.db.execute("PRAGMA busy_timeout=30000")
            self._wal()
            self.db.execute("PRAGMA foreign_keys=ON")
            self.db.execute("PRAGMA synchronous=NORMAL")
            # When the log restarts, a file grown past this (a reader held it through a send's writes) is cut back.
            self.db.execute(f"PRAGMA journal_size_limit={JOURNAL_LIMIT}")
            self._migrate()
        except sqlite3.DatabaseError as exc:
            self.db.close()
            raise unusable(path, exc) from exc

    def _wal(self) -> None:
        """Switch to WAL. Several processes opening a new database at once can find it locked for a moment
        even with a busy timeout (the switch needs the file to themselves): try again for a while."""
        deadline = time.monotonic() + 30
        while True:
            try:
                self.db.execute("PRAGMA journal_mode=WAL")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise StoreError(f"{self.path}: cannot open database: {exc}") from exc
                time.sleep(0.05)

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _migrate(self) -> None:
        if self.db.execute("PRAGMA user_version").fetchone()[0] == len(_MIGRATIONS):
            return  # up to date (a version never goes back): no write lock to take, on every open
        for n, script in enumerate(_MIGRATIONS, start=1):
            # The version is read under the write lock: two processes opening a new database at once must not
            # both run the same migration ("table feeds already exists").
            with self.transaction():
                version = self.db.execute("PRAGMA user_version").fetchone()[0]
                if version > len(_MIGRATIONS):
                    raise StoreError(f"{self.path}: schema version {version} is newer than this program knows")
                if version >= n:
                    continue
                for statement in _statements(script):
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

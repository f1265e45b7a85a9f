"""The store's digest runs and delivery ledger, suppressions, admin sessions and run locks."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import socket
import sqlite3
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from .errors import LockedError
from .models import (
    Delivery,
    DeliveryState,
    Run,
    RunInfo,
)
from .store_readers import Recipient, forget, owe_and_deliver
from .store_schema import Database
from .store_schema import dt as _dt
from .store_schema import ts as _ts

# A delivery row's new state (and reply), and one more attempt when a try begins.
_MARK = "UPDATE deliveries SET state=?, reply=?, updated=?, attempts=attempts+? WHERE run_key=? AND email=?"


class RunStore(Database):
    """Digest runs and their ledger of deliveries, suppressed addresses, sessions and locks."""

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
        recipients: Sequence[Recipient],
        considered: Sequence[int] = (),
        owe: Sequence[str] = (),
        periods: Mapping[str, str] | None = None,
        settle: Sequence[str] = (),
    ) -> None:
        """Record a run and its ledger in one transaction: the items it carries, who is owed it (`owe`), and one
        pending row per recipient, settling what each is owed (see store_readers).

        `recipients` are (email, name, message_id); suppressed addresses are recorded as suppressed.
        `considered` items (those filtered out as not about probation) are claimed by the run too, so they do
        not wait for ever. A run with no recipients is "empty" when it carries nothing, else done at once.
        """
        status = "sending" if recipients else ("done" if item_ids else "empty")
        with self.transaction() as db:
            db.execute("DELETE FROM deliveries WHERE run_key=?", (key,))
            forget(db, key)
            db.execute(
                "INSERT OR REPLACE INTO runs (key, day, created, subject, status, item_ids, html, text, finished) "
                "VALUES (?,?,?,?,?,?,?,?,?)",
                (
                    key,
                    day.isoformat(),
                    _ts(now),
                    subject,
                    status,
                    json.dumps(list(item_ids)),
                    html,
                    text,
                    _ts(now) if status == "done" else None,
                ),
            )
            claimed = sorted(set(item_ids) | set(considered))
            if claimed:
                marks = ",".join("?" * len(claimed))
                db.execute(f"UPDATE items SET run_key=? WHERE id IN ({marks})", (key, *claimed))
            suppressed = {r[0] for r in db.execute("SELECT email FROM suppressions")}
            owe_and_deliver(
                db,
                key,
                day=day,
                now=now,
                owe=owe,
                recipients=recipients,
                periods=periods or {},
                suppressed=suppressed,
                settle=settle,
            )

    def delivery_state(self, key: str, email: str) -> str | None:
        """The state of `email`'s delivery in run `key`, or None when the run has none for them."""
        row = self.db.execute(
            "SELECT state FROM deliveries WHERE run_key=? AND email=? COLLATE NOCASE", (key, email)
        ).fetchone()
        return str(row[0]) if row else None

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
        return [_delivery(r) for r in rows]

    def delivery_batches(
        self, key: str, states: Sequence[DeliveryState], size: int = 500
    ) -> Iterator[list[tuple[Delivery, str | None]]]:
        """A run's rows in these states, with each reader's name, in ledger order, `size` at a time: a send to a
        long list never holds the whole ledger. Each batch is read whole, so writes may come between batches."""
        last = 0
        marks = ",".join("?" * len(states))
        while True:
            rows = self.db.execute(
                f"SELECT rowid, * FROM deliveries WHERE run_key=? AND state IN ({marks}) AND rowid > ? "
                "ORDER BY rowid LIMIT ?",
                (key, *states, last, size),
            ).fetchall()
            if not rows:
                return
            last = rows[-1]["rowid"]
            yield [(_delivery(r), r["name"]) for r in rows]

    def delivery_log(
        self,
        *,
        states: Sequence[DeliveryState] = (),
        run_key: str | None = None,
        email: str | None = None,
        address_contains: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> tuple[list[Delivery], int]:
        """One page of the ledger, newest change first, narrowed by state, run and address (`email`, the whole
        address; `address_contains`, a part of it, as the log's filter takes it); and how many rows match in all
        (for paging). Both ignore case."""
        where: list[str] = ["1=1"]
        args: list[Any] = []
        if states:
            where.append(f"state IN ({','.join('?' * len(states))})")
            args += list(states)
        if run_key:
            where.append("run_key=?")
            args.append(run_key)
        if email:
            where.append("lower(email)=?")
            args.append(email.lower())
        if address_contains:
            where.append("instr(lower(email), ?) > 0")  # instr, not LIKE: a % or _ typed is just a character
            args.append(address_contains.lower())
        cond = " AND ".join(where)
        total = int(self.db.execute(f"SELECT count(*) FROM deliveries WHERE {cond}", args).fetchone()[0])
        rows = self.db.execute(
            f"SELECT * FROM deliveries WHERE {cond} ORDER BY updated DESC, rowid DESC LIMIT ? OFFSET ?",
            [*args, limit, offset],
        ).fetchall()
        return [_delivery(r) for r in rows], total

    def pending_emails(self, key: str) -> list[str]:
        """The addresses a run has still to send to (pending, or caught sending), in the ledger's order."""
        rows = self.db.execute(
            "SELECT email FROM deliveries WHERE run_key=? AND state IN ('pending', 'sending') ORDER BY rowid", (key,)
        )
        return [r[0] for r in rows]

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
        self.db.execute(_MARK, (state, reply, _ts(now), 1 if attempt else 0, key, email))

    def mark_many(self, key: str, marks: Sequence[tuple[str, DeliveryState, str, bool]], *, now: datetime) -> None:
        """`mark` for several rows of a run (address, state, reply, whether a try begins), in order, in one
        transaction: a send writes its rows two a message, and a commit costs more than an update."""
        with self.transaction() as db:
            rows = [(state, reply, _ts(now), 1 if attempt else 0, key, email) for email, state, reply, attempt in marks]
            db.executemany(_MARK, rows)

    def mark_accepted(self, accepted: Sequence[tuple[str, str, str]], *, now: datetime) -> int:
        """Record as `sent` the rows (run key, address, reply) a server accepted that the ledger still has as
        `sending` or `pending` (see `acceptances`); one transaction. Returns how many rows changed."""
        with self.transaction() as db:
            return sum(
                db.execute(
                    "UPDATE deliveries SET state='sent', reply=?, updated=? "
                    "WHERE run_key=? AND email=? AND state IN ('sending', 'pending')",
                    (reply[:300], _ts(now), key, email),
                ).rowcount
                for key, email, reply in accepted
            )

    @contextlib.contextmanager
    def checkpoints_aside(self, every: float = 1.0, patience: float = 0.1) -> Iterator[None]:
        """While a send writes the ledger, checkpoint the WAL from a thread with its own connection instead of in
        line: a checkpoint's fsync can take tens of milliseconds, and a `sent` write sits between the server's
        250 and the next message on every connection (see ledger).

        Each checkpoint restarts the log, so it stays the size of a second's writes. A passive one never caught up
        with a send (each write lands while the last checkpoint syncs), and the log grew by 34 KB a recipient:
        1.7 GB for 50,000. A restart holds writers for the checkpoint (milliseconds: the pages a second of the
        ledger touched) and gives up after `patience` seconds if a reader holds the log, to try again next time."""
        if str(self.path) == ":memory:":
            yield
            return
        self.db.execute("PRAGMA wal_autocheckpoint=0")
        done = threading.Event()

        def checkpoint() -> None:
            with contextlib.closing(sqlite3.connect(str(self.path), timeout=patience, isolation_level=None)) as conn:
                while not done.wait(every):
                    with contextlib.suppress(sqlite3.Error):  # a missed one is made up by the next
                        conn.execute("PRAGMA wal_checkpoint(RESTART)")

        thread = threading.Thread(target=checkpoint, name="checkpoint", daemon=True)
        thread.start()
        try:
            yield
        finally:
            done.set()
            thread.join()
            self.db.execute("PRAGMA wal_autocheckpoint=1000")  # SQLite's default, as every other writer has

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
        """A run's deliveries by state: kept by triggers as the ledger changes (store_schema, 3), so reading them
        costs the same at 10 recipients and 100,000."""
        return {
            r[0]: r[1]
            for r in self.db.execute("SELECT state, n FROM run_counts WHERE run_key=? AND n > 0 ORDER BY state", (key,))
        }

    def run_status(self, key: str) -> str | None:
        """A run's status alone (no need to read its rendered email for that)."""
        r = self.db.execute("SELECT status FROM runs WHERE key=?", (key,)).fetchone()
        return None if r is None else str(r[0])

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
        rows = self.db.execute(
            "SELECT key, day, subject, created, status, item_ids, finished FROM runs "
            "ORDER BY day DESC, created DESC LIMIT ?",
            (limit,),
        ).fetchall()
        return [
            RunInfo(
                key=r["key"],
                day=date.fromisoformat(r["day"]),
                subject=r["subject"],
                created_at=datetime.fromisoformat(r["created"]),
                status=r["status"],
                items=len(json.loads(r["item_ids"])),
                counts=self.delivery_counts(r["key"]),
                finished_at=datetime.fromisoformat(r["finished"]) if r["finished"] else None,
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
        return lock_live(self.lock_holder(name), now)

    def lock_holder(self, name: str) -> LockHolder | None:
        row = self.db.execute("SELECT expires, host, pid FROM locks WHERE name=?", (name,)).fetchone()
        return None if row is None else LockHolder(datetime.fromisoformat(row[0]), row[1], row[2])

    def version(self) -> tuple[int, int]:
        """Changes whenever the database does (a commit by any connection, or a change by this one): what is read
        from it can be kept while this stays the same."""
        return int(self.db.execute("PRAGMA data_version").fetchone()[0]), self.db.total_changes

    def renew_lock(self, name: str, owner: str, *, now: datetime, ttl: timedelta = timedelta(minutes=10)) -> None:
        self.db.execute("UPDATE locks SET expires=? WHERE name=? AND owner=?", (_ts(now + ttl), name, owner))

    def release_lock(self, name: str, owner: str) -> None:
        self.db.execute("DELETE FROM locks WHERE name=? AND owner=?", (name, owner))


@dataclass(frozen=True)
class LockHolder:
    expires: datetime
    host: str
    pid: int


def lock_live(holder: LockHolder | None, now: datetime) -> bool:
    """Whether a lock's holder still has it: its lease has not lapsed and it is not a dead process here."""
    if holder is None or holder.expires <= now:
        return False
    return not (holder.host == socket.gethostname() and not _pid_alive(holder.pid))


def _delivery(r: Any) -> Delivery:
    return Delivery(
        run_key=r["run_key"],
        email=r["email"],
        state=r["state"],
        message_id=r["message_id"],
        attempts=r["attempts"],
        reply=r["reply"],
        updated_at=_dt(r["updated"]),
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

"""The store's record of what each reader is owed. Every day's run (an edition: the items it claimed) is owed once
to each reader who is not paused when it is made, and settled by the one delivery that carries it to them: the
day's own (a daily reader), or a later one that carries several (a weekly reader, or one who has just switched
to daily). So a reader who switches between daily and weekly, or whose weekly day passed while the service was
down, gets every edition, and so every item, once.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from datetime import date, datetime

from .store_schema import Database
from .store_schema import ts as _ts

Recipient = tuple[str, str | None, str]  # email, name, message id


def owe_and_deliver(
    db: sqlite3.Connection,
    key: str,
    *,
    day: date,
    now: datetime,
    owe: Sequence[str],
    recipients: Sequence[Recipient],
    periods: Mapping[str, str],
    suppressed: set[str],
    settle: Sequence[str] = (),
) -> list[str]:
    """Within the caller's transaction: owe run `key` to `owe`, then add a pending delivery for each recipient
    (suppressed ones recorded as suppressed) that settles everything they are owed; `settle`: readers whose owed
    editions hold nothing of theirs, settled without a delivery. A recipient who already has
    a delivery this run, or one for the same period, gets none and stays owed. Returns who got a row."""
    db.executemany(
        "INSERT OR IGNORE INTO owed (email, run_key, day) VALUES (?,?,?)",
        [(email.lower(), key, day.isoformat()) for email in owe],
    )
    added = []
    for email, name, mid in recipients:
        state = "suppressed" if email.lower() in suppressed else "pending"
        cur = db.execute(
            "INSERT OR IGNORE INTO deliveries (run_key, email, name, state, message_id, updated, period) "
            "VALUES (?,?,?,?,?,?,?)",
            (key, email, name, state, mid, _ts(now), periods.get(email.lower())),
        )
        if cur.rowcount:
            added.append(email)
            if state == "pending":
                db.execute("UPDATE owed SET settled_by=? WHERE email=? AND settled_by IS NULL", (key, email.lower()))
    # Due, but nothing they are owed is theirs by their choices: settled by this run without an email.
    db.executemany(
        "UPDATE owed SET settled_by=? WHERE email=? AND settled_by IS NULL", [(key, e.lower()) for e in settle]
    )
    return added


def forget(db: sqlite3.Connection, key: str) -> None:
    """Within the caller's transaction, before a run is made again (--force): what its deliveries settled is
    owed again, and the run itself is owed to no one until it is remade."""
    db.execute("UPDATE owed SET settled_by=NULL WHERE settled_by=?", (key,))
    db.execute("DELETE FROM owed WHERE run_key=?", (key,))


class ReaderStore(Database):
    """What each reader is owed, and what each delivery carries."""

    def owed(self) -> dict[str, list[tuple[str, date]]]:
        """Every reader's unsettled runs (key, day), oldest first, by lower-cased address."""
        out: dict[str, list[tuple[str, date]]] = {}
        for r in self.db.execute("SELECT email, run_key, day FROM owed WHERE settled_by IS NULL ORDER BY day, run_key"):
            out.setdefault(r[0], []).append((r[1], date.fromisoformat(r[2])))
        return out

    def carried(self, key: str, email: str) -> tuple[str, ...]:
        """The runs a delivery of run `key` carries to `email`, oldest first; () for a delivery from before this
        was recorded (it carries its own run)."""
        rows = self.db.execute(
            "SELECT run_key FROM owed WHERE settled_by=? AND email=? ORDER BY day, run_key", (key, email.lower())
        )
        return tuple(r[0] for r in rows)

    def periods(self, key: str) -> dict[str, str]:
        """Each delivery's period in a run, by lower-cased address."""
        rows = self.db.execute("SELECT email, period FROM deliveries WHERE run_key=? AND period IS NOT NULL", (key,))
        return {r[0].lower(): r[1] for r in rows}

    def forget_run(self, key: str) -> None:
        with self.transaction() as db:
            forget(db, key)

    def reopen_run(self, key: str) -> None:
        """A run finished with no one due (every reader weekly) that now has a delivery to make."""
        self.db.execute("UPDATE runs SET status='sending', finished=NULL WHERE key=? AND status='done'", (key,))

    def plan(
        self,
        key: str,
        *,
        day: date,
        now: datetime,
        owe: Sequence[str],
        recipients: Sequence[Recipient],
        periods: Mapping[str, str],
        settle: Sequence[str] = (),
    ) -> list[str]:
        """`owe_and_deliver` in a transaction of its own (a run already made: someone joined, or switched)."""
        with self.transaction() as db:
            suppressed = {r[0] for r in db.execute("SELECT email FROM suppressions")}
            return owe_and_deliver(
                db,
                key,
                day=day,
                now=now,
                owe=owe,
                recipients=recipients,
                periods=periods,
                suppressed=suppressed,
                settle=settle,
            )

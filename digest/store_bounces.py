"""The store's bounces and complaints: each one as it came back, with its evidence, and the suppressions they led
to, read with their reason, evidence and date (for `subscribers list`, the report and the admin bounces page)."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime, timedelta

from .store_schema import Database
from .store_schema import dt as _dt
from .store_schema import ts as _ts


@dataclass(frozen=True)
class BounceRecord:
    email: str
    kind: str  # hard | soft | complaint
    status: str | None
    evidence: str
    source: str
    created: datetime


@dataclass(frozen=True)
class Suppression:
    email: str
    reason: str  # unsubscribed | bounced | complained | soft-bounced | manual
    detail: str  # the evidence: the server's reply, the bounce's diagnostic line
    created: datetime


class BounceStore(Database):
    """Bounces as they come back, and suppressions with their evidence."""

    def add_bounce(
        self,
        email: str,
        kind: str,
        *,
        status: str | None,
        evidence: str,
        source: str,
        now: datetime,
        notice_id: str | None = None,
    ) -> bool:
        """Record one bounce; False when this notice was already recorded for this address (a second delivery
        of the same notice, an mbox processed twice, a webhook retried)."""
        try:
            self.db.execute(
                "INSERT INTO bounces (email, kind, status, evidence, source, notice_id, created) "
                "VALUES (?,?,?,?,?,?,?)",
                (email.lower(), kind, status, evidence, source, notice_id, _ts(now)),
            )
        except sqlite3.IntegrityError:
            return False
        return True

    def first_sight(self, provider: str, key: str, *, now: datetime, keep: timedelta) -> bool:
        """True the first time a webhook request's key is seen; False for a replay. Keys older than `keep` (past
        which the request's own timestamp refuses it anyway) are forgotten."""
        self.db.execute("DELETE FROM webhook_seen WHERE seen < ?", (_ts(now - keep),))
        try:
            self.db.execute("INSERT INTO webhook_seen (provider, key, seen) VALUES (?,?,?)", (provider, key, _ts(now)))
        except sqlite3.IntegrityError:
            return False
        return True

    def soft_bounces(self, email: str, *, since: datetime) -> int:
        """Soft bounces for an address since a time, not counting those before a lifted suppression."""
        row = self.db.execute(
            "SELECT count(*) FROM bounces WHERE email=? AND kind='soft' AND lifted=0 AND created>=?",
            (email.lower(), _ts(since)),
        ).fetchone()
        return int(row[0])

    def bounces(self, *, kind: str | None = None, q: str = "", limit: int = 500) -> list[BounceRecord]:
        """The newest bounces first, of one kind or all, whose address contains `q`."""
        rows = self.db.execute(
            "SELECT email, kind, status, evidence, source, created FROM bounces "
            "WHERE (? IS NULL OR kind=?) AND instr(email, ?) > 0 ORDER BY created DESC, id DESC LIMIT ?",
            (kind, kind, q.lower(), limit),
        )
        return [BounceRecord(r[0], r[1], r[2], r[3], r[4], _dt(r[5]) or datetime.min) for r in rows]

    def suppression_details(self) -> dict[str, Suppression]:
        rows = self.db.execute("SELECT email, reason, detail, created FROM suppressions ORDER BY created DESC")
        return {r[0]: Suppression(r[0], r[1], r[2], _dt(r[3]) or datetime.min) for r in rows}

    def known_addresses(self) -> set[str]:
        """Every address the list has sent to or suppressed: the candidates a VERP token can name."""
        rows = self.db.execute("SELECT lower(email) FROM deliveries UNION SELECT email FROM suppressions")
        return {r[0] for r in rows}

    def unsuppress(self, email: str) -> bool:
        """Lift a suppression; the bounces before it no longer count towards the next one."""
        self.db.execute("UPDATE bounces SET lifted=1 WHERE email=?", (email.lower(),))
        return self.db.execute("DELETE FROM suppressions WHERE email=?", (email.lower(),)).rowcount > 0

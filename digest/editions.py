"""Who gets a digest today and what it carries. Every day's run is an edition (the items it claimed); each reader
is owed every edition made while they are on the list and not paused, and is sent what they are owed when they
are due: a daily reader every day, a weekly reader on their day (or at the next send once their day has passed
unsent). The ledger records each delivery under the reader's period (daily:2026-11-23, weekly:2026-W48) and the
store which editions it settled (store_readers), so a switch between daily and weekly, a missed week or a
clock change loses nothing and repeats nothing. Days are local to the schedule's time zone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from .compose import Candidate, compose
from .config import Settings
from .messages import Editions, message_id
from .models import Digest, Entry, Subscriber
from .preferences import due, paused, period
from .store import Store
from .store_readers import Recipient
from .tracker import inspections


@dataclass(frozen=True)
class Plan:
    """Who is owed today's edition, who gets a delivery now (with its period), and who is due but finds nothing
    of theirs in what they are owed (`settle`: settled without an email)."""

    owe: tuple[str, ...] = ()
    recipients: tuple[Recipient, ...] = ()
    periods: dict[str, str] = field(default_factory=dict)
    settle: tuple[str, ...] = ()


def plan(
    settings: Settings,
    store: Store,
    subs: Sequence[Subscriber],
    *,
    key: str,
    day: date,
    carries: bool,
    recorded: frozenset[str] = frozenset(),
    entries: Sequence[Entry] | None = None,
    remade: str = "",
) -> Plan:
    """Today's plan for readers without a delivery in run `key` yet (`recorded`: those with one). `carries`: the
    run has items, so it is owed to every reader not paused; `entries`: what it carries. A reader who chose less
    than everything and is due now is sent nothing when nothing they are owed is theirs by their choices as they
    are now (unless `send_empty`): what they were owed is settled instead, so a day of posts sends no email of
    nothing to a reader of inspections, and a weekly reader who widens their choices mid-week still gets the
    week. `remade`: the run is made again (see `message_id`)."""
    owed = store.owed()
    owe = [s.email for s in subs if carries and not paused(s, day)]
    owing = {e.lower() for e in owe}
    recipients: list[Recipient] = []
    periods: dict[str, str] = {}
    settle: list[str] = []
    wanted: dict[tuple[object, ...], tuple[Entry, ...]] = {}  # what several editions carry, composed once each
    for s in subs:
        address = s.email.lower()
        if address in recorded:
            continue
        earlier = [(k, d) for k, d in owed.get(address, []) if k != key]
        theirs = [d for _, d in earlier] + ([day] if address in owing else [])
        if not due(s, day, min(theirs, default=None)):
            continue
        if not theirs and not settings.send_empty:
            continue
        if entries is not None and theirs and s.narrowed and not settings.send_empty:
            if earlier:  # a week's (or a catch-up's) editions: what they carry, with today's
                runs = tuple(k for k, _ in earlier)
                if runs not in wanted:
                    extra = [e.item_id for e in entries] if address in owing else []
                    wanted[runs] = covering(settings, store, runs, day=day, weekly=True, extra_ids=extra).entries
                found = wanted[runs]
            else:
                found = tuple(entries)
            if not any(s.wants(e) for e in found):
                settle.append(s.email)
                continue
        recipients.append((s.email, s.name, message_id(key, s.email, settings.domain, remade)))
        periods[address] = period(s, day)
    return Plan(owe=tuple(owe), recipients=tuple(recipients), periods=periods, settle=tuple(settle))


def covering(
    settings: Settings,
    store: Store,
    editions: Editions,
    *,
    day: date,
    weekly: bool,
    extra_ids: Sequence[int] = (),
) -> Digest:
    """The digest of several editions (a week's, or a catch-up's): their items composed afresh, grouped as the
    daily is, headed by the first day it covers. `extra_ids`: items not in a run yet (a preview's today)."""
    runs = [r for r in (store.run(k) for k in editions) if r is not None]
    ids = sorted({i for r in runs for i in r.item_ids} | set(extra_ids))
    candidates = [Candidate(item=i, summary=s, document=d) for i, s, d in store.summarised_items(ids)]
    first = min((r.day for r in runs), default=day)
    return compose(
        candidates,
        list_name=settings.list_name,
        day=day,
        subject=settings.subject,
        since=first if first < day else None,
        weekly=weekly,
        history=inspections(store.inspection_rows()),  # earlier ratings and the year's chart, as the daily has
    )


def carried(store: Store, key: str, emails: Sequence[str]) -> dict[str, tuple[Editions, bool]]:
    """What each delivery of run `key` carries: (editions, weekly), keyed by the lower-cased address. A delivery
    of the run's own day alone, daily, is left out: read it as ((), False). (A send to 50,000 daily readers would
    otherwise hold 50,000 entries saying so.)"""
    periods = store.periods(key)
    out: dict[str, tuple[Editions, bool]] = {}
    for email in emails:
        weekly = periods.get(email.lower(), "").startswith("weekly:")
        editions = store.carried(key, email)
        if editions not in ((), (key,)) or weekly:
            out[email.lower()] = (editions or (key,), weekly)
    return out

"""Whether `send` would send now, and to how many, in its own words: so `send --dry-run`, the admin's confirmation
and `send` itself say the same thing."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from . import editions
from .config import Settings
from .models import Entry, Run, Subscriber
from .plural import plural
from .store import Store


def already_sent(counts: dict[str, int]) -> str:
    if not counts:
        return "no reader is due a digest today; nothing to do"
    return f"already sent today to {plural(counts.get('sent', 0), 'subscriber')}; nothing to do" + (
        " (use --resend-failed to retry failures)" if counts.get("failed") else ""
    )


def nothing_to_send(
    settings: Settings,
    store: Store,
    run: Run | None,
    subs: Sequence[Subscriber],
    *,
    force: bool = False,
    resend_failed: bool = False,
    entries: Sequence[Entry] | None = None,
) -> str | None:
    """Why `send` would send nothing now, in its own words, so `send --dry-run` says the same; None when it
    would send to someone."""
    if run is None or force:
        return None
    if run.status == "empty":
        return "today was an empty day and nothing was sent (use --force to send anyway)"
    counts = store.delivery_counts(run.key)
    if resend_failed:
        return None if counts.get("failed") else "no failed deliveries to resend"
    joined = _planned(
        settings, store, run, subs, key=run.key, day=run.day, carries=bool(run.item_ids), force=False, entries=entries
    ).recipients
    if counts.get("pending", 0) + counts.get("sending", 0) or joined:
        return None
    return already_sent(counts)


def _planned(
    settings: Settings,
    store: Store,
    run: Run | None,
    subs: Sequence[Subscriber],
    *,
    key: str,
    day: date,
    carries: bool,
    force: bool,
    entries: Sequence[Entry] | None,
) -> editions.Plan:
    """The plan `send` would make now: for a new run (or --force), today's; else for whoever has no delivery in
    today's run yet (someone joined, or became due)."""
    suppressed = store.suppressions()
    active = [s for s in subs if s.email.lower() not in suppressed]
    if run is None or force:
        return editions.plan(settings, store, active, key=key, day=day, carries=carries, entries=entries)
    recorded = frozenset(d.email.lower() for d in store.deliveries(run.key))
    return editions.plan(
        settings,
        store,
        active,
        key=run.key,
        day=run.day,
        carries=bool(run.item_ids),
        recorded=recorded,
        entries=entries,
    )


def recipients_now(
    settings: Settings,
    store: Store,
    run: Run | None,
    subs: Sequence[Subscriber],
    *,
    key: str,
    day: date,
    carries: bool,
    force: bool = False,
    resend_failed: bool = False,
    entries: Sequence[Entry] | None = None,
    planned: editions.Plan | None = None,
) -> int:
    """How many addresses `send` would send to now (only readers due today: weekly readers on their day, nobody
    paused), as the admin's confirmation says before a send. `key`, `day`: today's run; `carries`: today's digest
    has items; `entries`: what it carries (see `editions.plan`); `planned`: that plan, if made already."""
    if planned is None:
        planned = _planned(settings, store, run, subs, key=key, day=day, carries=carries, force=force, entries=entries)
    if run is None or force:
        return len(planned.recipients)
    counts = store.delivery_counts(run.key)
    return (
        counts.get("pending", 0)
        + counts.get("sending", 0)
        + len(planned.recipients)
        + (counts.get("failed", 0) if resend_failed else 0)
    )


def not_sent_now(
    settings: Settings,
    store: Store,
    run: Run | None,
    subs: Sequence[Subscriber],
    count: int,
    *,
    force: bool = False,
    resend_failed: bool = False,
    entries: Sequence[Entry] | None = None,
    skipped: int = 0,
) -> str:
    """Why the others of `subs` would not get it now, beside `recipients_now`'s `count`: "1 suppressed, 2 already
    sent today, 1 with nothing today that they chose, 1 not due today (weekly or paused)". `skipped`: the readers
    due now whose choices what they are owed misses (the plan's `settle`)."""
    suppressed = store.suppressions()
    active = [s for s in subs if s.email.lower() not in suppressed]
    done = 0
    if run is not None and not force:
        states = {d.email.lower(): d.state for d in store.deliveries(run.key)}
        finished = {"sent", "suppressed"} | (set() if resend_failed else {"failed"})
        done = sum(1 for s in active if states.get(s.email.lower()) in finished)
    said = [f"{len(subs) - len(active)} suppressed"]
    if done:
        said.append(f"{done} already sent today")
    left = len(active) - done - count  # not sent to now
    if left > 0 and entries is not None and not entries and not settings.send_empty:
        said.append(f"{left} with nothing new today")
    elif left > 0:
        missed = min(left, skipped)
        if missed:
            said.append(f"{missed} with nothing today that they chose")
        if left > missed:
            said.append(f"{left - missed} not due today (weekly or paused)")
    return ", ".join(said)


def would_send(
    settings: Settings,
    store: Store,
    run: Run | None,
    subs: Sequence[Subscriber],
    *,
    key: str,
    day: date,
    carries: bool,
    force: bool = False,
    resend_failed: bool = False,
    entries: Sequence[Entry] | None = None,
) -> tuple[int, str]:
    """`recipients_now`, and `not_sent_now`'s words for the others: what `send --dry-run` and the admin's Send
    page say."""
    planned = _planned(settings, store, run, subs, key=key, day=day, carries=carries, force=force, entries=entries)
    count = recipients_now(
        settings,
        store,
        run,
        subs,
        key=key,
        day=day,
        carries=carries,
        force=force,
        resend_failed=resend_failed,
        planned=planned,
    )
    others = not_sent_now(
        settings,
        store,
        run,
        subs,
        count,
        force=force,
        resend_failed=resend_failed,
        entries=entries,
        skipped=len(planned.settle),
    )
    return count, others

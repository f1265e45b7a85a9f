"""A reader's next email, as the editor's preview shows it: whether they get one today, else when (a weekly reader
on their day, a paused reader once the pause ends, a suppressed reader never), and what it would carry (for a
weekly reader, the editions owed since their last delivery, as `editions.covering` composes them at the send)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

from . import daily, editions
from .config import Settings
from .messages import Editions
from .models import WEEKDAYS, Digest, Subscriber
from .preferences import due, paused
from .store import Store


@dataclass(frozen=True)
class NextEmail:
    """When the reader's next email goes (`day`, None: never while suppressed) and `why`, in the admin's words."""

    day: date | None
    why: str
    today: bool
    carries: str = ""  # what the preview below it shows, when that is not simply today's digest


def next_day(sub: Subscriber, today: date) -> date:
    """The first day from `today` on which the reader is due, their pause over (a weekly reader on their day)."""
    start = max(today, sub.paused_until) if paused(sub, today) and sub.paused_until else today
    if sub.frequency == "daily":
        return start
    return start + timedelta(days=(sub.weekday - start.weekday()) % 7)


def when(settings: Settings, store: Store, sub: Subscriber, today: date, owed: list[date]) -> NextEmail:
    """Whether and when the reader's next email goes; `owed`: the days of the editions owed to them."""
    stopped = store.suppressions().get(sub.email.lower())
    if stopped:
        return NextEmail(
            None,
            f"nothing is sent to {sub.email}: suppressed ({stopped})",
            False,
            "Below, what they would get if the suppression were lifted.",
        )
    owes = "It carries the items owed to them since their last delivery"
    if due(sub, today, min(owed, default=None)):
        weekly = f"{owes}." if sub.frequency == "weekly" else ""
        return NextEmail(today, f"due today, at {settings.send_time:%H:%M}", True, weekly)
    day = next_day(sub, today + timedelta(days=1))
    said = f"{day:%A %-d %B %Y}"
    carries = f"{owes}; below, what they are owed so far."
    if paused(sub, today):
        reason = f"paused until {sub.paused_until:%-d %B %Y}"
        if sub.frequency == "weekly":
            reason += f", then weekly on {WEEKDAYS[sub.weekday].title()}s"
        carries = "Items that come out while they are paused are not kept for them; below, what they are owed so far."
    else:
        reason = f"weekly on {WEEKDAYS[sub.weekday].title()}s"
    return NextEmail(day, f"not due today ({reason}); their next email goes on {said}", False, carries)


def _owed(settings: Settings, store: Store, sub: Subscriber, now: datetime) -> tuple[Editions, Sequence[int]]:
    """The runs owed to the reader, and today's waiting items when today's run has not started (they will be
    owed it unless paused). A reader who joined (or became due) after today's run was made is owed it at the
    next send, as the send's plan has it: today's run is theirs too."""
    today = daily.digest_day(settings, now)
    run = store.run(daily.run_key(settings, today))
    runs = tuple(k for k, _d in store.owed().get(sub.email.lower(), []))
    pending = daily.todays_digest(settings, store, now).item_ids if run is None and not paused(sub, today) else ()
    if (
        run is not None
        and run.item_ids
        and run.key not in runs
        and not paused(sub, today)
        and store.delivery_state(run.key, sub.email) is None
    ):
        runs = (*runs, run.key)
    return runs, pending


def for_reader(settings: Settings, store: Store, sub: Subscriber, *, now: datetime) -> NextEmail:
    """Whether and when the reader's next email goes, as the subscriber page and the preview say it."""
    today = daily.digest_day(settings, now)
    key = daily.run_key(settings, today)
    state = store.delivery_state(key, sub.email)
    if state == "sent":  # today's has gone to them: the next is another day's
        after = next_day(sub, today + timedelta(days=1))
        return NextEmail(after, f"sent today's; their next email goes on {after:%A %-d %B %Y}", False)
    theirs = store.owed().get(sub.email.lower(), [])
    runs, pending = _owed(settings, store, sub, now)
    owed_days = [d for _k, d in theirs] + ([today] if pending or key in runs else [])
    nxt = when(settings, store, sub, today, owed_days)
    if nxt.today and key in runs and key not in {k for k, _d in theirs} and store.run_status(key) == "done":
        # joined (or became due) after today's digest went: no scheduled send comes again today, and tomorrow's
        # does not carry today's items
        after = next_day(sub, today + timedelta(days=1))
        why = (
            f"joined after today's digest went: they get today's items only if it is sent again now (Send now, or "
            f"`digest send`); otherwise their next email goes on {after:%A %-d %B %Y}"
        )
        return replace(nxt, why=why)
    return nxt


def preview(settings: Settings, store: Store, sub: Subscriber, *, now: datetime) -> tuple[NextEmail, Digest, str, str]:
    """The reader's next email as it would go: today's digest narrowed to them when they are due a daily one,
    else (weekly, or not due today) what they are owed so far, composed as the send composes it."""
    nxt = for_reader(settings, store, sub, now=now)
    if nxt.today and sub.frequency == "daily":
        digest, html, text = daily.preview(settings, store, now=now, subscriber=sub)
    else:
        runs, pending = _owed(settings, store, sub, now)
        day = nxt.day or daily.digest_day(settings, now)
        base = editions.covering(settings, store, runs, day=day, weekly=sub.frequency == "weekly", extra_ids=pending)
        digest, html, text = daily.preview(settings, store, now=now, subscriber=sub, base=base)
    if nxt.today and sub.narrowed and digest.count == 0 and not settings.send_empty:
        # as the send's plan has it: nothing of theirs, so no email today (what they were owed is settled)
        nxt = replace(nxt, why="nothing today is of what they chose, so no email goes to them today", today=False)
    return nxt, digest, html, text

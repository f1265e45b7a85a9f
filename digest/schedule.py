"""When things run: the noon send, the polls, and the catch-up after downtime. APScheduler 3.x.

The decisions are pure functions of the settings, the clock and the ledger's view of today, so tests cover
the March and October clock changes with an injected clock.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, tzinfo
from functools import lru_cache
from typing import TYPE_CHECKING

from .config import Settings

if TYPE_CHECKING:
    from apscheduler.schedulers.asyncio import AsyncIOScheduler
    from apscheduler.triggers.cron import CronTrigger
    from apscheduler.triggers.interval import IntervalTrigger

# APScheduler is imported where a trigger is built: `digest status` and /health ask only when the next send is,
# which zoneinfo answers (see next_send), and importing APScheduler costs more than the rest of `status`.

PRE_SEND_POLL = timedelta(minutes=10)  # a poll shortly before the send catches the morning's items


def send_trigger(settings: Settings) -> CronTrigger:
    """Every day at send_time in the configured timezone, whatever the offset from UTC that day."""
    return _daily_at(settings.send_time, settings.timezone)


def send_grace(settings: Settings) -> int:
    """Seconds after the send time that APScheduler still runs a send it missed (the service was busy or asleep):
    until the missed-digest cut-off, and at least one. A send time of 23:59 has its cut-off at 23:59 too, and
    APScheduler refuses a grace of 0: `digest serve` would not start."""
    day = date(2000, 1, 1)
    cutoff = datetime.combine(day, settings.missed_cutoff) - datetime.combine(day, settings.send_time)
    return max(1, int(cutoff.total_seconds()))


@lru_cache(maxsize=8)
def _daily_at(at: time, timezone: tzinfo) -> CronTrigger:
    # Built once per time and zone: a CronTrigger compiles its fields, which /health would pay on every request.
    from apscheduler.triggers.cron import CronTrigger

    return CronTrigger(hour=at.hour, minute=at.minute, timezone=timezone)


def pre_send_poll_trigger(settings: Settings) -> CronTrigger:
    from apscheduler.triggers.cron import CronTrigger

    at = (datetime.combine(date(2000, 1, 1), settings.send_time) - PRE_SEND_POLL).time()
    return CronTrigger(hour=at.hour, minute=at.minute, timezone=settings.timezone)


def poll_trigger(settings: Settings) -> IntervalTrigger:
    from apscheduler.triggers.interval import IntervalTrigger

    return IntervalTrigger(minutes=settings.poll_interval_minutes, timezone=settings.timezone)


def bounce_poll_trigger(settings: Settings, minutes: int) -> IntervalTrigger:
    return IntervalTrigger(minutes=minutes, timezone=settings.timezone)


def next_send(settings: Settings, now: datetime, today_status: str | None = None) -> datetime:
    """The next send that will send something, in the schedule's timezone: once today's digest has gone (its
    run done, or an empty day) today's send time would send nothing, so the next is tomorrow's."""
    after = now
    if today_status in ("done", "empty"):
        tomorrow = now.astimezone(settings.timezone).date() + timedelta(days=1)
        after = datetime.combine(tomorrow, time(0, 0), tzinfo=settings.timezone)
    return _next_daily(settings, after)


def _next_daily(settings: Settings, after: datetime) -> datetime:
    """The first send time at or after `after` (to the second, as the cron trigger counts), as the send trigger
    would fire: worked out with zoneinfo where the local time is plain on the days it looks at, and left to
    the trigger itself around a clock change that falls on the send time (a time skipped or repeated)."""
    tz = settings.timezone
    at = time(settings.send_time.hour, settings.send_time.minute)
    start = after
    if after.microsecond:
        start = after.replace(microsecond=0) + timedelta(seconds=1)  # the trigger's ceiling to the second
    local = start.astimezone(tz)
    for offset in range(2):
        candidate = datetime.combine(local.date() + timedelta(days=offset), at, tzinfo=tz)
        if candidate.utcoffset() != local.utcoffset() or candidate.utcoffset() != candidate.replace(fold=1).utcoffset():
            break  # a clock change between now and then, or on the send time: the trigger decides, as it always has
        if candidate >= start:
            return candidate
    fire = send_trigger(settings).get_next_fire_time(None, after)
    assert fire is not None
    return fire.astimezone(tz)  # type: ignore[no-any-return]


def shown(settings: Settings, when: datetime) -> str:
    """A moment as every screen shows it to the editor: in the schedule's timezone, named."""
    return when.astimezone(settings.timezone).strftime("%Y-%m-%d %H:%M %Z")


def _local(settings: Settings, now: datetime, at: time) -> datetime:
    local = now.astimezone(settings.timezone)
    return datetime.combine(local.date(), at, tzinfo=settings.timezone)


def catch_up_due(settings: Settings, now: datetime, today_status: str | None) -> bool:
    """After downtime: send today's digest if send time has passed, the cut-off has not, and today's run is
    not finished. Never a stale digest on a later day; the ledger makes repeated restarts harmless."""
    if today_status in ("done", "empty"):
        return False
    local_send = _local(settings, now, settings.send_time)
    cutoff = _local(settings, now, settings.missed_cutoff)
    return local_send <= now.astimezone(settings.timezone) < cutoff


def overdue(settings: Settings, now: datetime, today_status: str | None, grace: timedelta = timedelta(hours=1)) -> bool:
    """Today's digest should have gone out by now (send time plus grace) and has not."""
    if today_status in ("done", "empty"):
        return False
    return now.astimezone(settings.timezone) >= _local(settings, now, settings.send_time) + grace


def build_scheduler(settings: Settings) -> AsyncIOScheduler:
    """A scheduler on the running event loop; jobs are added by the service."""
    # Imported here: the scheduler (with its executors and multiprocessing) is for `digest serve` alone, not for
    # the commands and pages that only ask when the next send is.
    from apscheduler.schedulers.asyncio import AsyncIOScheduler

    return AsyncIOScheduler(timezone=settings.timezone, job_defaults={"coalesce": True, "max_instances": 1})

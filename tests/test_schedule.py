"""The schedule: noon in London across both clock changes, catch-up after downtime, overdue detection."""

from __future__ import annotations

from datetime import UTC, datetime, time
from pathlib import Path

import pytest

from digest.config import Settings
from digest.schedule import catch_up_due, next_send, overdue, pre_send_poll_trigger

S = Settings(path=Path("x"))


@pytest.mark.parametrize(
    ("now", "expected_utc"),
    [
        # The day before the March change (GMT): noon is 12:00 UTC.
        (datetime(2026, 3, 28, 13, 0, tzinfo=UTC), datetime(2026, 3, 29, 11, 0, tzinfo=UTC)),
        # 29 March 2026 the clocks go forward at 01:00 UTC: noon BST is 11:00 UTC that very day.
        (datetime(2026, 3, 29, 0, 30, tzinfo=UTC), datetime(2026, 3, 29, 11, 0, tzinfo=UTC)),
        # 25 October 2026 the clocks go back at 01:00 UTC: noon GMT is 12:00 UTC that day.
        (datetime(2026, 10, 25, 0, 30, tzinfo=UTC), datetime(2026, 10, 25, 12, 0, tzinfo=UTC)),
        (datetime(2026, 10, 24, 11, 30, tzinfo=UTC), datetime(2026, 10, 25, 12, 0, tzinfo=UTC)),
    ],
)
def test_send_is_at_noon_london_across_clock_changes(now: datetime, expected_utc: datetime) -> None:
    """Noon stays noon for the reader on the March and October change days."""
    fire = next_send(S, now)
    assert fire == expected_utc
    assert fire.astimezone(S.timezone).time() == time(12, 0)


def test_a_poll_runs_shortly_before_the_send() -> None:
    """The pre-send poll fires at 11:50 London time."""
    fire = pre_send_poll_trigger(S).get_next_fire_time(None, datetime(2026, 6, 1, 9, 0, tzinfo=UTC))
    assert fire.astimezone(S.timezone).time() == time(11, 50)


@pytest.mark.parametrize(
    ("now", "status", "due"),
    [
        (datetime(2026, 6, 1, 13, 0, tzinfo=UTC), None, True),  # 14:00 BST, nothing sent yet: send now
        (datetime(2026, 6, 1, 13, 0, tzinfo=UTC), "sending", True),  # interrupted: continue
        (datetime(2026, 6, 1, 13, 0, tzinfo=UTC), "done", False),  # restarts never send twice
        (datetime(2026, 6, 1, 17, 30, tzinfo=UTC), None, False),  # 18:30 BST: past the cut-off
        (datetime(2026, 6, 1, 10, 0, tzinfo=UTC), None, False),  # 11:00 BST: the normal send is still to come
        (datetime(2026, 6, 2, 1, 0, tzinfo=UTC), None, False),  # the next day: never a stale digest
    ],
)
def test_catch_up_after_downtime(now: datetime, status: str | None, due: bool) -> None:
    """Back before the cut-off on the same day, the service sends once; otherwise it waits."""
    assert catch_up_due(S, now, status) is due


def test_overdue_after_an_hour_without_a_digest() -> None:
    """/health reports overdue from an hour after send time until the day's run is done."""
    assert not overdue(S, datetime(2026, 6, 1, 11, 30, tzinfo=UTC), None)  # 12:30 BST
    assert overdue(S, datetime(2026, 6, 1, 12, 5, tzinfo=UTC), None)  # 13:05 BST
    assert not overdue(S, datetime(2026, 6, 1, 12, 5, tzinfo=UTC), "done")
    assert not overdue(S, datetime(2026, 6, 1, 12, 5, tzinfo=UTC), "empty")


@pytest.mark.parametrize("zone", ["Europe/London", "America/Sao_Paulo", "Australia/Lord_Howe"])
@pytest.mark.parametrize("at", [time(12, 0), time(1, 30), time(1, 15), time(0, 0), time(2, 0)])
def test_next_send_agrees_with_the_cron_trigger(zone: str, at: time) -> None:
    """The next send time worked out without APScheduler is the send trigger's own, to the second, through a
    year of instants (clock changes on the send time included, where the trigger itself is asked)."""
    from dataclasses import replace
    from datetime import timedelta
    from zoneinfo import ZoneInfo

    from digest.schedule import send_trigger

    settings = replace(S, timezone=ZoneInfo(zone), send_time=at)
    trigger = send_trigger(settings)
    moment = datetime(2026, 1, 1, 0, 0, 0, 250_000, tzinfo=UTC)
    while moment < datetime(2027, 1, 1, tzinfo=UTC):
        for when in (moment, moment.replace(microsecond=0)):
            expected = trigger.get_next_fire_time(None, when).astimezone(settings.timezone)
            got = next_send(settings, when)
            assert (got, got.utcoffset()) == (expected, expected.utcoffset()), when
        moment += timedelta(minutes=97, seconds=13)


@pytest.mark.parametrize(("send", "cutoff", "grace"), [("12:00", "18:00", 6 * 3600), ("23:59", "23:59", 1)])
def test_the_service_schedules_a_send_at_any_minute_of_the_day(send: str, cutoff: str, grace: int) -> None:
    """A send time of 23:59 (its missed-digest cut-off is 23:59 too) gave APScheduler a grace of 0 seconds, which
    it refuses: `digest serve` failed to start. Found by a test that picks a send time two hours ahead, run
    after 22:00. The send job is accepted, with at least a second's grace."""
    from digest.schedule import build_scheduler, send_grace, send_trigger

    settings = Settings(path=Path("x"), send_time=time.fromisoformat(send), missed_cutoff=time.fromisoformat(cutoff))
    assert send_grace(settings) == grace
    scheduler = build_scheduler(settings)
    job = scheduler.add_job(print, send_trigger(settings), id="send", misfire_grace_time=send_grace(settings))
    assert job.misfire_grace_time == grace


def test_a_send_error_is_yesterdays_after_midnight_in_summer_time() -> None:
    """/health counts a send's error as today's by the schedule's day: between 00:00 and 01:00 BST it is already
    tomorrow in London but still today in UTC, and a monitor was paged for a day already over."""
    from datetime import timedelta
    from zoneinfo import ZoneInfo

    from digest.health import JobState, assess

    failed = JobState(finished=datetime(2026, 7, 14, 11, 0, tzinfo=UTC), error="cannot write the outbox")
    london = ZoneInfo("Europe/London")

    def ok_at(now: datetime) -> bool:
        return assess(
            now=now,
            overdue=False,
            today_counts={},
            sending=False,
            send_job=failed,
            poll_job=None,
            feeds=(),
            poll_interval=timedelta(minutes=30),
            zone=london,
        ).ok

    assert not ok_at(datetime(2026, 7, 14, 22, 30, tzinfo=UTC))  # 23:30 BST, the same day: the error stands
    assert ok_at(datetime(2026, 7, 14, 23, 30, tzinfo=UTC))  # 00:30 BST on the 15th: yesterday's

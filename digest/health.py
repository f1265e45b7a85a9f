"""Is the service healthy? A pure judgement over what the store and the running service know, so /health, the
dashboard and `digest status` say the same thing. Not ok when today's send is overdue, failed or stopped part
way, when the next send cannot start (the subscriber list unreadable or empty, the mail server's password
missing), when polling is broken (the poll job itself failing, or no feed read successfully for a long while), or
when the bounce mailbox could not be read at its last try (bounces and complaints then go unheeded).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo

from .models import FeedHealth
from .plural import plural

STALE_POLLS = 3  # no feed read in this many poll intervals: polling is broken


@dataclass(frozen=True)
class JobState:
    """The outcome of the service's last run of a job."""

    finished: datetime
    error: str | None = None
    final: bool = False  # an error that trying again cannot mend: the send is not retried


@dataclass(frozen=True)
class Verdict:
    ok: bool
    problems: tuple[str, ...]


def assess(
    *,
    now: datetime,
    overdue: bool,
    today_counts: Mapping[str, int],
    sending: bool,
    send_job: JobState | None,
    poll_job: JobState | None,
    feeds: Sequence[FeedHealth],
    bounce_job: JobState | None = None,
    poll_interval: timedelta,
    up_since: datetime | None = None,
    setup: Sequence[str] = (),
    today_status: str | None = None,
    today_made: datetime | None = None,
    zone: tzinfo = UTC,
) -> Verdict:
    """`setup`: what would stop the next send before it starts (the subscriber list, the mail server's password),
    each said in full; `today_made`: when today's run was finished (or made, if it has no finishing time)."""
    problems: list[str] = list(setup)
    if overdue:
        problems.append("today's digest is overdue")
    if today_counts.get("failed"):
        problems.append(f"{plural(today_counts['failed'], 'delivery')} failed today")
    waiting = today_counts.get("pending", 0) + today_counts.get("sending", 0)
    if waiting and not sending:
        problems.append(f"today's send stopped with {plural(waiting, 'recipient')} not yet sent")
    # A send finished today's digest after the error (by hand, a retry): mended. Not a forced resend that failed
    # after the day's digest had gone: that one never went.
    mended = today_status in ("done", "empty") and (
        today_made is None or send_job is None or today_made >= send_job.finished
    )
    today = now.astimezone(zone).date()  # the schedule's day, not UTC's (BST's first hour is UTC's yesterday)
    if send_job is not None and send_job.error and send_job.finished.astimezone(zone).date() == today and not mended:
        problems.append(f"the last send failed: {send_job.error}")
    if poll_job is not None and poll_job.error:
        problems.append(f"the last poll failed: {poll_job.error}")
    if bounce_job is not None and bounce_job.error:
        problems.append(f"the bounce mailbox could not be read: {bounce_job.error}")
    if feeds:
        successes = [f.last_success for f in feeds if f.last_success is not None]
        polled = any(f.last_success or f.last_error for f in feeds)
        stale_after = now - poll_interval * STALE_POLLS
        started_long_ago = up_since is None or up_since <= stale_after
        if polled and (not successes or max(successes) < stale_after) and started_long_ago:
            problems.append(f"no feed has been read successfully in {STALE_POLLS} poll intervals")
        elif polled and not successes:
            problems.append("no feed has been read successfully yet")
    return Verdict(ok=not problems, problems=tuple(problems))

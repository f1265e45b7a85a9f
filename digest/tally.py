"""What a digest carries, or will, counted as its email counts it, with what the filter left out: for
`digest status` and the admin's dashboard."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from .compose import Candidate, compose
from .config import Settings
from .daily import digest_day
from .models import Document, Item, Run, RunInfo, Summary
from .store import Store
from .summarise import why_left_out


@dataclass(frozen=True)
class Tally:
    """What a digest carries (or will), counted as its email counts it, and what the filter left out."""

    entries: int  # the email's "N new items": one per publication
    items: int  # the feed items about probation behind them (several feeds can report one publication)
    left_out: tuple[tuple[Item, str], ...]  # feed items judged not about probation, each with the reason
    unsummarised: int

    def phrase(self) -> str:
        said = f"{self.entries} item{'' if self.entries == 1 else 's'}"
        if self.items != self.entries:
            said += f" (from {self.items} feed items about probation, grouped by publication)"
        return f"{said}; {len(self.left_out)} left out as not about probation"


def _tally(settings: Settings, rows: Sequence[tuple[Item, Summary, Document | None]], day: date, unread: int) -> Tally:
    candidates = [Candidate(item=i, summary=s, document=d) for i, s, d in rows]
    digest = compose(candidates, list_name=settings.list_name, day=day, subject=settings.subject)
    return Tally(
        entries=digest.count,
        items=sum(1 for _, s, _ in rows if s.about_probation),
        left_out=tuple((i, why_left_out(i, d)) for i, s, d in rows if not s.about_probation),
        unsummarised=unread,
    )


def waiting(settings: Settings, store: Store, now: datetime) -> Tally:
    """The items waiting for the next digest, as `digest status` and the dashboard both report them."""
    return _tally(settings, store.pending_items(), digest_day(settings, now), store.count_unsummarised())


def run_tally(settings: Settings, store: Store, run: Run | RunInfo) -> Tally:
    """What a day's digest carried and what the filter left out of it."""
    return _tally(settings, store.run_items(run.key), run.day, 0)

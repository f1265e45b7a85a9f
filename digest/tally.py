"""What a digest carries, or will, counted as its email counts it, with what the filter left out: for
`digest status` and the admin's dashboard."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from .compose import LEFT_OUT_BY_EDITOR, Candidate, apply_choices, compose
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


def _tally(
    settings: Settings, store: Store, rows: Sequence[tuple[Item, Summary, Document | None]], day: date, unread: int
) -> Tally:
    choices = store.item_choices()
    candidates = apply_choices([Candidate(item=i, summary=s, document=d) for i, s, d in rows], choices)
    digest = compose(candidates, list_name=settings.list_name, day=day, subject=settings.subject)

    def why(c: Candidate) -> str:
        return LEFT_OUT_BY_EDITOR if choices.get(c.item.id or 0) == "leave-out" else why_left_out(c.item, c.document)

    return Tally(
        entries=digest.count,
        items=sum(1 for c in candidates if c.summary.about_probation),
        left_out=tuple((c.item, why(c)) for c in candidates if not c.summary.about_probation),
        unsummarised=unread,
    )


def waiting(settings: Settings, store: Store, now: datetime) -> Tally:
    """The items waiting for the next digest, as `digest status` and the dashboard both report them."""
    return _tally(settings, store, store.pending_items(), digest_day(settings, now), store.count_unsummarised())


def run_tally(settings: Settings, store: Store, run: Run | RunInfo) -> Tally:
    """What a day's digest carried and what the filter left out of it."""
    return _tally(settings, store, store.run_items(run.key), run.day, 0)

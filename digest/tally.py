"""What a digest carries, or will, counted as its email counts it, with what the filter (or the editor) left
out: for `digest status`, the admin's dashboard and the send. Kept apart from `daily` (which builds and sends
emails) so that the commands and pages that only count import little; `daily` keeps the names it had.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING

from .compose import LEFT_OUT_BY_EDITOR, Candidate, apply_choices, compose
from .models import Document, Item, Run, RunInfo, Summary
from .plural import plural

if TYPE_CHECKING:
    from .config import Settings
    from .store import Store


def list_slug(settings: Settings) -> str:
    return re.sub(r"[^a-z0-9]+", "-", settings.list_name.lower()).strip("-") or "digest"


def run_key(settings: Settings, day: date) -> str:
    return f"{list_slug(settings)}:{day.isoformat()}"


def digest_day(settings: Settings, now: datetime) -> date:
    return now.astimezone(settings.timezone).date()


@dataclass(frozen=True)
class Tally:
    """What a digest carries (or will), counted as its email counts it, and what the filter left out."""

    entries: int  # the email's "N new items": one per publication
    items: int  # the feed items about probation behind them (several feeds can report one publication)
    left_out: tuple[tuple[Item, str], ...]  # feed items judged not about probation, each with the reason
    unsummarised: int

    def phrase(self) -> str:
        said = plural(self.entries, "item")
        if self.items != self.entries:
            said += f" (from {plural(self.items, 'feed item')} about probation, grouped by publication)"
        return f"{said}; {len(self.left_out)} left out as not about probation"


def _tally(
    settings: Settings, store: Store, rows: Sequence[tuple[Item, Summary, Document | None]], day: date, unread: int
) -> Tally:
    choices = store.item_choices()
    candidates = apply_choices([Candidate(item=i, summary=s, document=d) for i, s, d in rows], choices)
    digest = compose(candidates, list_name=settings.list_name, day=day, subject=settings.subject)
    left = [c for c in candidates if not c.summary.about_probation]
    reasons: tuple[tuple[Item, str], ...] = ()
    if left:
        from .classify import why_left_out  # the filter, imported only where something was left out

        def why(c: Candidate) -> str:
            if choices.get(c.item.id or 0) == "leave-out":
                return LEFT_OUT_BY_EDITOR
            return why_left_out(c.item, c.document)

        reasons = tuple((c.item, why(c)) for c in left)
    return Tally(
        entries=digest.count,
        items=sum(1 for c in candidates if c.summary.about_probation),
        left_out=reasons,
        unsummarised=unread,
    )


def waiting(settings: Settings, store: Store, now: datetime) -> Tally:
    """The items waiting for the next digest, as `digest status` and the dashboard both report them."""
    return _tally(settings, store, store.pending_items(), digest_day(settings, now), store.count_unsummarised())


def run_tally(settings: Settings, store: Store, run: Run | RunInfo) -> Tally:
    """What a day's digest carried and what the filter left out of it."""
    return _tally(settings, store, store.run_items(run.key), run.day, 0)

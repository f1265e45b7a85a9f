"""Items about the same publication, as the archive shows them: an item's page lists the others (a blog post about
an inspection beside the report, as the email's "Also discussed by" does), and a search lists a publication once
however many feeds reported it. The grouping is compose's (`compose.group`: a shared link, or the same inspected
body within a fortnight of the report). Pure: candidates in, groups out.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import TypeVar

from .compose import SAME_REPORT_WINDOW, Candidate, group

WINDOW: timedelta = SAME_REPORT_WINDOW  # how far either side of an item its neighbours are looked for
T = TypeVar("T")


@dataclass(frozen=True)
class Related:
    """The other items about an item's publication: `lead` is the one the email would show (the report), when it
    is not the item itself; `others` the rest, the item excluded."""

    lead: Candidate | None
    others: tuple[Candidate, ...]


def cluster(rows: Sequence[T], candidate: Callable[[T], Candidate]) -> list[tuple[T, list[T]]]:
    """`rows` (search results, in order) grouped by publication: each group once, where its first row was, led
    by the row the email would lead with (the inspectorate's report before a post about it)."""
    candidates = [candidate(row) for row in rows]
    index = {id(c): i for i, c in enumerate(candidates)}
    placed = []
    for lead, others in group(candidates):
        members = [index[id(c)] for c in (lead, *others)]
        placed.append((min(members), rows[members[0]], [rows[i] for i in sorted(members[1:])]))
    placed.sort(key=lambda p: p[0])
    return [(lead_row, other_rows) for _, lead_row, other_rows in placed]


def related(item_id: int, neighbours: Sequence[Candidate]) -> Related:
    """The items grouped with `item_id` among its neighbours (the item among them), about probation only."""
    relevant = [c for c in neighbours if c.summary.about_probation]
    for lead, others in group(relevant):
        members = [lead, *others]
        if any(c.item.id == item_id for c in members):
            rest = tuple(c for c in members if c.item.id != item_id and c is not lead)
            return Related(lead=None if lead.item.id == item_id else lead, others=rest)
    return Related(lead=None, others=())

"""The admin's items page: what is waiting for the next digest, each with its kind and card line, and the
editor's call on it (leave it out, or include one the relevance filter dropped), stored and honoured by the
send and the preview (`compose.apply_choices`)."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from . import auth
from .admin_base import AdminBase
from .classify import why_left_out
from .compose import LEFT_OUT_BY_EDITOR
from .models import Item, Summary
from .plural import plural
from .store_choices import CHOICES, Choice
from .tally import waiting
from .web_params import row_id


@dataclass(frozen=True)
class Row:
    item: Item
    summary: Summary
    line: str  # the card's summary line
    choice: Choice | None
    included: bool
    why_out: str


def card_line(s: Summary) -> str:
    """One line for an item, as its card opens: who was inspected and the rating, else the summary's start."""
    if s.kind == "inspection" and (s.organisation or s.rating):
        parts = [s.organisation or s.title, f"rated {s.rating}" if s.rating else s.rating_note or "no rating"]
        if s.recommendations:
            parts.append(plural(len(s.recommendations), "recommendation"))
        return " · ".join(p for p in parts if p)
    text = s.summary.strip()
    return text if len(text) <= 200 else text[:200].rsplit(" ", 1)[0] + "…"


class ItemPages(AdminBase):
    async def items_page(self, request: Request) -> Response:
        svc = self.svc
        if request.method == "POST":
            form = request.state.form
            raw = form.get("choice", "")
            choice: Choice | None = next((c for c in CHOICES if c == raw), None)
            item_id = row_id(form.get("item"))
            if item_id is None:
                return self.done(request, "Not done", "No such item.", "/admin/items", 400)
            if not self.confirmed(request):
                title = form.get("title", "this item")
                what = {
                    "leave-out": ("Leave it out?", f"“{title}” will not be in the next digest.", "Leave it out"),
                    "include": (
                        "Include it anyway?",
                        f"“{title}” was judged not about probation; it will be in the next digest all the same.",
                        "Include it",
                    ),
                    None: ("Let the filter decide?", f"Your call on “{title}” is taken back.", "Take it back"),
                }[choice]
                return self.confirm(request, title=what[0], text=what[1], button=what[2], back="/admin/items")
            with svc.store() as store:
                store.choose(item_id, choice, now=svc.clock())
            return RedirectResponse("/admin/items", status_code=303)
        with svc.store() as store:
            choices = store.item_choices()
            rows = []
            for item, summary, doc in store.pending_items():
                choice = choices.get(item.id or 0)
                included = choice == "include" or (choice is None and summary.about_probation)
                why = "" if included else (LEFT_OUT_BY_EDITOR if choice else why_left_out(item, doc))
                rows.append(Row(item, summary, card_line(summary), choice, included, why))
            status = svc.today_status(store)
            unread = store.count_unsummarised()
            tally = waiting(svc.settings, store, svc.clock())
        rows.sort(key=lambda r: (not r.included, r.item.published))
        return self.page("admin/items", csrf=auth.csrf(request), rows=rows, status=status, unread=unread, tally=tally)

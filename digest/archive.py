"""The public archive's pages: past digests (`/digests`, paged), a page per item with its full card
(`/items/{id}`), search over every item (`/search`, SQLite FTS5), the Atom feed (`/digests.atom`) and the ratings
tracker (`/ratings`). No script, no inline style: the site's policy (csp.SITE_POLICY) holds for all of them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from . import atom, editions, tracker
from .compose import Candidate, apply_choices, compose
from .csp import email_policy
from .errors import InputError
from .messages import renderer
from .models import KINDS, RATINGS, Digest, Entry
from .regions import NATIONAL, REGIONS
from .related import WINDOW, Related, cluster, related
from .render import RECIPIENT
from .service import Service
from .store import Store
from .store_archive import DigestInfo, SearchQuery
from .web_params import clamped, last_page, page_number, row_id

PAGE_SIZE = 20
WEEK = timedelta(days=6)  # a weekly email sent on a day carries that day and the six before it
LONGEST_SPAN = timedelta(days=62)  # a weekly email after a long absence: no page covers more than this
FEED_SIZE = 30
Page = Callable[..., HTMLResponse]


def _choice(params: Mapping[str, str], name: str, allowed: tuple[str, ...]) -> str | None:
    """A value when it is one of the choices offered; anything else is none (the sort, the order)."""
    value = params.get(name, "")
    return value if value in allowed else None


def _filters(
    params: Mapping[str, str], allowed: Mapping[str, tuple[str, tuple[str, ...]]]
) -> tuple[dict[str, str | None], dict[str, str]]:
    """Each filter's value (None: any), and for each value not among its choices (a link edited by hand, an old
    bookmark) what to say beside its list, rather than quietly showing everything. `allowed`: name → (what it
    is, its choices)."""
    form: dict[str, str | None] = {}
    errors: dict[str, str] = {}
    for name, (what, choices) in allowed.items():
        value = params.get(name, "").strip()
        form[name] = value if value in choices else None
        if value and value not in choices:
            errors[name] = f"“{value[:60]}” is not one of the {what}: choose one from the list ({', '.join(choices)})."
    return form, errors


def _day(params: Mapping[str, str], name: str) -> date | None:
    value = params.get(name, "").strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise InputError(f"{value!r} is not a date: dates look like 2026-11-24") from exc


def _paging(path: str, params: Mapping[str, str], page: int, total: int) -> dict[str, Any]:
    """Links to the pages before and after, keeping the filters."""
    last = last_page(total, PAGE_SIZE)
    kept = {k: v for k, v in params.items() if k != "page" and v}

    def link(n: int) -> str:
        query = urlencode({**kept, "page": str(n)} if n > 1 else kept)
        return f"{path}?{query}" if query else path

    return {
        "page": page,
        "pages": last,
        "previous": link(page - 1) if page > 1 else None,
        "next": link(page + 1) if page < last else None,
    }


def _sections(digest: Digest) -> tuple[atom.FeedSection, ...]:
    """A digest's sections as the Atom entry lists them, the headlines past the email's budget last."""

    def item(e: Entry) -> atom.FeedItem:
        return atom.FeedItem(e.item_id, e.title, e.source, e.summary.rating, tuple(a.source for a in e.also))

    sections = [atom.FeedSection(s.title, tuple(item(e) for e in s.entries)) for s in digest.sections]
    if digest.overflow:
        sections.append(atom.FeedSection("More items", tuple(item(e) for e in digest.overflow)))
    return tuple(sections)


def _history(store: Store) -> list[tracker.Inspection]:
    return tracker.inspections(store.inspection_rows())


class ArchivePages:
    """The archive's handlers, over one Service; `page` renders a site template (web.Pages.page)."""

    def __init__(self, svc: Service, page: Page) -> None:
        self.svc = svc
        self.page = page

    def _entry(self, store: Store, item_id: int) -> Entry | None:
        rows = store.summarised_items([item_id])
        if not rows:
            return None
        item, summary, document = rows[0]
        digest = compose(
            [Candidate(item, summary, document)],
            list_name=self.svc.settings.list_name,
            day=item.published.date(),
            subject="",
            history=_history(store) if summary.kind == "inspection" else (),
        )
        return digest.entries[0] if digest.entries else None  # compose keeps only items about probation

    def _as_sent(self, store: Store, infos: list[DigestInfo]) -> list[Digest]:
        """Each past digest composed from its run's items as its email was: grouped by publication (a post about
        a report is folded into it, not an item of its own), in its sections and order, so counted the same."""
        choices = store.item_choices()
        out = []
        for d in infos:
            rows = store.summarised_items(d.item_ids)
            candidates = apply_choices([Candidate(item=i, summary=s, document=doc) for i, s, doc in rows], choices)
            out.append(compose(candidates, list_name=self.svc.settings.list_name, day=d.day, subject=d.subject))
        return out

    async def digests(self, request: Request) -> Response:
        def read() -> tuple[list[Any], int, int]:
            with self.svc.store() as store:
                found, total, page = clamped(
                    page_number(request.query_params.get("page")),
                    PAGE_SIZE,
                    lambda limit, offset: store.digests(limit=limit, offset=offset),
                )
                return (
                    [(d, sent.count) for d, sent in zip(found, self._as_sent(store, found), strict=True)],
                    total,
                    page,
                )

        def read_weekly() -> set[date]:
            with self.svc.store() as store:
                return store.weekly_days(d.day for d, _n in found)

        found, total, page = await asyncio.to_thread(read)
        weekly = await asyncio.to_thread(read_weekly)
        return self.page(
            "digests",
            digests=found,
            weekly=weekly,
            total=total,
            **_paging("/digests", request.query_params, page, total),
        )

    async def week(self, request: Request) -> Response:
        """The web version of the weekly email sent on a day: the editions of the week up to it (or, with
        `since`, of the days the reader's own email covered), composed as the email was."""
        settings = self.svc.settings
        try:
            day = date.fromisoformat(request.path_params["day"])
            first = _day(request.query_params, "since") or day - WEEK
        except (ValueError, InputError):
            return self.page("message", 404, title="No such digest", text="Dates look like 2026-11-24.")
        today = self.svc.clock().astimezone(settings.timezone).date()
        if not (day - LONGEST_SPAN <= first <= day <= today):
            return self.page("message", 404, title="No such digest", text="No weekly digest covers those days.")

        def read() -> Any:
            with self.svc.store() as store:
                keys = store.editions_between(first, day)
                return editions.covering(settings, store, keys, day=day, weekly=True) if keys else None

        digest = await asyncio.to_thread(read)
        if digest is None:
            return self.page("message", 404, title="No weekly digest", text=f"Nothing was sent in the week to {day}.")
        html = renderer(settings).render(digest, web=True).html.replace(RECIPIENT, "")
        return HTMLResponse(html, headers={"Content-Security-Policy": email_policy(html)})

    async def item(self, request: Request) -> Response:
        item_id = row_id(request.path_params["item_id"]) or 0  # 0 is no item: the same 404 as one not found

        def read() -> tuple[Entry | None, date | None, Related]:
            with self.svc.store() as store:
                entry = self._entry(store, item_id)
                if entry is None:
                    return None, None, Related(None, ())
                around = store.published_between(entry.published - WINDOW, entry.published + WINDOW)
                neighbours = [Candidate(i, s, d) for i, s, d in store.summarised_items(around)]
                return entry, store.item_day(item_id), related(item_id, neighbours)

        entry, day, about = await asyncio.to_thread(read)
        if entry is None:
            return self.page("message", 404, title="No such item", text="The archive has no item at this address.")
        return self.page("item", e=entry, day=day, about=about)

    async def search(self, request: Request) -> Response:
        params = request.query_params
        regions = (*REGIONS, NATIONAL)
        chosen, errors = _filters(
            params, {"kind": ("kinds", KINDS), "region": ("regions", regions), "rating": ("ratings", RATINGS)}
        )
        form = {
            "q": params.get("q", "")[:200],
            **chosen,
            "from": params.get("from", "")[:40],  # as typed: beside its error, not cut to look like a date
            "to": params.get("to", "")[:40],
        }
        for name in ("from", "to"):  # every wrong value said at once, each beside its field
            try:
                _day(params, name)
            except InputError as exc:
                errors[name] = f"{exc}."
        choices = {"kinds": KINDS, "regions": regions, "ratings": RATINGS, "errors": errors}
        if errors:
            error = "A value is not one the search can use; see beside it."
            return self.page("search", 400, form=form, error=error, results=[], total=0, **choices, page=1, pages=1)
        try:
            query = SearchQuery(
                words=form["q"] or "",
                kind=form["kind"],
                region=form["region"],
                rating=form["rating"],
                since=_day(params, "from"),
                until=_day(params, "to"),
            )
        except InputError as exc:
            return self.page("search", 400, form=form, error=str(exc), results=[], total=0, **choices, page=1, pages=1)

        def read() -> tuple[list[Any], int, int]:
            with self.svc.store() as store:
                return clamped(
                    page_number(params.get("page")),
                    PAGE_SIZE,
                    lambda limit, offset: store.search(query, limit=limit, offset=offset),
                )

        try:
            results, total, page = await asyncio.to_thread(read)
        except InputError as exc:
            return self.page("search", 400, form=form, error=str(exc), results=[], total=0, **choices, page=1, pages=1)
        # One publication once, however many feeds reported it: the others as "also reported by".
        grouped = cluster(results, lambda r: Candidate(r.item, r.summary, r.document))
        return self.page(
            "search",
            form=form,
            results=grouped,
            total=total,
            folded=len(results) - len(grouped),  # items shown under another ("Also reported by"), not apart
            searched=bool(request.query_params),
            **choices,
            **_paging("/search", params, page, total),
        )

    async def feed(self, request: Request) -> Response:
        settings = self.svc.settings

        def read() -> list[atom.FeedDigest]:
            with self.svc.store() as store:
                found, _ = store.digests(limit=FEED_SIZE)
                return [
                    atom.FeedDigest(d.day.isoformat(), d.subject, d.created_at, _sections(sent))
                    for d, sent in zip(found, self._as_sent(store, found), strict=True)
                ]

        digests = await asyncio.to_thread(read)
        body = atom.feed(
            base=settings.public_url, list_name=settings.list_name, digests=digests, updated=self.svc.clock()
        )
        return Response(body, media_type="application/atom+xml; charset=utf-8")

    async def ratings(self, request: Request) -> Response:
        params: Mapping[str, str] = request.query_params

        def read() -> list[tracker.Inspection]:
            with self.svc.store() as store:
                return _history(store)

        rows = await asyncio.to_thread(read)
        if params.get("rating", "").strip().lower() == "none":  # as a table's cell says it: the choice's own words
            params = {**params, "rating": tracker.NO_RATING}
        years = tuple(str(y) for y in sorted({i.published.year for i in rows}, reverse=True))
        regions = tuple(sorted({i.region for i in rows if i.region}))
        form, errors = _filters(
            params,
            {
                "region": ("regions", (*REGIONS, NATIONAL)),  # any known region: one with no inspection shows none
                "rating": ("ratings", (*RATINGS, tracker.NO_RATING)),
                "type": ("types", tracker.TYPES),
                "year": ("years with an inspection", years),
            },
        )
        sort = _choice(params, "sort", tracker.SORTS) or "date"
        descending = params.get("order", "desc" if sort == "date" else "asc") == "desc"
        shown = (
            []
            if errors
            else tracker.select(
                rows,
                region=form["region"],
                rating=form["rating"],
                type=form["type"],
                year=int(form["year"]) if form["year"] else None,
                sort=sort,
                descending=descending,
            )
        )
        kept = {k: v for k, v in form.items() if v}

        def sort_link(column: str) -> str:
            flip = "asc" if column == sort and descending else "desc" if column == sort else None
            order = flip or ("desc" if column == "date" else "asc")
            return "/ratings?" + urlencode({**kept, "sort": column, "order": order})

        today = self.svc.clock().astimezone(self.svc.settings.timezone).date()
        year = int(form["year"]) if form["year"] else today.year
        return self.page(
            "ratings",
            400 if errors else 200,
            errors=errors,
            rows=shown,
            total=len(rows),
            form=form,
            years=years,
            regions=regions,
            ratings=(*RATINGS, tracker.NO_RATING),
            types=tracker.TYPES,
            sort=sort,
            descending=descending,
            sort_link=sort_link,
            chart=tracker.chart(rows, year, this_year=year == today.year),
            csv_note="digest ratings --csv",
        )

"""The admin's feed pages: the feeds with their health; add one (after checking the URL: fetched through the
project's fetcher, with its address checks and size limits, and parsed: a URL that does not parse is refused
with the reason); edit, disable and enable one; poll one now. The settings file stays the source of truth
(`feedfile` edits it round-trip, under the lock); the service takes the new feeds at once."""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import Response

from . import auth
from .admin_base import AdminBase
from .errors import ConfigError, FeedError, FetchError
from .feedfile import FeedFile
from .feeds import ParsedFeed, parse_feed
from .fetch import Fetcher
from .models import SOURCE_TYPES, Feed, Item, SourceType
from .pipeline import FEED_ACCEPT
from .plural import plural

NEWEST = 5  # items shown when a URL is checked


def _feed(fields: dict[str, str], url: str | None = None) -> Feed:
    """The feed a form describes (the URL given, or the form's)."""
    raw = fields.get("type", "")
    source_type: SourceType | None = next((t for t in SOURCE_TYPES if t == raw), None)
    url = (url if url is not None else fields.get("url", "")).strip()
    return Feed(name=fields.get("name", "").strip() or url, url=url, source_type=source_type, filter="filter" in fields)


class FeedPages(AdminBase):
    def _file(self) -> FeedFile:
        path = self.svc.settings.path
        if path is None:
            raise ConfigError("the service runs without a settings file, so its feeds cannot be edited here")
        return FeedFile.read(path)

    def _configured(self, url: str) -> Feed | None:
        return next((f for f in self.svc.settings.feeds if f.url == url), None)

    async def check(self, feed: Feed) -> tuple[ParsedFeed | None, str]:
        """Fetch and parse a feed as a poll would; the parsed feed, or None and the reason it cannot be used."""
        settings = self.svc.settings
        if urlsplit(feed.url).scheme not in ("http", "https"):
            return None, "expected an http or https URL"
        try:
            async with Fetcher(settings.fetch, contact=settings.public_url) as fetcher:
                r = await fetcher.get(feed.url, accept=FEED_ACCEPT)
            # Parsing is CPU work: a thread, so the other pages are answered meanwhile.
            parsed = await asyncio.to_thread(
                parse_feed, r.content, r.headers, feed=feed, url=feed.url, fetched_at=r.fetched_at
            )
        except FetchError as exc:
            return None, f"it could not be fetched ({exc.kind}): {exc.reason}"
        except FeedError as exc:
            return None, str(exc).removeprefix(f"{feed.url}: ")
        return parsed, ""

    def _list(self, request: Request, code: int = 200, message: str = "", **form: object) -> Response:
        with self.svc.store() as store:
            store.sync_feeds(self.svc.settings.feeds)
            health = {h.url: h for h in store.feed_health()}
        rows = [(f, health.get(f.url)) for f in self.svc.settings.feeds]
        return self.page(
            "admin/feeds",
            code,
            csrf=auth.csrf(request),
            rows=rows,
            message=message,
            types=SOURCE_TYPES,
            form=form,
        )

    async def list_page(self, request: Request) -> Response:
        return self._list(request)

    async def check_page(self, request: Request) -> Response:
        """The add form's first step: what the URL holds, and the save button only if it is a feed."""
        feed = _feed(request.state.form)
        if self._configured(feed.url):
            return self._list(request, 400, f"Not added: {feed.url} is already a feed.")
        parsed, problem = await self.check(feed)
        if parsed is None:
            return self._list(request, 400, f"Not a feed we can read: {problem}", url=feed.url)
        newest: list[Item] = sorted(parsed.items, key=lambda i: i.published, reverse=True)[:NEWEST]
        name = feed.name if feed.name != feed.url else parsed.title or feed.url
        return self.page(
            "admin/feed-check",
            csrf=auth.csrf(request),
            feed=feed,
            feed_name=name,
            parsed=parsed,
            newest=newest,
            types=SOURCE_TYPES,
        )

    async def add(self, request: Request) -> Response:
        feed = _feed(request.state.form)
        parsed, problem = await self.check(feed)  # again: what is saved is what was checked, now
        if parsed is None:
            return self._list(request, 400, f"Not added: {feed.url} is not a feed we can read: {problem}")
        try:
            self.svc.use_feeds(await asyncio.to_thread(lambda: self._file().add(feed)))
        except ConfigError as exc:
            return self._list(request, 400, f"Not added: {exc}")
        return self._list(request, message=f"Added {feed.name}; it is polled with the others from now on.")

    async def edit(self, request: Request) -> Response:
        url = request.query_params.get("url", "")
        current = self._configured(url)
        if current is None:
            return self.done(request, "No such feed", f"{url} is not in the settings.", "/admin/feeds", 404)
        if request.method == "GET":
            return self.page("admin/feed-edit", csrf=auth.csrf(request), feed=current, types=SOURCE_TYPES, error="")
        feed = _feed(request.state.form)
        if feed.url != current.url:
            parsed, problem = await self.check(feed)
            if parsed is None:
                error = f"Not saved: the new URL is not a feed we can read: {problem}"
                return self.page(
                    "admin/feed-edit", 400, csrf=auth.csrf(request), feed=feed, types=SOURCE_TYPES, error=error
                )
        try:
            self.svc.use_feeds(await asyncio.to_thread(lambda: self._file().update(current.url, feed)))
        except ConfigError as exc:
            return self.page(
                "admin/feed-edit",
                400,
                csrf=auth.csrf(request),
                feed=feed,
                types=SOURCE_TYPES,
                error=f"Not saved: {exc}",
            )
        return self._list(request, message=f"Saved {feed.name}.")

    async def enable(self, request: Request) -> Response:
        form = request.state.form
        feed = self._configured(form.get("url", ""))
        if feed is None:
            return self._list(request, 404, "No such feed.")
        enabled = form.get("enabled") == "yes"
        if not enabled and not self.confirmed(request):
            return self.confirm(
                request,
                title=f"Disable {feed.name}?",
                text=f"{feed.name} will not be polled until you enable it again (the settings file records "
                "it: enabled: false). Its items so far are kept.",
                button=f"Disable {feed.name}",
                back="/admin/feeds",
            )
        try:
            self.svc.use_feeds(await asyncio.to_thread(lambda: self._file().set_enabled(feed.url, enabled)))
        except ConfigError as exc:
            return self._list(request, 400, f"Not done: {exc}")
        if enabled:
            with self.svc.store() as store:
                store.feed_enabled(feed.url)
        return self._list(request, message=f"{feed.name} is {'enabled' if enabled else 'disabled'}.")

    async def poll(self, request: Request) -> Response:
        feed = self._configured(request.state.form.get("url", ""))
        if feed is None:
            return self._list(request, 404, "No such feed.")
        result = await self.svc.poll_feed(feed)
        if result.status == "error":
            said = f"Polled {feed.name}: it failed ({result.error})."
        elif result.status == "disabled":
            said = f"{feed.name} is disabled ({result.error}); enable it first."
        elif result.status == "not-modified":
            said = f"Polled {feed.name}: nothing changed since the last poll."
        else:
            said = f"Polled {feed.name}: {result.new} new of {plural(result.seen, 'item')}."
        return self._list(request, message=said)

"""`digest backfill FEED --pages N`: import a feed's older pages so the archive and the ratings tracker start full.

WordPress serves a feed's older entries at `?paged=2`, `?paged=3`, …; the import stops at a page that is missing
(404), empty, or the same as one already read (some sites answer every page past the last with the last). Items
are recorded as seen, so no digest sends them, then read and summarised like new ones, so their cards exist.
Callers pass the clock and the fetcher in.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from .clock import Clock
from .config import Settings
from .errors import FetchError, InputError
from .feeds import parse_feed
from .fetch import Fetcher
from .models import Feed
from .pipeline import process
from .store import Store
from .workers import InlineRunner, Runner

_FEED_ACCEPT = "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.8, */*;q=0.5"
_NEVER_NEW = datetime.max.replace(tzinfo=UTC)  # every item is older than this: all recorded as seen


@dataclass(frozen=True)
class PageResult:
    number: int
    url: str
    items: int  # entries on the page
    added: int  # of which new to the store


@dataclass(frozen=True)
class BackfillResult:
    pages: tuple[PageResult, ...]
    stopped: str  # why it stopped
    summarised: int


def page_url(url: str, number: int) -> str:
    """The feed's page `number` the WordPress way (`?paged=N`); page 1 is the feed itself."""
    if number == 1:
        return url
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "paged"]
    return urlunsplit(parts._replace(query=urlencode([*query, ("paged", str(number))])))


def find_feed(settings: Settings, name_or_url: str) -> Feed:
    """A configured feed by its name (any case) or URL."""
    for feed in settings.feeds:
        if name_or_url in (feed.url, feed.name) or name_or_url.casefold() == feed.name.casefold():
            return feed
    names = ", ".join(f.name for f in settings.feeds) or "none configured"
    raise InputError(f"no feed named {name_or_url!r} in the settings (feeds: {names})")


async def backfill(
    settings: Settings,
    store: Store,
    fetcher: Fetcher,
    feed: Feed,
    *,
    pages: int,
    clock: Clock,
    runner: Runner | None = None,  # a process pool for the parsing and reading; inline when None
    progress: Callable[[PageResult], None] | None = None,
) -> BackfillResult:
    """Import up to `pages` pages of `feed`, then read and summarise what they brought."""
    store.sync_feeds(settings.feeds)
    seen_pages: set[frozenset[str]] = set()
    done: list[PageResult] = []
    stopped = f"read the {pages} page{'s' if pages != 1 else ''} asked for"
    for number in range(1, pages + 1):
        url = page_url(feed.url, number)
        try:
            response = await fetcher.get(url, accept=_FEED_ACCEPT)
        except FetchError as exc:
            if exc.status == 404:
                stopped = f"page {number} does not exist (404)"
            else:
                stopped = f"page {number} failed: {exc.kind}: {exc.reason}"
            break
        parsed = parse_feed(response.content, response.headers, feed=feed, url=feed.url, fetched_at=response.fetched_at)
        guids = frozenset(i.guid for i in parsed.items)
        if not guids:
            stopped = f"page {number} is empty"
            break
        if guids in seen_pages:
            stopped = f"page {number} repeats an earlier page"
            break
        seen_pages.add(guids)
        before = store.count_items(feed.url)
        store.add_items(feed.url, parsed.items, now=clock(), backfill_since=_NEVER_NEW)
        result = PageResult(number, url, len(parsed.items), store.count_items(feed.url) - before)
        done.append(result)
        if progress:
            progress(result)
    todo = store.unsummarised_seen(feed.url)
    summarised = await process(settings, store, fetcher, clock=clock, runner=runner or InlineRunner(), items=todo)
    return BackfillResult(tuple(done), stopped, summarised)

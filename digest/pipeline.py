"""The polling jobs, wiring the pure stages to the edges: poll the feeds, then read and summarise new items
(fetching pages and the reports that news items announce). Callers (CLI, scheduler) pass the clock and the I/O
objects in. Composing and sending the day's digest is in `run`.
"""

from __future__ import annotations

import asyncio
import logging
import re
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import timedelta

from .clock import Clock
from .config import Settings
from .errors import DigestError, ExtractError, FeedError, FetchError, WorkerError
from .feeds import ParsedFeed, clean_text, parse_feed
from .fetch import Fetcher, max_age
from .models import Document, Feed, Hints, Item, Kind, PollStatus, Summary
from .store import Store
from .workers import InlineRunner, Runner

# Reading and summarising (trafilatura, lxml, pypdf) is imported by the functions that read, when they run:
# a poll that only polls, and a pool worker that only parses feeds, never pays for it.

log = logging.getLogger("digest")
FEED_ACCEPT = "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.8, */*;q=0.5"
_INLINE = InlineRunner()
_MIN_FEED_WORDS = 150  # below this the feed carries an excerpt, and the page is fetched


# ---- poll


@dataclass(frozen=True)
class PollResult:
    feed: Feed
    status: PollStatus
    new: int = 0
    seen: int = 0
    error: str | None = None
    moved_to: str | None = None


async def poll(
    settings: Settings,
    store: Store,
    fetcher: Fetcher,
    *,
    clock: Clock,
    runner: Runner = _INLINE,
    force: bool = False,
    progress: Callable[[PollResult], None] | None = None,
) -> list[PollResult]:
    """Poll every configured feed that is due (all of them with `force`), concurrently."""
    store.sync_feeds(settings.feeds)

    async def one(feed: Feed) -> PollResult:
        result = await _poll_feed(settings, store, fetcher, feed, clock=clock, runner=runner, force=force)
        if progress:
            progress(result)
        return result

    return list(await asyncio.gather(*(one(f) for f in settings.feeds)))


async def _poll_feed(
    settings: Settings,
    store: Store,
    fetcher: Fetcher,
    feed: Feed,
    *,
    clock: Clock,
    runner: Runner,
    force: bool,
) -> PollResult:
    state = store.feed_state(feed.url)
    now = clock()
    if not feed.enabled:
        return PollResult(feed, "disabled", error="disabled in the settings")
    if state.disabled:
        return PollResult(feed, "disabled", error=state.disabled)
    if not force and state.next_poll and state.next_poll > now:
        return PollResult(feed, "skipped")
    interval = timedelta(minutes=settings.poll_interval_minutes)
    url = state.moved_to or feed.url
    try:
        response = await fetcher.get(url, etag=state.etag, last_modified=state.last_modified, accept=FEED_ACCEPT)
        age = max_age(response.headers.get("cache-control"))
        next_poll = now + max(interval, timedelta(seconds=age or 0))
        if response.not_modified:
            store.feed_polled(feed.url, now=now, etag=None, last_modified=None, next_poll=next_poll)
            return PollResult(feed, "not-modified")
        parsed: ParsedFeed = await runner.run(
            parse_feed,
            response.content,
            response.headers,
            feed=feed,
            url=feed.url,
            fetched_at=response.fetched_at,
            known=store.recent_guids(feed.url),
        )
    except FetchError as exc:
        if exc.kind == "local":  # this machine's fault, not the feed's: shown, and polled again next time
            store.feed_failed(feed.url, now=now, kind=exc.kind, message=exc.reason, next_poll=None, counted=False)
            return PollResult(feed, "error", error=f"{exc.kind}: {exc.reason}")
        retry = timedelta(seconds=exc.retry_after) if exc.retry_after is not None else None
        backoff = interval * min(2**state.failures, 16)
        store.feed_failed(
            feed.url,
            now=now,
            kind=exc.kind,
            message=exc.reason,
            next_poll=now + max(retry or backoff, interval),
            disable=exc.kind == "gone",
        )
        return PollResult(feed, "error", error=f"{exc.kind}: {exc.reason}")
    except FeedError as exc:
        store.feed_failed(
            feed.url, now=now, kind="parse", message=str(exc).split(": ", 1)[-1], next_poll=now + interval
        )
        return PollResult(feed, "error", error=f"parse: {exc}")
    except Exception as exc:  # a worker that died, or a parser's bug: this feed fails, the others go on
        if not isinstance(exc, WorkerError):
            log.exception("polling %s failed", feed.url)
        message = f"{type(exc).__name__}: {exc}"
        store.feed_failed(feed.url, now=now, kind="internal", message=message, next_poll=now + interval)
        return PollResult(feed, "error", error=f"internal: {message}")
    window = feed.backfill_hours if feed.backfill_hours is not None else settings.backfill_hours
    since = None if state.first_polled else now - timedelta(hours=window)
    new = store.add_items(feed.url, parsed.items, now=now, backfill_since=since)
    store.feed_polled(
        feed.url,
        now=now,
        etag=response.headers.get("etag"),
        last_modified=response.headers.get("last-modified"),
        next_poll=next_poll,
        moved_to=response.moved_to,
    )
    return PollResult(feed, "new", new=len(new), seen=len(parsed.items) + parsed.known, moved_to=response.moved_to)


# ---- read and summarise


def _feed_text(item: Item) -> str:
    """The feed's own text of an item, a paragraph a line: cheap enough for the event loop's process, which reads
    it to know whether the page must be fetched."""
    html = item.content_html or item.summary_html
    return "\n\n".join(
        p for p in (clean_text(x) for x in re.split(r"</p>|<br\s*/?>|</li>|</h\d>|</blockquote>", html)) if p
    )


def _feed_document(item: Item, text: str | None = None) -> Document:
    """The text the feed itself gives. An excerpt (the page will be fetched) is taken as it is: trafilatura
    would only read it again, and the page goes through trafilatura anyway."""
    from .dates import find_date
    from .extract import report_links

    html = item.content_html or item.summary_html
    text = _feed_text(item) if text is None else text
    report_url, pdf_url = report_links(item.links, item.url)
    if len(text.split()) < _MIN_FEED_WORDS:
        return Document(
            url=item.url,
            title=item.title,
            text=text,
            format="feed",
            published=find_date(text[:3000]),
            report_url=report_url,
            pdf_url=pdf_url,
        )
    from .extract import extract_html

    doc = extract_html(f"<html><body><article><h1>{item.title}</h1>{html}</article></body></html>", url=item.url)
    if len(doc.text.split()) < len(text.split()) * 0.6:
        doc = replace(doc, text=text)  # trafilatura found less than the feed gave: keep the feed's text
    return replace(
        doc,
        format="feed",
        title=item.title,
        report_url=doc.report_url or report_url,
        pdf_url=doc.pdf_url or pdf_url,
    )


def _wants_page(text: str, item: Item) -> bool:
    """The feed gave too little to summarise, and the item has a page to read."""
    return len(text.split()) < _MIN_FEED_WORDS and not item.url.startswith("urn:")


# Run in a worker. The event loop's process only names them: it never imports trafilatura, lxml, pypdf or the
# summariser's rules (about 0.3 s of CPU a poll that reads items, and nothing it needs).


def _extract(content: bytes, *, url: str, content_type: str) -> Document:
    from .extract import extract

    return extract(content, url=url, content_type=content_type)


def _summarise(doc: Document, hints: Hints, *, words: int) -> Summary:
    from .summarise import summarise

    return summarise(doc, hints, words=words)


@dataclass(frozen=True)
class _Page:
    """A fetched page, as much of the response as reading it needs."""

    url: str
    content: bytes
    content_type: str


def _read(
    item: Item, text: str, page: _Page | None, hints: Hints, *, words: int, page_tried: bool
) -> tuple[Summary | None, Document]:
    """An item's fullest text (the feed's, or its page's where that says more) and its summary, in one trip to a
    worker. None for the summary when the feed's text proved too short and no page was tried: the caller fetches
    the page and asks again."""
    from .errors import ExtractError

    doc = _feed_document(item, text)
    if page is None and not page_tried and _wants_page(doc.text, item):
        return None, doc
    if page is not None:
        try:
            read = _extract(page.content, url=page.url, content_type=page.content_type)
        except ExtractError:
            read = None
        if read is not None and (len(read.text.split()) > len(doc.text.split()) or read.scanned):
            doc = replace(read, report_url=read.report_url or doc.report_url, pdf_url=read.pdf_url or doc.pdf_url)
    return _summarise(doc, hints, words=words), doc


async def _fetch_page(fetcher: Fetcher, url: str) -> _Page | None:
    try:
        response = await fetcher.get(url, accept="text/html, application/pdf;q=0.9, */*;q=0.5")
    except FetchError:
        return None  # the feed's own text is what we have
    return _Page(url=response.url, content=response.content, content_type=response.content_type)


async def _fetch_document(fetcher: Fetcher, url: str, runner: Runner) -> Document:
    response = await fetcher.get(url, accept="text/html, application/pdf;q=0.9, */*;q=0.5")
    return await runner.run(_extract, response.content, url=response.url, content_type=response.content_type)


async def read_item(
    settings: Settings, fetcher: Fetcher, item: Item, *, runner: Runner = _INLINE
) -> tuple[Summary, Document]:
    """Get the fullest text of an item (feed content, its page, the report it announces) and summarise it.

    The page of an item whose feed gives only an excerpt is fetched first, so that reading the feed's text, the
    page's and summarising the better of them is one trip to a worker (three had cost the event loop about 1 ms
    an item in pickling and wake-ups)."""
    hints = Hints(
        title=item.title,
        published=item.published.date(),
        categories=item.categories,
        source_type=item.source_type,
        filtered=item.filter,
    )
    text = _feed_text(item)
    page = None
    tried = _wants_page(text, item)
    if tried:
        page = await _fetch_page(fetcher, item.url)
    summary, doc = await runner.run(_read, item, text, page, hints, words=settings.summary_words, page_tried=tried)
    if summary is None:  # trafilatura read the feed's long text as a short one: the page may say more
        page = await _fetch_page(fetcher, item.url)
        summary, doc = await runner.run(_read, item, text, page, hints, words=settings.summary_words, page_tried=True)
        assert summary is not None
    if item.source_type == "inspectorate" and summary.kind in ("inspection", "thematic") and doc.format != "pdf":
        report = await _read_report(fetcher, doc, runner)
        if report is not None:
            from .card import merge_cards

            full = await runner.run(_summarise, report, hints, words=settings.report_words)
            summary = merge_cards(summary, full, short=len(doc.text.split()) >= 80)
            doc = replace(
                doc,
                report_url=doc.report_url or (report.url if report.format == "html" else None),
                pdf_url=doc.pdf_url or (report.url if report.format == "pdf" else None),
            )
    return summary, doc


async def _read_report(fetcher: Fetcher, doc: Document, runner: Runner) -> Document | None:
    """The report a news item announces: its HTML report page (new site) or else its PDF (old site)."""
    for url in (doc.report_url, doc.pdf_url):
        if not url or url == doc.url:
            continue
        try:
            report = await _fetch_document(fetcher, url, runner)
        except (FetchError, ExtractError):
            continue
        if report.scanned or len(report.text.split()) > 300:
            return report
    return None


def _from_feed_only(settings: Settings, item: Item) -> tuple[Summary, Document | None]:
    """The fallback when an item's page or report cannot be read: summarise what the feed gave; failing even
    that, the title alone (kept only from feeds that need no relevance filter)."""
    from .summarise import summarise

    hints = Hints(title=item.title, published=item.published.date(), source_type=item.source_type, filtered=item.filter)
    try:
        doc = _feed_document(item)
        return summarise(doc, hints, words=settings.summary_words), doc
    except Exception:
        log.exception("summarising %s from its feed text failed", item.url)
        kind: Kind = "blog" if item.source_type == "blog" else "news"
        return Summary(
            title=item.title, kind=kind, about_probation=not item.filter, summary="", published=hints.published
        ), None


async def process(
    settings: Settings,
    store: Store,
    fetcher: Fetcher,
    *,
    clock: Clock,
    runner: Runner = _INLINE,
    progress: Callable[[Item], None] | None = None,
    items: Sequence[Item] | None = None,
) -> int:
    """Read and summarise every new item that has no summary yet (or the `items` given: a backfill's). One failure
    never stops the others."""
    items = store.unsummarised_items() if items is None else items
    # As many items in flight as the fetcher allows requests: fewer leaves its connections idle behind latency.
    limit = asyncio.Semaphore(settings.fetch.concurrency)

    def save(item_id: int, read: Document | None, summary: Summary, error: str | None) -> None:
        with store.transaction():  # one commit an item, not one a row
            store.save_document(item_id, read, error=error)
            store.save_summary(item_id, summary, now=clock())

    async def one(item: Item) -> None:
        assert item.id is not None
        async with limit:
            error = None
            read: Document | None
            try:
                summary, read = await read_item(settings, fetcher, item, runner=runner)
            except Exception as exc:  # one odd page, or a parser's bug, must not stop the others
                if not isinstance(exc, DigestError):
                    log.exception("reading %s failed; using the feed's own text", item.url)
                summary, read = _from_feed_only(settings, item)
                error = f"{type(exc).__name__}: {exc}"
            try:
                save(item.id, read, summary, error)
            except (sqlite3.InterfaceError, sqlite3.DataError, UnicodeError, ValueError, OverflowError) as exc:
                # What was read cannot be stored (a string SQLite refuses): the feed's own text instead, with why
                log.exception("saving what was read of %s failed; using the feed's own text", item.url)
                summary, read = _from_feed_only(settings, item)
                save(item.id, read, summary, f"{type(exc).__name__}: {exc}")
            if progress:
                progress(item)

    await asyncio.gather(*(one(i) for i in items))
    return len(items)

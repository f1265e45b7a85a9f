"""The jobs, wiring the pure stages to the edges: poll feeds, read and summarise new items, compose and
send the day's digest. Callers (CLI, scheduler, web) pass the clock and the I/O objects in.
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from functools import partial
from typing import Any, TypeVar

from .compose import Candidate, compose, for_subscriber
from .config import Settings
from .deliver import OutboxSender, Sender, SendReport, SmtpSender, send_run
from .errors import DigestError, ExtractError, FeedError, FetchError
from .extract import extract, extract_html
from .feeds import ParsedFeed, clean_text, parse_feed
from .fetch import Fetcher, max_age
from .models import Delivery, Digest, Document, Feed, Item, Message, Subscriber, Summary
from .render import RECIPIENT, UNSUBSCRIBE, Envelope, MessageFactory, Renderer, message_id
from .store import Store
from .subscribers import load as load_subscribers
from .summarise import Hints, summarise
from .tokens import Tokens

Clock = Callable[[], datetime]
T = TypeVar("T")
_FEED_ACCEPT = "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.8, */*;q=0.5"
_MIN_FEED_WORDS = 150  # below this the feed carries an excerpt, and the page is fetched


async def _run(executor: Executor | None, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    if executor is None:
        return fn(*args, **kwargs)
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(executor, partial(fn, *args, **kwargs))


# ---- poll


@dataclass(frozen=True)
class PollResult:
    feed: Feed
    status: str  # new | not-modified | error | skipped | disabled
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
    executor: Executor | None = None,
    force: bool = False,
    progress: Callable[[PollResult], None] | None = None,
) -> list[PollResult]:
    """Poll every configured feed that is due (all of them with `force`), concurrently."""
    store.sync_feeds(settings.feeds)

    async def one(feed: Feed) -> PollResult:
        result = await _poll_feed(settings, store, fetcher, feed, clock=clock, executor=executor, force=force)
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
    executor: Executor | None,
    force: bool,
) -> PollResult:
    state = store.feed_state(feed.url)
    now = clock()
    if state["disabled"]:
        return PollResult(feed, "disabled", error=state["disabled"])
    if not force and state["next_poll"] and datetime.fromisoformat(state["next_poll"]) > now:
        return PollResult(feed, "skipped")
    interval = timedelta(minutes=settings.poll_interval_minutes)
    url = state["moved_to"] or feed.url
    try:
        response = await fetcher.get(url, etag=state["etag"], last_modified=state["last_modified"], accept=_FEED_ACCEPT)
        age = max_age(response.headers.get("cache-control"))
        next_poll = now + max(interval, timedelta(seconds=age or 0))
        if response.not_modified:
            store.feed_polled(feed.url, now=now, etag=None, last_modified=None, next_poll=next_poll)
            return PollResult(feed, "not-modified")
        parsed: ParsedFeed = await _run(
            executor,
            parse_feed,
            response.content,
            response.headers,
            feed=feed,
            url=feed.url,
            fetched_at=response.fetched_at,
        )
    except FetchError as exc:
        retry = timedelta(seconds=exc.retry_after) if exc.retry_after is not None else None
        backoff = interval * min(2 ** int(state["failures"]), 16)
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
    window = feed.backfill_hours if feed.backfill_hours is not None else settings.backfill_hours
    since = None if state["first_polled"] else now - timedelta(hours=window)
    new = store.add_items(feed.url, parsed.items, now=now, backfill_since=since)
    store.feed_polled(
        feed.url,
        now=now,
        etag=response.headers.get("etag"),
        last_modified=response.headers.get("last-modified"),
        next_poll=next_poll,
        moved_to=response.moved_to,
    )
    return PollResult(feed, "new", new=len(new), seen=len(parsed.items), moved_to=response.moved_to)


# ---- read and summarise


def _feed_document(item: Item) -> Document:
    text = "\n\n".join(
        p
        for p in (
            clean_text(x)
            for x in re.split(r"</p>|<br\s*/?>|</li>|</h\d>|</blockquote>", item.content_html or item.summary_html)
        )
        if p
    )
    doc = extract_html(
        f"<html><body><article><h1>{item.title}</h1>{item.content_html or item.summary_html}</article></body></html>",
        url=item.url,
    )
    if len(doc.text.split()) < len(text.split()) * 0.6:
        doc = replace(doc, text=text)  # trafilatura found less than the feed gave: keep the feed's text
    report_url = next((u for u in item.links if "/document/" in u and "justiceinspectorates" in u), None)
    pdf_url = next((u for u in item.links if u.lower().split("?")[0].endswith(".pdf")), None)
    return replace(
        doc,
        format="feed",
        title=item.title,
        report_url=doc.report_url or report_url,
        pdf_url=doc.pdf_url or pdf_url,
    )


async def _fetch_document(fetcher: Fetcher, url: str, executor: Executor | None) -> Document:
    response = await fetcher.get(url, accept="text/html, application/pdf;q=0.9, */*;q=0.5")
    return await _run(executor, extract, response.content, url=response.url, content_type=response.content_type)


async def read_item(
    settings: Settings, fetcher: Fetcher, item: Item, *, executor: Executor | None = None
) -> tuple[Summary, Document]:
    """Get the fullest text of an item (feed content, its page, the report it announces) and summarise it."""
    doc = _feed_document(item)
    if len(doc.text.split()) < _MIN_FEED_WORDS and not item.url.startswith("urn:"):
        try:
            page = await _fetch_document(fetcher, item.url, executor)
            if len(page.text.split()) > len(doc.text.split()) or page.scanned:
                doc = replace(page, report_url=page.report_url or doc.report_url, pdf_url=page.pdf_url or doc.pdf_url)
        except (FetchError, ExtractError):
            pass  # the feed's own text is what we have
    hints = Hints(
        title=item.title,
        published=item.published.date(),
        categories=item.categories,
        feed_kind=item.feed_kind,
        filtered=item.filter,
    )
    summary = await _run(
        executor, summarise, doc, hints, words=settings.summary_words, report_words=settings.report_words
    )
    if item.feed_kind == "inspectorate" and summary.kind in ("inspection", "thematic") and doc.format != "pdf":
        report = await _read_report(fetcher, doc, executor)
        if report is not None:
            full = await _run(
                executor,
                summarise,
                report,
                hints,
                words=settings.report_words,
                report_words=settings.report_words,
            )
            summary = _merge(summary, full, short=len(doc.text.split()) >= 80)
            doc = replace(
                doc,
                report_url=doc.report_url or (report.url if report.format == "html" else None),
                pdf_url=doc.pdf_url or (report.url if report.format == "pdf" else None),
            )
    return summary, doc


async def _read_report(fetcher: Fetcher, doc: Document, executor: Executor | None) -> Document | None:
    """The report a news item announces: its HTML report page (new site) or else its PDF (old site)."""
    for url in (doc.report_url, doc.pdf_url):
        if not url or url == doc.url:
            continue
        try:
            report = await _fetch_document(fetcher, url, executor)
        except (FetchError, ExtractError):
            continue
        if report.scanned or len(report.text.split()) > 300:
            return report
    return None


def _merge(news: Summary, report: Summary, *, short: bool) -> Summary:
    """The card from the report, the headline summary and the quote from the news item when it has them."""
    if report.scanned:
        return replace(news, summary=f"{news.summary} (The report PDF is a scanned image and was not read.)")
    return replace(
        report,
        title=news.title,
        kind=news.kind if news.kind != "inspection" else report.kind,
        about_probation=news.about_probation or report.about_probation,
        summary=news.summary if short and news.summary else report.summary,
        organisation=news.organisation or report.organisation,
        unit=news.unit or report.unit,
        facts=tuple(dict.fromkeys(news.facts + report.facts))[:4],
        rating=news.rating or report.rating,
        rating_note=None if (news.rating or report.rating) else report.rating_note,
        published=news.published or report.published,
        chief_inspector=news.chief_inspector or report.chief_inspector,
        chief_inspector_quote=news.chief_inspector_quote or report.chief_inspector_quote,
        key_findings=report.key_findings or news.key_findings,
        recommendations=report.recommendations or news.recommendations,
    )


async def process(
    settings: Settings,
    store: Store,
    fetcher: Fetcher,
    *,
    clock: Clock,
    executor: Executor | None = None,
    progress: Callable[[Item], None] | None = None,
) -> int:
    """Read and summarise every new item that has no summary yet. One failure never stops the others."""
    items = store.unsummarised_items()
    limit = asyncio.Semaphore(8)

    async def one(item: Item) -> None:
        assert item.id is not None
        async with limit:
            try:
                summary, doc = await read_item(settings, fetcher, item, executor=executor)
            except DigestError as exc:
                doc = _feed_document(item)
                summary = summarise(
                    doc,
                    Hints(
                        title=item.title,
                        published=item.published.date(),
                        feed_kind=item.feed_kind,
                        filtered=item.filter,
                    ),
                    words=settings.summary_words,
                )
                store.save_document(item.id, doc, error=str(exc))
            else:
                store.save_document(item.id, doc)
            store.save_summary(item.id, summary, now=clock())
            if progress:
                progress(item)

    await asyncio.gather(*(one(i) for i in items))
    return len(items)


# ---- compose and send


def list_slug(settings: Settings) -> str:
    return re.sub(r"[^a-z0-9]+", "-", settings.list_name.lower()).strip("-") or "digest"


def run_key(settings: Settings, day: date) -> str:
    return f"{list_slug(settings)}:{day.isoformat()}"


def digest_day(settings: Settings, now: datetime) -> date:
    return now.astimezone(settings.timezone).date()


def build_digest(settings: Settings, store: Store, day: date, item_ids: Sequence[int] | None = None) -> Digest:
    """Compose from the items not yet carried by any run (or from a given set, to rebuild a run)."""
    if item_ids is None:
        rows = store.pending_items()
    else:
        rows = []
        for item in store.items(item_ids):
            assert item.id is not None
            summary = store.summary(item.id)
            if summary is not None:
                rows.append((item, summary, store.document(item.id)))
    candidates = [Candidate(item=i, summary=s, document=d) for i, s, d in rows]
    return compose(candidates, list_name=settings.list_name, day=day, subject=settings.subject)


def renderer(settings: Settings) -> Renderer:
    return Renderer(public_url=settings.public_url, contact=settings.contact, templates=settings.templates_dir)


def tokens(settings: Settings) -> Tokens:
    return Tokens(settings.secret, list_id(settings))


def list_id(settings: Settings) -> str:
    return f"{list_slug(settings)}.{settings.domain}"


def unsubscribe_url(settings: Settings, email: str) -> str:
    return f"{settings.public_url}/unsubscribe/{tokens(settings).unsubscribe(email)}"


def envelope(settings: Settings, subject: str, now: datetime, key: str) -> Envelope:
    return Envelope(
        from_name=settings.list_name,
        from_address=settings.from_address,
        list_id=list_id(settings),
        subject=subject,
        date=now,
        reply_to=settings.reply_to,
        run_key=key,
    )


def make_sender(settings: Settings) -> Sender:
    if settings.smtp is not None:
        return SmtpSender(settings.smtp)
    return OutboxSender(settings.outbox_dir)


@dataclass
class SendOutcome:
    key: str
    message: str
    report: SendReport | None = None
    digest: Digest | None = None
    recipients: int = 0
    counts: dict[str, int] = field(default_factory=dict)


class _Factories:
    """One rendering per distinct set of preferences; everyone who wants everything shares the first."""

    def __init__(self, settings: Settings, digest: Digest, env: Envelope, *, test: bool = False) -> None:
        self.settings = settings
        self.digest = digest
        self.env = env
        self.test = test
        self.prefix = "[TEST] " if test else ""
        self.renderer = renderer(settings)
        self._cache: dict[tuple[Any, Any], MessageFactory] = {}

    def get(self, sub: Subscriber | None) -> MessageFactory:
        key = (sub.kinds, sub.sources) if sub else (None, None)
        factory = self._cache.get(key)
        if factory is None:
            d = for_subscriber(self.digest, sub, self.settings.subject) if sub else self.digest
            rendered = self.renderer.fit(d, self.settings.max_html_bytes, test=self.test)
            env = self.env if d is self.digest else replace(self.env, subject=self.prefix + d.subject)
            factory = self._cache[key] = MessageFactory(rendered, env)
        return factory


def send_digest(
    settings: Settings,
    store: Store,
    sender: Sender,
    *,
    clock: Clock,
    force: bool = False,
    resend_failed: bool = False,
    workers: int | None = None,
    stop: threading.Event | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> SendOutcome:
    """Send today's digest to everyone not yet sent it. Safe to run again at any time: the ledger decides."""
    now = clock()
    day = digest_day(settings, now)
    key = run_key(settings, day)
    owner = store.acquire_lock("send", now=now)
    try:
        return _send_locked(
            settings,
            store,
            sender,
            key=key,
            day=day,
            clock=clock,
            force=force,
            resend_failed=resend_failed,
            workers=workers,
            stop=stop,
            progress=progress,
            heartbeat=lambda: store.renew_lock("send", owner, now=clock()),
        )
    finally:
        store.release_lock("send", owner)


def _send_locked(
    settings: Settings,
    store: Store,
    sender: Sender,
    *,
    key: str,
    day: date,
    clock: Clock,
    force: bool,
    resend_failed: bool,
    workers: int | None,
    stop: threading.Event | None,
    progress: Callable[[int, int], None] | None,
    heartbeat: Callable[[], None],
) -> SendOutcome:
    now = clock()
    subs = [s for s in load_subscribers(settings.subscribers_file).subscribers]
    by_email = {s.email.lower(): s for s in subs}
    row = store.run(key)
    if row is not None and force:
        store.release_items(key)
        carried = [int(i) for i in json.loads(row["item_ids"])]
        digest = build_digest(
            settings,
            store,
            day,
            item_ids=sorted(set(carried) | {i.id for i, _, _ in store.pending_items() if i.id is not None}),
        )
        row = None
    elif row is None:
        digest = build_digest(settings, store, day)
    if row is None:
        if digest.count == 0 and not settings.send_empty:
            store.create_run(
                key, day=day, now=now, subject=digest.subject, item_ids=[], html="", text="", recipients=[]
            )
            return SendOutcome(key, "nothing new today; no digest sent (recorded as an empty day)", digest=digest)
        base = renderer(settings).fit(digest, settings.max_html_bytes)
        recipients = [(s.email, s.name, message_id(key, s.email, settings.domain)) for s in subs]
        store.create_run(
            key,
            day=day,
            now=now,
            subject=digest.subject,
            item_ids=list(digest.item_ids),
            html=base.html,
            text=base.text,
            recipients=recipients,
        )
        row = store.run(key)
        assert row is not None
    else:
        if row["status"] == "empty" and not force:
            return SendOutcome(key, "today was an empty day and nothing was sent (use --force to send anyway)")
        digest = build_digest(settings, store, day, item_ids=json.loads(row["item_ids"]))
        digest = replace(digest, subject=row["subject"])
        if resend_failed:
            n = store.reset_failed(key, now=now)
            if not n:
                return SendOutcome(key, "no failed deliveries to resend", counts=store.delivery_counts(key))
        # Someone who joined since the run began gets today's digest too; someone who left does not.
        for s in subs:
            store.add_recipient(key, s.email, s.name, message_id(key, s.email, settings.domain), now=now)
    suppressed = store.suppressions()
    for d in store.deliveries(key, ["pending"]):
        if d.email.lower() not in by_email or d.email.lower() in suppressed:
            store.mark(
                key,
                d.email,
                "suppressed",
                now=now,
                reply=suppressed.get(d.email.lower(), "no longer on the subscriber list"),
            )
    pending = store.deliveries(key, ["pending", "sending"])
    if not pending:
        counts = store.delivery_counts(key)
        store.finish_run(key, now=now)
        return SendOutcome(
            key,
            f"already sent today to {counts.get('sent', 0)} subscribers; nothing to do"
            + (" (use --resend-failed to retry failures)" if counts.get("failed") else ""),
            digest=digest,
            counts=counts,
        )
    factories = _Factories(
        settings, digest, envelope(settings, row["subject"], datetime.fromisoformat(row["created"]), key)
    )

    def build(d: Delivery, name: str | None) -> Message:
        sub = by_email.get(d.email.lower())
        data = factories.get(sub).build(
            to=d.email, name=name, message_id=d.message_id, unsubscribe_url=unsubscribe_url(settings, d.email)
        )
        return Message(to=d.email, sender=settings.from_address, message_id=d.message_id, data=data)

    pool = workers or (settings.smtp.pool if settings.smtp else 1)
    report = send_run(
        store, key, build, sender, clock=clock, workers=pool, stop=stop, progress=progress, heartbeat=heartbeat
    )
    counts = store.delivery_counts(key)
    msg = f"{key}: {report.sent} sent, {report.failed_count} failed, {counts.get('suppressed', 0)} suppressed"
    if report.stopped:
        msg += " (stopped early; run again to continue)"
    if report.aborted:
        msg += f"; STOPPED with {counts.get('pending', 0)} still pending: {report.aborted}; run again when fixed"
    return SendOutcome(key, msg, report=report, digest=digest, recipients=len(pending), counts=counts)


def test_message(settings: Settings, store: Store, to: str, *, now: datetime) -> Message:
    """A test copy of today's digest for one address, marked as a test; the ledger is not touched."""
    day = digest_day(settings, now)
    key = run_key(settings, day)
    row = store.run(key)
    digest = build_digest(settings, store, day, item_ids=json.loads(row["item_ids"]) if row is not None else None)
    env = envelope(settings, f"[TEST] {digest.subject}", now, f"test-{uuid.uuid4().hex[:8]}:{day}")
    factory = _Factories(settings, digest, env, test=True).get(None)
    mid = make_msgid(domain=settings.domain)
    data = factory.build(
        to=to,
        name=None,
        message_id=mid,
        unsubscribe_url=unsubscribe_url(settings, to),
        extra_headers={"X-Digest-Test": "yes"},
    )
    return Message(to=to, sender=settings.from_address, message_id=mid, data=data)


def preview(
    settings: Settings,
    store: Store,
    *,
    now: datetime,
    subscriber: Subscriber | None = None,
    email: str = "preview@example.invalid",
) -> tuple[Digest, str, str]:
    """Today's digest exactly as it would be sent: the run's items if it exists, else what is pending."""
    day = digest_day(settings, now)
    row = store.run(run_key(settings, day))
    item_ids = json.loads(row["item_ids"]) if row is not None and row["status"] != "empty" else None
    digest = build_digest(settings, store, day, item_ids=item_ids)
    if subscriber is not None:
        digest = for_subscriber(digest, subscriber, settings.subject)
        email = subscriber.email
    rendered = renderer(settings).fit(digest, settings.max_html_bytes)
    url = unsubscribe_url(settings, email)
    html = rendered.html.replace(UNSUBSCRIBE, url).replace(RECIPIENT, email)
    text = rendered.text.replace(UNSUBSCRIBE, url).replace(RECIPIENT, email)
    return rendered.digest, html, text


def editor_report(settings: Settings, store: Store, outcome: SendOutcome, *, now: datetime) -> Message | None:
    """A short report for the editors: sent, failed with reasons, suppressed, feeds in error."""
    if not settings.editors or outcome.report is None:
        return None
    counts = store.delivery_counts(outcome.key)
    lines = [
        f"Digest run {outcome.key}",
        "",
        f"Sent: {counts.get('sent', 0)}",
        f"Failed: {counts.get('failed', 0)}",
        f"Suppressed: {counts.get('suppressed', 0)}",
        "",
    ]
    failures = store.deliveries(outcome.key, ["failed"])
    if failures:
        lines.append("Failures:")
        lines += [f"  {d.email}: {d.reply}" for d in failures[:50]]
        lines.append("")
    broken = [h for h in store.feed_health() if h.last_error or h.disabled]
    if broken:
        lines.append("Feeds with errors:")
        lines += [f"  {h.name} ({h.url}): {h.disabled or h.last_error}" for h in broken]
    msg = EmailMessage()
    msg["From"] = settings.from_address
    msg["To"] = ", ".join(settings.editors)
    msg["Subject"] = (
        f"{settings.list_name} delivery report: {counts.get('sent', 0)} sent, {counts.get('failed', 0)} failed"
    )
    msg["Date"] = format_datetime(now)
    mid = make_msgid(domain=settings.domain)
    msg["Message-ID"] = mid
    msg.set_content("\n".join(lines) + "\n")
    return Message(to=settings.editors[0], sender=settings.from_address, message_id=mid, data=msg.as_bytes())


def send_report(settings: Settings, sender: Sender, message: Message) -> None:
    for editor in settings.editors:
        try:
            sender.send(replace(message, to=editor))
        except DigestError:
            pass  # the report is a courtesy; the ledger already holds the truth

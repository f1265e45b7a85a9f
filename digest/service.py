"""The service behind the web app: the jobs (poll, send), the send thread, the scheduler's wiring, and what
the routes share (settings, clock, sender, rate limits, job states). No HTTP here: `web` has the routes.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from email.utils import make_msgid
from typing import Any

from . import daily, messages, pipeline, schedule, tally
from .auth import Limiter
from .clock import Clock, utcnow
from .config import Settings
from .deliver import Sender, make_sender
from .errors import ConfigError, DigestError, LockedError
from .fetch import Fetcher
from .health import JobState, Verdict, assess
from .ledger import Stop
from .models import Feed, FeedHealth, HealthStatus, Message, RunInfo
from .store import Store
from .store_runs import LockHolder, lock_live
from .subscribers import ListCache, SubscriberFile, unknown_sources
from .workers import InlineRunner, Runner, WorkerPool

log = logging.getLogger("digest")


@dataclass(frozen=True)
class Facts:
    """What the store says about the service's health at one moment (see `Service.facts`)."""

    recent: tuple[RunInfo, ...]  # the newest digest runs, newest first (a week of them)
    today: str | None  # today's run status
    today_counts: dict[str, int]
    feeds: tuple[FeedHealth, ...]
    last_poll: datetime | None
    send_lock: LockHolder | None

    @property
    def latest(self) -> RunInfo | None:
        return self.recent[0] if self.recent else None


class Service:
    """What the handlers and jobs share: settings, the clock, a sender, and the in-flight send."""

    def __init__(self, settings: Settings, *, clock: Clock = utcnow, sender: Sender | None = None) -> None:
        self.settings = settings
        self.clock = clock
        self.sender = sender or make_sender(settings)
        self.stop = Stop()
        self.send_thread: threading.Thread | None = None
        self.last_send: str = ""
        self.subscribe_per_address = Limiter(3, 3600)
        self.subscribe_per_client = Limiter(10, 3600)
        self.unsubscribe_per_address = Limiter(3, 3600)
        self.unsubscribe_per_client = Limiter(10, 3600)
        self.login_failures = Limiter(5, 900)
        self.scheduler: Any = None
        self.started = clock()
        self.poll_state: JobState | None = None
        self.send_state: JobState | None = None
        self._retries = 0  # the send retry job's ticks since today's send first needed trying again
        self.bounce_state: JobState | None = None  # the bounce mailbox's last poll (bounces.imap)
        self.sns_certificate: Callable[[str], bytes] = _sns_certificate  # tests give their own
        self.sns_confirm: Callable[[str], None] = _sns_confirm  # opens an SNS SubscribeURL; tests give their own
        # Feed parsing and summarising are CPU work: a process pool keeps the web pages responsive meanwhile.
        self.pool: Runner = InlineRunner()
        self._readers = threading.local()
        self._readers_lock = threading.Lock()
        self._all_readers: list[Store] = []
        self.subscriber_list = ListCache(settings.subscribers_file)  # the pages' lookups read it once per change
        self._tallies: dict[tuple[object, ...], tally.Tally] = {}
        self._next_send: tuple[tuple[object, ...], datetime, datetime] | None = None

    def store(self) -> Store:
        return Store(self.settings.database)

    def reader(self) -> Store:
        """This thread's long-lived connection, for the pages read on every request (/health, the admin): opening
        a connection (and checking the schema) per request costs more than the queries. One per thread, as
        sqlite3 connections must not be shared between threads mid-statement; closed at shutdown."""
        store: Store | None = getattr(self._readers, "store", None)
        if store is None:
            store = Store(self.settings.database)
            self._readers.store = store
            with self._readers_lock:
                self._all_readers.append(store)
        return store

    def start_jobs(self) -> None:
        """Run the jobs on their schedule, with a process pool for the CPU work."""
        self.pool = WorkerPool(workers=2)
        self.scheduler = start_scheduler(self)
        self.check_subscribers()
        for problem in self.setup_problems():  # said at start, not first at noon
            log.warning("%s", problem)

    def check_subscribers(self) -> None:
        """Log each reader's source that names no feed (at start and before each send); never stop for it."""
        try:
            problems = unknown_sources(self.subscriber_list.get(), self.settings)
        except ConfigError as exc:
            problems = [exc]  # the send will refuse the list; say so now rather than at noon
        for problem in problems:
            log.warning("subscribers: %s", problem)

    async def shutdown(self) -> None:
        """SIGTERM: the send thread finishes the message in flight, records it, and stops; then all is closed."""
        self.stop.request("the service is stopping")
        if self.send_thread is not None:
            await asyncio.to_thread(self.send_thread.join, 60)
        if self.scheduler is not None:
            self.scheduler.shutdown(wait=False)
        self.sender.close()
        if isinstance(self.pool, WorkerPool):
            self.pool.close()
        with self._readers_lock:
            readers, self._all_readers = self._all_readers, []
        for store in readers:
            store.close()

    def run_tally(self, store: Store, run: RunInfo) -> tally.Tally:
        """What a run carried and left out, worked out once per run and set of the editor's choices (a run's
        items do not change once it has started; rebuilding it with --force makes a new run, created anew)."""
        key = ("run", run.key, run.created_at, run.status, *sorted(store.item_choices().items()))
        return self._tally(key, lambda: tally.run_tally(self.settings, store, run))

    def waiting(self, store: Store, now: datetime) -> tally.Tally:
        """What is waiting for the next digest, worked out again only when those items, their summaries or the
        editor's choices change."""
        day = tally.digest_day(self.settings, now)
        key = ("waiting", day, *store.pending_version(), *sorted(store.item_choices().items()))
        return self._tally(key, lambda: tally.waiting(self.settings, store, now))

    def _tally(self, key: tuple[object, ...], work: Callable[[], tally.Tally]) -> tally.Tally:
        found = self._tallies.get(key)
        if found is None:
            found = work()
            if len(self._tallies) >= 64:
                self._tallies.clear()  # old runs and superseded waiting lists: start again
            self._tallies[key] = found
        return found

    def today_status(self, store: Store) -> str | None:
        return store.run_status(daily.run_key(self.settings, daily.digest_day(self.settings, self.clock())))

    def facts(self, store: Store, now: datetime, version: tuple[int, int] | None = None) -> Facts:
        """What the store says about the service's health, read again only when the database has changed (a
        commit anywhere, PRAGMA data_version): /health and the dashboard then cost the same however often they
        are asked and however long the history is."""
        day = daily.digest_day(self.settings, now)
        key = (id(store), day, *(version or store.version()))
        cached: tuple[tuple[object, ...], Facts] | None = getattr(self._readers, "facts", None)
        if cached is not None and cached[0] == key:
            return cached[1]
        today = daily.run_key(self.settings, day)
        facts = Facts(
            recent=tuple(store.recent_runs(7)),
            today=store.run_status(today),
            today_counts=store.delivery_counts(today),
            feeds=tuple(store.feed_health(self.settings.feeds)),
            last_poll=store.last_poll(),
            send_lock=store.lock_holder("send"),
        )
        self._readers.facts = (key, facts)
        return facts

    def health(self, store: Store, now: datetime) -> tuple[dict[str, Any], bool]:
        """What /health says, and whether all is well. Worked out again when the database, a job's outcome or the
        second changes: a monitor asking many times a second is answered from the first answer of that second
        (bench/health.py measures the other case, a new second at every request)."""
        running = self.send_thread is not None and self.send_thread.is_alive()
        version = store.version()
        key = (id(store), *version, now.replace(microsecond=0), self.send_state, self.poll_state,
               self.bounce_state, running)  # fmt: skip
        cached: tuple[tuple[object, ...], tuple[dict[str, Any], bool]] | None = getattr(self._readers, "health", None)
        if cached is not None and cached[0] == key:
            return cached[1]
        settings = self.settings
        facts = self.facts(store, now, version)
        status = facts.today
        verdict = self.verdict(store, facts)
        late = schedule.overdue(settings, now, status)
        state: HealthStatus = "ok" if verdict.ok else ("overdue" if late else "failing")
        latest, last_poll = facts.latest, facts.last_poll
        body: dict[str, Any] = {
            "status": state,
            "problems": list(verdict.problems),
            "last_poll": last_poll.astimezone(settings.timezone).isoformat() if last_poll else None,
            "last_digest": None
            if latest is None
            else {"day": latest.day.isoformat(), "status": latest.status, "deliveries": latest.counts},
            "today": status,
            "next_send": self.next_send(now, status).isoformat(),
            "feeds_in_error": [
                {"name": h.name, "url": h.url, "error": h.disabled or h.last_error, "failures": h.failures}
                for h in facts.feeds
                if h.last_error or h.disabled
            ],
        }
        self._readers.health = (key, (body, verdict.ok))
        return body, verdict.ok

    def next_send(self, now: datetime, status: str | None) -> datetime:
        """schedule.next_send, kept until it passes: the next fire time is the same for any moment before it."""
        key = (status, daily.digest_day(self.settings, now))
        cached = self._next_send
        if cached is not None and cached[0] == key and cached[1] <= now < cached[2]:
            return cached[2]
        fire = schedule.next_send(self.settings, now, status)
        self._next_send = (key, now, fire)
        return fire

    def verdict(self, store: Store, facts: Facts | None = None) -> Verdict:
        now = self.clock()
        facts = facts or self.facts(store, now)
        running = self.send_thread is not None and self.send_thread.is_alive()
        made = None
        if self.send_state is not None and self.send_state.error:  # only then does it matter when today's was made
            today = daily.run_key(self.settings, daily.digest_day(self.settings, now))
            made = next((r.finished_at or r.created_at for r in facts.recent if r.key == today), None)
        return assess(
            now=now,
            overdue=schedule.overdue(self.settings, now, facts.today),
            today_counts=facts.today_counts,
            sending=running or lock_live(facts.send_lock, now),
            send_job=self.send_state,
            poll_job=self.poll_state,
            feeds=facts.feeds,
            bounce_job=self.bounce_state,
            poll_interval=timedelta(minutes=self.settings.poll_interval_minutes),
            up_since=self.started,
            setup=self.setup_problems(),
            today_status=facts.today,
            today_made=made,
            zone=self.settings.timezone,
        )

    def setup_problems(self) -> list[str]:
        """What would stop the next send before it starts, found now rather than at noon: a subscriber list that
        cannot be read (a hand edit gone wrong) or has nobody on it, an SMTP login without its password."""
        problems = []
        path = self.settings.subscribers_file
        # As last read (no read or wait here: this runs on the event loop, and a broken 50,000-address list takes
        # seconds to fail); the pages, the send and a job every minute read it, in threads.
        known = self.subscriber_list.known()
        if isinstance(known, ConfigError):
            problems.append(f"the subscriber list cannot be read, so no digest can be sent: {known}")
        elif known is not None and not known.subscribers:
            why = "empty" if known.data or path.exists() else "file not found"
            problems.append(f"no one is on the subscriber list ({path}: {why}), so the send will refuse it")
        smtp = self.settings.smtp
        if smtp is not None and smtp.username and not smtp.password:
            problems.append(
                f"SMTP user {smtp.username} is set but ${smtp.password_env} is empty, so no digest can be sent"
            )
        return problems

    # -- jobs

    async def poll_job(self, *, until: datetime | None = None) -> None:
        """Poll and read; with `until`, stop there (what was not read waits for the next poll)."""
        budget = None if until is None else (until - self.clock()).total_seconds()
        if budget is not None and budget <= 0:
            return
        error = None
        try:
            async with asyncio.timeout(budget):
                with self.store() as store:
                    async with Fetcher(self.settings.fetch, contact=self.settings.public_url) as fetcher:
                        await pipeline.poll(self.settings, store, fetcher, clock=self.clock, runner=self.pool)
                        await pipeline.process(self.settings, store, fetcher, clock=self.clock, runner=self.pool)
        except TimeoutError:
            log.warning("poll stopped at the send time; what it had not read waits for the next poll")
        except asyncio.CancelledError:
            # the service is stopping (SIGTERM): nothing is lost (what was not read is read at the next start), so
            # no traceback for the scheduler to log as a failed job
            log.info("poll stopped: the service is stopping; what it had not read waits for the next start")
            return
        except Exception as exc:  # the job must report, never die silently: /health shows it
            error = f"{type(exc).__name__}: {exc}"
            if isinstance(exc, DigestError):
                log.error("poll failed: %s", exc)
            else:
                log.exception("poll failed")
        self.poll_state = JobState(finished=self.clock(), error=error)

    def use_feeds(self, edited: Settings) -> None:
        """The feeds as the settings file now has them (after the admin edited it); the rest stays as started."""
        self.settings = replace(self.settings, feeds=edited.feeds)
        with self.store() as store:
            store.sync_feeds(self.settings.feeds)

    async def poll_feed(self, feed: Feed) -> pipeline.PollResult:
        """One poll of one feed now (the admin's "Poll now"), then reading what it found, as the poll job does:
        the fetch is async and parsing and summarising go to the job's runner, so the pages stay responsive."""
        one = replace(self.settings, feeds=(feed,))
        with self.store() as store:
            async with Fetcher(self.settings.fetch, contact=self.settings.public_url) as fetcher:
                [result] = await pipeline.poll(one, store, fetcher, clock=self.clock, runner=self.pool, force=True)
                if result.new:
                    await pipeline.process(self.settings, store, fetcher, clock=self.clock, runner=self.pool)
        return result

    async def bounce_poll_job(self) -> None:
        """Process the bounce mailbox (bounces.imap): each message through the bounce policy, then moved."""
        from .bounce_policy import poll_imap

        def poll() -> list[str]:
            with self.store() as store:
                return poll_imap(self.settings, store, clock=self.clock)

        try:
            for line in await asyncio.to_thread(poll):
                log.info("bounce mailbox: %s", line)
        except DigestError as exc:  # the next poll tries again; the log and /health say why this one failed
            log.error("bounce mailbox: %s", exc)
            self.bounce_state = JobState(finished=self.clock(), error=str(exc))
        else:
            self.bounce_state = JobState(finished=self.clock())

    def start_send(self, *, force: bool = False, resend_failed: bool = False) -> bool:
        """Send in a thread; False when a send is already running here."""
        if self.send_thread is not None and self.send_thread.is_alive():
            return False
        self.send_thread = threading.Thread(
            target=self._send, kwargs={"force": force, "resend_failed": resend_failed}, name="digest-send", daemon=True
        )
        self.send_thread.start()
        return True

    def _send(self, *, force: bool, resend_failed: bool) -> None:
        self.check_subscribers()
        try:
            with self.store() as store:
                outcome = daily.send_digest(
                    self.settings,
                    store,
                    self.sender,
                    clock=self.clock,
                    force=force,
                    resend_failed=resend_failed,
                    stop=self.stop,
                )
                self.last_send = outcome.message
                # a send the mail server stopped (unreachable, login refused) failed, whatever it kept pending
                aborted = outcome.report.aborted if outcome.report is not None else None
                final = outcome.report is not None and outcome.report.final
                self.send_state = JobState(finished=self.clock(), error=aborted or None, final=final)
                report = daily.editor_report(self.settings, store, outcome, now=self.clock())
                if report is not None:
                    daily.send_report(self.settings, self.sender, report)
            log.info("send: %s", outcome.message)
        except LockedError as exc:
            self.last_send = f"not sent: {exc}"
            log.warning("send skipped: %s", exc)
        except Exception as exc:
            self.last_send = f"failed: {exc}"
            self.send_state = JobState(finished=self.clock(), error=str(exc))
            if isinstance(exc, DigestError):
                log.error("send failed: %s", exc)
            else:
                log.exception("send failed")
        finally:
            self.sender.close()  # the service owns its sender; no connection is kept open between sends

    async def pre_send_poll_job(self) -> None:
        """The poll before the send, cut short at the send time so the send never waits for it."""
        await self.poll_job(until=schedule.next_send(self.settings, self.clock()))

    async def list_job(self) -> None:
        """Read the subscriber list if its file changed (in a thread), so /health knows what the send would find."""
        try:
            await self.subscribers()
        except ConfigError:
            pass  # kept by the list's cache: /health and the dashboard say it

    async def send_retry_job(self) -> None:
        """Today's send again, when it failed or stopped and trying again may mend it (a subscriber list being
        restored, the mail server down or greylisting, rows left pending after a temporary error): from the send
        time until the missed-send cut-off, every RETRY_MINUTES for an hour, then hourly, and once more in the
        last RETRY_MINUTES before the cut-off; never once today's digest is done, never while a send runs, and never
        after an error that only the operator can mend (a login refused, a password variable left empty). The
        ledger sends only to whoever has not had it."""
        now, state = self.clock(), self.send_state
        today = daily.digest_day(self.settings, now)
        if self.send_thread is not None and self.send_thread.is_alive():
            return
        with self.store() as store:
            status = self.today_status(store)
            waiting = status == "sending" and bool(store.pending_emails(daily.run_key(self.settings, today))[:1])
        failed = (
            state is not None and state.error is not None and daily.digest_day(self.settings, state.finished) == today
        )
        if not (waiting or failed) or (failed and state is not None and state.final):
            self._retries = 0
            return
        if not schedule.catch_up_due(self.settings, now, status):
            return
        self._retries += 1
        last_chance = not schedule.catch_up_due(self.settings, now + timedelta(minutes=RETRY_MINUTES), status)
        if self._retries > 4 and self._retries % 4 and not last_chance:
            return  # every 15 minutes for the first hour, then hourly, and once more before the cut-off
        log.info("trying today's send again (%s)", state.error if failed and state else "deliveries still pending")
        await self.send_job()

    async def send_job(self) -> None:
        # No poll here: the send goes at the send time with what the polls have read by then.
        if self.start_send():
            assert self.send_thread is not None
            await asyncio.to_thread(self.send_thread.join)

    def confirmation(self, email: str, name: str | None) -> Message:
        link = f"{self.settings.public_url}/confirm/{daily.tokens(self.settings).confirm(email, name)}"
        return messages.confirmation(
            self.settings,
            email,
            link,
            date=self.clock(),
            message_id=make_msgid(domain=self.settings.domain),
            preferences_link=daily.preferences_url(self.settings, email),
        )

    def unsubscribe_link(self, email: str) -> Message:
        """The way out when a link in a digest no longer works: a fresh one, sent to the address itself."""
        return messages.unsubscribe_link(
            self.settings,
            email,
            daily.unsubscribe_url(self.settings, email),
            date=self.clock(),
            message_id=make_msgid(domain=self.settings.domain),
        )

    async def subscribers(self) -> SubscriberFile:
        """The subscriber list, for a page: read in a thread (a 50,000-address list takes 0.3 s), and only when its
        file has changed since the last read."""
        return await asyncio.to_thread(self.subscriber_list.get)

    def send_unsubscribe_link(self, email: str) -> None:
        """Mail the link if the address is on the list and still receives the digest; otherwise nothing."""
        try:
            if self.subscriber_list.get().find(email) is None:
                return
            with self.store() as store:
                if email.lower() in store.suppressions():
                    return
            self.sender.send(self.unsubscribe_link(email))
        except DigestError as exc:
            log.error("unsubscribe link to %s failed: %s", email, exc)


@functools.lru_cache(maxsize=8)
def _sns_certificate(url: str) -> bytes:
    """Amazon SNS's signing certificate (the URL is checked before this is called), kept once fetched."""
    import httpx

    try:
        response = httpx.get(url, timeout=10, follow_redirects=False)
        response.raise_for_status()
    except httpx.HTTPError as exc:
        raise DigestError(f"cannot fetch the SNS signing certificate {url}: {exc}") from exc
    return response.content


def _sns_confirm(url: str) -> None:
    """Open SNS's SubscribeURL (checked before this is called): SNS then sends the topic's notifications here."""
    import httpx

    try:
        response = httpx.get(url, timeout=10, follow_redirects=False)
        response.raise_for_status()
    except Exception as exc:  # httpx's errors, and any other (InvalidURL is no HTTPError): SNS will send it again
        raise DigestError(f"SNS did not confirm: {exc or type(exc).__name__}") from exc


RETRY_MINUTES = 15  # a failed or stopped send is tried again this often, until the missed-send cut-off


def start_scheduler(svc: Service) -> Any:
    settings = svc.settings
    sched = schedule.build_scheduler(settings)
    # APScheduler keeps real time; the first poll runs as soon as the service starts.
    sched.add_job(
        svc.poll_job, schedule.poll_trigger(settings), id="poll", next_run_time=datetime.now(settings.timezone)
    )
    sched.add_job(svc.pre_send_poll_job, schedule.pre_send_poll_trigger(settings), id="pre-send-poll")
    if settings.bounces.imap is not None:
        every = schedule.bounce_poll_trigger(settings, settings.bounces.imap.interval)
        sched.add_job(svc.bounce_poll_job, every, id="bounces", next_run_time=datetime.now(settings.timezone))
    sched.add_job(
        svc.send_job,
        schedule.send_trigger(settings),
        id="send",
        misfire_grace_time=schedule.send_grace(settings),
    )
    sched.add_job(svc.send_retry_job, "interval", minutes=RETRY_MINUTES, id="send-retry")
    sched.add_job(svc.list_job, "interval", minutes=1, id="subscriber-list")
    with svc.store() as store:
        status = svc.today_status(store)
    if schedule.catch_up_due(settings, svc.clock(), status):
        log.info("send time passed while the service was down; sending today's digest now")
        sched.add_job(svc.send_job, id="catch-up")  # no trigger: once, now
    sched.start()
    log.info("next send at %s", schedule.shown(settings, schedule.next_send(settings, svc.clock(), status)))
    return sched

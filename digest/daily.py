"""A day's digest run: compose it from what is waiting, build each subscriber's email (`messages`), and deliver
it to every subscriber through the ledger (`ledger`) (pending → sending → sent | failed), under the send lock. Also the
preview, the test copy and the editors' report. Callers pass the clock and the sender in.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from email.utils import make_msgid

from . import acceptances, editions, messages
from .bounce_policy import record_refusals
from .clock import Clock
from .compose import Candidate, apply_choices, compose, for_subscriber
from .config import Settings
from .deliver import Sender
from .errors import DigestError
from .ledger import SendReport, Stop, send_run
from .messages import DigestMessages, Envelope, RunFacts, renderer
from .models import Delivery, Digest, Message, Run, Subscriber
from .plural import plural
from .preferences import you_get
from .readiness import already_sent
from .render import PREFERENCES, RECIPIENT, UNSUBSCRIBE
from .store import Store
from .subscribers import load_for_send

# The counting moved to `tally` (light to import); its names stay here too, where callers have found them.
from .tally import Tally as Tally
from .tally import digest_day as digest_day
from .tally import list_slug as list_slug
from .tally import run_key as run_key
from .tally import run_tally as run_tally
from .tally import waiting as waiting
from .tokens import Tokens
from .tracker import inspections
from .verp import ReturnPaths


def _lower(email: str) -> str:
    """The address lower-cased, as the same string object when it already is (one fewer string a subscriber)."""
    lowered = email.lower()
    return email if lowered == email else lowered


def build_digest(settings: Settings, store: Store, day: date, item_ids: Sequence[int] | None = None) -> Digest:
    """Compose from the items not yet carried by any run (or from a given set, to rebuild a run)."""
    rows = store.pending_items() if item_ids is None else store.summarised_items(item_ids)
    candidates = apply_choices([Candidate(item=i, summary=s, document=d) for i, s, d in rows], store.item_choices())
    history = inspections(store.inspection_rows())  # for earlier ratings and the year's chart
    return compose(candidates, list_name=settings.list_name, day=day, subject=settings.subject, history=history)


def run_digest(settings: Settings, store: Store, run: Run, day: date) -> Digest:
    """The digest a started run carries: its items, under the subject it went out with."""
    digest = build_digest(settings, store, day, item_ids=run.item_ids)
    return replace(digest, subject=run.subject)


def todays_digest(settings: Settings, store: Store, now: datetime) -> Digest:
    """Today's digest as it goes (or went) out: the run's items once it has started, else what is waiting."""
    day = digest_day(settings, now)
    run = store.run(run_key(settings, day))
    if run is None or run.status == "empty":
        return build_digest(settings, store, day)
    return run_digest(settings, store, run, day)


def tokens(settings: Settings) -> Tokens:
    return Tokens(settings.keys.accepted, list_id(settings))


def return_paths(settings: Settings) -> ReturnPaths | None:
    """Per-recipient return paths and mailto: unsubscribes, when a bounce address is set (see verp)."""
    b = settings.bounces
    return ReturnPaths(settings.keys.accepted, b.address, b.unsubscribe_address) if b.address else None


def list_id(settings: Settings) -> str:
    return f"{list_slug(settings)}.{settings.domain}"


def unsubscribe_url(settings: Settings, email: str, signer: Tokens | None = None) -> str:
    """The one-click link for an address; pass `signer` when making many (it is built once per run)."""
    return f"{settings.public_url}/unsubscribe/{(signer or tokens(settings)).unsubscribe(email)}"


def preferences_url(settings: Settings, email: str, signer: Tokens | None = None) -> str:
    """The link to a reader's preferences page (it never expires, like the unsubscribe link)."""
    return f"{settings.public_url}/preferences/{(signer or tokens(settings)).preferences(email)}"


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


@dataclass
class SendOutcome:
    key: str
    message: str
    report: SendReport | None = None
    digest: Digest | None = None
    recipients: int = 0
    counts: dict[str, int] = field(default_factory=dict)


def send_digest(
    settings: Settings,
    store: Store,
    sender: Sender,
    *,
    clock: Clock,
    force: bool = False,
    resend_failed: bool = False,
    workers: int | None = None,
    stop: Stop | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> SendOutcome:
    """Send today's digest to everyone not yet sent it. Safe to run again at any time: the ledger decides."""
    now = clock()
    day = digest_day(settings, now)
    key = run_key(settings, day)
    owner = store.acquire_lock("send", now=now)
    try:
        acceptances.settle(store, now=now)  # before anything reads the ledger: a dead send's last acceptances
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
    stop: Stop | None,
    progress: Callable[[int, int], None] | None,
    heartbeat: Callable[[], None],
) -> SendOutcome:
    now = clock()
    subs = load_for_send(settings.subscribers_file).subscribers  # before anything is recorded or claimed
    by_email = {_lower(s.email): s for s in subs}
    run = store.run(key)
    if run is None or force:
        started = _start_run(settings, store, key=key, day=day, now=now, subs=subs, previous=run)
        if isinstance(started, SendOutcome):
            return started
        digest, run = started
    else:
        resumed = _resume_run(settings, store, run, key=key, day=day, now=now, subs=subs, resend_failed=resend_failed)
        if isinstance(resumed, SendOutcome):
            return resumed
        digest = resumed
    _skip_departed(store, key, by_email, now=now)
    # Their addresses only: the ledger reads the rows it sends, and a second copy of 50,000 rows here would double
    # what a send holds.
    pending = store.pending_emails(key)
    if not pending:
        counts = store.delivery_counts(key)
        store.finish_run(key, now=now)
        return SendOutcome(key, already_sent(counts), digest=digest, counts=counts)
    # What each delivery carries, and the digests of several days, made here: the sending threads share no store.
    carries = editions.carried(store, key, pending)
    several = {c: editions.covering(settings, store, c[0], day=day, weekly=c[1]) for c in set(carries.values()) if c[0]}
    emails = DigestMessages(
        settings,
        digest,
        envelope(settings, run.subject, run.created_at, key),
        covering=lambda runs, weekly: several[(runs, weekly)],
    )
    signer = tokens(settings)
    paths = return_paths(settings)

    def build(d: Delivery, name: str | None) -> Message:
        runs, weekly = carries.get(d.email.lower(), ((), False))
        return emails.message(
            by_email.get(d.email.lower()),
            to=d.email,
            name=name,
            message_id=d.message_id,
            unsubscribe_url=unsubscribe_url(settings, d.email, signer),
            preferences_url=preferences_url(settings, d.email, signer),
            editions=runs,
            weekly=weekly,
            sender=paths.bounce_address(d.email) if paths else None,
            unsubscribe_mailto=paths.unsubscribe_mailto(d.email) if paths else None,
        )

    pool = workers or (settings.smtp.pool if settings.smtp else 1)
    report = send_run(
        store, key, build, sender, clock=clock, workers=pool, stop=stop, progress=progress, heartbeat=heartbeat
    )
    record_refusals(store, [(e, r) for e, r in report.failed if e in report.suppressed], now=clock())
    counts = store.delivery_counts(key)
    msg = f"{key}: {report.sent} sent, {report.failed_count} failed, {store.suppressed_count(key)} suppressed"
    if report.deferred:
        msg += f", {len(report.deferred)} left pending after a temporary error (run again to retry)"
    left = counts.get("pending", 0) + counts.get("sending", 0)
    if report.stopped:
        msg += f"; stopped early ({report.stopped}) with {left} still pending; run again to continue"
    if report.aborted:
        msg += f"; STOPPED with {left} still pending: {report.aborted}; run again when fixed"
    return SendOutcome(key, msg, report=report, digest=digest, recipients=len(pending), counts=counts)


def _start_run(
    settings: Settings,
    store: Store,
    *,
    key: str,
    day: date,
    now: datetime,
    subs: Sequence[Subscriber],
    previous: Run | None,
) -> tuple[Digest, Run] | SendOutcome:
    """Compose the day's edition and record the run: owed to every reader not paused, with one pending row per
    reader due a digest today (see `editions`). With a `previous` run (--force) its items are carried again,
    with anything new since."""
    if previous is not None:
        store.release_items(key)
        carried = set(previous.item_ids)
        waiting = {i.id for i, _, _ in store.pending_items() if i.id is not None}
        digest = build_digest(settings, store, day, item_ids=sorted(carried | waiting))
    else:
        digest = build_digest(settings, store, day)
    if previous is not None:
        store.forget_run(key)  # what its deliveries carried is owed again, before the plan reads what is owed
    todays = editions.plan(
        settings,
        store,
        subs,
        key=key,
        day=day,
        carries=bool(digest.item_ids),
        entries=digest.entries,
        remade=now.isoformat() if previous is not None else "",  # new Message-IDs: not the first emails again
    )
    kept = digest.count > 0 or settings.send_empty
    base = renderer(settings).fit(digest, settings.max_html_bytes) if kept else None  # kept for the web version
    store.create_run(
        key,
        day=day,
        now=now,
        subject=digest.subject,
        item_ids=list(digest.item_ids),
        html=base.html if base else "",
        text=base.text if base else "",
        recipients=todays.recipients,
        considered=digest.considered,
        owe=todays.owe,
        periods=todays.periods,
        settle=todays.settle,
    )
    if not todays.recipients:
        if digest.count == 0:
            return SendOutcome(key, "nothing new today; no digest sent (recorded as an empty day)", digest=digest)
        return SendOutcome(key, _nobody_due(digest.count, len(todays.settle)), digest=digest)
    run = store.run(key)
    assert run is not None  # just recorded
    return digest, run


def _nobody_due(items: int, missed: int) -> str:
    """Why a day with items sends nothing: `missed` readers chose nothing of them; the rest are weekly or paused."""
    said = f"today's {plural(items, 'item')} will go in the weekly readers' digests"
    if missed:
        chose = f"{plural(missed, 'reader')} chose nothing of today's {plural(items, 'item')}"
        said = f"{chose}; the rest are weekly or paused"
    return f"no reader is due a digest today; {said}"


def _resume_run(
    settings: Settings,
    store: Store,
    run: Run,
    *,
    key: str,
    day: date,
    now: datetime,
    subs: Sequence[Subscriber],
    resend_failed: bool,
) -> Digest | SendOutcome:
    """Carry on with today's run: the same digest, to whoever has not had it yet."""
    if run.status == "empty":
        return SendOutcome(key, "today was an empty day and nothing was sent (use --force to send anyway)")
    digest = run_digest(settings, store, run, day)
    if resend_failed and not store.reset_failed(key, now=now):
        return SendOutcome(key, "no failed deliveries to resend", counts=store.delivery_counts(key))
    # Someone who joined (or became due, by switching to daily) since the run began gets today's digest too.
    recorded = frozenset(d.email.lower() for d in store.deliveries(key))
    later = editions.plan(
        settings, store, subs, key=key, day=day, carries=bool(run.item_ids), recorded=recorded, entries=digest.entries
    )
    store.plan(
        key, day=day, now=now, owe=later.owe, recipients=later.recipients, periods=later.periods, settle=later.settle
    )
    if later.recipients:
        store.reopen_run(key)
    return digest


def _skip_departed(store: Store, key: str, by_email: dict[str, Subscriber], *, now: datetime) -> None:
    """Whoever left the list or was suppressed since the run began is not sent to (interrupted rows included)."""
    suppressed = store.suppressions()
    for d in store.deliveries(key, ["pending", "sending"]):
        address = d.email.lower()
        if address not in by_email or address in suppressed:
            reason = suppressed.get(address, "no longer on the subscriber list")
            store.mark(key, d.email, "suppressed", now=now, reply=reason)


def test_message(settings: Settings, store: Store, to: str, *, now: datetime) -> Message:
    """A test copy of today's digest for one address, marked as a test; the ledger is not touched."""
    digest = todays_digest(settings, store, now)
    env = envelope(settings, f"[TEST] {digest.subject}", now, f"test-{uuid.uuid4().hex[:8]}:{digest.day}")
    return DigestMessages(settings, digest, env, test=True).message(
        None,
        to=to,
        name=None,
        message_id=make_msgid(domain=settings.domain),
        unsubscribe_url=unsubscribe_url(settings, to),
        preferences_url=preferences_url(settings, to),
        extra_headers={"X-Digest-Test": "yes"},
    )


def preview(
    settings: Settings,
    store: Store,
    *,
    now: datetime,
    subscriber: Subscriber | None = None,
    email: str = "preview@example.invalid",
    base: Digest | None = None,
) -> tuple[Digest, str, str]:
    """Today's digest exactly as it would be sent: the run's items if it exists, else what is pending (or `base`,
    a digest of several days, as a weekly reader gets it)."""
    digest = base if base is not None else todays_digest(settings, store, now)
    if subscriber is not None:
        digest = for_subscriber(digest, subscriber, settings.subject)
        email = subscriber.email
    says = you_get(subscriber or Subscriber(email=email), send_time=settings.send_time, timezone=settings.timezone)
    rendered = renderer(settings).fit(digest, settings.max_html_bytes, you_get=says)
    url, prefs = unsubscribe_url(settings, email), preferences_url(settings, email)
    html = rendered.html.replace(UNSUBSCRIBE, url).replace(RECIPIENT, email).replace(PREFERENCES, prefs)
    text = rendered.text.replace(UNSUBSCRIBE, url).replace(RECIPIENT, email).replace(PREFERENCES, prefs)
    return rendered.digest, html, text


def editor_report(settings: Settings, store: Store, outcome: SendOutcome, *, now: datetime) -> Message | None:
    """The editors' report on a send (see `messages.editor_report`); None when there are no editors."""
    if not settings.editors or outcome.report is None:
        return None
    suppressed = store.suppressions()
    since = (run.created_at if (run := store.run(outcome.key)) else now) - timedelta(days=1)
    facts = RunFacts(
        key=outcome.key,
        counts=store.delivery_counts(outcome.key),
        suppressed=store.suppressed_count(outcome.key),
        aborted=outcome.report.aborted,
        stopped=outcome.report.stopped,
        failures=tuple((d, d.email.lower() in suppressed) for d in store.deliveries(outcome.key, ["failed"])),
        deferred=tuple(d for d in store.deliveries(outcome.key, ["pending"]) if d.reply),
        broken=tuple(h for h in store.feed_health(settings.feeds) if h.last_error or h.disabled),
        newly_suppressed=tuple(
            (s.email, s.reason, s.detail) for s in store.suppression_details().values() if s.created >= since
        ),
    )
    return messages.editor_report(settings, facts, date=now, message_id=make_msgid(domain=settings.domain))


def send_report(settings: Settings, sender: Sender, message: Message) -> None:
    for editor in settings.editors:
        try:
            sender.send(replace(message, to=editor))
        except DigestError:
            pass  # the report is a courtesy; the ledger already holds the truth

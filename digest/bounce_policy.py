"""What the list does about mail that comes back, whichever way it came in (`digest bounces process`, the IMAP
poll, a relay's webhook, a refusal during the send): record it with its evidence, and suppress the address when
the policy says so. A hard bounce or a complaint suppresses at once; soft bounces after `soft_limit` within
`soft_days` (settings `bounces`). A message to a subscriber's `unsubscribe+<token>` address unsubscribes them,
as the one-click POST does.

Who a notice is about comes from the VERP token in the address it was delivered to; without one, from the
address the notice names (Final-Recipient, Original-Rcpt-To, the returned message's To), and then only if the
list knows that address. Nothing is ever guessed from a subject line.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email import message_from_bytes, policy

from .bounces import Bounce, classify
from .bounces import status_in as _status
from .config import BounceSettings, Settings
from .plural import plural
from .store import Store
from .verp import Index, ReturnPaths

REASONS = {"hard": "bounced", "complaint": "complained", "soft": "soft-bounced"}


@dataclass(frozen=True)
class Outcome:
    """What became of one notice: about whom, what it was, and whether it suppressed them (and why)."""

    email: str | None
    kind: str  # hard | soft | complaint | delayed | none | unsubscribe
    suppressed: bool
    note: str

    def line(self) -> str:
        who = self.email or "(nobody on the list)"
        return f"{who}: {self.note}"


def record(
    store: Store,
    email: str,
    kind: str,
    *,
    status: str | None,
    evidence: str,
    source: str,
    now: datetime,
    settings: BounceSettings,
    notice_id: str | None = None,
) -> Outcome:
    """Record one hard or soft bounce or complaint for an address, and suppress it if the policy says so."""
    email = email.lower()
    if not store.add_bounce(email, kind, status=status, evidence=evidence, source=source, now=now, notice_id=notice_id):
        return Outcome(email, kind, False, f"{kind} bounce already recorded (same notice)")
    code = f" ({status})" if status else ""
    if kind == "soft":
        count = store.soft_bounces(email, since=now - timedelta(days=settings.soft_days))
        if count < settings.soft_limit:
            return Outcome(
                email,
                kind,
                False,
                f"soft bounce{code} {count} of {settings.soft_limit} in {plural(settings.soft_days, 'day')}",
            )
        evidence = f"{plural(count, 'soft bounce')} in {plural(settings.soft_days, 'day')}; last: {evidence}"
    label = "complaint" if kind == "complaint" else f"{kind} bounce{code}"
    if email in store.suppressions():
        return Outcome(email, kind, False, f"{label}; already suppressed")
    store.suppress(email, REASONS[kind], now=now, detail=evidence)
    return Outcome(email, kind, True, f"{label}; suppressed: {evidence}")


def record_refusals(store: Store, refused: Iterable[tuple[str, str]], *, now: datetime) -> None:
    """Addresses the server refused during the send as unknown (5.1.1), already suppressed by the ledger: recorded
    as hard bounces, so they show with the others and their evidence."""
    for email, reply in refused:
        store.add_bounce(email, "hard", status=_status(reply), evidence=reply, source="smtp", now=now)


class Processor:
    """Reads notices (raw messages) for one list and applies the policy to each. The index of addresses the
    list knows is built once, on the first notice that needs it."""

    def __init__(
        self,
        store: Store,
        settings: BounceSettings,
        paths: ReturnPaths | None,
        subscribers: Callable[[], Iterable[str]],
        *,
        source: str,
    ) -> None:
        self.store = store
        self.settings = settings
        self.paths = paths
        self.subscribers = subscribers
        self.source = source
        self._index: Index | None = None
        self._known: set[str] | None = None

    def known(self) -> set[str]:
        if self._known is None:
            self._known = self.store.known_addresses() | {e.lower() for e in self.subscribers()}
        return self._known

    def index(self) -> Index | None:
        if self._index is None and self.paths is not None:
            self._index = self.paths.index(self.known())
        return self._index

    def process(self, data: bytes, *, now: datetime) -> Outcome:
        bounce = classify(data)
        notice_id = _message_id(data)
        tokens = self.paths.tokens_in(bounce.envelope_to) if self.paths else []
        index = self.index() if tokens else None
        for purpose, token in tokens:
            email = index.read(purpose, token) if index else None
            if email is None:
                continue
            if purpose == "unsubscribe":
                return self.unsubscribe(email, now=now)
            return self.apply(bounce, email, now=now, notice_id=notice_id)
        if tokens and not bounce.counts:
            return Outcome(None, bounce.kind, False, "a token that names nobody on the list; ignored")
        email = bounce.recipient if bounce.recipient in self.known() else None
        if bounce.counts and email is None:
            return Outcome(bounce.recipient, bounce.kind, False, f"{bounce.kind}: not an address on the list; ignored")
        return self.apply(bounce, email, now=now, notice_id=notice_id)

    def apply(self, bounce: Bounce, email: str | None, *, now: datetime, notice_id: str | None) -> Outcome:
        if not bounce.counts or email is None:
            what = {"delayed": "a delay warning", "none": f"not a bounce ({bounce.shape})"}.get(
                bounce.kind, bounce.kind
            )
            return Outcome(email, bounce.kind, False, f"{what}; nothing done")
        return record(
            self.store,
            email,
            bounce.kind,
            status=bounce.status,
            evidence=bounce.evidence,
            source=self.source,
            now=now,
            settings=self.settings,
            notice_id=notice_id,
        )

    def event(
        self, email: str, kind: str, *, status: str | None, evidence: str, notice_id: str | None, now: datetime
    ) -> Outcome:
        """A bounce or complaint a relay reported (a webhook): acted on if the address is on the list."""
        email = email.strip().lower()
        if email not in self.known():
            return Outcome(email, kind, False, f"{kind}: not an address on the list; ignored")
        return record(
            self.store,
            email,
            kind,
            status=status,
            evidence=evidence,
            source=self.source,
            now=now,
            settings=self.settings,
            notice_id=notice_id,
        )

    def unsubscribe(self, email: str, *, now: datetime) -> Outcome:
        """A message to the List-Unsubscribe mailto: the same as the one-click POST."""
        self.store.suppress(email, "unsubscribed", now=now)
        return Outcome(email, "unsubscribe", True, "unsubscribed (List-Unsubscribe mailto:)")


def processor_for(settings: Settings, store: Store, *, source: str) -> Processor:
    """The processor for this list: its bounce settings, its return paths and its subscriber file."""
    from . import daily  # its imports (rendering) are only needed here, not by every user of the policy
    from .subscribers import load as load_subscribers

    def subscribers() -> list[str]:
        return [s.email for s in load_subscribers(settings.subscribers_file).subscribers]

    return Processor(store, settings.bounces, daily.return_paths(settings), subscribers, source=source)


def poll_imap(settings: Settings, store: Store, *, clock: Callable[[], datetime]) -> list[str]:
    """One poll of the bounce mailbox (`bounces.imap`): each message processed and moved; the lines say what
    became of each. Raises ImapError when the mailbox cannot be read; [] when no mailbox is configured."""
    from .imap import poll_mailbox

    if settings.bounces.imap is None:
        return []
    processor = processor_for(settings, store, source="imap")
    report = poll_mailbox(settings.bounces.imap, lambda raw: processor.process(raw, now=clock()).line())
    return report.processed + [f"left in the mailbox: {why}" for why in report.failed]


def _message_id(data: bytes) -> str | None:
    msg = message_from_bytes(data, policy=policy.compat32)  # only one header wanted; compat32 never raises on it
    value = msg.get("Message-ID")
    return str(value).strip() or None if value else None

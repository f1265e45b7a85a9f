"""The delivery ledger: the send loop that moves each of a run's rows pending → sending → sent | failed, and
how a send is asked to stop. It uses a `Sender` it is given and never closes it (its maker does); each sending
thread releases its own connection as it ends.

Exactly once, as near as SMTP allows: the server's 250 is recorded from inside the sender, before that
connection says anything more, as a line in the acceptance journal (`acceptances`); the sender's connections
take turns through that moment. A crash (even SIGKILL) therefore leaves at most one message the server accepted
but nothing has recorded, whatever the pool size; on restart the journal's acceptances are settled and every
row not `sent` is sent again, so that one message is the only possible duplicate (see README, "Delivery
guarantees"). The ledger's rows (`sending` as each try begins, then `sent`, `failed` or back to `pending`) are
written by one thread every 50 ms, all marks since the last in one transaction and in the order they were
made: a connection never waits for the database. A crash can leave a row whose try had begun still `pending`;
it is sent again either way. Only a 5xx reply fails a row; a temporary error that outlasts the retries puts it
back to pending for the next run.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from . import acceptances
from .clock import Clock
from .deliver import Sender
from .errors import DeliveryError
from .models import Delivery, DeliveryState, Message
from .store import Store

log = logging.getLogger("digest")


class Stop(threading.Event):
    """Asks a send to stop after the messages in flight; `reason` says why, for the outcome and the report."""

    reason = "a stop was requested"

    def request(self, reason: str) -> None:
        self.reason = reason
        self.set()


@dataclass
class SendReport:
    run_key: str
    sent: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)
    deferred: list[tuple[str, str]] = field(default_factory=list)  # left pending after a temporary error
    suppressed: list[str] = field(default_factory=list)
    stopped: str | None = None  # why the run stopped early on request (SIGTERM, Ctrl-C, the service stopping)
    aborted: str | None = None  # why the run stopped with messages still pending (the server, TLS, login)
    final: bool = False  # the stop is one trying again cannot mend (a login refused, a password not set)

    @property
    def failed_count(self) -> int:
        return len(self.failed)


Build = Callable[[Delivery, str | None], Message]
_Mark = tuple[str, DeliveryState, str, bool]  # address, state, reply, whether a try begins
_RECORD_EVERY = 0.05  # seconds between the ledger's writes during a send: each writes every mark since the last


def send_run(
    store: Store,
    key: str,
    build: Build,
    sender: Sender,
    *,
    clock: Clock,
    workers: int = 1,
    stop: Stop | None = None,
    progress: Callable[[int, int], None] | None = None,
    heartbeat: Callable[[], None] | None = None,
    heartbeat_every: float = 60.0,
) -> SendReport:
    """Send every pending (and interrupted `sending`) row of a run; record each outcome as it happens.
    `heartbeat` is called at most every `heartbeat_every` seconds while sending (to renew the send lock)."""
    counts = store.delivery_counts(key)  # the caller settled any journal a dead send left (daily.send_digest)
    total = counts.get("sending", 0) + counts.get("pending", 0)
    batches = store.delivery_batches(key, ["sending", "pending"])  # read as the queue empties: memory stays flat
    queue: deque[tuple[Delivery, str | None]] = deque()
    report = SendReport(run_key=key)
    db = threading.Lock()  # the store's connection, one thread at a time; taken before `lock` when both are
    lock = threading.Lock()  # the queue, the report and the marks not yet written
    marks: list[_Mark] = []
    halt = threading.Event()
    ended = threading.Event()
    failure: list[BaseException] = []
    beat = [time.monotonic()]
    done = 0

    def note(email: str, state: DeliveryState, reply: str = "", *, attempt: bool = False) -> None:
        with lock:
            marks.append((email, state, reply[:300], attempt))

    def write_marks(*more: _Mark) -> None:
        """Write every mark noted so far, then `more`. Taken and written under `db`, so no later mark of a row
        lands before an earlier one; `lock` is held only to take them, so noting never waits for the database."""
        with db:
            with lock:
                batch = [*marks, *more]
                marks.clear()
            if batch:
                store.mark_many(key, batch, now=clock())

    def recorder() -> None:
        try:
            while not ended.wait(_RECORD_EVERY):
                write_marks()
        except BaseException as exc:  # the store failed (a full disk): stop sending; raised when all have ended
            failure.append(exc)
            halt.set()

    def next_row() -> tuple[Delivery, str | None] | None:
        with lock:
            if queue:
                return queue.popleft()
        with db, lock:
            if not queue:
                queue.extend(next(batches, ()))
            return queue.popleft() if queue else None

    def worker() -> None:
        try:
            send_rows()
        except BaseException as exc:  # a bug, or the store failing: stop the others; raised when all have ended
            failure.append(exc)
            halt.set()
        finally:
            sender.release()  # this thread's connection ends with it; the sender's maker closes the sender

    def send_rows() -> None:
        nonlocal done
        while True:
            if halt.is_set():
                return
            if stop is not None and stop.is_set():
                report.stopped = stop.reason
                return
            entry = next_row()
            if entry is None:
                return
            row, name = entry
            if heartbeat is not None and time.monotonic() - beat[0] >= heartbeat_every:
                with db:
                    heartbeat()
                beat[0] = time.monotonic()
            message = build(row, name)

            def attempt(email: str = row.email) -> None:
                note(email, "sending", attempt=True)

            recorded = [False]  # this message's `sent` is written already, inside the turn

            def accepted(reply: str, email: str = row.email, recorded: list[bool] = recorded) -> None:
                # The sender calls this at the server's 250, before its next command, its other connections
                # waiting: a line in the journal (microseconds), not a ledger write (see acceptances).
                if journal is not None and not journal.broken:
                    try:
                        journal.record(key, email, reply[:300])
                        return
                    except OSError as exc:  # a full disk: this send stops once the row is written here
                        log.error("cannot write the acceptance journal %s: %s; stopping the send", journal.path, exc)
                        with lock:
                            report.aborted = f"cannot write the acceptance journal {journal.path}: {exc}"
                        halt.set()
                # No journal (an in-memory store) or a broken one: the ledger's row, here, inside the turn.
                write_marks((email, "sent", reply[:300], False))
                recorded[0] = True

            try:
                reply = sender.send(message, on_attempt=attempt, on_accepted=accepted)
            except DeliveryError as exc:
                said = exc.reply or str(exc)
                if exc.transport:
                    # Nothing can get through: stop, and leave this and the rest pending for the next run.
                    note(row.email, "pending", said)
                    with lock:
                        report.aborted = str(exc)
                        report.final = report.final or exc.permanent  # another thread's final error stays
                    halt.set()
                    return
                if not exc.permanent:
                    # A temporary error outlasted the retries (a 4xx, a dropped connection, no answer after
                    # DATA): the next run tries again, as it would after a crash; only a 5xx is a failure.
                    note(row.email, "pending", said)
                    with lock:
                        report.deferred.append((row.email, said))
                        done += 1
                    continue
                note(row.email, "failed", said)
                if exc.unknown_user:
                    with db:
                        store.suppress(row.email, "bounced", now=clock(), detail=exc.reply)
                with lock:
                    report.failed.append((row.email, said))
                    if exc.unknown_user:
                        report.suppressed.append(row.email)
                    done += 1
                continue
            if not recorded[0]:
                note(row.email, "sent", reply)
            with lock:
                report.sent += 1
                done += 1
                if progress:
                    progress(done, total)

    threads = [threading.Thread(target=worker, name=f"send-{i}") for i in range(max(1, min(workers, total)))]
    writer = threading.Thread(target=recorder, name="send-record")
    path = acceptances.journal_path(store.path)
    journal = acceptances.Journal(path) if path is not None else None  # this send's own
    started: list[threading.Thread] = []
    try:
        with store.checkpoints_aside():
            writer.start()
            try:
                for t in threads:
                    t.start()
                    started.append(t)
            except BaseException:
                halt.set()  # the threads that did start stop after the message in hand
                raise
            finally:
                for t in started:
                    t.join()
                ended.set()
                writer.join()
            write_marks()
    finally:
        if journal is not None:
            journal.close()  # only once no thread can write to it
    if failure:
        raise failure[0]
    acceptances.settle(store, now=clock())  # every row is marked by now: this removes the journal
    left = store.delivery_counts(key)
    if not left.get("pending") and not left.get("sending"):
        store.finish_run(key, now=clock())
    return report

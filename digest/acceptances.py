"""The acceptance journal: one line for each message a mail server accepted, written beside the database the
moment its 250 arrives, before the ledger's row says `sent`.

The sender's connections take turns from the end of a message's DATA until its acceptance is recorded (see
`deliver`), so that a crash leaves at most one accepted message unrecorded. Recording it as a committed SQLite
write held the other connection back for that write (100 µs as a rule, tens of milliseconds when a checkpoint
syncs); a line appended with one `os.write` takes a few microseconds and outlives a killed process just as
well (it is in the kernel when the call returns; like the database with `synchronous=NORMAL`, it is not
flushed to disk). The ledger writes its rows after the turn, every 50 ms (see `ledger`); a send that died
between the two leaves the row `sending` or `pending`, and the next send first settles it from the journal
(`settle`), then starts a new journal.

Only one send runs at a time (the send lock), but a send whose lease ran out while it still lives may overlap
the next: each send writes its own journal (`digest.sqlite3-accepted.<pid>-<n>`) and holds a lock on it while it
lives, and settling removes only journals no living send holds. An in-memory database has none: nothing of it
outlives the process, so its rows are written inside the turn. So are they when the journal cannot be written
(a full disk): that send then stops.
"""

from __future__ import annotations

import fcntl
import os
import time
from datetime import datetime
from pathlib import Path
from typing import Protocol

_FIELDS = 3  # run key, address, the server's reply


class _Ledger(Protocol):
    path: Path

    def mark_accepted(self, accepted: list[tuple[str, str, str]], *, now: datetime) -> int: ...


def journal_path(database: Path) -> Path | None:
    """The journals' common name beside a database file ("digest.sqlite3-accepted"; each send's adds a suffix),
    or None for an in-memory database."""
    if str(database) == ":memory:":
        return None
    return database.with_name(database.name + "-accepted")


def journal_files(database: Path) -> list[Path]:
    """Every journal beside a database: a send's own, and any a send left behind when it died."""
    base = journal_path(database)
    if base is None:
        return []
    return sorted(p for p in base.parent.glob(base.name + "*") if p.name == base.name or p.name[len(base.name)] == ".")


class Journal:
    """A send's own journal: appends acceptances, each line in one `write` (a killed process finishes it or never
    starts it), and holds an exclusive lock on the file while it is open. Thread-safe. After a failed write it
    is `broken` and writes nothing more."""

    def __init__(self, base: Path) -> None:
        self.path = base.with_name(f"{base.name}.{os.getpid()}-{time.monotonic_ns()}")
        self.broken = False
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_EXCL, 0o600)
        fcntl.flock(self._fd, fcntl.LOCK_EX)  # a new file: nobody else has it

    def record(self, key: str, email: str, reply: str) -> None:
        """Append one acceptance; raises OSError (and is broken from then on) when the line cannot be written."""
        fields = (" ".join(f.split()) for f in (key, email, reply))  # no tab or line break inside a field
        line = memoryview(("\t".join(fields) + "\n").encode("utf-8", "replace"))
        try:
            while line:  # a short write (a nearly full disk) writes the rest, or fails
                line = line[os.write(self._fd, line) :]
        except OSError:
            self.broken = True  # a cut line has no line break: it is no acceptance, and nothing follows it
            raise

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)  # the lock goes with it
            self._fd = -1


def read(path: Path) -> list[tuple[str, str, str]]:
    """The acceptances a journal holds. A last line with no line break was cut short by a kill during its
    write: it is no acceptance (its message is the one the ledger may send twice)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return []
    found = []
    for line in data.split(b"\n")[:-1]:
        fields = line.decode("utf-8", "replace").split("\t")
        if len(fields) == _FIELDS:
            found.append((fields[0], fields[1], fields[2]))
    return found


def settle(store: _Ledger, *, now: datetime) -> int:
    """Mark `sent` every row a journal says a server accepted and the ledger had not yet recorded (a send died
    between the two), then remove the journals no living send holds. Returns how many rows changed."""
    settled = 0
    for path in journal_files(store.path):
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            continue  # its send removed it meanwhile
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                dead = True
            except BlockingIOError:
                dead = False  # a send that still lives: what it has recorded is true, but the file stays
            accepted = read(path)
            settled += store.mark_accepted(accepted, now=now) if accepted else 0
            if dead:
                path.unlink(missing_ok=True)  # only after its rows are committed: a crash here settles them again
        finally:
            os.close(fd)
    return settled

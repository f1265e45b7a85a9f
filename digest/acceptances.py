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

Only one send runs at a time (the send lock), so one journal per database is enough. An in-memory database has
none: nothing of it outlives the process, so its rows are written inside the turn as before.
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path
from typing import Protocol

_FIELDS = 3  # run key, address, the server's reply


class _Ledger(Protocol):
    path: Path

    def mark_accepted(self, accepted: list[tuple[str, str, str]], *, now: datetime) -> int: ...


def journal_path(database: Path) -> Path | None:
    """The journal beside a database file ("digest.sqlite3-accepted"), or None for an in-memory database."""
    if str(database) == ":memory:":
        return None
    return database.with_name(database.name + "-accepted")


class Journal:
    """Appends acceptances to the journal file; thread-safe (each line is one `write` to a file opened for
    appending). Use as a context manager, or close it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)

    def record(self, key: str, email: str, reply: str) -> None:
        fields = (" ".join(f.split()) for f in (key, email, reply))  # no tab or line break inside a field
        os.write(self._fd, ("\t".join(fields) + "\n").encode("utf-8", "replace"))

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


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
    """Mark `sent` every row the journal says a server accepted and the ledger had not yet recorded (a send
    died between the two), then remove the journal. Returns how many rows changed."""
    path = journal_path(store.path)
    if path is None:
        return 0
    accepted = read(path)
    settled = store.mark_accepted(accepted, now=now) if accepted else 0
    path.unlink(missing_ok=True)  # only after the rows are committed: a crash before this settles them again
    return settled

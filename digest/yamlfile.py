"""Editing a YAML file the editor owns (the subscriber list, the settings' feeds) without losing a byte they
wrote: ruamel.yaml round-trip (comments, order, quoting kept), the new text checked by the caller, written beside
the file and renamed over it under a lock, and never over a file that changed since it was read. (The lock keeps
our own commands apart; a person saving by hand does not take it, so the check and the rename are made with
nothing slow between them.)
"""

from __future__ import annotations

import fcntl
import io
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from .errors import DigestError


def round_trip() -> YAML:
    """The one ruamel setup for edits: the indentation our files (and their examples) use."""
    y = YAML(typ="rt")
    y.preserve_quotes = True
    y.indent(mapping=2, sequence=4, offset=2)
    y.width = 4096  # never fold a long line (a feed's URL) the operator wrote on one
    return y


def dump(tree: Any) -> bytes:
    buf = io.StringIO()
    round_trip().dump(tree, buf)
    return buf.getvalue().encode("utf-8")


@contextmanager
def locked(path: Path) -> Iterator[None]:
    """An exclusive lock on `path` (a `.lock` file beside it), for our own edits of it."""
    lock = path.with_name(path.name + ".lock")
    lock.parent.mkdir(parents=True, exist_ok=True)
    with open(lock, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def read(path: Path) -> bytes:
    """The file's bytes; a missing file reads as empty (the first add creates it)."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return b""


def _write_beside(path: Path, data: bytes) -> Path:
    """`data` in a new file next to `path`, on disk and with path's permissions: ready to be renamed over it."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        if path.exists():
            os.chmod(tmp, path.stat().st_mode & 0o777)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return Path(tmp)


def replace_if_unchanged(path: Path, was: bytes, data: bytes, error: type[DigestError]) -> None:
    """Write `data` as `path`, atomically and under the lock, unless the file no longer holds `was`: then
    `error` is raised and nothing is written."""
    with locked(path):
        tmp = _write_beside(path, data)
        try:
            # The check and the rename with nothing slow between them: the lock keeps our own commands out,
            # but a person saving the file by hand does not take it, and their edit must never be replaced.
            if read(path) != was:
                raise error(f"{path} changed since it was read; nothing was written. Try again.")
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)

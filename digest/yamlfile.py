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
import re
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.constructor import ConstructorError, RoundTripConstructor, SafeConstructor
from ruamel.yaml.error import YAMLError

from .errors import ConfigError, DigestError
from .yamlmodel import yaml_error

_TIMESTAMP = "tag:yaml.org,2002:timestamp"


class ImpossibleDate(ConstructorError):
    """A scalar YAML reads as a date that does not exist (2026-02-30). ruamel raises a bare ValueError from deep in
    its constructor, with no line; this one carries the scalar's position (and is still a YAMLError)."""

    def __init__(self, node: Any, reason: str) -> None:
        super().__init__(None, None, f"{node.value!r} is not a real date ({reason})", node.start_mark)
        self.value = str(node.value)


def _checked_timestamp(base: Any) -> Any:
    def construct(self: Any, node: Any, values: Any = None) -> Any:
        try:
            return base(self, node, values)
        except ValueError as exc:
            raise ImpossibleDate(node, str(exc)) from None

    return construct


class _RoundTrip(RoundTripConstructor):
    pass


class _Safe(SafeConstructor):
    pass


# add_constructor gives each subclass its own table; the bases' (and every other ruamel user's) stay as they are.
_RoundTrip.add_constructor(_TIMESTAMP, _checked_timestamp(RoundTripConstructor.construct_yaml_timestamp))
_Safe.add_constructor(_TIMESTAMP, _checked_timestamp(SafeConstructor.construct_yaml_timestamp))


def fast() -> YAML:
    """ruamel's C loader (no positions, several times quicker), for reading a long list when nothing is wrong."""
    y = YAML(typ="safe")
    y.Constructor = _Safe
    return y


# What the C loader reads otherwise than the round-trip one (which every edit uses): a %YAML directive (it reads
# "%YAML 1.1" octals and booleans as 1.2), a tab (it takes one after a key where round-trip refuses it) and a tag
# ("!!str 2024"). A file with any of them is read round-trip only, so a file never reads one way and edits another.
_ROUND_TRIP_ONLY = re.compile(rb"^%|\t|!", re.M)


def reads_alike(data: bytes) -> bool:
    """Whether `fast()` reads this file as `round_trip()` does (checked in tests/test_config.py)."""
    return not _ROUND_TRIP_ONLY.search(data)


def round_trip() -> YAML:
    """The one ruamel setup for reading with positions and for edits: the indentation our files (and their
    examples) use."""
    y = YAML(typ="rt")
    y.Constructor = _RoundTrip
    y.preserve_quotes = True
    y.indent(mapping=2, sequence=4, offset=2)
    y.width = 4096  # never fold a long line (a feed's URL) the operator wrote on one
    return y


def load_tree(data: bytes | str, path: Path, loader: YAML | None = None) -> Any:
    """A YAML file's bytes as a tree (round-trip unless another `loader` is given), or a ConfigError naming the
    file and line (and, for a value, its key) of what could not be read: bytes that are not UTF-8, broken YAML, a
    date that does not exist. The one way a file the editor owns is read."""
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
    except UnicodeDecodeError as exc:
        raise ConfigError(f"not UTF-8 text (byte {exc.start + 1} is not UTF-8); save it as UTF-8", path=path) from None
    try:
        return (loader or round_trip()).load(text)
    except ImpossibleDate as exc:
        line = exc.problem_mark.line + 1
        key = _key_at(text, line, exc.problem_mark.column)
        raise ConfigError(
            f"{exc.value!r} is not a real date; write a date that exists, or quote the value if it is text",
            path=path,
            line=line,
            key=key,
        ) from None
    except YAMLError as exc:
        raise yaml_error(exc, path) from None


class _Lenient(RoundTripConstructor):
    pass


_Lenient.add_constructor(_TIMESTAMP, lambda self, node, values=None: str(node.value))  # only to find a key


def _key_at(text: str, line: int, column: int) -> str | None:
    """The key path (`subscribers[0].preferences.paused_until`) of the value at a 1-based line and a column."""
    y = YAML(typ="rt")
    y.Constructor = _Lenient
    try:
        tree = y.load(text)
    except YAMLError:
        return None
    return _find(tree, (line - 1, column), "")


def _find(node: Any, at: tuple[int, int], prefix: str) -> str | None:
    if isinstance(node, CommentedMap):
        pairs = [(f"{prefix}.{k}" if prefix else str(k), k, "value", v) for k, v in node.items()]
    elif isinstance(node, CommentedSeq):
        pairs = [(f"{prefix}[{i}]", i, "item", v) for i, v in enumerate(node)]
    else:
        return None
    for name, key, how, value in pairs:
        try:
            pos = tuple(getattr(node.lc, how)(key))
        except (KeyError, IndexError, TypeError):
            pos = None
        if pos == at:
            return name
        if (found := _find(value, at, name)) is not None:
            return found
    return None


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
            with _open_old(path) as old:
                if _contents(old) != was:
                    raise error(f"{path} changed since it was read; nothing was written. Try again.")
                os.replace(tmp, path)
                # Someone appending to the file between the check and the rename wrote to the file just
                # replaced, or has it open and may yet write to it (an append opened a moment before the
                # rename): wait for them to close it, then put it back, with their edit, unless the new file
                # has been edited since too.
                _wait_until_alone(old)
                if _contents(old) != was and read(path) == data:
                    back = _write_beside(path, _contents(old))
                    os.replace(back, path)
                    raise error(f"{path} changed since it was read; nothing was written. Try again.")
        finally:
            tmp.unlink(missing_ok=True)


def _wait_until_alone(old: Any, *, limit: float = 0.2) -> None:
    """Return once no other process has the replaced file open, or after `limit` seconds (a `tail -f` never lets
    go). Linux tells it by a write lease, granted only to the file's one holder, and let go at once: nobody can
    open the replaced file by its name any more, so no one can break the lease (which would signal us). Elsewhere,
    or where leases are refused (another owner's file, a network filesystem), it returns at once and the one look
    after the rename is all there is. A wait happens only while someone else holds the file, so an ordinary edit
    (and the web handler making it) never sleeps."""
    lease = getattr(fcntl, "F_SETLEASE", None)
    if lease is None or not hasattr(old, "fileno"):
        return
    deadline = time.monotonic() + limit
    while True:
        try:
            fcntl.fcntl(old.fileno(), lease, fcntl.F_WRLCK)
        except BlockingIOError:  # held elsewhere
            if time.monotonic() >= deadline:
                return
            time.sleep(0.002)
            continue
        except OSError:
            return  # leases refused here: nothing to tell by
        fcntl.fcntl(old.fileno(), lease, fcntl.F_UNLCK)
        return


def _open_old(path: Path) -> Any:
    """The file as it is now, held open so that what is written to it can still be read after a rename."""
    try:
        return open(path, "rb")
    except FileNotFoundError:
        return io.BytesIO(b"")


def _contents(fh: Any) -> bytes:
    fh.seek(0)
    data: bytes = fh.read()
    return data

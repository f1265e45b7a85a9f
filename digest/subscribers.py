"""The subscriber list: a YAML file the editor owns. Read with line numbers for every error; edited round-trip
(`yamlfile`: comments, order and formatting survive; written atomically under a lock, and never over a file that
changed since it was read).
"""

from __future__ import annotations

import csv
import difflib
import functools
import io
import os
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from email_validator import EmailNotValidError
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from . import subscriber_prefs
from .addresses import normal as _normal  # the address in its normal form; raises EmailNotValidError
from .errors import ConfigError, InputError, NoSuchChange, SubscriberError
from .models import Subscriber
from .names import check_name
from .yamlfile import dump, fast, load_tree, reads_alike, replace_if_unchanged
from .yamlmodel import yaml_line

if TYPE_CHECKING:
    from .config import Settings

_FIELDS = ("email", "name", "preferences")


def normalise_email(value: str) -> str:
    """The address in its normal form; InputError when it is not an email address."""
    try:
        return _normal(value)
    except EmailNotValidError as exc:
        raise InputError(f"{value!r} is not a valid email address: {exc}") from None


def normalise_name(value: str | None) -> str | None:
    """A subscriber's name as given (None when blank); InputError when it could not go in a To: line."""
    name = (value or "").strip()
    try:
        return check_name(name) or None
    except ValueError as exc:
        raise InputError(str(exc)) from None


@dataclass
class SubscriberFile:
    """A loaded list: the subscribers, and the bytes they were read from (for edits, and to see a change)."""

    path: Path
    subscribers: list[Subscriber]
    data: bytes

    @property
    def tree(self) -> Any:
        """The round-trip tree (comments and all), parsed only when the list is edited."""
        return load_tree(self.data, self.path) if self.data else None

    def find(self, email: str) -> Subscriber | None:
        return self._by_email.get(email.strip().lower())

    @functools.cached_property
    def _by_email(self) -> dict[str, Subscriber]:
        """Each address, in lower case, to its subscriber (the first, were one listed twice): made at the first
        lookup, so that a server's copy of the list answers each page's in constant time."""
        index: dict[str, Subscriber] = {}
        for s in self.subscribers:
            index.setdefault(s.email.lower(), s)
        return index


def load(path: Path) -> SubscriberFile:
    """Read and validate the list. A missing file is an empty list.

    The plain read uses ruamel's C loader (a 10,000-address list in a fraction of a second); only when
    something is wrong is the file parsed again round-trip, for the line numbers in the message.
    """
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return SubscriberFile(path=path, subscribers=[], data=b"")
    except OSError as exc:  # a directory, no permission: the operator's to mend, said as a file's problem
        raise ConfigError(f"cannot be read: {exc.strerror or exc}", path=path) from exc
    try:
        plain = _plain_list(data.decode("utf-8"))
    except UnicodeDecodeError:
        plain = None  # load_tree says so, naming the file
    try:
        subscribers = parse(
            load_tree(data, path, fast() if reads_alike(data) else None) if plain is None else plain, path
        )
    except ConfigError:
        subscribers = parse(load_tree(data, path), path)  # the same error again, now with its line (and key)
    return SubscriberFile(path=path, subscribers=subscribers, data=data)


class ListCache:
    """The list as last read, for a long-running server: read again only when its file has changed (another inode,
    size, modification or change time), so a page that looks an address up costs a stat, not a read of every
    address. A filesystem's clock is coarse (a jiffy; two seconds on some), so an edit in place of the same size
    in the tick of the file's last change would leave all of those unchanged: the copy is trusted only once the
    file's last change is `settle` seconds older than the read (as git does for a racily clean index entry)."""

    def __init__(self, path: Path, *, settle: float = 2.5) -> None:
        self.path = path
        self.settle = settle
        self._key: tuple[int, int, int, int] | None = None
        self._loaded: SubscriberFile | None = None
        self._settled = False
        # The last read's failure: the file's bytes then, and the error. The same broken bytes are not parsed again
        # (a 50,000-address list takes seconds to fail, for line numbers), and /health can say why.
        self._failed: tuple[bytes, ConfigError] | None = None
        self._lock = threading.Lock()  # pages run it in threads: one read of a changed file, not one each

    def _stat_key(self) -> tuple[tuple[int, int, int, int] | None, os.stat_result | None]:
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return None, None
        return (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns), st

    def get(self) -> SubscriberFile:
        """The list; raises ConfigError (naming the file, line and field) while the file cannot be read."""
        with self._lock:
            key, st = self._stat_key()
            if self._loaded is None or not self._settled or key != self._key or self._failed is not None:
                read_at = time.time()
                try:
                    loaded = self._read()
                except ConfigError as exc:
                    if self._failed is None or self._failed[1] is not exc:
                        self._failed = (self._bytes(), exc)
                    raise
                # The key is the one from before the read: a change during it is seen at the next call.
                self._loaded, self._key, self._failed = loaded, key, None
                self._settled = st is not None and max(st.st_mtime, st.st_ctime) < read_at - self.settle
            return self._loaded

    def known(self) -> SubscriberFile | ConfigError | None:
        """What the last read found: the list, or why it could not be read; None before the first read. Neither a
        read nor a wait: /health asks on the event loop, while a read of a changed 50,000-address list may hold the
        lock for seconds (the service reads the list every minute, and the pages at each look)."""
        failed = self._failed  # one reference read: no lock needed
        return failed[1] if failed is not None else self._loaded

    def _bytes(self) -> bytes:
        try:
            return self.path.read_bytes()
        except OSError:
            return b""

    def _read(self) -> SubscriberFile:
        """The list, parsed only if its bytes changed (a file just edited is looked at on every page until it
        settles: that costs a read, not a parse), with its index of addresses made here, off the event loop."""
        if self._failed is not None and self._bytes() == self._failed[0]:
            raise self._failed[1]  # the same broken bytes: the same error, without parsing them again
        if self._loaded is not None:
            try:
                if self.path.read_bytes() == self._loaded.data and self._loaded.data:
                    return self._loaded
            except FileNotFoundError:
                pass
        loaded = load(self.path)
        loaded.find("")  # makes the index now, in this thread
        return loaded


# The list as `digest subscribers add` writes it, one line at a time: "subscribers:", then "  - email: ADDRESS" or
# "  - ADDRESS", and "    name: NAME" or "    email: ADDRESS", with blank lines and comments. Values are plain
# scalars of a few safe characters that YAML reads as text. Anything else (preferences, quotes, flow style, a
# value YAML would read as a number, a boolean or null) and the whole file goes to the YAML loader instead.
_PLAIN_VALUE = r"[^\W\d](?:[\w@.+', ()-]*[\w@.+')-])?|\d[\w@.+'-]*@[\w@.+'-]*"  # a digit first: an address
_LINE = re.compile(rf"(?P<dash>  - |    )(?:(?P<key>email|name): +)?(?P<value>{_PLAIN_VALUE}) *(?:#.*)?")
_SKIP = re.compile(r" *(?:#.*)?")
_NOT_TEXT = frozenset(("true", "True", "TRUE", "false", "False", "FALSE", "null", "Null", "NULL"))


def _plain_list(text: str) -> dict[str, Any] | None:
    """The list read without YAML when it has the plain shape above (what the safe loader would give), else None."""
    entries: list[Any] = []
    current: dict[str, str] | None = None
    started = False
    for raw in text.split("\n"):
        line = raw[:-1] if raw.endswith("\r") else raw
        if not started:
            if line == "subscribers:" or line.startswith("subscribers: #"):
                started = True
            elif not _SKIP.fullmatch(line):
                return None
            continue
        found = _LINE.fullmatch(line)
        if found is None:
            if _SKIP.fullmatch(line):
                continue
            return None
        key, value = found["key"], found["value"]
        if value in _NOT_TEXT:
            return None
        if found["dash"] == "  - ":
            if key is None:
                entries.append(value)
                current = None
            else:
                current = {key: value}
                entries.append(current)
        elif key is None or current is None or key in current:
            return None  # a continuation line without a key, after a bare address, or a key given twice
        else:
            current[key] = value
    return {"subscribers": entries or None} if started else None


def load_for_send(path: Path) -> SubscriberFile:
    """The list a send goes to. Unlike `load`, a missing file, an empty one or a list with nobody on it is a
    ConfigError: a lost or truncated file must stop the send, not pass for a day with no readers."""
    if not path.exists():
        problem = "file not found"
    else:
        loaded = load(path)
        if loaded.subscribers:
            return loaded
        problem = "no subscribers in the file"
    raise ConfigError(
        f"{problem}; a send needs at least one subscriber, so nothing was sent or recorded "
        "(restore the file, or add an address with `digest subscribers add`)",
        path=path,
    )


def unknown_sources(loaded: SubscriberFile, settings: Settings) -> list[ConfigError]:
    """Each reader's source that names no feed in the settings (a typo, or a feed renamed or removed since): that
    reader gets nothing from it. Found where the list and the settings meet (`subscribers list`, `send`, the
    service's start and each send) and returned, never raised: one reader's mistake must not stop anyone's digest."""
    names = [f.name for f in settings.feeds]
    wrong = [(i, s, sorted(s.sources - set(names))) for i, s in enumerate(loaded.subscribers) if s.sources]
    wrong = [w for w in wrong if w[2]]
    if not wrong:
        return []
    seq = _entries(loaded.tree, loaded.path)  # round-trip, for the lines; read only when something is wrong
    where = f"in {settings.path.name}" if settings.path else "in the settings"
    out = []
    for i, sub, bad in wrong:
        node = seq[i] if i < len(seq) else None
        prefs = node.get("preferences") if isinstance(node, dict) else None
        given = prefs.get("sources") if isinstance(prefs, dict) else None
        for name in bad:
            j = next((j for j, v in enumerate(given or []) if v == name), None)
            line = (yaml_line(given, how="item", key=j) if j is not None else None) or yaml_line(prefs, "sources")
            near = difflib.get_close_matches(name, names, n=1, cutoff=0.6)
            hint = f"did you mean {near[0]!r}? " if near else ""
            out.append(
                ConfigError(
                    f"{name!r} is not a feed {where}, so {sub.email} gets nothing from it; {hint}"
                    f"the feeds are: {', '.join(names) or 'none'}",
                    path=loaded.path,
                    line=line,
                    key=f"subscribers[{i}].preferences.sources",
                )
            )
    return out


def _entries(tree: Any, path: Path) -> list[Any]:
    if tree is None:
        return []
    if isinstance(tree, dict):
        unknown = [k for k in tree if k != "subscribers"]
        if unknown:
            raise ConfigError(
                f"unknown key {unknown[0]!r}; expected 'subscribers'",
                path=path,
                line=yaml_line(tree, how="key", key=unknown[0]),
                key=str(unknown[0]),
            )
        tree = tree.get("subscribers") or []
    if not isinstance(tree, list):
        raise ConfigError("expected a list of subscribers (each with an email)", path=path, line=1)
    return tree


def parse(tree: Any, path: Path) -> list[Subscriber]:
    """Validate the list: every problem is a ConfigError naming the file, the line and the field.

    Lines are looked up only for a message: a list of 50,000 read on the plain path has none to look up, and a
    send reads it whole."""
    seq = _entries(tree, path)
    out: list[Subscriber] = []
    seen: dict[str, int] = {}  # each address in lower case: the index of its entry
    for i, node in enumerate(seq):
        if isinstance(node, str):
            node = {"email": node}  # a bare address on its own line
        elif not isinstance(node, dict):
            line = yaml_line(seq, how="item", key=i)
            raise ConfigError(
                "expected an address or a mapping with an email", path=path, line=line, key=f"subscribers[{i}]"
            )
        for key in node:
            if key not in _FIELDS:
                raise _error(seq, i, path, key, f"unknown field {key!r}; expected one of: {', '.join(_FIELDS)}")
        raw = node.get("email")
        if not isinstance(raw, str) or not raw.strip():
            raise _error(seq, i, path, "email", "missing; every subscriber needs an email", own_line=True)
        try:
            email = _normal(raw)
        except EmailNotValidError as exc:
            raise _error(seq, i, path, "email", f"{raw!r} is not a valid address: {exc}") from None
        lowered = email.lower()
        first = seen.setdefault(lowered, i)
        if first != i:
            earlier, here = _line_of(seq, first, "email"), _line_of(seq, i, "email")
            raise _error(seq, i, path, "email", f"{email!r} is listed twice: at lines {earlier} and {here}")
        name = node.get("name")
        if name is not None:
            if not isinstance(name, str):
                raise _error(seq, i, path, "name", f"{name!r} is not valid; expected text")
            try:
                check_name(name)
            except ValueError as exc:
                raise _error(seq, i, path, "name", f"{name!r} is not valid; {exc}") from None
        given = node.get("preferences")
        if given is None:
            out.append(Subscriber(email, name or None))
        else:
            at = _line_of(seq, i, "preferences")
            prefs = subscriber_prefs.read(given, path, f"subscribers[{i}].preferences", at)
            out.append(Subscriber(email=email, name=name or None, **prefs))
    return out


def _line_of(seq: Any, i: int, key: str) -> int | None:
    """The file line of a key in the list's i-th entry (the entry's own line for a bare address or a key it lacks)."""
    line = yaml_line(seq, how="item", key=i)
    node = seq[i]
    if not isinstance(node, dict) or key not in node:
        return line
    return yaml_line(node, how="value", key=key) or line


def _error(seq: Any, i: int, path: Path, field: str, message: str, *, own_line: bool = False) -> ConfigError:
    line = yaml_line(seq, how="item", key=i) if own_line else _line_of(seq, i, field)
    return ConfigError(message, path=path, line=line, key=f"subscribers[{i}].{field}")


class Editor:
    """Edits the list: replaces the file atomically, under the lock, and never if it changed since it was read."""

    def __init__(self, loaded: SubscriberFile) -> None:
        self.loaded = loaded

    def _commit(self, mutate: Callable[[CommentedSeq], None]) -> SubscriberFile:
        path = self.loaded.path
        replace_if_unchanged(path, self.loaded.data, self._edited(mutate), SubscriberError)
        self.loaded = load(path)
        return self.loaded

    def _edited(self, mutate: Callable[[CommentedSeq], None]) -> bytes:
        """The list as read, with the edit made: parsed round-trip, changed, dumped and checked to read back."""
        tree = self.loaded.tree
        if tree is None:
            tree = CommentedMap()
            tree["subscribers"] = CommentedSeq()
        seq = tree["subscribers"] if isinstance(tree, CommentedMap) else tree
        if seq is None:
            seq = tree["subscribers"] = CommentedSeq()
        mutate(seq)
        data = dump(tree)
        parse(load_tree(data, self.loaded.path), self.loaded.path)  # never write a list we could not read back
        return data

    def add(self, email: str, name: str | None = None) -> SubscriberFile:
        address = normalise_email(email)
        name = normalise_name(name)
        if self.loaded.find(address):
            raise NoSuchChange(f"{address} is already subscribed")

        def mutate(seq: CommentedSeq) -> None:
            entry = CommentedMap(email=address)
            if name:
                entry["name"] = name
            seq.append(entry)

        return self._commit(mutate)

    def add_many(self, rows: list[tuple[str, str | None]]) -> SubscriberFile:
        def mutate(seq: CommentedSeq) -> None:
            for email, name in rows:
                entry = CommentedMap(email=email)
                if name:
                    entry["name"] = name
                seq.append(entry)

        return self._commit(mutate)

    def remove(self, email: str) -> SubscriberFile:
        lowered = email.strip().lower()
        if not self.loaded.find(lowered):
            raise NoSuchChange(f"{email} is not on the list")

        def mutate(seq: CommentedSeq) -> None:
            for i, node in enumerate(seq):
                value = node if isinstance(node, str) else node.get("email", "")
                if str(value).strip().lower() == lowered:
                    del seq[i]
                    return

        return self._commit(mutate)

    def set_preferences(self, sub: Subscriber) -> SubscriberFile:
        """Write a subscriber's choices into their entry (a bare address becomes a mapping)."""
        lowered = sub.email.lower()
        if not self.loaded.find(lowered):
            raise NoSuchChange(f"{sub.email} is not on the list")

        def mutate(seq: CommentedSeq) -> None:
            for i, node in enumerate(seq):
                value = node if isinstance(node, str) else node.get("email", "")
                if str(value).strip().lower() == lowered:
                    if isinstance(node, str):
                        node = seq[i] = CommentedMap(email=node)
                    subscriber_prefs.write(node, sub)
                    return

        return self._commit(mutate)


@dataclass(frozen=True)
class ImportReport:
    good: list[tuple[str, str | None]]
    bad: list[tuple[int, str]]  # (row number, 'field: reason')
    duplicates: list[str]


def csv_text(data: bytes, name: str) -> str:
    """A CSV file's bytes as text: UTF-8 (a spreadsheet's byte-order mark dropped), or an InputError saying how to
    save it (Excel's plain "CSV" is Windows-1252, and guessing an encoding would put wrong names on the list)."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(f"{name}: not UTF-8 text (save it as CSV UTF-8)") from None


def read_csv(text: str, existing: SubscriberFile) -> ImportReport:
    """Read `email[,name]` rows (a header row is optional). Every bad row is reported with its number."""
    good: list[tuple[str, str | None]] = []
    bad: list[tuple[int, str]] = []
    dups: list[str] = []
    seen: set[str] = set()
    for n, row in enumerate(csv.reader(io.StringIO(text)), start=1):
        if not row or not any(cell.strip() for cell in row):
            continue
        if n == 1 and row[0].strip().lower() in ("email", "e-mail", "address"):
            continue
        raw = row[0].strip()
        try:
            email = _normal(raw)
        except EmailNotValidError as exc:
            bad.append((n, f"email: {raw!r}: {exc}"))
            continue
        try:
            name = normalise_name(row[1] if len(row) > 1 else None)
        except InputError as exc:
            bad.append((n, f"name: {row[1]!r}: {exc}"))
            continue
        if email.lower() in seen or existing.find(email):
            dups.append(email)
            continue
        seen.add(email.lower())
        good.append((email, name))
    return ImportReport(good=good, bad=bad, duplicates=dups)


def to_csv(subscribers: list[Subscriber], status: dict[str, str]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["email", "name", "status"])
    for s in subscribers:
        w.writerow([s.email, s.name or "", status.get(s.email.lower(), "active")])
    return buf.getvalue()

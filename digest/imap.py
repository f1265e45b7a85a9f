"""The bounce mailbox over IMAP (stdlib imaplib): every message in the folder is read without marking it seen,
handed to the bounce policy, and then MOVED to the processed folder (MOVE, or COPY then delete that one message
on a server without it). A message is never deleted unless its copy in the processed folder exists, and one
whose processing failed stays where it is for the next poll.
"""

from __future__ import annotations

import imaplib
import re
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field

from .config import ImapSettings
from .errors import DigestError


class ImapError(DigestError):
    """The bounce mailbox could not be read (.host): unreachable, login refused, no such folder."""

    def __init__(self, message: str, *, host: str) -> None:
        self.host = host
        super().__init__(f"IMAP {host}: {message}")


@dataclass
class PollReport:
    processed: list[str] = field(default_factory=list)  # one line per message, as `bounces process` prints
    failed: list[str] = field(default_factory=list)  # messages left in the folder, and why


def poll_mailbox(settings: ImapSettings, handle: Callable[[bytes], str]) -> PollReport:
    """Process every message in the folder with `handle` (which returns a line saying what it did), moving each
    one done to the processed folder."""
    report = PollReport()
    conn = _connect(settings)
    try:
        _login(conn, settings)
        _check(conn, conn.create(_quote(settings.processed_folder)), settings, ok_if_exists=True)
        typ, data = conn.select(_quote(settings.folder))
        if typ != "OK":
            raise ImapError(f"cannot open folder {settings.folder!r}: {_text(data)}", host=settings.host)
        capabilities = _capabilities(conn)
        typ, data = conn.uid("SEARCH", "ALL")
        uids = [u.decode() for u in data[0].split()] if typ == "OK" and data and data[0] else []
        for uid in uids:
            raw = _fetch(conn, uid)
            if raw is None:
                report.failed.append(f"message {uid}: could not be fetched")
                continue
            try:
                line = handle(raw)
            except DigestError as exc:
                report.failed.append(f"message {uid}: {exc}")
                continue
            _move(conn, uid, settings, capabilities)
            report.processed.append(line)
    except (imaplib.IMAP4.error, OSError) as exc:
        raise ImapError(str(exc) or type(exc).__name__, host=settings.host) from exc
    finally:
        try:
            conn.logout()
        except (imaplib.IMAP4.error, OSError):
            pass
    return report


def _connect(s: ImapSettings) -> imaplib.IMAP4:
    try:
        if s.tls == "tls":
            return imaplib.IMAP4_SSL(s.host, s.port, ssl_context=ssl.create_default_context(), timeout=s.timeout)
        conn = imaplib.IMAP4(s.host, s.port, timeout=s.timeout)
        if s.tls == "starttls":
            conn.starttls(ssl_context=ssl.create_default_context())
        return conn
    except (imaplib.IMAP4.error, OSError) as exc:
        raise ImapError(f"cannot connect to port {s.port}: {exc or type(exc).__name__}", host=s.host) from exc


def _login(conn: imaplib.IMAP4, s: ImapSettings) -> None:
    password = s.password
    if not password:
        raise ImapError(f"user {s.username} is set but ${s.password_env} is empty", host=s.host)
    try:
        conn.login(s.username, password)
    except imaplib.IMAP4.error as exc:
        raise ImapError(f"login refused for {s.username}: {exc}", host=s.host) from exc


def _capabilities(conn: imaplib.IMAP4) -> set[str]:
    """The capabilities after login (servers announce MOVE and UIDPLUS only then)."""
    typ, data = conn.capability()
    return set(_text(data).upper().split()) if typ == "OK" else set()


def _fetch(conn: imaplib.IMAP4, uid: str) -> bytes | None:
    typ, data = conn.uid("FETCH", uid, "(BODY.PEEK[])")  # PEEK: an unprocessed message stays unread
    if typ != "OK":
        return None
    for item in data:
        if isinstance(item, tuple) and len(item) == 2 and isinstance(item[1], bytes):
            return item[1]
    return None


def _move(conn: imaplib.IMAP4, uid: str, s: ImapSettings, capabilities: set[str]) -> None:
    target = _quote(s.processed_folder)
    if "MOVE" in capabilities:
        _check(conn, conn.uid("MOVE", uid, target), s)
        return
    _check(conn, conn.uid("COPY", uid, target), s)  # only once the copy exists is the original deleted
    _check(conn, conn.uid("STORE", uid, "+FLAGS.SILENT", r"(\Deleted)"), s)
    if "UIDPLUS" in capabilities:
        _check(conn, conn.uid("EXPUNGE", uid), s)
    else:
        _check(conn, conn.expunge(), s)


def _check(
    conn: imaplib.IMAP4, result: tuple[str, list[object]], s: ImapSettings, *, ok_if_exists: bool = False
) -> None:
    typ, data = result
    if typ == "OK" or (ok_if_exists and re.search(r"ALREADYEXISTS|already exists", _text(data), re.I)):
        return
    raise ImapError(_text(data) or typ, host=s.host)


def _quote(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _text(data: object) -> str:
    items = data if isinstance(data, list) else [data]
    return " ".join(i.decode(errors="replace") if isinstance(i, bytes) else str(i) for i in items if i is not None)

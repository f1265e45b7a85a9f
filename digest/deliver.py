"""Delivery: the `Sender` protocol and its implementations, SMTP and a file outbox, and `make_sender`, which
picks one from the settings. Senders hand over one message each and know nothing of the ledger (`ledger` does).

A sender reports how a message went by its reply or a DeliveryError: `permanent` for a 5xx (the row fails),
`transport` when nothing can get through (the run stops), otherwise temporary. Whoever makes a sender closes it.

A sender also calls `on_accepted` the moment the server takes a message (its 250 after DATA), before it says
anything more on that connection, and its connections take turns from the end of DATA to the end of that call:
so a ledger that records the message there leaves at most one accepted message unrecorded, whenever it dies.
"""

from __future__ import annotations

import contextlib
import os
import re
import smtplib
import socket
import ssl
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from .config import Settings, SmtpSettings
from .errors import DeliveryError
from .models import Message

Attempt = Callable[[], None]
Accepted = Callable[[str], None]


class Sender(Protocol):
    """Hands one message to the mail system. Thread-safe. Returns the server's reply; raises DeliveryError.
    `on_attempt` is called before each try, retries included (the ledger counts them); `on_accepted` with the
    reply as soon as the message is accepted, one call at a time across threads (the ledger records it there)."""

    def send(
        self, message: Message, *, on_attempt: Attempt | None = None, on_accepted: Accepted | None = None
    ) -> str: ...

    def release(self) -> None:
        """Let go of what the calling thread holds (its connection): a sending thread calls this as it ends."""
        ...

    def close(self) -> None:
        """Let go of everything; only whoever made the sender calls this."""
        ...


class OutboxSender:
    """Writes each message as an .eml file (the default when no SMTP server is configured)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._turn = threading.Lock()  # one message accepted (renamed into place) and recorded at a time

    def path_for(self, message: Message) -> Path:
        run = re.sub(r"[^A-Za-z0-9.@_-]+", "_", message.message_id.strip("<>").split("@")[0].split(".")[0])
        name = re.sub(r"[^A-Za-z0-9.@_+-]+", "_", message.to.lower())
        return self.folder / run / f"{name}.eml"

    def send(self, message: Message, *, on_attempt: Attempt | None = None, on_accepted: Accepted | None = None) -> str:
        if on_attempt is not None:
            on_attempt()
        target = self.path_for(message)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=target.parent, suffix=".tmp")
        except OSError as exc:  # the folder cannot be made or written: no message can be, so the run stops here
            raise DeliveryError(f"cannot write to {target.parent}: {exc.strerror or exc}", transport=True) from exc
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(message.data)
                fh.flush()
                os.fsync(fh.fileno())
            with self._turn:
                os.replace(tmp, target)
                reply = f"250 written to {target}"
                if on_accepted is not None:
                    on_accepted(reply)
        except OSError as exc:
            Path(tmp).unlink(missing_ok=True)
            raise DeliveryError(f"cannot write {target}: {exc}") from exc
        return reply

    def release(self) -> None:
        pass

    def close(self) -> None:
        pass


class RateLimiter:
    """At most `rate` acquisitions a second across all threads."""

    def __init__(self, rate: float) -> None:
        self.interval = 1.0 / rate if rate > 0 else 0.0
        self._next = time.monotonic()
        self._lock = threading.Lock()

    def wait(self) -> None:
        if not self.interval:
            return
        with self._lock:
            now = time.monotonic()
            slot = max(self._next, now)
            self._next = slot + self.interval
        if slot > now:
            time.sleep(slot - now)


_PLAIN_ADDRESS = re.compile(r"[!-;=?-~]+@[!-;=?-~]+")  # printable ASCII, no "<", ">" or space


def _envelope(conn: smtplib.SMTP, verb: str, keyword: str, address: str) -> tuple[int, bytes]:
    """MAIL FROM / RCPT TO. An address already validated (plain ASCII) goes as it is: smtplib's mail() and
    rcpt() parse it again with email.utils, a tenth of a message's sending time. Any other is theirs to quote."""
    if _PLAIN_ADDRESS.fullmatch(address) is None:
        return conn.mail(address) if verb == "mail" else conn.rcpt(address)
    conn.putcmd(verb, f"{keyword}:<{address}>")
    return conn.getreply()


def _dot_quoted(data: bytes) -> bytes:
    """A line that starts with a dot gets a second one (RFC 5321 4.5.2), as smtplib's data() does with a regular
    expression ("^\\." in multi-line mode): the same bytes, without scanning every line when none does."""
    if b"\n." in data:
        data = data.replace(b"\n.", b"\n..")
    return b"." + data if data.startswith(b".") else data


_UNKNOWN_USER = re.compile(r"\b5\.1\.1\b|user unknown|no such user|mailbox unavailable|does not exist", re.I)


class SmtpSender:
    """SMTP with one reused connection per sending thread, a shared rate limit, and retries with backoff on
    4xx replies and dropped connections. A 5xx reply is final; 5.1.1 marks the address unknown."""

    def __init__(self, settings: SmtpSettings, *, backoff: float = 1.0) -> None:
        self.settings = settings
        self.backoff = backoff
        self.limiter = RateLimiter(settings.rate)
        self._local = threading.local()
        self._all: list[smtplib.SMTP] = []
        self._lock = threading.Lock()
        self._context: ssl.SSLContext | None = None
        self._turn = threading.Lock()  # held from DATA's final dot until the acceptance is recorded (see above)

    def _tls_context(self) -> ssl.SSLContext:
        """Made once for the sender's connections: loading the CA certificates took 20-30 ms a connection."""
        with self._lock:
            if self._context is None:
                ca_file = self.settings.ca_file
                self._context = ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
            return self._context

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        context = self._tls_context() if s.tls in ("tls", "starttls") else None
        conn: smtplib.SMTP
        if s.tls == "tls":
            conn = smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout, context=context)
        else:
            conn = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
        try:
            if conn.sock is not None:  # connected by the constructor; NODELAY: the lone final dot goes at once
                conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            conn.ehlo()
            if s.tls == "starttls":
                conn.starttls(context=context)
                conn.ehlo()
            if s.username:
                self._login(conn)
        except BaseException:
            conn.close()  # a half-open connection is never kept, nor leaked
            raise
        with self._lock:
            self._all.append(conn)
        return conn

    def _login(self, conn: smtplib.SMTP) -> None:
        s = self.settings
        password = s.password
        if password is None or s.username is None:
            raise DeliveryError(
                f"SMTP user {s.username} is set but ${s.password_env} is empty", permanent=True, transport=True
            )
        # One mechanism, once: login() would try each in turn after a refusal.
        conn.user, conn.password = s.username, password
        offered = conn.esmtp_features.get("auth", "").upper().split()
        if "PLAIN" in offered or "LOGIN" not in offered:
            conn.auth("PLAIN", conn.auth_plain)
        else:
            conn.auth("LOGIN", conn.auth_login)

    def _conn(self) -> smtplib.SMTP:
        conn: smtplib.SMTP | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = self._connect()
        return conn

    def _drop(self) -> None:
        conn = getattr(self._local, "conn", None)
        self._local.conn = None
        if conn is not None:
            with contextlib.suppress(OSError):
                conn.close()

    def send(self, message: Message, *, on_attempt: Attempt | None = None, on_accepted: Accepted | None = None) -> str:
        last = ""
        connected = False
        for attempt in range(self.settings.retries + 1):
            if attempt:
                time.sleep(self.backoff * 2 ** (attempt - 1))
            self.limiter.wait()
            if on_attempt is not None:
                on_attempt()
            try:
                conn = self._connection()
            except DeliveryError as exc:
                if exc.permanent or exc.login:  # a refused login is not tried again here: the run stops
                    raise
                last = exc.reply
                continue
            connected = True
            try:
                return self._transaction(conn, message, on_accepted)
            except DeliveryError as exc:
                if exc.permanent:
                    raise
                last = exc.reply
            except (smtplib.SMTPServerDisconnected, OSError) as exc:
                self._drop()
                last = f"connection lost: {exc or type(exc).__name__}"
            except smtplib.SMTPException as exc:
                self._drop()
                last = f"{type(exc).__name__}: {exc}"
        tries = f"{self.settings.retries + 1} attempt{'s' if self.settings.retries else ''}"
        if not connected:
            raise DeliveryError(f"SMTP server unreachable ({tries}): {last}", reply=last, transport=True)
        raise DeliveryError(f"gave up after {tries}: {last}", reply=last)

    def _connection(self) -> smtplib.SMTP:
        """This thread's connection, opened if need be. Failing to open one is a transport error; a refused
        certificate or login is one that retrying cannot mend."""
        try:
            return self._conn()
        except ssl.SSLCertVerificationError as exc:
            raise DeliveryError(
                f"the SMTP server's certificate is not trusted: {exc}", reply=str(exc), permanent=True, transport=True
            ) from exc
        except smtplib.SMTPAuthenticationError as exc:
            detail = exc.smtp_error
            reply = f"{exc.smtp_code} {detail.decode(errors='replace') if isinstance(detail, bytes) else detail}"
            # 535 and the like: the credentials are wrong, and trying again only gets the account locked; a 454
            # ("temporary authentication failure") is the server's passing trouble
            final = exc.smtp_code >= 500
            raise DeliveryError(
                f"SMTP login refused: {reply}", reply=reply, permanent=final, transport=True, login=True
            ) from exc
        except (smtplib.SMTPException, OSError) as exc:
            self._drop()
            reply = f"cannot connect to {self.settings.host}:{self.settings.port}: {exc or type(exc).__name__}"
            raise DeliveryError(reply, reply=reply, transport=True) from exc

    def _transaction(self, conn: smtplib.SMTP, message: Message, on_accepted: Accepted | None) -> str:
        def check(code: int, resp: bytes | str, ok: tuple[int, ...]) -> None:
            if code in ok:
                return
            text = resp.decode(errors="replace") if isinstance(resp, bytes) else resp
            reply = f"{code} {text}"
            try:
                conn.rset()
            except smtplib.SMTPException:
                self._drop()
            if 500 <= code < 600:
                raise DeliveryError(reply, reply=reply, permanent=True, unknown_user=bool(_UNKNOWN_USER.search(reply)))
            raise DeliveryError(reply, reply=reply)

        check(*_envelope(conn, "mail", "FROM", message.sender), ok=(250,))
        check(*_envelope(conn, "rcpt", "TO", message.to), ok=(250, 251))
        check(*conn.docmd("data"), ok=(354,))
        body = _dot_quoted(message.data)
        conn.send(body if body.endswith(b"\r\n") else body + b"\r\n")  # all but the dot, where the server takes it
        with self._turn:
            conn.send(b".\r\n")
            code, resp = conn.getreply()
            reply = f"{code} {resp.decode(errors='replace')}"
            if code == 250 and on_accepted is not None:
                try:
                    on_accepted(reply)
                except Exception as exc:  # accepted, and not recorded: never tried again (a copy each time)
                    raise DeliveryError(
                        f"the server accepted the message ({reply}) but recording it failed: {exc}",
                        reply=reply,
                        permanent=True,
                        transport=True,
                    ) from exc
        check(code, resp, ok=(250,))
        return reply

    def release(self) -> None:
        conn: smtplib.SMTP | None = getattr(self._local, "conn", None)
        self._local.conn = None
        if conn is None:
            return
        with self._lock:
            if conn in self._all:
                self._all.remove(conn)
        _quit(conn)

    def close(self) -> None:
        with self._lock:
            conns, self._all = self._all, []
            self._local = threading.local()
        for conn in conns:
            _quit(conn)


def _quit(conn: smtplib.SMTP) -> None:
    """QUIT politely; a connection that cannot is closed all the same."""
    try:
        conn.quit()
    except (smtplib.SMTPException, OSError):
        conn.close()


def make_sender(settings: Settings) -> Sender:
    """The sender the settings ask for: SMTP when a server is configured, else the outbox folder; signing each
    message with DKIM when the settings have a `dkim` section."""
    sender: Sender = SmtpSender(settings.smtp) if settings.smtp is not None else OutboxSender(settings.outbox_dir)
    if settings.dkim is not None:
        from .signing import DkimSigner, SignedSender  # lazily: the DKIM library loads only when it signs

        sender = SignedSender(sender, DkimSigner(settings.dkim))
    return sender

"""The TLS context the fetcher checks servers' certificates with: the one httpx makes by default (its
create_ssl_context: $SSL_CERT_FILE when set, else $SSL_CERT_DIR, else certifi's bundle; tests/test_poll.py holds the
two equal), built once a process and shared by every fetcher.

Reading the bundle takes 20-50 ms, and OpenSSL releases the GIL while it does. A command that will fetch calls
`prepare()` first thing, and the bundle is read on a thread while the command reads its settings and opens the
store, instead of after them. `context()` waits for it (or builds it, when nothing called `prepare()`). Only a
context is kept: when the certificates cannot be read (a wrong $SSL_CERT_FILE, a bundle caught mid-rewrite) it
raises a new TlsError saying which, and the next call reads them again, so a long-running service recovers once
they are put right.
"""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import ssl

_lock = threading.Lock()
_thread: threading.Thread | None = None
_built: list[ssl.SSLContext | BaseException] = []


class TlsError(Exception):
    """The certificates to check servers with could not be read."""


def prepare() -> None:
    """Start building the context on a thread, once a process (again after a failure)."""
    global _thread
    with _lock:
        if _thread is None:
            _built.clear()  # a failure kept for whoever was waiting on the last try is forgotten now
            # Not a daemon: a command done before the bundle is read waits for it at exit, as a daemon thread still
            # inside OpenSSL while the interpreter shuts down can crash it (seen: SIGSEGV).
            _thread = threading.Thread(target=_build, name="tls-context")
            _thread.start()


def context() -> ssl.SSLContext:
    """The context, once built; a TlsError, and another try next time, when it cannot be."""
    global _thread
    prepare()
    with _lock:
        thread = _thread
    assert thread is not None
    thread.join()
    with _lock:
        built = _built[0] if _built else TlsError("the certificates are not read yet (another try is under way)")
        if isinstance(built, BaseException) and _thread is thread:
            _thread = None  # the next call reads them again; whoever else waited on this try sees its failure
    if isinstance(built, TlsError):
        raise TlsError(str(built))  # a new one each time: raising the same object would grow its traceback
    if isinstance(built, BaseException):
        raise built
    return built


def _forget() -> None:
    """In a forked child the thread is not running: start again there."""
    global _thread, _lock
    _lock = threading.Lock()
    _thread = None
    _built.clear()


os.register_at_fork(after_in_child=_forget)


def _build() -> None:
    # Only ssl and certifi on this thread: importing httpx here as well fought the command's own imports for the
    # GIL and the start-up gained nothing; without it a poll starts about 40 ms sooner.
    variable = next((v for v in ("SSL_CERT_FILE", "SSL_CERT_DIR") if os.environ.get(v)), None)
    where = f"${variable} ({os.environ[variable]})" if variable else "certifi's bundle"
    try:
        import ssl

        import certifi

        if variable == "SSL_CERT_FILE":
            _built.append(ssl.create_default_context(cafile=os.environ[variable]))
        elif variable == "SSL_CERT_DIR":
            _built.append(ssl.create_default_context(capath=os.environ[variable]))
        else:
            _built.append(ssl.create_default_context(cafile=certifi.where()))
    except OSError as exc:  # ssl.SSLError is one too
        _built.append(TlsError(f"cannot read the certificates to check servers with, {where}: {exc}"))
    except BaseException as exc:  # handed to whoever asks for the context, as it would have been raised there
        _built.append(exc)

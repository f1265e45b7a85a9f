"""The one error root and its family.

DigestError
 ├── ConfigError          a settings or subscribers file is wrong (.path, .line, .key)
 ├── InputError           a value given on the command line or in a form is not valid
 ├── FetchError           a URL could not be fetched (.url, .kind)
 │    └── UnsafeURLError  a URL points somewhere we refuse to go
 ├── FeedError            bytes that are not a usable feed (.url)
 ├── ExtractError         a page or PDF gave no usable text (.url)
 ├── StoreError           the database refused an operation
 │    └── LockedError     another process holds the send lock (.owner)
 ├── DeliveryError        a message could not be handed over (.reply, .permanent)
 └── SubscriberError      a subscriber list edit was refused

Only the CLI and web edges turn these into exit codes and pages.
"""

from __future__ import annotations

from pathlib import Path

from .models import FetchErrorKind


def _rebuild(cls: type[DigestError], args: tuple[object, ...], state: dict[str, object]) -> DigestError:
    exc = cls.__new__(cls)
    exc.args = args
    exc.__dict__.update(state)
    return exc


class DigestError(Exception):
    """Root of every error this package raises on purpose."""

    def __reduce__(self) -> tuple[object, ...]:
        # The default re-calls __init__ with `args`, which fails for keyword-only context (FeedError's url):
        # the unpickling error then breaks the whole process pool. Restore the attributes instead.
        return (_rebuild, (type(self), self.args, self.__dict__))


class ConfigError(DigestError):
    """A settings or subscribers file is wrong; the message names the file, line, key and value."""

    def __init__(
        self, message: str, *, path: Path | str | None = None, line: int | None = None, key: str | None = None
    ) -> None:
        self.path = Path(path) if path is not None else None
        self.line = line
        self.key = key
        self.detail = message
        where = ""
        if self.path is not None:
            where = f"{self.path}:{line}: " if line else f"{self.path}: "
        prefix = f"{key}: " if key else ""
        super().__init__(f"{where}{prefix}{message}")


class InputError(DigestError):
    """A value given on the command line or in a form is not valid (an email address, say)."""


class FetchError(DigestError):
    """A URL could not be fetched. `kind` is a short machine word: timeout, connect, dns, http, too-large, …"""

    def __init__(
        self,
        message: str,
        *,
        url: str,
        kind: FetchErrorKind,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.url = url
        self.kind = kind
        self.status = status
        self.retry_after = retry_after  # seconds the server asked us to wait (429/503 Retry-After)
        self.reason = message
        super().__init__(f"{url}: {message}")


class UnsafeURLError(FetchError):
    """A URL (or a redirect) points at a scheme or address we refuse: loopback, private, link-local, metadata."""


class FeedError(DigestError):
    """The body is not a usable feed."""

    def __init__(self, message: str, *, url: str) -> None:
        self.url = url
        super().__init__(f"{url}: {message}")


class ExtractError(DigestError):
    """A page or PDF gave no usable text."""

    def __init__(self, message: str, *, url: str) -> None:
        self.url = url
        super().__init__(f"{url}: {message}")


class StoreError(DigestError):
    """The database refused an operation."""


class LockedError(StoreError):
    """Another process holds the lock."""

    def __init__(self, name: str, owner: str) -> None:
        self.name = name
        self.owner = owner
        super().__init__(f"lock {name!r} is held by {owner}")


class DeliveryError(DigestError):
    """A message could not be handed to the mail server. `permanent` is true for 5xx replies; `transport` when
    no message can get through at all (server unreachable, certificate or login refused): the run stops and the
    rest stay pending, rather than every recipient failing in turn."""

    def __init__(
        self,
        message: str,
        *,
        reply: str = "",
        permanent: bool = False,
        unknown_user: bool = False,
        transport: bool = False,
        login: bool = False,
    ) -> None:
        self.reply = reply
        self.permanent = permanent
        self.unknown_user = unknown_user
        self.transport = transport
        self.login = login  # the server refused the login: never tried again within a send (lockouts)
        super().__init__(message)


class SubscriberError(DigestError):
    """A subscriber list edit was refused."""


class NoSuchChange(SubscriberError, InputError):
    """A list edit refused for what it was asked (an address already on the list, or not on it): bad input, so
    the command line exits 2, where a list it could not edit (locked, changed meanwhile) exits 1."""


class WorkerError(DigestError):
    """A worker process died running a task, or raised an exception that could not be sent back."""

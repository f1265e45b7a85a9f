"""The key that signs links in emails (unsubscribe, confirm) and the admin session cookie.

A link in an email must keep working for as long as the email is kept, so the key must not change. It comes
from $DIGEST_SECRET when that is set (checked: long, and not a placeholder), and otherwise from a file beside
the database, made once with a random key (mode 0600) and read ever after. When $DIGEST_SECRET is set and such a
file exists, links signed with the file's key are still accepted: setting the variable later breaks nothing.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

from .errors import ConfigError

log = logging.getLogger("digest")
MIN_LENGTH = 32
_PLACEHOLDER = re.compile(r"change.?me|replace.?me|your.?secret|placeholder|example|^(secret|password|x+)$", re.I)


@dataclass(frozen=True)
class Keys:
    """`current` signs; links signed with any of `accepted` (oldest first, `current` last) are valid."""

    current: str
    accepted: tuple[str, ...]


def check(value: str, variable: str) -> str:
    """The secret as given in the environment, or a ConfigError that says what is wrong and how to make one."""
    how = f"set {variable} to a random value of at least {MIN_LENGTH} characters, e.g. `openssl rand -hex 32`"
    how += ", or leave it unset to have one made and kept beside the database"
    if len(value) < MIN_LENGTH:
        raise ConfigError(
            f"${variable} is too short to sign links ({len(value)} of at least {MIN_LENGTH} characters): {how}"
        )
    if _PLACEHOLDER.search(value) or len(set(value)) < 8:
        raise ConfigError(f"${variable} looks like a placeholder, not a secret: {how}")
    return value


def kept(path: Path) -> str:
    """The key in `path`, made there first (random, 0600) if there is none. Two processes starting at once agree:
    the file appears whole or not at all (written aside, then linked into place), and the second reads the first's."""
    try:
        return _read(path)
    except FileNotFoundError:
        pass
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)  # a fresh install's data folder, as the database makes it
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as f:
            f.write(secrets.token_hex(32) + "\n")
            f.flush()
            os.fsync(f.fileno())
        try:
            os.link(tmp, path)
            log.info("made a new link-signing key in %s: keep it (and back it up) with the database", path)
        except FileExistsError:
            pass  # another process made it first: use that one
    except OSError as exc:
        raise ConfigError(
            f"cannot keep the link-signing key here ({exc.strerror}); make the folder writable, or set $DIGEST_SECRET",
            path=path,
        ) from None
    finally:
        tmp.unlink(missing_ok=True)
    return _read(path)


def _read(path: Path) -> str:
    try:
        value = path.read_text(encoding="ascii", errors="replace").strip()
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise ConfigError(f"cannot read the link-signing key: {exc.strerror}", path=path) from None
    if len(value) < MIN_LENGTH:
        raise ConfigError(
            f"holds no usable key ({len(value)} characters); restore it from a backup, or delete it to have a new "
            "one made (links in emails already sent then stop working)",
            path=path,
        )
    return value


def keys(env_value: str | None, variable: str, path: Path) -> Keys:
    """The signing keys: $variable's (checked) with the kept file's still accepted, else the kept file's."""
    if env_value:
        current = check(env_value, variable)
        try:
            old = _read(path)
        except (FileNotFoundError, ConfigError):  # none was ever made, or it is unusable: nothing signed with it
            return Keys(current, (current,))
        return Keys(current, (old, current) if old != current else (current,))
    current = kept(path)
    return Keys(current, (current,))

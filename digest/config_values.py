"""The values in the settings file that a type and a range cannot check, each parsed with its own message:
URLs, addresses, header-safe names, networks, the subject pattern, times of day, time zones and paths."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from datetime import date, time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .addresses import normal
from .names import check_name

# ---- values that need more than a type and a range: each is parsed by `PARSE` below, with its own message


class Url(str):
    """An http or https URL."""


class Address(str):
    """An email address, normalised."""


class Name(str):
    """A name safe in the From: and Subject: headers."""


class Network(str):
    """An IP address or network."""


class Subject(str):
    """A subject pattern using {list_name}, {date}, {counts} and {count}."""


class Time(time):
    """A time of day, written HH:MM."""


# Each parser raises ValueError(what was expected).


def _str(v: Any) -> str:
    if not isinstance(v, str) or not v.strip():
        raise ValueError("expected a non-empty string")
    return v.strip()


def _url(v: Any) -> Url:
    if isinstance(v, str):
        parts = urlsplit(v.strip())
        if parts.scheme in ("http", "https") and parts.netloc:
            return Url(v.strip())
    raise ValueError("expected an http or https URL")


def _time(v: Any) -> Time:
    # Only HH:MM: a number ("1200", "0930", "5") is no time of day, whatever it might have meant.
    if isinstance(v, str):
        m = re.fullmatch(r"([01]?\d|2[0-3]):([0-5]\d)", v.strip())
        if m:
            return Time(int(m[1]), int(m[2]))
    raise ValueError("expected HH:MM, 24-hour clock, such as 12:00")


def _zone(v: Any) -> ZoneInfo:
    try:
        return ZoneInfo(_str(v))
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise ValueError("expected an IANA timezone such as Europe/London") from None


def _email(v: Any) -> Address:
    try:
        return Address(normal(_str(v)))
    except ValueError as exc:  # email_validator's EmailNotValidError is one
        raise ValueError(f"expected an email address ({exc})") from None


def _network(v: Any) -> Network:
    try:
        ipaddress.ip_network(_str(v), strict=False)
    except ValueError:
        raise ValueError("expected an IP address or network, such as 10.0.0.0/8") from None
    return Network(str(v).strip())


def _subject(v: Any) -> Subject:
    s = _str(v)
    try:
        s.format(list_name="x", date=date(2026, 1, 1), counts="x", count=1)  # a trial run of the pattern
    except (KeyError, IndexError, ValueError) as exc:
        raise ValueError(
            f"expected a pattern using {{list_name}}, {{date:%a %-d %b}}, {{counts}}, {{count}} ({exc})"
        ) from None
    return Subject(s)


PARSE: dict[type, Callable[[Any], Any]] = {
    Url: _url,
    Address: _email,
    Name: lambda v: Name(check_name(_str(v))),  # it goes into the From: and Subject: headers
    Network: _network,
    Subject: _subject,
    Time: _time,
    ZoneInfo: _zone,
    Path: lambda v: Path(_str(v)),
}

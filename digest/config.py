"""Settings: one YAML file, validated once at the edge and passed down as a frozen `Settings`.

The file's shape is declared once, as msgspec Structs that mirror its sections (`_File` below); msgspec converts the
YAML tree into them and its error paths (`$.fetch.timeout`) are mapped back to messages that name the file, the
line, the key path, the bad value and what was expected.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import date, time
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec
from email_validator import EmailNotValidError, validate_email
from msgspec import Meta
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from . import secret
from .errors import ConfigError
from .models import Feed, SourceType
from .names import check_name
from .yamlmodel import Shape, convert, line, yaml_error

DEFAULT_SUBJECT = "{list_name}, {date:%a %-d %b}: {counts}"
_T = TypeVar("_T")

# ---- values that need more than a type and a range: each is parsed by `_PARSE` below, with its own message


class _Url(str):
    """An http or https URL."""


class _Address(str):
    """An email address, normalised."""


class _Name(str):
    """A name safe in the From: and Subject: headers."""


class _Network(str):
    """An IP address or network."""


class _Subject(str):
    """A subject pattern using {list_name}, {date}, {counts} and {count}."""


class _Time(time):
    """A time of day, written HH:MM."""


_Text = Annotated[str, Meta(min_length=1)]  # strings arrive stripped (see _plain)
_Hours = Annotated[float, Meta(ge=0, le=24 * 365 * 30)]
_Port = Annotated[int, Meta(ge=1, le=65535)]
_Seconds = Annotated[float, Meta(ge=1, le=600)]


class _Section(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """A mapping in the settings file: unknown keys are mistakes."""


class SmtpSettings(_Section, frozen=True):
    """delivery.smtp"""

    host: _Text
    port: _Port = 587
    tls: Literal["starttls", "tls", "none"] = "starttls"
    username: _Text | None = None
    password_env: _Text = "DIGEST_SMTP_PASSWORD"
    pool: Annotated[int, Meta(ge=1, le=20)] = 2
    rate: Annotated[float, Meta(ge=0.1, le=10_000)] = 20.0  # messages per second, all connections together
    timeout: _Seconds = 30.0
    retries: Annotated[int, Meta(ge=0, le=10)] = 3
    ca_file: Path | None = None  # trust this CA bundle (a relay with a private CA) instead of the system's

    @property
    def password(self) -> str | None:
        return os.environ.get(self.password_env)


class FetchSettings(_Section, frozen=True):
    """fetch"""

    user_agent: _Text = "ProbationDigest/0.1"
    timeout: _Seconds = 20.0  # between bytes (connect, read)
    deadline: Annotated[float, Meta(ge=1, le=3600)] = 60.0  # for a whole request, however slowly the bytes come
    max_bytes: Annotated[int, Meta(ge=10_000, le=1_000_000_000)] = 10_000_000
    concurrency: Annotated[int, Meta(ge=1, le=200)] = 20
    per_host: Annotated[int, Meta(ge=1, le=50)] = 4
    max_redirects: Annotated[int, Meta(ge=0, le=20)] = 5
    allow_private: tuple[str, ...] = ()  # hosts or networks that may be private (tests, an intranet mirror)
    mirror_dir: Path | None = None  # serve URLs from this folder instead of the network (offline demo)


class _Schedule(_Section, frozen=True):
    send_time: _Time = _Time(12, 0)
    timezone: ZoneInfo = msgspec.field(default_factory=lambda: ZoneInfo("Europe/London"))
    poll_interval: Annotated[int, Meta(ge=1, le=24 * 60)] = 30
    missed_cutoff: _Time = _Time(18, 0)
    send_empty: bool = False


class _Feed(_Section, frozen=True):
    name: _Text
    url: _Url
    type: SourceType | None = None
    kind: SourceType | None = None  # the old name of `type`, still read
    filter: bool = True
    backfill_hours: _Hours | None = None


class _Delivery(_Section, frozen=True):
    method: Literal["smtp", "outbox"] | None = None  # smtp when delivery.smtp is given, else outbox
    smtp: dict[str, Any] | None = None  # converted to SmtpSettings only when the method is smtp, as before
    outbox_dir: Path | None = None


class _EmailSection(_Section, frozen=True):
    subject: _Subject = _Subject(DEFAULT_SUBJECT)
    max_html_bytes: Annotated[int, Meta(ge=20_000, le=102_000)] = 90_000


class _Summaries(_Section, frozen=True):
    words: Annotated[int, Meta(ge=20, le=1000)] = 120
    report_words: Annotated[int, Meta(ge=50, le=2000)] = 300


class _Web(_Section, frozen=True):
    host: _Text = "127.0.0.1"
    port: _Port = 8080
    admin_password_env: _Text = "DIGEST_ADMIN_PASSWORD_HASH"
    trusted_proxies: tuple[_Network, ...] = ()  # peers whose X-Forwarded-For names the client


class _File(_Section, frozen=True):
    """The settings file, section by section, with every default."""

    list_name: _Name = _Name("Probation Digest")
    from_address: _Address = _Address("digest@localhost")
    reply_to: _Address | None = None
    contact: _Text = ""
    public_url: _Url = _Url("http://localhost:8080")
    database: Path = Path("digest.sqlite3")
    subscribers_file: Path = Path("subscribers.yml")
    templates_dir: Path | None = None
    outbox_dir: Path = Path("outbox")
    backfill_hours: _Hours = 24.0
    editors: tuple[_Address, ...] = ()
    feeds: tuple[_Feed, ...] = ()
    schedule: _Schedule = _Schedule()
    fetch: FetchSettings = FetchSettings()
    delivery: _Delivery = _Delivery()
    email: _EmailSection = _EmailSection()
    summaries: _Summaries = _Summaries()
    web: _Web = _Web()
    secret_env: _Text = "DIGEST_SECRET"


_D = _File()  # the defaults, as a file that sets nothing would give


@dataclass(frozen=True)
class Settings:
    """What the rest of the program reads: the file's sections flattened, paths resolved against its folder."""

    path: Path | None
    list_name: str = _D.list_name
    from_address: str = _D.from_address
    reply_to: str | None = None
    contact: str = _D.contact
    public_url: str = _D.public_url
    database: Path = _D.database
    subscribers_file: Path = _D.subscribers_file
    templates_dir: Path | None = None
    outbox_dir: Path = _D.outbox_dir
    send_time: time = _D.schedule.send_time
    timezone: ZoneInfo = _D.schedule.timezone
    poll_interval_minutes: int = _D.schedule.poll_interval
    missed_cutoff: time = _D.schedule.missed_cutoff
    send_empty: bool = _D.schedule.send_empty
    backfill_hours: float = _D.backfill_hours
    feeds: tuple[Feed, ...] = ()
    fetch: FetchSettings = _D.fetch
    smtp: SmtpSettings | None = None
    editors: tuple[str, ...] = ()
    subject: str = _D.email.subject
    summary_words: int = _D.summaries.words
    report_words: int = _D.summaries.report_words
    max_html_bytes: int = _D.email.max_html_bytes
    secret_env: str = _D.secret_env
    admin_password_env: str = _D.web.admin_password_env
    web_host: str = _D.web.host
    web_port: int = _D.web.port
    trusted_proxies: tuple[str, ...] = ()  # peers whose X-Forwarded-For names the client (IPs or networks)

    @property
    def secret_file(self) -> Path:
        """Where the link-signing key is kept when $DIGEST_SECRET is not set: beside the database."""
        return self.database.with_suffix(".secret")

    @cached_property
    def keys(self) -> secret.Keys:
        """The keys that sign links and the admin session (read, or made, on first use; ConfigError if unusable)."""
        return secret.keys(os.environ.get(self.secret_env), self.secret_env, self.secret_file)

    @property
    def domain(self) -> str:
        return self.from_address.rpartition("@")[2] or "localhost"


# ---- parsers for the values a type and a range cannot check; each raises ValueError(expected)


def _str(v: Any) -> str:
    if not isinstance(v, str) or not v.strip():
        raise ValueError("expected a non-empty string")
    return v.strip()


def _url(v: Any) -> _Url:
    if isinstance(v, str):
        parts = urlsplit(v.strip())
        if parts.scheme in ("http", "https") and parts.netloc:
            return _Url(v.strip())
    raise ValueError("expected an http or https URL")


def _time(v: Any) -> _Time:
    # YAML 1.1 reads 12:00 unquoted as a sexagesimal integer (720); accept it as minutes.
    if isinstance(v, int) and not isinstance(v, bool) and 0 <= v < 24 * 60:
        return _Time(v // 60, v % 60)
    if isinstance(v, str):
        m = re.fullmatch(r"([01]?\d|2[0-3]):([0-5]\d)", v.strip())
        if m:
            return _Time(int(m[1]), int(m[2]))
    raise ValueError("expected HH:MM, 24-hour clock")


def _zone(v: Any) -> ZoneInfo:
    try:
        return ZoneInfo(_str(v))
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise ValueError("expected an IANA timezone such as Europe/London") from None


def _email(v: Any) -> _Address:
    try:
        return _Address(validate_email(_str(v), check_deliverability=False).normalized)
    except (EmailNotValidError, ValueError) as exc:
        raise ValueError(f"expected an email address ({exc})") from None


def _network(v: Any) -> _Network:
    try:
        ipaddress.ip_network(_str(v), strict=False)
    except ValueError:
        raise ValueError("expected an IP address or network, such as 10.0.0.0/8") from None
    return _Network(str(v).strip())


def _subject(v: Any) -> _Subject:
    s = _str(v)
    try:
        s.format(list_name="x", date=date(2026, 1, 1), counts="x", count=1)  # a trial run of the pattern
    except (KeyError, IndexError, ValueError) as exc:
        raise ValueError(
            f"expected a pattern using {{list_name}}, {{date:%a %-d %b}}, {{counts}}, {{count}} ({exc})"
        ) from None
    return _Subject(s)


_PARSE: dict[type, Callable[[Any], Any]] = {
    _Url: _url,
    _Address: _email,
    _Name: lambda v: _Name(check_name(_str(v))),  # it goes into the From: and Subject: headers
    _Network: _network,
    _Subject: _subject,
    _Time: _time,
    ZoneInfo: _zone,
    Path: lambda v: Path(_str(v)),
}


_SHAPE = Shape(
    dec_hook=lambda kind, value: _PARSE[kind](value),
    may_be_empty=frozenset(
        {"schedule", "feeds", "fetch", "delivery", "delivery.smtp", "editors", "email", "summaries", "web"}
        | {"web.trusted_proxies"}
    ),
    nullable=frozenset({"delivery.smtp.username"}),
    empty_items=frozenset({"feeds"}),
    lists={
        "feeds": "expected a list of feeds",
        "editors": "expected a list of email addresses",
        "web.trusted_proxies": "expected a list of IP addresses",
        "fetch.allow_private": "{value} is not valid; expected a list of hosts or networks",
    },
    whole_lists=frozenset({"fetch.allow_private"}),
    missing="missing; every feed needs a name and a url",
)


def load_settings(path: Path | str, overrides: Mapping[str, Any] | None = None) -> Settings:
    """Read and validate a settings file. Relative paths in it are relative to the file's folder."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError("file not found (set --config or DIGEST_CONFIG)", path=path) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read: {exc}", path=path) from None
    yaml = YAML(typ="rt")
    try:
        root = yaml.load(text)
    except YAMLError as exc:
        raise yaml_error(exc, path) from None
    return settings_from_yaml(root, path, overrides)


def settings_from_yaml(root: Any, path: Path, overrides: Mapping[str, Any] | None = None) -> Settings:
    if root is None or root == {}:
        # An empty file is a mistake (a truncated copy, the wrong path), never a request for all the defaults.
        raise ConfigError(
            "no settings (the file is empty or only comments); expected keys such as list_name, from_address, "
            "feeds and delivery (see digest.example.yml)",
            path=path,
        )
    f = convert(root, _File, _SHAPE, root=root, path=path)

    def rel(p: Path) -> Path:
        return path.parent / p.expanduser()  # an absolute path stays as it is

    seen: dict[str, int] = {}
    for i, feed in enumerate(f.feeds):
        if feed.url in seen:
            raise ConfigError(
                f"{feed.url!r} is listed twice; first as feeds[{seen[feed.url]}]",
                path=path,
                line=line(root["feeds"][i], "url"),
                key=f"feeds[{i}].url",
            )
        seen[feed.url] = i

    smtp = None
    if (f.delivery.method or ("smtp" if f.delivery.smtp else "outbox")) == "smtp":
        if not f.delivery.smtp:
            raise _no_host(root, path)
        try:
            smtp = convert(root["delivery"]["smtp"], SmtpSettings, _SHAPE, root=root, path=path, at=".delivery.smtp")
        except ConfigError as exc:
            if exc.key != "delivery.smtp.host":
                raise
            raise _no_host(root, path) from None
        smtp = msgspec.structs.replace(smtp, ca_file=smtp.ca_file and rel(smtp.ca_file))

    settings = Settings(
        path=path,
        list_name=f.list_name,
        from_address=f.from_address,
        reply_to=f.reply_to,
        contact=f.contact,
        public_url=f.public_url.rstrip("/"),
        database=rel(f.database),
        subscribers_file=rel(f.subscribers_file),
        templates_dir=f.templates_dir and rel(f.templates_dir),
        outbox_dir=rel(f.delivery.outbox_dir or f.outbox_dir),
        send_time=f.schedule.send_time,
        timezone=f.schedule.timezone,
        poll_interval_minutes=f.schedule.poll_interval,
        missed_cutoff=f.schedule.missed_cutoff,
        send_empty=f.schedule.send_empty,
        backfill_hours=f.backfill_hours,
        feeds=tuple(
            Feed(
                name=feed.name,
                url=feed.url,
                source_type=feed.type or feed.kind,
                filter=feed.filter,
                backfill_hours=feed.backfill_hours,
            )
            for feed in f.feeds
        ),
        fetch=msgspec.structs.replace(f.fetch, mirror_dir=f.fetch.mirror_dir and rel(f.fetch.mirror_dir)),
        smtp=smtp,
        editors=f.editors,
        subject=f.email.subject,
        summary_words=f.summaries.words,
        report_words=f.summaries.report_words,
        max_html_bytes=f.email.max_html_bytes,
        secret_env=f.secret_env,
        admin_password_env=f.web.admin_password_env,
        web_host=f.web.host,
        web_port=f.web.port,
        trusted_proxies=f.web.trusted_proxies,
    )
    return replace(settings, **overrides) if overrides else settings


def _no_host(root: Any, path: Path) -> ConfigError:
    return ConfigError(
        "missing; method smtp needs delivery.smtp.host",
        path=path,
        line=line(root["delivery"], "method"),
        key="delivery.smtp.host",
    )


def default_config_path(explicit: str | None) -> Path:
    return Path(explicit or os.environ.get("DIGEST_CONFIG") or "digest.yml")


def example_config() -> Path:
    """digest.example.yml: the copy in the wheel, else the source checkout's."""
    packaged = Path(__file__).parent / "digest.example.yml"
    return packaged if packaged.is_file() else Path(__file__).parent.parent / "digest.example.yml"


def find_config(explicit: str | None) -> Path:
    """The settings file (--config, else $DIGEST_CONFIG, else ./digest.yml); when there is none, a ConfigError that
    says where it looked, why there, and how to start."""
    path = default_config_path(explicit)
    if path.exists():
        return path
    if explicit:
        why = "given by --config"
    elif os.environ.get("DIGEST_CONFIG"):
        why = "named by $DIGEST_CONFIG"
    else:
        why = "the default, as neither --config nor $DIGEST_CONFIG is set"
    example = Path("digest.example.yml") if Path("digest.example.yml").is_file() else example_config()
    raise ConfigError(
        f"no settings file; looked for {path.resolve()} ({why}).\n"
        f"To start, copy the example, which explains every setting, and edit it:  cp {example} {path}\n"
        f"Or point $DIGEST_CONFIG (or --config) at the settings file you have.",
        path=path,
    )

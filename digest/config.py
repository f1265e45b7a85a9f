"""Settings: one YAML file, validated once at the edge and passed down as a frozen `Settings`.

The file's shape is declared once, as msgspec Structs that mirror its sections (`_File` below); msgspec converts the
YAML tree into them and its error paths (`$.fetch.timeout`) are mapped back to messages that name the file, the
line, the key path, the bad value and what was expected.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import time
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar
from zoneinfo import ZoneInfo

import msgspec
from msgspec import Meta

from . import secret
from .config_values import PARSE, Address, Name, Network, Subject, Time, Url
from .errors import ConfigError
from .models import Feed, SourceType
from .yamlfile import fast, load_tree, reads_alike
from .yamlmodel import Shape, convert, line

DEFAULT_SUBJECT = "{list_name}, {date:%a %-d %b}: {counts}"
_T = TypeVar("_T")

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


class _Dkim(_Section, frozen=True):
    """dkim: who signs (d=), under which selector (s=), with which private key"""

    selector: _Text
    key_file: Path
    domain: _Text | None = None  # the From address's domain when not given (what DMARC alignment wants)


@dataclass(frozen=True)
class DkimSettings:
    """The DKIM signing key, read and checked when the settings are loaded."""

    domain: str
    selector: str
    key_file: Path
    key: bytes = field(repr=False)  # the PEM private key (RSA, PKCS#1 or PKCS#8), as the file holds it


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


class ImapSettings(_Section, frozen=True):
    """bounces.imap: the mailbox the bounce address delivers to, polled by the service (`digest bounces poll`)."""

    host: _Text
    username: _Text
    port: _Port = 993
    tls: Literal["tls", "starttls", "none"] = "tls"
    password_env: _Text = "DIGEST_IMAP_PASSWORD"
    folder: _Text = "INBOX"
    processed_folder: _Text = "Processed"  # processed messages are moved here, never deleted
    interval: Annotated[int, Meta(ge=1, le=24 * 60)] = 10  # minutes between polls
    timeout: _Seconds = 30.0

    @property
    def password(self) -> str | None:
        return os.environ.get(self.password_env)


class MailgunWebhook(_Section, frozen=True):
    signing_key_env: _Text = "DIGEST_MAILGUN_SIGNING_KEY"  # the HTTP webhook signing key, from the environment


class PostmarkWebhook(_Section, frozen=True):
    username: _Text  # the basic-auth user and password put in the webhook URL at Postmark
    password_env: _Text = "DIGEST_POSTMARK_WEBHOOK_PASSWORD"


class SendgridWebhook(_Section, frozen=True):
    public_key: _Text  # the Signed Event Webhook's verification key (base64), as SendGrid shows it


class SesWebhook(_Section, frozen=True):
    topic_arns: tuple[_Text, ...]  # the SNS topics SES publishes bounces and complaints to; others are refused


class WebhookSettings(_Section, frozen=True):
    """bounces.webhooks: relays that report bounces and complaints by HTTP POST to /webhooks/<provider>."""

    max_age: Annotated[int, Meta(ge=30, le=86_400)] = 900  # seconds a signed timestamp stays acceptable
    mailgun: MailgunWebhook | None = None
    postmark: PostmarkWebhook | None = None
    sendgrid: SendgridWebhook | None = None
    ses: SesWebhook | None = None


class BounceSettings(_Section, frozen=True):
    """bounces: where mail that comes back goes, and when it stops the digest going to an address."""

    address: Address | None = None  # the return path: each digest's MAIL FROM is bounces+<token>@its domain
    unsubscribe_address: Address | None = None  # the List-Unsubscribe mailto: (default unsubscribe@ that domain)
    soft_limit: Annotated[int, Meta(ge=1, le=100)] = 3  # soft bounces that suppress an address…
    soft_days: Annotated[int, Meta(ge=1, le=365)] = 14  # …within this many days
    imap: ImapSettings | None = None
    webhooks: WebhookSettings = WebhookSettings()


class _Schedule(_Section, frozen=True):
    send_time: Time = Time(12, 0)
    timezone: ZoneInfo = msgspec.field(default_factory=lambda: ZoneInfo("Europe/London"))
    poll_interval: Annotated[int, Meta(ge=1, le=24 * 60)] = 30
    missed_cutoff: Time | None = None  # default 18:00, or the day's end for a send time after that
    send_empty: bool = False


class _Feed(_Section, frozen=True):
    name: _Text
    url: Url
    type: SourceType | None = None
    kind: SourceType | None = None  # the old name of `type`, still read
    filter: bool = True
    enabled: bool = True  # false: the editor paused it (the admin's "Disable"); it is not polled
    backfill_hours: _Hours | None = None


class _Delivery(_Section, frozen=True):
    method: Literal["smtp", "outbox"] | None = None  # smtp when delivery.smtp is given, else outbox
    smtp: dict[str, Any] | None = None  # converted to SmtpSettings only when the method is smtp, as before
    outbox_dir: Path | None = None


class _EmailSection(_Section, frozen=True):
    subject: Subject = Subject(DEFAULT_SUBJECT)
    max_html_bytes: Annotated[int, Meta(ge=20_000, le=102_000)] = 90_000


class _Summaries(_Section, frozen=True):
    words: Annotated[int, Meta(ge=20, le=1000)] = 120
    report_words: Annotated[int, Meta(ge=50, le=2000)] = 300


class _Web(_Section, frozen=True):
    host: _Text = "127.0.0.1"
    port: _Port = 8080
    admin_password_env: _Text = "DIGEST_ADMIN_PASSWORD_HASH"
    trusted_proxies: tuple[Network, ...] = ()  # peers whose X-Forwarded-For names the client


class _File(_Section, frozen=True):
    """The settings file, section by section, with every default."""

    list_name: Name = Name("Probation Digest")
    from_address: Address = Address("digest@localhost")
    reply_to: Address | None = None
    contact: _Text = ""
    public_url: Url = Url("http://localhost:8080")
    database: Path = Path("digest.sqlite3")
    subscribers_file: Path = Path("subscribers.yml")
    templates_dir: Path | None = None
    outbox_dir: Path = Path("outbox")
    backfill_hours: _Hours = 24.0
    editors: tuple[Address, ...] = ()
    feeds: tuple[_Feed, ...] = ()
    schedule: _Schedule = _Schedule()
    fetch: FetchSettings = FetchSettings()
    delivery: _Delivery = _Delivery()
    email: _EmailSection = _EmailSection()
    summaries: _Summaries = _Summaries()
    web: _Web = _Web()
    bounces: BounceSettings = BounceSettings()
    dkim: dict[str, Any] | None = None  # converted to _Dkim on its own, to say what a dkim section needs
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
    missed_cutoff: time = time(18, 0)
    send_empty: bool = _D.schedule.send_empty
    backfill_hours: float = _D.backfill_hours
    feeds: tuple[Feed, ...] = ()
    fetch: FetchSettings = _D.fetch
    smtp: SmtpSettings | None = None
    dkim: DkimSettings | None = None
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
    bounces: BounceSettings = _D.bounces

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


_SHAPE = Shape(
    dec_hook=lambda kind, value: PARSE[kind](value),
    may_be_empty=frozenset(
        {"schedule", "feeds", "fetch", "delivery", "delivery.smtp", "editors", "email", "summaries", "web", "bounces"}
        | {"bounces.webhooks"}
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
_DKIM_SHAPE = replace(_SHAPE, missing="missing; a dkim section needs a selector and a key_file")


def load_settings(path: Path | str, overrides: Mapping[str, Any] | None = None) -> Settings:
    """Read and validate a settings file. Relative paths in it are relative to the file's folder."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError("file not found (set --config or DIGEST_CONFIG)", path=path) from None
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc}", path=path) from None
    if reads_alike(data):
        try:
            # ruamel's C loader first: a commented settings file of a hundred lines in 2 ms, not 16 ms round-trip
            return settings_from_yaml(load_tree(data, path, fast()), path, overrides)
        except ConfigError:
            pass  # the same mistake again from the round-trip tree below, which knows the line (and key) to name
    return settings_from_yaml(load_tree(data, path), path, overrides)


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
        missed_cutoff=_missed_cutoff(f.schedule, root, path),
        send_empty=f.schedule.send_empty,
        backfill_hours=f.backfill_hours,
        feeds=tuple(
            Feed(
                name=feed.name,
                url=feed.url,
                source_type=feed.type or feed.kind,
                filter=feed.filter,
                enabled=feed.enabled,
                backfill_hours=feed.backfill_hours,
            )
            for feed in f.feeds
        ),
        fetch=msgspec.structs.replace(f.fetch, mirror_dir=f.fetch.mirror_dir and rel(f.fetch.mirror_dir)),
        smtp=smtp,
        dkim=_dkim(root, path, rel, f.from_address) if f.dkim is not None else None,
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
        bounces=f.bounces,
    )
    return replace(settings, **overrides) if overrides else settings


def _dkim(root: Any, path: Path, rel: Callable[[Path], Path], from_address: str) -> DkimSettings:
    """The dkim section with its key read: a key file that is missing, unreadable or not an RSA private key of
    at least 1024 bits is refused here, naming the setting, rather than at the first send."""
    from .signing import key_bits  # lazily: the DKIM library is only loaded when signing is set up

    section = convert(root["dkim"], _Dkim, _DKIM_SHAPE, root=root, path=path, at=".dkim")
    key_file = rel(section.key_file)

    def refuse(message: str) -> ConfigError:
        return ConfigError(message, path=path, line=line(root["dkim"], "key_file"), key="dkim.key_file")

    try:
        key = key_file.read_bytes()
    except FileNotFoundError:
        raise refuse(f"{key_file} not found; make one with `openssl genrsa -out {key_file} 2048`") from None
    except OSError as exc:
        raise refuse(f"cannot read {key_file}: {exc.strerror or exc}") from None
    try:
        bits = key_bits(key)
    except ValueError as exc:
        raise refuse(f"{key_file} is not an RSA private key in PEM form ({exc})") from None
    if bits < 1024:
        raise refuse(f"{key_file} is a {bits}-bit key; receivers ignore DKIM keys under 1024 bits (use 2048)")
    domain = section.domain or from_address.rpartition("@")[2]
    return DkimSettings(domain=domain, selector=section.selector, key_file=key_file, key=key)


def _missed_cutoff(schedule: _Schedule, root: Any, path: Path) -> time:
    """Until when a restart still sends a missed digest: after the send time, the same day. Unset, 18:00, or
    23:59 for a send time of 18:00 or later (`digest serve` failed to start with such a send time)."""
    if schedule.missed_cutoff is None:
        return time(18, 0) if schedule.send_time < time(18, 0) else time(23, 59)
    if schedule.missed_cutoff <= schedule.send_time:
        raise ConfigError(
            f"{schedule.missed_cutoff:%H:%M} is not after schedule.send_time ({schedule.send_time:%H:%M}); a digest "
            "missed at send time is sent on restart until this time the same day",
            path=path,
            line=line(root["schedule"], "missed_cutoff"),
            key="schedule.missed_cutoff",
        )
    return schedule.missed_cutoff


def _no_host(root: Any, path: Path) -> ConfigError:
    return ConfigError(
        "missing; method smtp needs delivery.smtp.host",
        path=path,
        line=line(root["delivery"], "method"),
        key="delivery.smtp.host",
    )

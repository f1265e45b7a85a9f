"""Settings: one YAML file, validated once at the edge and passed down as a frozen `Settings`.

Every error names the file, the line, the key path, the bad value and what was expected.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, time
from functools import cached_property
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from email_validator import EmailNotValidError, validate_email
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError

from . import secret
from .errors import ConfigError
from .models import SOURCE_TYPES, Feed
from .names import check_name

DEFAULT_SUBJECT = "{list_name}, {date:%a %-d %b}: {counts}"


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int = 587
    tls: str = "starttls"  # starttls | tls | none
    username: str | None = None
    password_env: str = "DIGEST_SMTP_PASSWORD"
    pool: int = 2
    rate: float = 20.0  # messages per second, all connections together
    timeout: float = 30.0
    retries: int = 3
    ca_file: Path | None = None  # trust this CA bundle (a relay with a private CA) instead of the system's

    @property
    def password(self) -> str | None:
        return os.environ.get(self.password_env)


@dataclass(frozen=True)
class FetchSettings:
    user_agent: str = "ProbationDigest/0.1"
    timeout: float = 20.0  # between bytes (connect, read)
    deadline: float = 60.0  # for a whole request, however slowly the bytes come
    max_bytes: int = 10_000_000
    concurrency: int = 20
    per_host: int = 4
    max_redirects: int = 5
    allow_private: tuple[str, ...] = ()  # hosts or networks that may be private (tests, an intranet mirror)
    mirror_dir: Path | None = None  # serve URLs from this folder instead of the network (offline demo)


@dataclass(frozen=True)
class Settings:
    path: Path | None
    list_name: str = "Probation Digest"
    from_address: str = "digest@localhost"
    reply_to: str | None = None
    contact: str = ""
    public_url: str = "http://localhost:8080"
    database: Path = Path("digest.sqlite3")
    subscribers_file: Path = Path("subscribers.yml")
    templates_dir: Path | None = None
    outbox_dir: Path = Path("outbox")
    send_time: time = time(12, 0)
    timezone: ZoneInfo = field(default_factory=lambda: ZoneInfo("Europe/London"))
    poll_interval_minutes: int = 30
    missed_cutoff: time = time(18, 0)
    send_empty: bool = False
    backfill_hours: float = 24.0
    feeds: tuple[Feed, ...] = ()
    fetch: FetchSettings = field(default_factory=FetchSettings)
    smtp: SmtpSettings | None = None
    editors: tuple[str, ...] = ()
    subject: str = DEFAULT_SUBJECT
    summary_words: int = 120
    report_words: int = 300
    max_html_bytes: int = 90_000
    secret_env: str = "DIGEST_SECRET"
    admin_password_env: str = "DIGEST_ADMIN_PASSWORD_HASH"
    web_host: str = "127.0.0.1"
    web_port: int = 8080
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


# ---- parsers: each takes the raw YAML value and returns the typed value or raises ValueError(expected)


def _str(v: Any) -> str:
    if not isinstance(v, str) or not v.strip():
        raise ValueError("expected a non-empty string")
    return v.strip()


def _name(v: Any) -> str:
    return check_name(_str(v))  # it goes into the From: and Subject: headers


def _opt_str(v: Any) -> str | None:
    return None if v is None else _str(v)


def _bool(v: Any) -> bool:
    if not isinstance(v, bool):
        raise ValueError("expected true or false")
    return v


def _int(lo: int, hi: int) -> Callable[[Any], int]:
    def parse(v: Any) -> int:
        if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
            raise ValueError(f"expected a whole number from {lo} to {hi}")
        return v

    return parse


def _float(lo: float, hi: float) -> Callable[[Any], float]:
    def parse(v: Any) -> float:
        if isinstance(v, bool) or not isinstance(v, int | float) or not lo <= v <= hi:
            raise ValueError(f"expected a number from {lo:g} to {hi:g}")
        return float(v)

    return parse


def _url(v: Any) -> str:
    if isinstance(v, str):
        parts = urlsplit(v.strip())
        if parts.scheme in ("http", "https") and parts.netloc:
            return v.strip()
    raise ValueError("expected an http or https URL")


def _time(v: Any) -> time:
    # YAML 1.1 reads 12:00 unquoted as a sexagesimal integer (720); accept it as minutes.
    if isinstance(v, int) and not isinstance(v, bool) and 0 <= v < 24 * 60:
        return time(v // 60, v % 60)
    if isinstance(v, str):
        m = re.fullmatch(r"([01]?\d|2[0-3]):([0-5]\d)", v.strip())
        if m:
            return time(int(m[1]), int(m[2]))
    raise ValueError("expected HH:MM, 24-hour clock")


def _zone(v: Any) -> ZoneInfo:
    try:
        return ZoneInfo(_str(v))
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise ValueError("expected an IANA timezone such as Europe/London") from None


def _email(v: Any) -> str:
    try:
        return validate_email(_str(v), check_deliverability=False).normalized
    except (EmailNotValidError, ValueError) as exc:
        raise ValueError(f"expected an email address ({exc})") from None


def _network(v: Any) -> str:
    try:
        ipaddress.ip_network(_str(v), strict=False)
    except ValueError:
        raise ValueError("expected an IP address or network, such as 10.0.0.0/8") from None
    return str(v).strip()


def _choice(*options: str) -> Callable[[Any], str]:
    def parse(v: Any) -> str:
        if v not in options:
            raise ValueError("expected one of: " + ", ".join(options))
        return str(v)

    return parse


def _subject(v: Any) -> str:
    s = _str(v)
    try:
        s.format(list_name="x", date=date(2026, 1, 1), counts="x", count=1)  # a trial run of the pattern
    except (KeyError, IndexError, ValueError) as exc:
        raise ValueError(
            f"expected a pattern using {{list_name}}, {{date:%a %-d %b}}, {{counts}}, {{count}} ({exc})"
        ) from None
    return s


_TOP: dict[str, Callable[[Any], Any]] = {
    "list_name": _name,
    "from_address": _email,
    "reply_to": _email,
    "contact": _str,
    "public_url": _url,
    "database": _str,
    "subscribers_file": _str,
    "templates_dir": _str,
    "outbox_dir": _str,
    "backfill_hours": _float(0, 24 * 365 * 30),
    "editors": lambda v: v,  # list, checked below
    "feeds": lambda v: v,
    "schedule": lambda v: v,
    "fetch": lambda v: v,
    "delivery": lambda v: v,
    "email": lambda v: v,
    "summaries": lambda v: v,
    "web": lambda v: v,
    "secret_env": _str,
}
_SCHEDULE = {
    "send_time": _time,
    "timezone": _zone,
    "poll_interval": _int(1, 24 * 60),
    "missed_cutoff": _time,
    "send_empty": _bool,
}
_FEED = {
    "name": _str,
    "url": _url,
    "type": _choice(*SOURCE_TYPES),
    "kind": _choice(*SOURCE_TYPES),  # the old name of `type`, still read
    "filter": _bool,
    "backfill_hours": _float(0, 24 * 365 * 30),
}
_FETCH = {
    "user_agent": _str,
    "timeout": _float(1, 600),
    "deadline": _float(1, 3600),
    "max_bytes": _int(10_000, 1_000_000_000),
    "concurrency": _int(1, 200),
    "per_host": _int(1, 50),
    "max_redirects": _int(0, 20),
    "allow_private": lambda v: v,
    "mirror_dir": _str,
}
_DELIVERY = {"method": _choice("smtp", "outbox"), "smtp": lambda v: v, "outbox_dir": _str}
_SMTP = {
    "host": _str,
    "port": _int(1, 65535),
    "tls": _choice("starttls", "tls", "none"),
    "username": _opt_str,
    "password_env": _str,
    "pool": _int(1, 20),
    "rate": _float(0.1, 10_000),
    "timeout": _float(1, 600),
    "retries": _int(0, 10),
    "ca_file": _str,
}
_EMAIL = {"subject": _subject, "max_html_bytes": _int(20_000, 102_000)}
_SUMMARIES = {"words": _int(20, 1000), "report_words": _int(50, 2000)}
_WEB = {"host": _str, "port": _int(1, 65535), "admin_password_env": _str, "trusted_proxies": lambda v: v}


class _Reader:
    """Walks the YAML tree against a schema, keeping file and line for every message."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, node: Any, key: str | int, keypath: str, message: str) -> ConfigError:
        return ConfigError(message, path=self.path, line=_line(node, key), key=keypath)

    def section(
        self,
        node: Any,
        schema: Mapping[str, Callable[[Any], Any]],
        prefix: str,
        parent: Any = None,
        parent_key: str | int | None = None,
    ) -> dict[str, Any]:
        if node is None:
            return {}
        if not isinstance(node, CommentedMap):
            where = _line(parent, parent_key) if parent is not None and parent_key is not None else None
            raise ConfigError(
                "expected a mapping of keys to values",
                path=self.path,
                line=where,
                key=prefix.rstrip(".") or None,
            )
        out: dict[str, Any] = {}
        for key, value in node.items():
            keypath = f"{prefix}{key}"
            if key not in schema:
                raise self.fail(node, key, keypath, f"unknown key {key!r}; expected one of: {', '.join(schema)}")
            try:
                out[str(key)] = schema[key](value)
            except ValueError as exc:
                raise self.fail(node, key, keypath, f"{_show(value)} is not valid; {exc}") from None
        return out


def yaml_line(node: Any, key: Any, how: str | None = None, *, or_own: bool = False) -> int | None:
    """A 1-based file line from ruamel's round-trip position data: a sequence's item, a mapping's value (or its
    key, with how="key"). None for plain (fast-path) data or a key with no position, or with `or_own` the node's
    own line. The one place settings and subscribers find where something stands in their YAML."""
    lc = getattr(node, "lc", None)
    if lc is None:
        return None
    how = how or ("item" if isinstance(node, CommentedSeq) else "value")
    try:
        return int(getattr(lc, how)(key)[0]) + 1
    except (KeyError, IndexError, TypeError, AttributeError):
        return int(lc.line) + 1 if or_own else None


def _line(node: Any, key: str | int | None) -> int | None:
    return yaml_line(node, key, or_own=True)


def _show(value: Any) -> str:
    return repr(value) if isinstance(value, str) else str(value)


def yaml_error(exc: Exception, path: Path) -> ConfigError:
    """A YAML parser's complaint as a ConfigError with the file and line it points at."""
    mark = getattr(exc, "problem_mark", None)
    return ConfigError(
        f"not valid YAML: {getattr(exc, 'problem', exc)}", path=path, line=mark.line + 1 if mark else None
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
    r = _Reader(path)
    if root is None or root == {}:
        # An empty file is a mistake (a truncated copy, the wrong path), never a request for all the defaults.
        raise ConfigError(
            "no settings (the file is empty or only comments); expected keys such as list_name, from_address, "
            "feeds and delivery (see digest.example.yml)",
            path=path,
        )
    top = r.section(root, _TOP, "")
    base = path.parent

    def rel(p: str) -> Path:
        q = Path(os.path.expanduser(p))
        return q if q.is_absolute() else base / q

    kw: dict[str, Any] = {"path": path}
    for key in (
        "list_name",
        "from_address",
        "reply_to",
        "contact",
        "public_url",
        "backfill_hours",
        "secret_env",
    ):
        if key in top:
            kw[key] = top[key]
    if "public_url" in kw:
        kw["public_url"] = kw["public_url"].rstrip("/")
    for key in ("database", "subscribers_file", "templates_dir", "outbox_dir"):
        if key in top:
            kw[key] = rel(top[key])
    if "database" not in kw:
        kw["database"] = base / "digest.sqlite3"
    if "subscribers_file" not in kw:
        kw["subscribers_file"] = base / "subscribers.yml"
    if "outbox_dir" not in kw:
        kw["outbox_dir"] = base / "outbox"

    sched = r.section(root.get("schedule"), _SCHEDULE, "schedule.", root, "schedule")
    for src, dst in (
        ("send_time", "send_time"),
        ("timezone", "timezone"),
        ("poll_interval", "poll_interval_minutes"),
        ("missed_cutoff", "missed_cutoff"),
        ("send_empty", "send_empty"),
    ):
        if src in sched:
            kw[dst] = sched[src]

    feeds_node = root.get("feeds")
    feeds: list[Feed] = []
    if feeds_node is not None:
        if not isinstance(feeds_node, CommentedSeq):
            raise r.fail(root, "feeds", "feeds", "expected a list of feeds")
        seen: dict[str, int] = {}
        for i, node in enumerate(feeds_node):
            f = r.section(node, _FEED, f"feeds[{i}].", feeds_node, i)
            for need in ("name", "url"):
                if need not in f:
                    raise r.fail(feeds_node, i, f"feeds[{i}].{need}", "missing; every feed needs a name and a url")
            if f["url"] in seen:
                raise r.fail(
                    node,
                    "url",
                    f"feeds[{i}].url",
                    f"{f['url']!r} is listed twice; first as feeds[{seen[f['url']]}]",
                )
            seen[f["url"]] = i
            feeds.append(
                Feed(
                    name=f["name"],
                    url=f["url"],
                    source_type=f.get("type", f.get("kind")),
                    filter=f.get("filter", True),
                    backfill_hours=f.get("backfill_hours"),
                )
            )
    kw["feeds"] = tuple(feeds)

    fetch = r.section(root.get("fetch"), _FETCH, "fetch.", root, "fetch")
    allow = fetch.pop("allow_private", ())
    if not isinstance(allow, list | tuple) or not all(isinstance(a, str) for a in allow):
        raise r.fail(
            root.get("fetch"),
            "allow_private",
            "fetch.allow_private",
            f"{_show(allow)} is not valid; expected a list of hosts or networks",
        )
    if "mirror_dir" in fetch:
        fetch["mirror_dir"] = rel(fetch["mirror_dir"])
    kw["fetch"] = FetchSettings(allow_private=tuple(allow), **fetch)

    delivery_node = root.get("delivery")
    delivery = r.section(delivery_node, _DELIVERY, "delivery.", root, "delivery")
    if "outbox_dir" in delivery:
        kw["outbox_dir"] = rel(delivery["outbox_dir"])
    if delivery.get("method", "smtp" if delivery.get("smtp") else "outbox") == "smtp":
        smtp = r.section(delivery.get("smtp"), _SMTP, "delivery.smtp.", delivery_node, "smtp")
        if "host" not in smtp:
            raise r.fail(delivery_node, "method", "delivery.smtp.host", "missing; method smtp needs delivery.smtp.host")
        if "ca_file" in smtp:
            smtp["ca_file"] = rel(smtp["ca_file"])
        kw["smtp"] = SmtpSettings(**smtp)

    editors = root.get("editors") or []
    if not isinstance(editors, list):
        raise r.fail(root, "editors", "editors", "expected a list of email addresses")
    out = []
    for i, e in enumerate(editors):
        try:
            out.append(_email(e))
        except ValueError as exc:
            raise r.fail(editors, i, f"editors[{i}]", f"{_show(e)} is not valid; {exc}") from None
    kw["editors"] = tuple(out)

    email = r.section(root.get("email"), _EMAIL, "email.", root, "email")
    if "subject" in email:
        kw["subject"] = email["subject"]
    if "max_html_bytes" in email:
        kw["max_html_bytes"] = email["max_html_bytes"]
    summ = r.section(root.get("summaries"), _SUMMARIES, "summaries.", root, "summaries")
    if "words" in summ:
        kw["summary_words"] = summ["words"]
    if "report_words" in summ:
        kw["report_words"] = summ["report_words"]
    web = r.section(root.get("web"), _WEB, "web.", root, "web")
    for src, dst in (
        ("host", "web_host"),
        ("port", "web_port"),
        ("admin_password_env", "admin_password_env"),
    ):
        if src in web:
            kw[dst] = web[src]
    proxies = web.get("trusted_proxies") or []
    if not isinstance(proxies, list):
        raise r.fail(root.get("web"), "trusted_proxies", "web.trusted_proxies", "expected a list of IP addresses")
    trusted = []
    for i, p in enumerate(proxies):
        try:
            trusted.append(_network(p))
        except ValueError as exc:
            raise r.fail(proxies, i, f"web.trusted_proxies[{i}]", f"{_show(p)} is not valid; {exc}") from None
    kw["trusted_proxies"] = tuple(trusted)
    if overrides:
        kw.update(overrides)
    return Settings(**kw)


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

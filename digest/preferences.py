"""A reader's preferences: the choices the preferences page offers and how a form's answers become them, the
sentence an email's footer says they get, and when a reader is due a digest (daily, or weekly on their day)
under which period. Pure: days and times come in as parameters.

Regions: an entry passes a reader's region choice when its region is among them. Only inspection cards have a
region (`regions.region_of` on the inspected body); an entry without one (a thematic, research, a post) counts
as "national", like an inspection of a national body, so it reaches only readers who ticked "national". A youth
justice inspection also reaches readers who ticked "youth justice", wherever it is.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, time, timedelta
from zoneinfo import ZoneInfo

from .errors import InputError
from .models import KINDS, NATIONAL, WEEKDAYS, YOUTH_JUSTICE, Feed, Subscriber
from .regions import REGIONS

REGION_CHOICES: tuple[str, ...] = (*REGIONS, NATIONAL, YOUTH_JUSTICE)
KIND_LABELS = {
    "inspection": "Inspection reports",
    "thematic": "Thematic inspections",
    "research": "Research",
    "news": "News",
    "blog": "Blog posts",
    "other": "Other items",
}
_KIND_WORDS = {
    "inspection": "inspections",
    "thematic": "thematics",
    "research": "research",
    "news": "news",
    "blog": "blog posts",
    "other": "other items",
}
MISSED_WEEK = timedelta(days=7)  # a weekly reader owed something this old has missed their day: send now


def _and(words: Sequence[str]) -> str:
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " and " + words[-1]


FOLLOWED = "HM Inspectorate of Probation and the sector's blogs"  # said when no feed is named (a bare renderer)


def followed(feeds: Sequence[Feed], shown: int = 5) -> str:
    """The sources a list follows (its feeds not paused), as its pages and emails name them: "HM Inspectorate of
    Probation, Russell Webster and GOV.UK"; past `shown`, the first few and how many more."""
    names = list(dict.fromkeys(f.name for f in feeds if f.enabled))
    if not names:
        return FOLLOWED
    if len(names) <= shown:
        return _and(names)
    return f"{', '.join(names[: shown - 1])} and {len(names) - shown + 1} more sources"


def _places(regions: frozenset[str]) -> str:
    places = [r for r in REGIONS if r in regions]
    if NATIONAL in regions:
        places.append("national bodies" if places else "national bodies and the whole sector")
    if YOUTH_JUSTICE in regions:
        places.append("youth justice services anywhere")
    return _and(places)


def you_get(sub: Subscriber, *, send_time: time, timezone: ZoneInfo | None = None) -> str:
    """What the reader gets, in the footer's words: "inspections and thematics from Kent, Surrey and Sussex,
    weekly on Mondays", "everything new, every day at 12:00 UK time" (the zone's name when `timezone` is given)."""
    what = "everything new" if sub.kinds is None else _and([_KIND_WORDS[k] for k in KINDS if k in sub.kinds])
    if sub.regions is not None:
        what += f" from {_places(sub.regions)}"
    if sub.sources is not None:
        what += f" (sources: {_and(sorted(sub.sources))})"
    if sub.frequency == "weekly":
        when = f"weekly on {WEEKDAYS[sub.weekday].title()}s"
    else:
        at = send_time_phrase(send_time, timezone) if timezone else send_time.strftime("%H:%M")
        # a day with nothing of theirs sends them nothing: not "every day" for a reader of one region's inspections
        when = f"at {at} on days with any" if sub.narrowed else f"every day at {at}"
    return f"{what}, {when}"


def send_time_phrase(send_time: time, timezone: ZoneInfo) -> str:
    """The configured send time as every page and notice says it: "12:00 UK time", "09:30 Europe/Paris time"."""
    zone = "UK" if timezone.key in ("Europe/London", "GB") else timezone.key
    return f"{send_time.strftime('%H:%M')} {zone} time"


def offer(send_time: time, timezone: ZoneInfo) -> str:
    """What the list offers someone not yet on it, in one phrase: the send time and the choice of daily or weekly."""
    return (
        f"one email a day at {send_time_phrase(send_time, timezone)}, or one a week on a day you choose "
        "(you can change which, and what it carries, at any time)"
    )


def describe(sub: Subscriber, *, send_time: time, today: date, timezone: ZoneInfo | None = None) -> str:
    """What the editor sees of a reader's choices (the list, the admin): what they get, and any pause."""
    said = you_get(sub, send_time=send_time, timezone=timezone)
    if paused(sub, today):
        said += f"; paused until {sub.paused_until:%-d %b %Y}"
    return said


def paused(sub: Subscriber, today: date) -> bool:
    return sub.paused_until is not None and today < sub.paused_until


def due(sub: Subscriber, today: date, oldest_owed: date | None) -> bool:
    """Whether the reader gets a digest today: every day, or on their weekday, or as soon as a weekly reader is
    owed a week-old edition (their day passed while the service was down). Never while paused."""
    if paused(sub, today):
        return False
    if sub.frequency == "daily":
        return True
    return today.weekday() == sub.weekday or (oldest_owed is not None and today - oldest_owed >= MISSED_WEEK)


def period(sub: Subscriber, today: date) -> str:
    """The ledger's period for a delivery: one daily digest a day, one weekly digest an ISO week (both in the
    schedule's time zone, whose local date `today` is)."""
    if sub.frequency == "weekly":
        year, week, _ = today.isocalendar()
        return f"weekly:{year}-W{week:02d}"
    return f"daily:{today.isoformat()}"


# ---- the preferences page's form


@dataclass(frozen=True)
class Choices:
    """What the page shows as ticked: every box for "everything"."""

    kinds: frozenset[str]
    sources: frozenset[str]
    regions: frozenset[str]
    frequency: str
    weekday: int
    paused_until: date | None


def choices(sub: Subscriber, feeds: Sequence[str]) -> Choices:
    return Choices(
        kinds=frozenset(KINDS) if sub.kinds is None else sub.kinds,
        sources=frozenset(feeds) if sub.sources is None else sub.sources,
        regions=frozenset(REGION_CHOICES) if sub.regions is None else sub.regions,
        frequency=sub.frequency,
        weekday=sub.weekday,
        paused_until=sub.paused_until,
    )


def answered(sub: Subscriber, form: Mapping[str, list[str]], feeds: Sequence[str]) -> Choices:
    """The choices as the page sent them, to show again beside what was wrong with them (not the ones saved
    before, which would undo every other box the reader changed)."""
    kept = choices(sub, feeds)
    day = (form.get("day") or [""])[0].strip()
    frequency = (form.get("frequency") or [""])[0].strip()
    try:
        pause: date | None = date.fromisoformat((form.get("paused_until") or [""])[0].strip())
    except ValueError:
        pause = None
    return Choices(
        kinds=frozenset(v for v in form.get("kinds", []) if v in KINDS),
        sources=frozenset(v for v in form.get("sources", []) if v in feeds),
        regions=frozenset(v for v in form.get("regions", []) if v in REGION_CHOICES),
        frequency=frequency if frequency in ("daily", "weekly") else kept.frequency,
        weekday=WEEKDAYS.index(day) if day in WEEKDAYS else kept.weekday,
        paused_until=pause,
    )


def _ticked(values: Iterable[str], allowed: Sequence[str], what: str) -> frozenset[str] | None:
    """The ticked boxes; None (everything, new ones included) when all are ticked."""
    chosen = frozenset(v for v in values if v in allowed)
    if not chosen:
        raise InputError(f"Choose at least one {what}, or unsubscribe instead.")
    return None if chosen >= frozenset(allowed) else chosen


def from_form(sub: Subscriber, form: Mapping[str, list[str]], *, feeds: Sequence[str], today: date) -> Subscriber:
    """The reader with the page's answers; InputError (in words for the page) for an answer that cannot be kept."""

    def one(name: str) -> str:
        values = form.get(name) or [""]
        return values[0].strip()

    frequency = one("frequency")
    if frequency not in ("daily", "weekly"):
        raise InputError("Choose daily or weekly.")
    day = one("day") or WEEKDAYS[sub.weekday]
    if day not in WEEKDAYS:
        raise InputError("Choose a day of the week for the weekly email.")
    raw_pause = one("paused_until")
    try:
        pause = date.fromisoformat(raw_pause) if raw_pause else None
    except ValueError:
        raise InputError("The pause needs a date, like 2026-12-24.") from None
    if pause is not None and pause <= today:
        pause = None  # a day already here pauses nothing
    return replace(
        sub,
        kinds=_ticked(form.get("kinds", []), KINDS, "kind of item"),
        sources=_ticked(form.get("sources", []), feeds, "source") if feeds else None,
        regions=_ticked(form.get("regions", []), REGION_CHOICES, "region"),
        frequency="weekly" if frequency == "weekly" else "daily",
        weekday=WEEKDAYS.index(day),
        paused_until=pause,
    )

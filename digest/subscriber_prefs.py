"""A subscriber's `preferences:` in the YAML the editor owns: read (every problem a ConfigError with its line) and
written back into the round-trip tree, changing only the keys that differ so comments and order survive.

    preferences:
      kinds: [inspection, thematic]        # default: every kind
      sources: [HM Inspectorate of Probation]   # feed names; default: every feed
      regions: [Kent, Surrey and Sussex, national, youth justice]   # default: everywhere
      frequency: weekly                    # daily (default) or weekly
      day: monday                          # the weekly email's day
      paused_until: 2026-12-24             # nothing is sent before this day
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from .errors import ConfigError
from .models import KINDS, WEEKDAYS, Subscriber
from .preferences import REGION_CHOICES
from .yamlmodel import yaml_line

KEYS = ("kinds", "sources", "regions", "frequency", "day", "paused_until")
_LISTS = {"kinds": KINDS, "sources": None, "regions": REGION_CHOICES}
_ONE = {"kinds": "kind", "regions": "region"}


def read(prefs: Any, path: Path, key: str, line: int | None) -> dict[str, Any]:
    """The Subscriber fields a `preferences` mapping sets."""
    if prefs is None:
        return {}
    if not isinstance(prefs, dict):
        raise ConfigError(f"expected a mapping with some of: {', '.join(KEYS)}", path=path, line=line, key=key)
    out: dict[str, Any] = {}
    for k, v in prefs.items():
        at = yaml_line(prefs, how="value", key=k) or line

        def error(message: str, k: Any = k, at: int | None = at) -> ConfigError:
            return ConfigError(message, path=path, line=at, key=f"{key}.{k}")

        if k not in KEYS:
            raise error(f"unknown key {k!r}; expected one of: {', '.join(KEYS)}")
        if k in _LISTS:
            if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
                raise error(f"{v!r} is not valid; expected a list")
            allowed = _LISTS[k]
            bad = [x for x in v if allowed is not None and x not in allowed]
            if bad and allowed is not None:
                split = next((a for a in allowed if "," in a and a.startswith(f"{bad[0]},")), None)
                hint = f" ({split!r} has commas: quote it, as in [{split!r}])" if split else ""
                raise error(f"{bad[0]!r} is not a {_ONE[k]}{hint}; expected some of: {', '.join(allowed)}")
            out[k] = frozenset(v)
        elif k == "frequency":
            if v not in ("daily", "weekly"):
                raise error(f"{v!r} is not valid; expected daily or weekly")
            out["frequency"] = str(v)
        elif k == "day":
            if not isinstance(v, str) or v.lower() not in WEEKDAYS:
                raise error(f"{v!r} is not valid; expected a day of the week, like monday")
            out["weekday"] = WEEKDAYS.index(v.lower())
        else:
            try:
                out["paused_until"] = v if isinstance(v, date) else date.fromisoformat(str(v))
            except ValueError:
                raise error(f"{v!r} is not valid; expected a date like 2026-12-24") from None
    return out


def _flow(values: list[str]) -> CommentedSeq:
    seq = CommentedSeq(values)
    seq.fa.set_flow_style()
    return seq


def wanted(sub: Subscriber) -> dict[str, Any]:
    """The keys a subscriber's choices need in the file; a default is left out."""
    out: dict[str, Any] = {}
    if sub.kinds is not None:
        out["kinds"] = [k for k in KINDS if k in sub.kinds]
    if sub.sources is not None:
        out["sources"] = sorted(sub.sources)
    if sub.regions is not None:
        out["regions"] = [r for r in REGION_CHOICES if r in sub.regions]
    if sub.frequency != "daily":
        out["frequency"] = sub.frequency
        out["day"] = WEEKDAYS[sub.weekday]
    if sub.paused_until is not None:
        out["paused_until"] = sub.paused_until
    return out


def write(entry: CommentedMap, sub: Subscriber) -> None:
    """Set the entry's preferences to the subscriber's choices, touching only the keys that change."""
    new = wanted(sub)
    prefs = entry.get("preferences")
    if not isinstance(prefs, CommentedMap):
        if not new:
            entry.pop("preferences", None)
            return
        prefs = entry["preferences"] = CommentedMap()
    for k in KEYS:
        if k not in new:
            prefs.pop(k, None)
            continue
        old = prefs.get(k)
        value = new[k]
        if (list(old) if isinstance(old, list) else old) == value:
            continue
        prefs[k] = _flow(value) if isinstance(value, list) else value
    if not prefs:
        del entry["preferences"]

"""Which probation region an organisation is in, from its name as a report card gives it. Pure.

The table is data shipped in the package (`digest/data/regions.yml`): for each of the 12 regions, its PDUs, the
local authorities whose youth justice services sit there, the former CRCs, NPS divisions and probation trusts,
and other names; then the national bodies. It is read on first use, once; importing this module reads nothing.

Names on both sides are normalised alike: case, accents and punctuation ignored, "&" read as "and", then "and",
"the" and "of" dropped and a few county abbreviations spelt out ("South Yorks" is "South Yorkshire").
`region_of` then tries, in order:

1. the whole name is a national body's ("HM Prison and Probation Service") → "national";
2. without its unit words (PDU, YJS, YOT, CRC, region, division, Probation Delivery Unit, ...), the name is a
   place's → that place's region;
3. the longest place named inside it → that place's region. A place inside a longer one counts for nothing
   ("Hull" in "Kingston upon Hull", "Wales" in "England and Wales"), and a national body named inside the name
   counts only when no region's place is ("HMPPS Wales" is Wales).
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

# The regions in the order a reader sees them: north to south, then Wales.
REGIONS: tuple[str, ...] = (
    "North East",
    "North West",
    "Yorkshire and the Humber",
    "Greater Manchester",
    "East Midlands",
    "West Midlands",
    "East of England",
    "London",
    "Kent, Surrey and Sussex",
    "South Central",
    "South West",
    "Wales",
)
NATIONAL = "national"

_CATEGORIES = (
    "aliases",
    "pdus",
    "youth_justice",
    "crcs",
    "nps_divisions",
    "probation_trusts",
    "approved_premises",
    "areas",
)

_STOPWORDS = frozenset({"and", "the", "of"})

# Short forms seen in names, each spelt out before matching.
_ABBREVIATIONS: dict[str, tuple[str, ...]] = {
    "beds": ("bedfordshire",),
    "berks": ("berkshire",),
    "bucks": ("buckinghamshire",),
    "cambs": ("cambridgeshire",),
    "derbys": ("derbyshire",),
    "glos": ("gloucestershire",),
    "gtr": ("greater",),
    "hants": ("hampshire",),
    "herts": ("hertfordshire",),
    "iow": ("isle", "wight"),
    "lancs": ("lancashire",),
    "leics": ("leicestershire",),
    "lincs": ("lincolnshire",),
    "ne": ("north", "east"),
    "northants": ("northamptonshire",),
    "notts": ("nottinghamshire",),
    "nw": ("north", "west"),
    "oxon": ("oxfordshire",),
    "saint": ("st",),
    "staffs": ("staffordshire",),
    "warks": ("warwickshire",),
    "wilts": ("wiltshire",),
    "worcs": ("worcestershire",),
    "yorks": ("yorkshire",),
}

# Words that say what kind of body it is, not where: taken out before a name is looked up. Normalised.
_UNIT_WORDS = (
    "probation delivery unit",
    "probation delivery units",
    "pdu",
    "pdus",
    "youth justice prevention service",
    "youth justice service",
    "youth justice services",
    "youth justice team",
    "youth justice partnership",
    "youth justice",
    "youth offending service",
    "youth offending services",
    "youth offending team",
    "youth offending",
    "young peoples engagement justice service",
    "yjs",
    "yjps",
    "yjt",
    "yos",
    "yot",
    "community rehabilitation company",
    "crc",
    "national probation service",
    "nps",
    "probation service",
    "probation services",
    "probation trust",
    "probation area",
    "probation",
    "region",
    "regional",
    "division",
    "divisional",
    "area",
    "council",
    "approved premises",
)

_GAP = ""  # stands where unit words were taken out: no place is matched across it

Tokens = tuple[str, ...]


def _tokens(text: str) -> Tokens:
    """The words of a name, normalised: lower case, no accents or punctuation, stopwords out, short forms spelt."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(char for char in text if not unicodedata.combining(char)).lower()
    text = re.sub(r"['’‘`]", "", text.replace("&", " and "))  # "His Majesty’s" is one word
    words: list[str] = []
    for word in re.findall(r"[a-z0-9]+", text):
        if word not in _STOPWORDS:
            words.extend(_ABBREVIATIONS.get(word, (word,)))
    return tuple(words)


_UNIT_PHRASES: tuple[Tokens, ...] = tuple(sorted({_tokens(phrase) for phrase in _UNIT_WORDS}, key=len, reverse=True))


def _without_units(tokens: Tokens) -> Tokens:
    """The words with each unit word replaced by one gap marker (runs of them by one marker)."""
    out: list[str] = []
    i = 0
    while i < len(tokens):
        phrase = next((p for p in _UNIT_PHRASES if tokens[i : i + len(p)] == p), None)
        if phrase is None:
            out.append(tokens[i])
            i += 1
        else:
            if not out or out[-1] != _GAP:
                out.append(_GAP)
            i += len(phrase)
    return tuple(out)


def _key(tokens: Tokens) -> Tokens:
    return tuple(token for token in tokens if token != _GAP)


@dataclass(frozen=True)
class _Table:
    places: dict[Tokens, str]  # a place's words without unit words → its region, or NATIONAL
    national_names: frozenset[Tokens]  # national bodies' whole names, unit words kept ("Probation Service")
    longest: int  # the most words in any place


def _strings(value: Any, where: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, str) and item.strip() for item in value):
        raise ValueError(f"regions.yml: {where}: expected a list of names")
    return value


@cache
def _table() -> _Table:
    """The shipped table, read from the package on first use and kept."""
    # Beside this module, as render finds the templates: importlib.resources cost 5 ms of every command's start.
    return _parse((Path(__file__).parent / "data" / "regions.yml").read_text(encoding="utf-8"))


def _parse(text: str) -> _Table:
    """The table in regions.yml's text. A broken table is a bug in the package, so ValueError, not DigestError."""
    from ruamel.yaml import YAML  # 12 ms to import: paid by the first card that needs a region, not every command

    data = YAML(typ="safe").load(text)
    entries = data.get("regions") if isinstance(data, dict) else None
    if not isinstance(entries, list) or [e.get("name") for e in entries if isinstance(e, dict)] != list(REGIONS):
        raise ValueError(f"regions.yml: expected the regions {', '.join(REGIONS)}, in that order")
    places: dict[Tokens, str] = {}

    def add(name: str, region: str) -> None:
        key = _key(_without_units(_tokens(name)))
        if not key:
            if region == NATIONAL:
                return  # a national name made only of unit words ("Probation Service") is matched whole
            raise ValueError(f"regions.yml: {region}: {name!r} has no words left once unit words are taken out")
        if places.setdefault(key, region) != region:
            raise ValueError(f"regions.yml: {name!r} is in both {places[key]} and {region}")

    for entry in entries:
        region = entry["name"]
        add(region, region)
        for category in _CATEGORIES:
            for name in _strings(entry.get(category), f"{region}: {category}"):
                add(name, region)
    national = _strings(data.get("national"), "national")
    for name in national:
        add(name, NATIONAL)
    return _Table(
        places=places,
        national_names=frozenset(_tokens(name) for name in national),
        longest=max(len(key) for key in places),
    )


def region_of(organisation: str | None) -> str | None:
    """The region (one of REGIONS) an organisation named this way is in, "national" for a national body, or None."""
    if not organisation:
        return None
    table = _table()
    tokens = _tokens(organisation)
    if tokens in table.national_names:
        return NATIONAL
    words = _without_units(tokens)
    exact = table.places.get(_key(words))
    if exact is not None:
        return exact
    # Every place named inside: (start, end, region).
    found = [
        (start, end, table.places[words[start:end]])
        for start in range(len(words))
        for end in range(start + 1, min(len(words), start + table.longest) + 1)
        if _GAP not in words[start:end] and words[start:end] in table.places
    ]
    outermost = [
        (start, end, region)
        for start, end, region in found
        if not any(s <= start and end <= e and (s, e) != (start, end) for s, e, _ in found)
    ]
    regional = [match for match in outermost if match[2] != NATIONAL]
    if regional:
        return max(regional, key=lambda match: (match[1] - match[0], -match[0]))[2]
    return NATIONAL if outermost else None


_YOUTH = frozenset({"yjs", "yjps", "yjt", "yos", "yot"})


def youth_justice(*names: str | None) -> bool:
    """Whether any of these names (an organisation, the unit inspected) is a youth justice service's."""
    for name in names:
        words = _tokens(name or "")
        pairs = itertools.pairwise(words)
        if _YOUTH & set(words) or any(a == "youth" and b in ("justice", "offending") for a, b in pairs):
            return True
    return False

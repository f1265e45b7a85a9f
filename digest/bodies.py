"""Which body a publication is about: a probation delivery unit, a youth justice service, a region, a CRC or an
NPS division, the national service. Pure: a title and text in, a name out.

A body is named the way the inspectorate names them: a place (one or more capitalised words, joined by commas,
"and", "&", "of", "upon") followed by the kind of body ("Salford Youth Justice Service", "Redcar, Cleveland
and Middlesbrough PDU", "North East region", "London division of the National Probation Service"). Every
such name in the title and the opening is a candidate; the title's beats the text's, the earlier beats the
later, and one named again beats one named once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# A capitalised word of a place name (never a body's abbreviation); words join within one line only.
_WORD = (
    r"\b(?!(?:PDU|CRC|YJS|YOS|YOT|NPS|YJPS)s?\b)(?:Mc|Mac|O[’'])?[A-Z](?=[A-Za-z]*[a-z])[A-Za-z]*(?:[’'][a-z]+)?"
    r"(?:-(?:[a-z]+-)?[A-Z][a-z]+)*"
)  # never an abbreviation: a place name has lower-case letters ("Hull", not "PS")
_SP = r"[^\S\n]+"
# Welsh names join with the article "y"/"yr" ("Plas Y Wern", "Pen-y-bont"), English ones with "of", "upon" …
_JOIN = (
    rf"(?:,?{_SP}(?:and|&){_SP}(?:the{_SP})?|,{_SP}|{_SP}(?:of|upon|on|with){_SP}(?:the{_SP})?|{_SP}[Yy]r?{_SP}|{_SP})"
)
_PLACE = rf"{_WORD}(?:{_JOIN}{_WORD})*"
_YOUTH = (
    # "Leicester City Children & Young People's Justice Service", "Wokingham Prevention and Youth Justice Service"
    r"(?:[A-Z][a-z]+\s+(?:and|&)\s+)?(?:Youth|Young\s+People[’']?s?)(?:\s+(?:[A-Z][a-z]+|and|&)){0,4}?"
    r"\s+(?:Service|Team|Partnership)s?\b"
)
_UNIT = (
    r"(?:Probation\s+Delivery\s+Units?\b|PDUs?\b|" + _YOUTH + r"|YJS\b|YOS\b|YOT\b|YJPS\b|"
    r"Community\s+Rehabilitation\s+Company\b|CRC\b|Probation\s+Trust\b|Approved\s+Premises\b|"
    r"[Dd]ivision(?:\s+of\s+the\s+(?:National\s+Probation\s+Service|NPS))?\b|[Rr]egion\b(?!al))"
)
_CANDIDATE = re.compile(rf"(?P<place>{_PLACE}){_SP}(?:\((?:[A-Z]{{2,5}})\){_SP})?(?P<unit>{_UNIT})")
# A PDU named the other way round: "the Probation Delivery Unit (PDU*), for Bristol and South Gloucestershire".
_PDU_FOR = re.compile(
    rf"\b(?:Probation{_SP}Delivery{_SP}Unit|PDU)(?:{_SP}\(PDU\*?\))?\*?,?{_SP}(?:for|in|covering){_SP}"
    rf"(?:the{_SP})?(?P<place>{_PLACE})"
)
# The NPS named the other way round: "NPS Wales", "the National Probation Service in Wales".
_NPS = re.compile(
    rf"\b(?:NPS|National{_SP}Probation{_SP}Service)(?:{_SP}\(NPS\))?{_SP}(?:in{_SP})?(?P<place>{_PLACE})(?!{_SP}(?:{_UNIT}))"
)
_REGIONAL = re.compile(r"\bregional\b|\bregion[’']s\b|\bProbation\s+Services?\s*[–—-]\s*[A-Z]")
# Quality & Impact inspections (2016–2018) named an area: "Probation work in Durham", "… in north of London".
_IN_PLACE = rf"\bin{_SP}(?:the{_SP})?(?P<place>(?:(?:north|south|east|west)(?:{_SP}of)?{_SP})?{_PLACE})"
_AREA_TITLE = re.compile(rf"\b(?:[Pp]robation|[Ii]nspection)\b[^.\n]{{0,40}}?{_IN_PLACE}")
_AREA_TEXT = re.compile(rf"\b[Pp]robation{_SP}(?:work|services?)\b[^.\n]{{0,40}}?{_IN_PLACE}")
_MONTH = re.compile(r"^(?:January|February|March|April|May|June|July|August|September|October|November|December)\b")
# "Uned Gyflawni Prawf Gogledd Cymru", "Uned Gyflenwi Prawf (PDU) Abertawe Castell-nedd Port Talbot": a probation
# delivery unit named in Welsh, the place after the unit.
_WELSH_PDU = re.compile(
    r"\bUned\s+Gyfl(?:awni|enwi)\s+(?:Gwasanaeth\s+)?Prawf(?:\s+\(PDU\))?(?:[^\S\n]+[A-Z][\w’'-]*)+"
)
# A youth offending or youth justice service named in Welsh, the place after it: "gwasanaethau troseddwyr ifanc
# Caerdydd" (youth offending services), "Gwasanaeth Cyfiawnder Ieuenctid Conwy a Sir Ddinbych" (youth justice
# service; "a", and), "Tîm Troseddau Ieuenctid Wrecsam" (youth offending team). After "o" (of) and the like, the
# first word is mutated ("o wasanaethau", "o Dîm"): it is given in its own form. The place's words stop at a
# month, a day, the words of a report's title ("Adroddiad Arolygu Craidd": core inspection report) or an English
# name; Wales, or a part of it ("… Cymru yn gwella", "Gogledd Cymru"), is no one body.
_WELSH_STOP = (
    r"(?:Ionawr|Chwefror|Mawrth|Ebrill|Mai|Mehefin|Gorffennaf|Awst|Medi|Hydref|Tachwedd|Rhagfyr|Dydd|Llun|Mercher|"
    r"Iau|Gwener|Sadwrn|Sul|Adroddiad|Arolyg\w*|Arolw\w*|Craidd|Thematig|Cyd|HMI?\w*|HM|EM|Ei|Probation|"
    r"Inspectorate|Youth|Justice|Service|Offending|Team)\b"
)
_WELSH_REGION = r"(?:(?:Gogledd|De|Canolbarth|Gorllewin|Dwyrain)[^\S\n]+)?Cymru\b"  # Wales, or a part of it
_WELSH_YOUTH = re.compile(
    r"\b(?P<first>[Gg]?[Ww]asanaeth(?:au)?|[Tt][iî]m|[Dd]îm|Dim)\s+(?:[Tt]roseddwyr\s+[Ii]fanc|"
    rf"[Cc]yfiawnder\s+[Ii]euenctid|[Tt]roseddau\s+[Ii]euenctid)(?![^\S\n]+{_WELSH_REGION})"
    rf"(?:[^\S\n]+(?:(?:a|ac|y|yr)[^\S\n]+)?(?!{_WELSH_STOP})[A-Z][\w’'-]*)+"
)
_RADICAL = {
    "wasanaeth": "gwasanaeth",
    "Wasanaeth": "Gwasanaeth",
    "dîm": "tîm",
    "Dîm": "Tîm",
    "dim": "tim",
    "Dim": "Tim",
}
_NATIONAL = re.compile(r"\bnational\s+(?:inspection|arrangements)\b", re.I)
_HMPPS = re.compile(
    r"\b(?:His|Her)\s+Majesty[’']s\s+Prison\s+and\s+Probation\s+Service\b|\bHM\s+Prison\s+and\s+Probation\s+Service\b"
)
# Words that start a sentence or a phrase, never a place: trimmed from the front of a candidate.
_NOT_PLACE = frozenset(
    (
        "A",
        "First",
        "Second",
        "Third",
        "Latest",
        "New",
        "Recent",
        "Further",
        "An",
        "The",
        "This",
        "That",
        "These",
        "Those",
        "Its",
        "Their",
        "Our",
        "Each",
        "Every",
        "All",
        "Both",
        "Any",
        "Some",
        "Overall",
        "However",
        "In",
        "On",
        "At",
        "By",
        "For",
        "From",
        "With",
        "Within",
        "Across",
        "After",
        "Before",
        "Since",
        "While",
        "Whilst",
        "When",
        "Where",
        "Although",
        "Despite",
        "Inspectors",
        "Inspector",
        "Inspection",
        "Inspections",
        "Inspectorate",
        "Chief",
        "HM",
        "His",
        "Her",
        "Majesty’s",
        "Majesty's",
        "Dynamic",
        "Public",
        "Protection",
        "Probation",
        "Services",
        "Service",
        "National",
        "Local",
        "Regional",
        "Report",
        "Reports",
        "Quality",
        "Impact",
        "Work",
        "Findings",
        "Youth",
        "Justice",
        "Offending",
        "Delivery",
        "Unit",
        "Units",
        "Team",
        "Teams",
        "Community",
        "Rehabilitation",
        "Company",
        "Companies",
        "New",
        "Of",
        "And",
        "Also",
        "Today",
        "Published",
        "Foreword",
        "Summary",
        "Introduction",
        "Key",
        "Statement",
        "Leaders",
        "Staff",
        "Managers",
        "Practitioners",
        "Partners",
        "Court",
        "Courts",
        "Head",
        "Heads",
        "England",
        "Wales",
    )
)
_KEEP_ALONE = {"Wales", "England"}  # a region may be just "Wales region"
# The words of a national owner named before a possessive: "the Probation Service’s", "HM Prison and …".
_OWNER = frozenset(("Probation", "Prison", "Service", "Services", "National", "HM", "Youth", "Justice"))


@dataclass(frozen=True)
class Body:
    name: str
    start: int  # where it is first named (in the title, or in the text after it)
    in_title: bool
    mentions: int


def _trim(place: str) -> str:
    """Drop leading words that cannot be part of a place name ("Overall, Wakefield" → "Wakefield")."""
    tokens = re.split(rf"({_JOIN})", place)
    words, joins = tokens[0::2], tokens[1::2]
    whole = list(words), list(joins)
    while words and words[0] in _NOT_PLACE and not (len(words) == 1 and words[0] in _KEEP_ALONE):
        words.pop(0)
        if joins:
            joins.pop(0)
    if not words:
        return ""
    dropped = len(whole[0]) - len(words)
    if dropped and re.search(r"[’']s$", words[0]):
        # A possessive names its owner with the words before it: "the Probation Service’s National Security
        # Division" is all of that, never "Service’s National Security Division". Only the owner's own words
        # come back, joined by spaces ("Today, Wakefield’s …" stays "Wakefield’s …").
        back = 0
        while back < dropped and whole[0][dropped - 1 - back] in _OWNER and whole[1][dropped - 1 - back].isspace():
            back += 1
        words, joins = whole[0][dropped - back :], whole[1][dropped - back :]
    out = words[0]
    for join, word in zip(joins, words[1:], strict=False):
        out += join + word
    return out


def _norm_unit(unit: str) -> str:
    unit = re.sub(r"\s+", " ", unit)
    if re.fullmatch(r"[Rr]egion", unit):
        return "region"
    return unit


def candidates(title: str, text: str, *, lead: int = 3000) -> list[Body]:
    """Every body named in the title or the opening of the text, in order of preference."""
    found: dict[str, Body] = {}
    sources = [(title, True, 0), (text[:lead], False, len(title) + 1)]
    for source, in_title, offset in sources:
        for m in _CANDIDATE.finditer(source):
            place = _trim(m["place"])
            if not place:
                continue
            unit = _norm_unit(m["unit"])
            if unit.islower() and place in ("Probation", "Service"):
                continue
            name = f"{place} {unit}"
            key = re.sub(r"\W+", " ", name.lower()).strip()
            prior = found.get(key)
            if prior is None:
                found[key] = Body(name=name, start=offset + m.start(), in_title=in_title, mentions=1)
            else:
                found[key] = Body(prior.name, prior.start, prior.in_title or in_title, prior.mentions + 1)
        for rx, name_of in ((_NPS, "NPS {}"), (_PDU_FOR, "{} PDU")):
            for m in rx.finditer(source):
                place = _trim(m["place"])
                if place:
                    name = name_of.format(place)
                    key = re.sub(r"\W+", " ", name.lower()).strip()
                    prior = found.get(key)
                    found[key] = (
                        Body(name, offset + m.start(), in_title, 1)
                        if prior is None
                        else Body(prior.name, prior.start, prior.in_title or in_title, prior.mentions + 1)
                    )
    titled = [
        b if b.in_title or not _place_in(b.name, title) else Body(b.name, b.start, True, b.mentions)
        for b in found.values()
    ]
    return sorted(titled, key=lambda b: (not b.in_title, b.start - 400 * (b.mentions - 1)))


def place_of(name: str) -> str:
    """A body's place, without the kind of body: "Wakefield Youth Justice Service" → "Wakefield"."""
    return re.sub(rf"{_SP}(?:{_UNIT})$", "", name).strip()


def _place_in(name: str, title: str) -> bool:
    """The title names the body's place without its kind ("Probation service for Derby City …")."""
    place = place_of(name)
    return len(place) > 3 and re.search(rf"\b{re.escape(place)}\b", title) is not None


def inspected_body(title: str, text: str) -> str | None:
    """The body a publication is about, as it names it; None when it names none (a thematic, a blog)."""
    head = f"{title}\n{text[:1500]}"
    if _NATIONAL.search(head):
        m = _HMPPS.search(f"{title}\n{text[:6000]}")
        if m:
            return re.sub(r"\s+", " ", m.group(0))
    found = candidates(title, text)
    if found and _unit_kind(found[0].name) == "region" and not _REGIONAL.search(f"{title}\n{text[:3000]}"):
        # A region named as where finer bodies were inspected ("two PDUs in the North East region").
        finer = [b for b in found if _unit_kind(b.name) in ("pdu", "youth", "crc")]
        if finer:
            found = [*finer, *[b for b in found if b not in finer]]
    if found and found[0].in_title:
        return tidy(_fullest(found[0], found))
    area = _area(_AREA_TITLE, title)
    if area:
        return area
    if found:
        return tidy(_fullest(found[0], found))
    welsh = _WELSH_PDU.search(f"{title}\n{text[:3000]}")  # the Welsh version of a Welsh PDU's report
    if welsh:
        return re.sub(r"\s+", " ", welsh.group(0))
    youth = _WELSH_YOUTH.search(f"{title}\n{text[:3000]}")  # … and of a Welsh youth offending service's
    if youth:
        first = youth["first"]
        radical = next((r + first[len(m) :] for m, r in _RADICAL.items() if first.startswith(m)), first)
        return re.sub(r"\s+", " ", radical + youth.group(0)[len(first) :])
    return _area(_AREA_TEXT, text[:1500])


_UNIT_KIND = [
    (r"Probation\s+Delivery\s+Units?|PDUs?", "pdu"),
    (r"Community\s+Rehabilitation\s+Company|CRC", "crc"),
    (r"YJS|YOS|YOT|YJPS|Youth.*|Young.*", "youth"),
    (r"[Dd]ivision.*", "division"),
    (r"region", "region"),
]


def _unit_kind(name: str) -> str:
    unit = name[len(place_of(name)) :].strip()
    return next((k for rx, k in _UNIT_KIND if re.fullmatch(rx, unit)), unit)


def _fullest(best: Body, found: list[Body]) -> str:
    """The same body named again more fully ("Lincs & …" then "Lincolnshire & …"): the fuller name."""
    first = place_of(best.name).split()[0]
    same = [
        b.name for b in found if _unit_kind(b.name) == _unit_kind(best.name) and place_of(b.name).split()[0] == first
    ]
    return max(same, key=lambda n: len(place_of(n)), default=best.name)


def tidy(name: str) -> str:
    """One spelling: "&" as "and", the long forms of PDU and CRC shortened, no leading "the"."""
    name = re.sub(r"\s+", " ", name).strip(" ,;–-")
    name = re.sub(r"\bProbation Delivery Unit\b", "PDU", name)
    name = re.sub(r"\bCommunity Rehabilitation Company\b", "CRC", name)
    name = re.sub(r"\s*&\s*", " and ", name)
    return re.sub(r"^the\s+", "", name, flags=re.I)


def _area(rx: re.Pattern[str], source: str) -> str | None:
    """An area named after "probation work in" (the Quality & Impact inspections of 2016–2018)."""
    m = rx.search(source)
    if not m:
        return None
    if re.fullmatch(rf"England{_SP}(?:and|&){_SP}Wales", m["place"]):
        return None  # the whole jurisdiction: a national publication, not an area's
    place = _trim(m["place"]) if m["place"][:1].isupper() else m["place"]
    return place if place and not _MONTH.match(place) else None


def same_body(a: str | None, b: str | None) -> bool:
    """Two names for one body: the same spelling once tidied, or the same place and kind of body."""
    if not a or not b:
        return False

    def key(name: str) -> str:
        return re.sub(r"[^a-z0-9]+", " ", tidy(name).lower()).strip()

    if key(a) == key(b):
        return True
    pa, pb = key(place_of(tidy(a))).split(), key(place_of(tidy(b))).split()
    kinds = {_unit_kind(tidy(a)), _unit_kind(tidy(b))}
    # "South Yorks" and "South Yorkshire": the same words, one abbreviated; an area has no kind of body.
    abbreviated = len(pa) == len(pb) and all(
        len(x) >= 3 and (x.startswith(y) or y.startswith(x)) for x, y in zip(pa, pb, strict=True)
    )
    return abbreviated and (len(kinds) == 1 or "" in {_unit_kind(tidy(a)), _unit_kind(tidy(b))})


_DISCUSSES = re.compile(r"\binspect\w*|\brated\b|\brating\b|\b(?:Outstanding|Inadequate|Requires improvement)\b")


def discussed_body(title: str, text: str) -> str | None:
    """The body a post or news item discusses, when it discusses its inspection: it names the body, and the
    inspection or a rating, in its title or opening."""
    if not _DISCUSSES.search(f"{title}\n{text[:2000]}"):
        return None
    return inspected_body(title, text)

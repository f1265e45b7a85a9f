"""Is an item about probation in England and Wales, and what kind of publication is it? Pure and offline.

Signals: the feed (the inspectorate's own feeds need no filter), feed categories, the title and the text.
The hard cases: the prisons inspectorate shares the domain and the "Chief Inspector" wording; police and fire
inspections give the same four ratings; US "county probation" is another country's sector.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .models import Kind

_PROBATION = [
    (r"\bprobation\b", 3),
    (r"\bcommunity rehabilitation compan(?:y|ies)\b|\bCRCs?\b", 3),
    (r"\bnational probation service\b|\bNPS\b", 2),
    (r"\bprobation delivery units?\b|\bPDUs?\b", 3),
    (r"\byouth (?:justice|offending) (?:services?|teams?|board)\b|\bYOTs?\b", 3),
    (r"\byouth justice\b", 2),
    (r"\bunpaid work\b|\bcommunity payback\b", 2),
    (r"\bcommunity (?:orders?|sentences?)\b", 2),
    (r"\bon licence\b|\blicence conditions?\b|\brecall(?:ed)? to (?:custody|prison)\b", 1),
    (r"\bMAPPA\b|\bapproved premises\b|\baccredited programmes?\b", 2),
    (r"\btransforming rehabilitation\b|\bthrough the gate\b", 2),
    (r"\bresponsible officers?\b|\bcase ?loads?\b|\bsupervis(?:ion|ed|ing)\b", 1),
    (r"\breoffending\b|\brehabilitation\b", 1),
    (r"\bHMPPS\b|\bHM Prison and Probation Service\b", 1),
    (r"\bHM Inspectorate of Probation\b|\bHMI Probation\b|\bChief Inspector of Probation\b", 5),
    (r"\bsentence plans?\b|\brisk of (?:serious )?harm\b|\bOASys\b", 1),
]
_ELSEWHERE = [
    (r"\bHM Inspectorate of Prisons\b|\bChief Inspector of Prisons\b|\bHMI Prisons\b", 6),
    (r"\bHMP\s+[A-Z]\w+|\b(?:prison|prisoners|jail|gaol|young offender institution|YOI|inmates?)\b", 1),
    (r"\bpolice(?: force| service)?\b|\bconstabular(?:y|ies)\b|\bHMICFRS\b|\bpolicing\b", 1),
    (r"\bfire and rescue\b|\bfire service\b", 3),
    (r"\bcounty (?:adult )?probation (?:department|office)\b|\bparole board of [A-Z]\w+\b", 6),
    (
        r"\b(?:Pennsylvania|California|Texas|Ohio|Michigan|Florida|Georgia|Illinois|Arizona|U\.S\.|USA|sheriff)\b",
        2,
    ),
    (r"\bCrown Prosecution Service\b|\bHMCPSI\b", 3),
]
_PROBATION_RX = [(re.compile(p, re.I if "CRC" not in p and "NPS" not in p else 0), w) for p, w in _PROBATION]
_ELSEWHERE_RX = [(re.compile(p), w) if p.startswith(r"\bHMP") else (re.compile(p, re.I), w) for p, w in _ELSEWHERE]

_THEMATIC = re.compile(r"\bthematic\b", re.I)
_RESEARCH = re.compile(
    r"\b(?:research|academic insights?|bulletin|evidence review|effective practice guide|"
    r"literature review|annual report)\b",
    re.I,
)
_INSPECTION_TITLE = re.compile(
    r"\b(?:inspection of|inspection:|quality (?:&|and) impact|an inspection by|inspection report|"
    r"core inspection|inspect(?:ed|ion) (?:of )?(?:probation|youth))\b",
    re.I,
)
_INSPECTION_TEXT = re.compile(
    r"\b(?:we inspected|inspectors (?:found|visited|rated|concluded)|(?:was|were|is) rated(?: as)?|"
    r"overall rating|published (?:a |the )?(?:report|inspection)|inspection (?:report|of))\b",
    re.I,
)


@dataclass(frozen=True)
class Classification:
    about_probation: bool
    kind: Kind
    score: float


def _score(text: str, patterns: list[tuple[re.Pattern[str], int]], cap: int = 6) -> int:
    return sum(min(len(rx.findall(text)), cap) * w for rx, w in patterns)


def classify(
    *,
    title: str,
    text: str,
    categories: tuple[str, ...] = (),
    feed_kind: str | None = None,
    filtered: bool = True,
) -> Classification:
    """Decide relevance and kind from what the item says and where it comes from."""
    head = f"{title}\n{' '.join(categories)}\n{text[:6000]}"
    title_cats = f"{title} {' '.join(categories)}"
    pro = _score(head, _PROBATION_RX) + 2 * _score(title_cats, _PROBATION_RX, cap=2)
    other = _score(head, _ELSEWHERE_RX) + 2 * _score(title_cats, _ELSEWHERE_RX, cap=2)
    if not filtered or feed_kind == "inspectorate":
        about = True
    else:
        # Relevant when probation language is present and outweighs the other sectors'.
        about = pro >= 4 and pro >= 1.2 * other
    return Classification(about_probation=about, kind=_kind(title, head, feed_kind), score=pro - other)


def _kind(title: str, head: str, feed_kind: str | None) -> Kind:
    if _THEMATIC.search(title) or (feed_kind == "inspectorate" and _THEMATIC.search(head[:1500])):
        return "thematic"
    if _RESEARCH.search(title):
        return "research"
    if _INSPECTION_TITLE.search(title):
        return "inspection"
    if feed_kind in ("inspectorate", "news", "govuk"):
        if _INSPECTION_TEXT.search(head[:3000]):
            return "inspection"
        return "news"
    if feed_kind == "blog":
        return "blog"
    if _INSPECTION_TEXT.search(head[:3000]) and re.search(r"\binspect", head[:600], re.I):
        return "inspection"
    return "other"

"""The overall rating an inspection gives: Outstanding, Good, Requires improvement or Inadequate. Pure.

Reports and press releases state many ratings: the overall one, one per standard or domain, a previous
inspection's, another service's. Each statement is a sentence that names a rating; it is scored on whether it
gives this inspection's overall judgement ("has received an overall rating of", "Overall, X was rated as",
"the overall rating for Wales was", a headline "X rated 'Good'") or something else (a standard, an earlier
inspection, a part of the work). The best-scoring statement wins; where none is clearly overall, there is none.
"""

from __future__ import annotations

import re

from .bodies import candidates, place_of
from .models import RATINGS
from .text import split_sentences

_Q = "‘'\"“"
_QC = "’'\"”"
_WORD = r"(Outstanding|Good|Requires?\s+[Ii]mprovement|Requiring\s+[Ii]mprovement|Inadequate)"
# A rating as a rating, not as an adjective: in quotes, or straight after "rated (as)", "rating of", "as".
_STATED = re.compile(
    rf"[{_Q}]\s*{_WORD}\s*\.?[{_QC}]"
    rf"|\b(?:rated|rating\s+(?:of|was|is)|rating\s*[:|]|rated\s+as|judged(?:\s+to\s+be)?|assessed\s+as|as)\s+(?:being\s+)?"
    rf"{_WORD}\b"
    rf"|\b(?:be|been|is|was|were)\s+{_WORD}\s+overall\b",  # "found by inspectors to be good overall"
    re.I,
)
_OVERALL = re.compile(
    r"(?i:\boverall\b|\brating\s+for\s+(?:this|the)\b|\bha(?:s|ve)\s+been\s+(?:rated|given|assessed|judged)\b|"
    r"\b(?:gave|given|awarded|received)\b[^.]{0,80}\brating\b)"
    r"|\b(?i:rate[ds]?)\s+(?:the\s+|this\s+|it\s+)?(?:[A-Z]\w*|service|organisation|region|unit|partnership)\b",
)
_VERDICT = re.compile(
    r"\b(?:rate[ds]?|rating|received|given|awarded|assessed|judged|found\s+to\s+be|as\s+a\s+consequence)\b", re.I
)
# The statement is about a part: a standard, a domain, an area of work, or several of them at once.
_PART = re.compile(
    r"\b(?:standards?|domains?|areas?|aspects?|each|both|all\s+(?:four|three|two|of)|also|separately|"
    r"leadership|staffing|partnerships?|services\s+(?:and|were)|resettlement|victim|court\s+work|unpaid\s+work|"
    r"out-of-court|casework|case\s+work|implementation|assessment|planning|reviewing|quality\s+of|provision|"
    r"mostly|largely|partly|in\s+places|in\s+parts|orders|"
    r"arrangements\s+for\s+the\s+provision|information\s+and\s+facilities|one\s+of|two\s+of|three\s+of|sub-?)\b",
    re.I,
)
_BEFORE = re.compile(
    r"\b(?:previous(?:ly)?|recent(?:ly)?|last\s+inspect\w*|earlier|formerly|had\s+been\s+rated|was\s+rated\s+.{0,40}\s+in\s+20\d\d|"
    r"in\s+20\d\d|since\s+20\d\d|other\s+(?:PDUs?|services|regions)|compared|nationally|every\s+PDU|"
    r"all\s+(?:PDUs|services|regions)|more\s+than\s+half|majority\s+of|per\s+cent|%)",
    re.I,
)
# The whole body is what got the rating, so a part word elsewhere in the sentence is no part: "gave the
# service a 'Good' rating"; several bodies that "have each been rated 'Inadequate'" (a press release on three
# PDUs), which is each one's overall rating.
_GIVEN_WHOLE = re.compile(
    rf"\b(?:gave|give[ns]?|awarded)\s+(?:the\s+(?:service|organisation|PDU|YJS|YOS|YOT|CRC|region|division|"
    rf"partnership|unit)|it|them)\s+an?\s+(?:overall\s+)?[{_Q}]?{_WORD}",
    re.I,
)
_EACH_RATED = re.compile(
    # bodies, not kinds of work ("Unpaid work and Through the Gate services were both rated as good")
    r"\b(?:PDUs|Probation\s+Delivery\s+Units|(?:probation|youth\s+justice|youth\s+offending)\s+services|YJSs|YOTs|"
    r"areas\s+of\s+[A-Z]\w+)\b[^.]{0,80}?"
    r"\b(?:have|were)\s+(?:each|all|both)\s+(?:been\s+)?rated\b",
    re.I,
)
# Where the clause that states the rating ends: what follows a dash or a comma ("– retaining the grade they
# received in 2018") speaks of something else.
_CLAUSE_END = re.compile(r"\s[–—-]\s|[,;:(]")
_RAISED = re.compile(rf"\bfrom\s+[{_Q}]?{_WORD}[{_QC}]?\s+to\s+[{_Q}]?{_WORD}", re.I)


def _norm(word: str) -> str:
    w = re.sub(r"\s+", " ", word.lower())
    return "Requires improvement" if "improvement" in w else w.capitalize()


_SUBJECT = re.compile(
    r"^(?:It|The\s+(?:CRC|PDU|YOS|YOT|YJS|NPS|service|organisation|region|division|partnership|unit))\b"
)


def _words(name: str) -> list[str]:
    """A name's words without their punctuation: "Kent, Surrey and Sussex" is Kent, Surrey, and, Sussex."""
    return re.findall(r"\w[\w’'-]*", name)


def _names_own(sentence: str, body: str | None) -> bool:
    own = _words(place_of(body)) if body else []
    return bool(own) and re.search(rf"\b{re.escape(own[0])}\b", sentence) is not None


def _names_another(sentence: str, body: str | None) -> bool:
    """The sentence is about another body than the one inspected ("The second is X PDU, which …")."""
    if not body:
        return False
    named = [_words(place_of(b.name).lower()) for b in candidates("", sentence)]
    own = _words(place_of(body).lower())
    return bool(named) and bool(own) and not any(n and n[0] == own[0] for n in named)


def find_rating(text: str, *, title: str = "", body: str | None = None) -> str | None:
    """The overall rating of this inspection (of `body`, when known), normalised; None when the text does not
    clearly state one."""
    best: tuple[float, int, str] | None = None
    statements = [(title, True)] if title else []
    flat = re.sub(r"[ \t]+", " ", text[:20_000])
    statements += [(s, False) for p in flat.split("\n") if p.strip() for s in split_sentences(p.strip())]
    for order, (sentence, is_title) in enumerate(statements):
        raised = _RAISED.search(sentence)
        if raised:
            rating, score = _norm(raised.group(2)), 4.0
        else:
            m = _STATED.search(sentence)
            if not m:
                continue
            rating = _norm(next(g for g in m.groups() if g))
            before = sentence[: m.start()]
            score = 0.0
            if is_title:
                score += 4  # a headline "X rated 'Good'" gives the overall rating
            if _OVERALL.search(sentence):
                score += 3
            if _VERDICT.search(sentence):
                score += 1
            if _SUBJECT.match(sentence) or _names_own(sentence, body):
                score += 1  # the inspected body, or "It" / "The PDU", is what was rated
            parts_named = re.search(r"\b(?:standards?|domains?)\b", before) is not None
            each = _EACH_RATED.search(sentence) is not None and not parts_named
            if each:
                score += 3
            whole = each or (_GIVEN_WHOLE.search(sentence) is not None and not parts_named)
            if not whole and _PART.search(before[-90:]) and not re.search(r"\boverall\b", sentence, re.I):
                score -= 4
            end = _CLAUSE_END.search(sentence, m.end())
            if _BEFORE.search(sentence[: end.start() if end else len(sentence)]) or _names_another(sentence, body):
                score -= 4
            if not is_title and not _OVERALL.search(sentence) and len(_STATED.findall(sentence)) > 1:
                score -= 2  # "rated 'Good' for X and 'Inadequate' for Y": parts
        if rating not in RATINGS or score < 2:
            continue
        if best is None or score > best[0]:
            best = (score, order, rating)
    return best[2] if best else _welsh_rating(text[:20_000])


# The Welsh version of a Welsh report: "graddiwyd yr Uned fel “angen ei gwella”", "cafodd yr Uned sgôr ‘Angen
# gwella’ yn gyffredinol" (overall). Only a quoted rating after "rated"/"score": the adjectives alone describe parts.
_WELSH = re.compile(
    rf"\b(?:graddiwyd|sgôr|gradd)\b[^.\n]{{0,60}}?[{_Q}](Rhagorol|Da|Angen\s+(?:ei\s+)?[gw]wella|Annigonol)[{_QC}]",
    re.I,
)
_WELSH_WORDS = {"rhagorol": "Outstanding", "da": "Good", "annigonol": "Inadequate"}


def _welsh_rating(text: str) -> str | None:
    m = _WELSH.search(text)
    if not m:
        return None
    word = m.group(1).lower()
    return "Requires improvement" if word.startswith("angen") else _WELSH_WORDS[word]

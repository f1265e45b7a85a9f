"""The report card of an inspection: ratings per standard, the chief inspector and their words, key findings,
recommendations with whom they are for, and the context a probation reader wants (who owns the CRC, the NPS
division, how many people it supervises). Who was inspected is `bodies`; the overall rating is `ratings`.
`merge_cards` makes one card of a press release and the report it announces.

Pure: text in, facts out. Each extractor works on the wording inspectorate reports, press releases and the
sector's blogs use, old (2016–2018 "Quality & Impact") and new (PDU inspections since 2021) alike.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import replace
from typing import NamedTuple

from .models import Summary
from .text import DEPENDENT, Sentence, as_item, split_sentences, whole, word_count

# The language of findings, shared with the summariser.
EVALUATIVE = re.compile(
    r"\b(?:found|finds|concluded|rated|inspectors?|quality|good|outstanding|inadequate|acceptable|poor|"
    r"improvement|improve|effective(?:ly)?|ineffective|strong|weak|well|not good enough|concern(?:s|ed)?|"
    r"should|must|needs? to|recommend\w*|overall|generally|insufficient|impressive|too (?:many|few|little)|"
    r"lack(?:ed|ing)?|positive|failed|failing)\b",
    re.I,
)
JUDGEMENT = re.compile(
    r"\b(?:was|were|is|are|remained|been)\b[^.]{0,60}?\b(?:good|outstanding|acceptable|inadequate|poor|"
    r"inconsistent|effective|strong|weak|sound|impressive|insufficient|required improvement|requires? "
    r"improvement|not good enough|mixed|erratic|better|worse)\b",
    re.I,
)
NOISE = re.compile(
    r"\b(?:click here|cookies?|subscribe|sign up|newsletter|sponsored|copyright|all rights "
    r"reserved|licence to|this licence|view this licence|©|continue reading|read more|appeared first on|"
    # The document's own signposts: out of place in a summary of it.
    r"(?:are|is) (?:provided|given|set out|shown|summarised|listed) (?:below|above)|see (?:below|above)|"
    # Pointers to where the publication is: "You can read the full report here.", "The three reports are
    # available on the HM Inspectorate of Probation website.", GOV.UK's "Tell us if you need … in an alternative
    # format". Only in those forms: "Staff could not view the full reports online" is a finding.
    r"^\W*(?:you can |please )?(?:read|download|view) (?:the|our) (?:full |whole )?(?:reports?|publications?|"
    r"documents?)\b(?=[^.]{0,80}\b(?:here|website|below)\b)|"
    r"\b(?:reports?|publications?|documents?|versions?|tools?|guidance)\b[^.]{0,40}\b(?:is|are) (?:now )?"
    r"available (?:here|below|above|on (?:the|our) [\w ]{0,40}?website)|"
    r"\bif you (?:want|need)\b[^.]{0,80}\bin an alternative format)\b",
    re.I,
)
_CHIEF_TITLE = (
    r"(?:(?:[Tt]he\s+)?(?:[Ii]nterim|[Aa]cting|[Oo]utgoing|[Nn]ew|[Ff]ormer)\s+)?"
    # the spaces after "HM" go with it: a title never starts on a space (searched at every one of a long run)
    r"(?:(?:HM|Her Majesty’s|Her Majesty's|His Majesty’s|His Majesty's)\s*)?"
    r"Chief\s+(?:Probation\s+)?Inspector(?:\s+of\s+Probation)?"
)
# A name as printed: "Sue McAllister", "Dame Glenys Stacey", "Justin Russell CBE" (post-nominals are dropped).
# Capitals and small letters with the accents of Welsh and Irish names ("Rhodri Llŷr", "Siân", "Seán").
_UPPER = "A-ZÀ-ÖØ-ÞŴŶ"
_LOWER = "a-zß-öø-ÿŵŷẁẃẅỳ"
_NAME_WORD = rf"(?:Mc|Mac|O[’']|D[’'])?[{_UPPER}][{_LOWER}]+(?:-[{_UPPER}][{_LOWER}]+)?"
_NAME = rf"(?:(?:Dame|Sir|Dr|Professor|Mr|Mrs|Ms|Lord|Lady)\s+)?{_NAME_WORD}(?:[ -]{_NAME_WORD}){{1,2}}"
_POST = r"(?:\s+(?:CBE|OBE|MBE|KC|QC|DBE))*"
_CHIEF_RX = [
    re.compile(rf"(?P<name>{_NAME}){_POST},\s+{_CHIEF_TITLE}"),
    # A foreword's signature run into its last paragraph: "… overall. Dame Glenys Stacey HM Chief Inspector …"
    # Never the title as an owner: "Our Mandate" heads "HM Chief Inspector of Probation's responsibilities are …".
    re.compile(
        rf"(?P<name>{_NAME}){_POST}\s+(?:HM|Her Majesty’s|Her Majesty's|His Majesty’s|His Majesty's)\s+Chief\s+"
        r"Inspector\s+of\s+Probation(?![’']s\b)"
    ),
    re.compile(rf"{_CHIEF_TITLE},?[^\S\n]+(?P<name>{_NAME})"),  # never across a line: a headline's end
    re.compile(rf"(?P<name>{_NAME}){_POST}\s+as\s+{_CHIEF_TITLE}"),  # "the appointment of X as Chief Inspector"
]
_CHIEF_SIGNATURE = re.compile(rf"^(?P<name>{_NAME})$")
# What every way of naming the chief inspector below contains: a text without it names none, and is not searched
# with the patterns above (which try a name at every capital letter: about 2 ms on a 1,300-word post).
_ANY_CHIEF = re.compile(r"Chief\s+(?:Probation\s+)?Inspector")
# The title as an owner ("HM Chief Inspector of Probation's role"), however much of it the title pattern takes.
_OWNED = re.compile(rf"{_CHIEF_TITLE}(?:\s+of\s+Probation)?[’']s\b")
SECTION_FINDINGS = re.compile(
    r"overall judgements|overall findings|executive summary|^summary|key findings|"
    r"main findings|findings|conclusions?|overview",
    re.I,
)


def in_findings(s: Sentence) -> bool:
    """In a report's findings chapter, and not in its recommendations or foreword."""
    return bool(SECTION_FINDINGS.search(s.chapter)) and not re.fullmatch(
        r"(?:our |key )?recommendations?|foreword", s.heading.strip(), re.I
    )


_UNITS = [
    (r"\bthematic\b", "thematic inspection"),
    (r"\b(?:probation delivery units?|PDUs?)\b", "probation delivery unit"),
    (r"\b(?:youth (?:offending|justice) (?:services?|teams?)|YOS|YOT|youth justice)\b", "youth justice service"),
    (r"\b(?:community rehabilitation compan(?:y|ies)|CRCs?)\b", "community rehabilitation company"),
    (r"\bNPS\b[^.]{0,40}\bdivision\b|\bdivision of the National Probation Service\b", "NPS division"),
    (r"\bprobation (?:service )?region\b|\bregional (?:probation|inspection)\b", "probation region"),
    (r"\bQuality\s*&\s*Impact\b|\bprobation work in\b", "CRC and NPS area inspection"),
]


_CAP = r"[A-Z][\w’'&-]*(?:\s+(?:and\s+|&\s+)?[A-Z][\w’'&-]*)*"
_FACTS: list[tuple[re.Pattern[str], Callable[[re.Match[str]], str]]] = [
    (
        re.compile(
            rf"\bCRC\)?\s+(?:is\s+|was\s+)?owned by\s+(?P<a>(?:the\s+)?{_CAP})(?:\s*\([A-Z]+\))?"
            rf"(?:,?\s+in partnership with\s+(?P<b>{_CAP}))?"
        ),
        lambda m: f"CRC owned by {m['a']}" + (f", with {m['b']}" if m["b"] else ""),
    ),
    (re.compile(r"\bNPS (?P<a>[A-Z][a-z]+(?: [A-Z][a-z]+)?) [Dd]ivision\b"), lambda m: f"NPS {m['a']} division"),
    (
        re.compile(r"\b(?P<a>[A-Z][a-z]+(?: [A-Z][a-z]+)?) [Dd]ivision of the (?:NPS|National Probation Service)\b"),
        lambda m: f"NPS {m['a']} division",
    ),
    (
        re.compile(
            r"\b(?P<who>the (?:CRC|PDU|NPS|YOS|service))\W+which supervises (?P<n>\d[\d,]{2,}) (?P<what>people|"
            r"offenders|individuals|children)"
        ),
        lambda m: f"{m['who'][4:]} supervises {m['n']} {m['what']}",
    ),
    (
        re.compile(
            r"\b(?P<n>\d[\d,]{2,}) The number of offenders supervised by the (?P<who>[A-Z][\w ]{2,40}?CRC)(?=\d|\b)"
        ),
        lambda m: f"{m['who']} supervises {m['n']} people",
    ),
]


def context_facts(text: str, limit: int = 4) -> tuple[str, ...]:
    """Short facts a probation reader wants on the card, each found once: CRC ownership, the NPS division,
    how many people the inspected body supervises."""
    flat = re.sub(r"\s+", " ", text[:40_000])
    out: list[str] = []
    for rx, phrase in _FACTS:
        m = rx.search(flat)
        if m:
            fact = phrase(m).replace(" And ", " and ")
            if fact not in out:
                out.append(fact)
    return tuple(out[:limit])


def inspected_unit(title: str, organisation: str | None, text: str) -> str | None:
    """What kind of body was inspected, from the title and organisation first, then the opening text."""
    head = text[:3000]
    both = re.search(r"\bCRC\b|Community Rehabilitation Company", head) and re.search(
        r"\bNPS\b|National Probation Service", head
    )
    for source in (f"{title} {organisation or ''}", head):
        if source is head and both:
            return "CRC and NPS area inspection"
        for pattern, unit in _UNITS:
            if re.search(pattern, source, re.I if "NPS" not in pattern and "PDU" not in pattern else 0):
                return unit
    return None


# ---- the card's parts


def standard_ratings(text: str) -> tuple[tuple[str, str], ...]:
    """Ratings per standard where a report lists them, e.g. "1.1 Leadership  Good"."""
    out: list[tuple[str, str]] = []
    # A line of text ("1.1 Leadership  Good") or a table row as extracted ("| 1.1 Leadership | Good |").
    rx = re.compile(
        r"^\s*\|?\s*(\d\.\d)\s+([A-Z][A-Za-z ,&’'-]{2,60}?)\s*(?:[:–|-]\s*)?\s+(Outstanding|Good|Requires improvement|"
        r"Inadequate)\s*\|?\s*$",
        re.M,
    )
    for m in rx.finditer(text):
        item = (f"{m[1]} {m[2].strip()}", m[3])
        if item not in out:
            out.append(item)
    return tuple(out[:20])


# The verbs that tell someone's words, in every rule here: "said", "told MPs:", "said in a statement:".
SPEECH_VERBS = (
    r"(?:said|says|added|adds|adding|commented|comments|explained|explains|stated|states|responded|replied|wrote|"
    r"writes|told|warned|warns|urged|urges|continued|concluded|concludes|summarised|praised|stressed|stresses|"
    r"emphasised|argued|remarked|insisted|acknowledged|admitted|announced|reflects|reflected)"
)
# … and those a report does as often as a person ("The report noted: “…”"): someone else's words, never by
# themselves the chief inspector speaking.
REPORTING_VERBS = r"(?:noted|notes|observed|highlighted|found|finds|reported|recorded)"
_SPEAKS = re.compile(
    r"\b(?:said|says|say|added|adds|commented|noted|notes|recalled|concluded|concludes|warned|warns|published|"
    r"publishes|stated|states|explained|urged|urges|called|calls|highlighted|welcomed|wrote|writes|praised|"
    r"described|summarised|reported|told|continued|acknowledged)\b|[“\"]",
    re.I,
)
# An office in apposition describes someone named before it ("Justin Russell, … and a former Director of …").
_APPOSED = re.compile(r"\b(?:a|an)\s+(?:[\w-]+\s+){0,2}$", re.I)


def _theirs(para: str, verb: re.Match[str], name: str) -> bool:
    """The verb (or opening mark) tells the chief inspector's words, not another officeholder's ("Secretary of State
    David Gauke told Parliament he had asked Chief Inspector of Probation, Dame Glenys Stacey, to …" names her as
    asked), and an opening mark opens words, not a term in quotation marks (“victim contact scheme”)."""
    if verb[0] in '“"':
        words = para[verb.end() : verb.end() + 200]  # enough for eight words, never the rest of a long paragraph
        close = words.find("”" if verb[0] == "“" else '"')
        if len(words[: close if close >= 0 else len(words)].split()) < 8:
            return False
    clause = re.split(r"[.!?]\s", para[max(0, verb.start() - 120) : verb.start()])[-1]
    clause = _without_asides(clause)  # an aside between commas is never the one speaking
    office = [m.end() for m in _OTHER_OFFICE.finditer(clause) if not _APPOSED.search(clause[: m.start()])]
    chief = [m.end() for m in _TITLE.finditer(clause)] + _word_ends(clause, name.split()[-1])
    return not office or (bool(chief) and max(chief) > office[-1])


_TITLE = re.compile(_CHIEF_TITLE)
_ACCORDING = re.compile(r"\baccording\s+to\s+(?:(?:the|HM|Dame|Sir|Dr)\s+)*")


def _word_ends(text: str, word: str) -> list[int]:
    """Where `word` ends each time it stands as a word of its own in `text` (a name, found without compiling a
    pattern for each of the names a long text holds)."""
    ends, at = [], text.find(word)
    while at >= 0:
        end = at + len(word)
        if (at == 0 or not text[at - 1].isalnum()) and (end == len(text) or not text[end].isalnum()):
            ends.append(end)
        at = text.find(word, at + 1)
    return ends


@functools.lru_cache(maxsize=32)  # every candidate name in a paragraph asks again
def _speaks_in(para: str, name: str) -> bool:
    surname = name.split()[-1]
    return (
        len(para.split()) <= 16
        or any(_theirs(para, verb, name) for verb in _SPEAKS.finditer(para))
        or _according_to(para, surname)
    )


def _according_to(para: str, surname: str) -> bool:
    """ "…, according to Dame Glenys Stacey, HM Chief Inspector of Probation": the name straight after "according
    to" (a title or two before it at most); not "according to an announcement"."""
    for m in _ACCORDING.finditer(para):
        after = para[m.end() : m.end() + 80]
        if any(
            re.match(r"(?:[A-Z][\w’'-]+\s+){0,4}$", after[: end - len(surname)]) for end in _word_ends(after, surname)
        ):
            return True
    return False


def _speaks(text: str, start: int, end: int, name: str) -> bool:
    """The name is the speaker or the author (a quote, "said", a byline), here or later by surname ("Mr Russell
    said: …"), not a mention in passing."""
    para_start = text.rfind("\n", 0, start) + 1
    para_end = text.find("\n", end)
    para_end = para_end if para_end >= 0 else len(text)
    # Read near the name, never the whole of a long paragraph for each name in it.
    near = text[max(para_start, start - 600) : min(para_end, end + 600)]
    tail = text[max(para_start, para_end - 600) : para_end]
    return _introduces(tail, text[para_end : para_end + 10], name) or (
        _speaks_in(near, name) or _said_later(text, name.split()[-1])
    )


def _introduces(para: str, after: str, name: str) -> bool:
    """The paragraph's last sentence (`para` ends it) introduces the quotation that follows with the name as its
    speaker: "Chief
    Inspector of Probation Justin Russell reflects on what has been learned:", not "… will succeed Justin Russell
    as Chief Inspector. Justice Secretary Shabana Mahmood said:"."""
    if not para.rstrip().endswith(":") or after.lstrip()[:1] not in ("“", '"'):
        return False
    *earlier, last = _sentences_in(para)
    named = re.compile(rf"\b(?:{_forms(name)})\b")
    if not named.search(last):
        return False
    return _introduced_by(last, named, " ".join(earlier)) is not False


def _said_later(text: str, surname: str) -> bool:
    """Their surname says something somewhere ("Mr Russell said: …")."""
    return surname in _sayers(text)


@functools.lru_cache(maxsize=4)  # asked for every candidate name in the text (a few texts: a report is large)
def _sayers(text: str) -> frozenset[str]:
    """Every capitalised word within 40 characters before a speaking verb, in the same sentence: read once a
    text, not once a name."""
    words: set[str] = set()
    for verb in re.finditer(r"\b(?:said|says|added|commented|concluded|explained)\b", text):  # said, not told
        lead = re.split(r"[.“\"\n]", text[max(0, verb.start() - 40) : verb.start()])[-1]
        words.update(re.findall(rf"\b[{_UPPER}][\w’'-]*", lead))
    return frozenset(words)


def chief_inspector(
    text: str, sents: list[Sentence], title: str = "", *, foreword: bool = True
) -> tuple[str | None, str | None]:
    """The chief inspector's name and words: a quotation near their name, or (unless `foreword` is false: see
    `foreword_words`) their foreword. A chief inspector named in passing ("the current Chief Inspector, X, will
    stay until May") is not given."""
    within = f"{title}\n\n{text}" if title else text
    if not _ANY_CHIEF.search(within):
        return None, None
    found: list[tuple[int, str]] = []
    for rx in _CHIEF_RX:
        for m in rx.finditer(within):
            context = within[m.start() : m.end() + 30]
            if re.search(r"Inspector\s+of\s+(?!Probation\b)[A-Z]", context) or re.search(
                r"of\s+(?:Prisons|Constabulary|Fire)", context
            ):
                continue  # another inspectorate's chief: prisons, police, education, Northern Ireland's justice
            if re.search(
                r"\b(?:[Ff]ormer|[Pp]revious|[Ll]ate)\s+(?:HM\s+)?Chief", within[m.start() : m.end()]
            ) or re.search(
                r"\b(?:succeed(?:s|ed|ing)?|replac(?:es|ed|ing))\s+$",
                within[max(0, m.start() - 14) : m.start()],
            ):
                continue  # "Former Chief Inspector … Dame Glenys Stacey warned"; "who succeeded Justin Russell as …"
            candidate = m.group("name")
            if candidate.split()[0] in ("The", "This", "Chief", "Inspector", "HM", "Her", "His"):
                continue
            if (
                _OTHER_OFFICE.search(candidate)
                or _NOT_A_NAME.search(candidate)
                or re.search(r"(?:Deputy|Assistant)\s+$", within[max(0, m.start() - 12) : m.start()])
            ):
                continue  # "the Justice Secretary, Chief Inspector …"; "Deputy Chief Inspector Sarah Smith"
            begins = m.start() + len(m.group(0)) - len(m.group(0).lstrip())  # the title's \s* may take a newline
            if _speaks(within, m.start(), m.end(), candidate) or _opens_foreword(within, begins):
                found.append((m.start(), candidate))
    paras = [p.strip() for p in text.split("\n\n") if p.strip()]
    name = min(found)[1] if found else None
    if name is None:
        name = _named_next(within)
    if name is None:
        for i, p in enumerate(paras[:-1]):
            title_line = paras[i + 1].split("\n", 1)[0]
            # A signature: the name, then the title as a line of its own (not "HM Chief Inspector of Probation's
            # responsibilities are …" under a heading).
            if (
                re.match(rf"{_CHIEF_TITLE}\b", title_line)
                and not _OWNED.match(title_line)
                and len(title_line.split()) <= 8
                and _CHIEF_SIGNATURE.match(p)
            ):
                name = p
                break
    if name is None:
        return None, None
    name = _short_name(name)
    return name, _quote(text, paras, name) or (foreword_words(sents, name) if foreword else None)


# Words of an organisation's name, never a person's: "Acting Chief Inspector, Criminal Justice Inspection …"
_NOT_A_NAME = re.compile(r"\b(?:Inspection|Inspectorate|Justice|Service|Probation|Prisons?|Police|Northern|Ireland)\b")


def _opens_foreword(text: str, start: int) -> bool:
    """The title and name open a foreword: the heading just before is the foreword's ("Foreword from Chief
    Inspector of Probation", then a photograph's caption, "Chief Inspector of Probation Justin Russell")."""
    before = [ln.strip() for ln in text[: text.rfind("\n", 0, start) + 1].split("\n") if ln.strip()]
    return bool(before) and len(before[-1].split()) <= 8 and re.match(r"(?i)foreword\b", before[-1]) is not None


# "… according to the Chief Inspector of Probation. In her final Annual Report, Dame Glenys Stacey depicts …":
# the title unnamed, then the first person named in the next sentence or two, as the one who speaks or writes.
_UNNAMED_CHIEF = re.compile(rf"\b(?:[Tt]he|of)\s+{_CHIEF_TITLE}(?!,?\s+(?:[A-Z]|Dame|Sir))(?P<rest>[^\n]*\n*[^\n]*)")
_SPEAKER = re.compile(
    rf"(?P<name>(?:Dame|Sir|Dr|Professor|Mr|Mrs|Ms)\s+{_NAME_WORD}(?:\s+{_NAME_WORD}){{0,2}}|{_NAME}){_POST}"
    r",?\s+(?:said|says|added|depicts|describes|writes|wrote|warns|warned|states|stated|commented|concludes)\b"
)


def _named_next(text: str) -> str | None:
    m = _UNNAMED_CHIEF.search(text)
    if m is None or re.search(r"of\s+(?:Prisons|Constabulary|Fire)", m.group(0)[:80]):
        return None
    # Only as the one speaking or writing, straight after their name: not someone quoted or thanked in passing,
    # and not someone given another office ("Justice Secretary Shabana Mahmood said …").
    rest = m["rest"][:400]
    speaker = _SPEAKER.search(rest)
    if (
        speaker is None
        or _OTHER_OFFICE.search(f"{rest[max(0, speaker.start() - 40) : speaker.start()]} {speaker['name']}")
        or _NOT_A_NAME.search(speaker["name"])  # "… in Northern Ireland said …"
    ):
        return None
    return speaker["name"]


# Offices other than the chief inspector's, in or just before a name.
_OTHER_OFFICE = re.compile(
    r"\b(?:Secretary|Minister|Director|Chair(?:man|woman)?|Executive|Officer|Commissioner|Governor|Spokes\w+|"
    r"Deputy|Deputies|Lead|Head|President|Leader|Mayor|MP|Councillor)\b"
)


def _short_name(name: str) -> str:
    return re.sub(r"\s+", " ", name).strip()


def _sentences_in(text: str) -> list[str]:
    """The text's sentences, roughly: split after a stop (and a closing quotation mark) and a space."""
    return re.split(r"(?<=[.!?])[”’\"]?\s", text)


def _forms(name: str) -> str:
    """The ways a text names them, as a pattern's alternatives: "Dame Glenys Stacey", "Dame Glenys", "Stacey"."""
    return "|".join(re.escape(f) for f in _surname_forms(name))


def _surname_forms(name: str) -> list[str]:
    parts = name.split()
    forms = [name]
    if parts[0] in ("Dame", "Sir", "Lord", "Lady") and len(parts) >= 2:
        forms.append(f"{parts[0]} {parts[1]}")
    forms.append(parts[-1])
    return forms


def _quote(text: str, paras: list[str], name: str) -> str | None:
    """Their words as a page quotes them."""
    forms = _forms(name)
    said = re.compile(
        # "Chief Inspector of Probation Justin Russell said", "she added"; "…,” said Ms Durkin", "said the Chief
        # Inspector", "…,” Mr Jones continued"
        rf"\b(?:{forms}|[Cc]hief [Ii]nspector|she|he)\b[^.“\"]{{0,80}}?\b{SPEECH_VERBS}\b|"
        rf"\b{SPEECH_VERBS}\s+(?:(?:Mr|Mrs|Ms|Dr|Dame|Sir|the|HM)\s+)*"
        rf"(?:[A-Z][\w’'-]+\s+){{0,2}}(?:(?:{forms})\b|Chief Inspector)",
        re.I,
    )
    # 1. A quotation in the paragraph that names them speaking or just after.
    named = re.compile(rf"\b(?:{forms})\b")
    # "Chief Inspector of Probation Justin Russell: “…”", "… Justin Russell explains why this matters: “…”"
    colon = re.compile(rf"\b(?:{forms})\b[^.“\"\n]{{0,160}}:\s*[“\"]")
    for i, p in enumerate(paras):
        introduces = (p.rstrip().endswith(":") and named.search(p)) or colon.search(p)
        if said.search(p) or introduces:
            # "Martin Jones, said: 17 years on from …": their own "said:", then their words without an opening mark
            told = next((m for m in said.finditer(p) if re.match(r":\s+[A-Z0-9]", p[m.end() :])), None)
            words = _unmarked_words(p[told.end() + 1 :]) if told else _opened_quotation(paras, i, said, named)
            if words:
                return words
            *earlier, last = _sentences_in(p)
            if (
                p.rstrip().endswith(":")
                and i + 1 < len(paras)
                and not re.match(r"[“\"•·\-–*]", paras[i + 1])  # not a list, nor a quotation read above
                and _hands_to_them(last, named, " ".join(earlier))
            ):
                # "Chief Inspector Dame Glenys Stacey summarised the report:" followed by their words, unmarked: the
                # paragraph after it, whole sentences only
                return _whole_words(paras[i + 1])
    # 2. A quotation signed below it, as a pull quote is set: “…” then their name, and their title or nothing.
    for signed in re.finditer(
        rf"”[^\S\n]*+(?:\n[^\S\n]*+){{0,2}}(?:(?:Dame|Sir|Dr|Professor)\s+)?(?:[A-Z][\w’'-]*\s+){{0,2}}(?:{forms})\b"
        r"(?P<rest>[^\n]*)",
        text,
    ):
        # a signature, not a sentence that goes on to say something ("Martin Jones, HM Chief Inspector …, said …")
        if _SIGNATURE_REST.match(signed["rest"]) and not _SPEECH.search(signed["rest"].split(".")[0]):
            start = _quotation_start(text, signed.start())
            if start is not None:
                return _limit_words(text[start : signed.start()].replace("“", ""), 80) or None
    return None


def foreword_words(sents: list[Sentence], name: str, besides: str = "") -> str | None:
    """Their foreword's judgement sentences, but for any `besides` says already (a summary chosen first). A
    foreword's sentences are under its chapter, or under a heading that is the foreword's ("Introduction from Chief
    Inspector of Probation") or is their name and title."""
    forms = _forms(name)
    signature = re.compile(
        # "Foreword (Back to top)"; "Foreword from the HM Chief Inspector", "A statement from … Justin Russell": not
        # "A message from the Secretary of State"; or a heading that is only their name and title
        rf"foreword(?:\s*\(back to top\))?|"
        rf".*\b(?:foreword|introduction|statement|message)\s+(?:from|by)\b.*"
        rf"(?:Chief\s+Inspector(?!\s+of\s+(?:Prisons|Constabulary|Fire))|\b(?:{forms})\b).*|"
        rf"(?:{_CHIEF_TITLE},?\s+)?(?:(?:Dame|Sir|Dr)\s+)?(?:[A-Z][\w’'-]*\s+){{0,2}}(?:{forms})"
        rf"(?:\s+(?:CBE|OBE|MBE))*(?:,?\s+{_CHIEF_TITLE})?",
        re.I,
    )
    after = {s.index - 1 for s in sents if DEPENDENT.match(s.text) and s.text in besides}
    foreword = [
        s
        for s in sents
        if (re.match(r"foreword\b", s.chapter, re.I) or signature.fullmatch(s.heading.strip()))
        and whole(s.text)  # not the one an excerpt cut
        and not DEPENDENT.match(s.text)  # nor one that leans on a sentence left out
        and s.text not in besides
        and s.index not in after  # nor one a sentence of the summary leans on
    ]
    if not foreword:
        return None
    judged = [s for s in foreword if JUDGEMENT.search(s.text) or re.search(r"\bwe found\b", s.text, re.I)]
    first, *rest = judged or foreword
    # Within quotation marks the words read as said together: a second sentence only when it follows the first
    # ("… the NPS. Nevertheless the NPS …" had joined sentences paragraphs apart, the one between left out).
    following = [s for s in rest[:1] if s.index == first.index + 1]
    return _limit_words(" ".join(s.text for s in (first, *following)), 80) or None


# After the name under a quotation: post-nominals, then the title or the end of the line.
_SIGNATURE_REST = re.compile(
    r"(?:\s*(?:CBE|OBE|MBE|KC|QC))*\s*(?:$|,?\s*(?:HM\s+|Her Majesty’s\s+|His Majesty’s\s+)?(?:Interim\s+)?"
    r"Chief\s+Inspector)"
)


def _unmarked_words(told: str) -> str | None:
    """Words told after "said:" without an opening mark, to the paragraph's end: whole sentences up to 80 words."""
    told = told.strip()
    if _QUOTE_MARK.match(told) or len(told) < 40:
        return None
    return _whole_words(told.replace("”", "").replace('"', ""))


def _whole_words(text: str) -> str | None:
    """Up to 80 words of whole sentences: never one the page or the excerpt cut."""
    parts = split_sentences(_limit_words(text, 80))
    while parts and not whole(parts[-1]):
        parts.pop()
    return " ".join(parts) or None


_QUOTE_MARK = re.compile(r"[“\"]")
# Where a quotation ends: its closing mark, or any mark that the attribution follows (“…areas,“said …).
_CLOSES = {
    "“": re.compile(rf"”|[“\"](?=\s*{SPEECH_VERBS}\b)"),
    '"': re.compile(r"[”\"]"),  # a page may open with one mark and close with the other
}


def _opened_quotation(paras: list[str], first: int, said: re.Pattern[str], named: re.Pattern[str]) -> str | None:
    """The first quotation of theirs, of some length, that opens in paragraph `first` or the two after it, as whole
    sentences up to 80 words. A quotation of several paragraphs opens each with its mark and closes only in the
    last; one left open ends with its paragraph; one the excerpt cut gives only its whole sentences. A quotation
    someone else is said to say, or a phrase quoted inside the narrator's sentence, is passed over with the
    paragraphs it runs on into."""
    i, pos, tried = first, 0, 0
    while i < min(first + 3, len(paras)) and tried < 60:  # theirs come within a few quotations of their name
        p = paras[i]
        m = _QUOTE_MARK.search(p, pos)
        if m is None:
            i, pos = i + 1, 0
            continue
        tried += 1
        body, j, close = _quotation(paras, i, m)
        while close is not None and body.rstrip().endswith(","):
            # “… staff who,” he said, “are overloaded …”: one sentence of theirs, told in two parts
            goes_on = re.match(
                rf"[^“”.]{{1,60}}?\b{SPEECH_VERBS}\b[^“”.]{{0,40}}?,\s*(?=“[a-z])", paras[j][close + 1 :]
            )
            if goes_on is None:
                break
            rest = _QUOTE_MARK.search(paras[j], close + 1 + goes_on.end())
            if rest is None:
                break
            more, j, close = _quotation(paras, j, rest)
            body = f"{body.rstrip().rstrip(',')} {more}"
        at, context = i, p[max(0, m.start() - 600) : m.start()]  # the sentence leading in, not the whole paragraph
        if not context.strip() and i > 0 and paras[i - 1].rstrip().endswith(":"):
            at, context = i - 1, paras[i - 1][-600:]  # “…” as a paragraph of its own, after "… said:"
        *earlier, lead = _sentences_in(context)
        # "He said:" opening a paragraph is about whoever the paragraph before is about
        before = " ".join(earlier) or (paras[at - 1][-600:] if at > 0 else "")
        introduced = _introduced_by(lead, named, before)
        theirs = introduced is True or (
            introduced is None
            and not (close is not None and _told_as_anothers(body, paras[j][close + 1 :], said, context, named))
        )
        phrase = body.lstrip()[:1].islower()
        embedded = _goes_on(paras[j], close)  # a phrase the narrator's sentence goes on after (“… who are” overloaded)
        if theirs and len(body) >= 40 and not phrase and not embedded:
            body = re.sub(r"\s+", " ", body.replace("“", "")).strip()
            if close is not None:  # “…,” she said; “… challenging”. : the words end where the quotation closes
                body = re.sub(r"[,;:]$", "", body) + ("" if re.search(r"[.!?…][’']?$", body) else ".")
            return _whole_words(body)
        if phrase and j > i and said.search(lead):
            # "Dame Glenys Stacey said that “delivering … is challenging.", then “The Youth Justice Service …”: the
            # paragraphs it runs on into are theirs, whole
            i, pos = i + 1, 0
            continue
        i, pos = (j, close + 1) if close is not None else (j + 1, 0)
    return None


_SPEECH = re.compile(rf"\b(?:{SPEECH_VERBS}|{REPORTING_VERBS})\b", re.I)
# "… said:", "… said “", "… told us, “", "… said in a statement:": the verb that introduces the quotation after it.
_INTRODUCING = re.compile(rf"(?P<and>\band\s+)?\b(?:{SPEECH_VERBS}|{REPORTING_VERBS})\b[^.:“”\"]{{0,40}}[:,]?\s*$")
# A person who is not the chief inspector: an office, or a name with an honorific.
_PERSON = re.compile(
    rf"{_OTHER_OFFICE.pattern}|\b(?:Sir|Dame|Lord|Lady|Mr|Mrs|Ms|Dr)\s+[A-Z]|"
    r"\b(?:Ministry|Department|Government|HMPPS|MoJ|Home Office|Board|Council|Committee|Probation Service)\b"
)


def _introduced_by(lead: str, named: re.Pattern[str], before: str = "") -> bool | None:
    """Whether the sentence that introduces a quotation ("… said:") has the chief inspector as its speaker; None
    when no speaking verb and colon introduce it. The speaker is the person named nearest before the verb, once
    the sentence's comma-enclosed asides are set apart (", who commissioned the review from …,", ", David Gauke,",
    ", chaired by …,") and an office in apposition ("a former Director of …") is read as a description; a verb
    joined on with "and" ("thanked Dame Glenys Stacey and said:") is its sentence's first person's."""
    verb = _INTRODUCING.search(lead)
    if verb is None:
        return None
    people = _people(lead[: verb.start()], named)
    if not people:
        return False  # "The report said: …": not theirs
    speaker = people[0] if verb["and"] else people[-1]
    if speaker.pronoun and before:
        # "He said:" is the one the sentence before is about: "… Secretary of State David Gauke told Parliament …"
        earlier = [p for p in _people(_sentences_in(before.rstrip())[-1], named) if not p.pronoun]
        return earlier[0].theirs if earlier else True
    return speaker.theirs


def _hands_to_them(last: str, named: re.Pattern[str], before: str) -> bool:
    """The sentence before a colon gives the floor to them: they say it ("Dame Glenys Stacey summarised the
    report:"), or they are the last person it names ("I leave the last word to Chief Probation Inspector Dame
    Glenys Stacey:"); not "Key findings include:"."""
    introduced = _introduced_by(last, named, before)
    if introduced is not None:
        return introduced
    people = _people(last, named)
    return bool(people) and people[-1].theirs and not people[-1].pronoun


def _without_asides(text: str) -> str:
    """The text with its comma-enclosed asides taken out, paired from the end: in "On 19 January, Secretary of
    State David Gauke told Parliament he had asked Chief Inspector of Probation, Dame Glenys Stacey, to …" the aside
    is ", Dame Glenys Stacey,", not everything from the first comma to the second. A relative or participial aside
    (", who commissioned the review from …,", ", chaired by …,") goes; an appositive one that holds an office (",
    Director General of Probation,") stays as the office, since it says who was named before it."""
    commas = [m.start() for m in re.finditer(",", text)][-40:]  # the asides nearest the verb are all that matter
    while len(commas) >= 2:
        end, start = commas.pop(), commas.pop()
        aside = text[start + 1 : end]
        keep = ""
        if not re.match(
            r"\s*(?:who|whom|whose|which|that|where|when|formerly|previously|once|now|also|then|currently|until|"
            r"\w+ing|\w+ed)\b",
            aside,
        ):
            office = _OTHER_OFFICE.search(aside)
            if _WHO.search(aside):
                keep = " Chief Inspector"
            elif office and not _APPOSED.search(aside[: office.start()]):
                keep = f" {office[0]}"
        text = f"{text[:start]},{keep} {text[end + 1 :]}"
    return text


class _Named(NamedTuple):
    at: int
    theirs: bool  # the chief inspector (by name, title or pronoun), not someone else
    pronoun: bool  # "he", "she": whoever the sentence before is about


def _people(text: str, named: re.Pattern[str]) -> list[_Named]:
    """The people a sentence names, in order: its comma-enclosed asides set apart (never the one speaking) and an
    office in apposition ("a former Director of …") read as a description."""
    text = _without_asides(text)
    theirs = [(m.start(), m.end(), bool(_PRONOUN.fullmatch(m[0]))) for rx in (_WHO, named) for m in rx.finditer(text)]
    others = [
        _Named(m.start(), False, False)
        for m in _PERSON.finditer(text)
        if not _APPOSED.search(text[: m.start()]) and not any(a <= m.start() < b for a, b, _ in theirs)
    ]
    return sorted(others + [_Named(a, True, pronoun) for a, _, pronoun in theirs])


def _told_as_anothers(words: str, after: str, said: re.Pattern[str], before: str, named: re.Pattern[str]) -> bool:
    """The sentence a quotation is told in goes on after it closes, and tells it as someone else's words: "…,”
    said a spokesperson.", "…,” the report noted.", or "…,” he said." of the last person named `before` it. A
    quotation that ends its sentence ("… unmanageable.” Inspectors, though, …") is told by what led into it."""
    if re.search(r"[.!?…][’']?\s*$", words):
        return False
    attribution = re.split(r"(?<=[.!?])\s", after[:200], maxsplit=1)[0][:120]
    if _SPEECH.search(attribution) is None:
        return False
    if re.match(r"\s*,?\s*(?:he|she)\s", attribution):
        people = [p for p in _people(before[-400:], named) if not p.pronoun]
        return bool(people) and not people[-1].theirs
    return not said.search(attribution)


_WHO = re.compile(
    rf"(?<!Deputy\s)(?<!Assistant\s)(?:{_CHIEF_TITLE}|(?i:chief\s+inspector)|(?i:\bchief\b)(?!\s+[A-Z]))"
    r"(?!\s+of\s+(?:Prisons|Constabulary|Fire|Criminal))|\b(?:[Ss]he|[Hh]e)\b"
)
_PRONOUN = re.compile(r"\b(?:[Ss]he|[Hh]e)\b")


def _goes_on(para: str, close: int | None) -> bool:
    """A quotation closed inside the narrator's sentence, which goes on after it (“… staff who are” overloaded):
    a phrase, not words given whole. Not an attribution (“…,” he said; “…,” the Chief Inspector added)."""
    if (
        close is None
        or re.match(r"\s*[,;:]", para[close + 1 : close + 20])
        or para[max(0, close - 5) : close].rstrip()[-1:] in (",", ";")
    ):
        return False  # “… act now”, adding that …; “… act now,” and called …: the words end where a clause does
    after = para[close + 1 : close + 40].lstrip()
    return after[:1].islower() and not re.match(
        rf"(?:{SPEECH_VERBS}|{REPORTING_VERBS}|he|she|they|the|according)\b", after
    )


def _quotation(paras: list[str], i: int, opening: re.Match[str]) -> tuple[str, int, int | None]:
    """The words of the quotation that `opening` opens in paragraph `i`, the paragraph it ends in, and where it
    closes there (None when it does not close). Read no further than its first 1,500 characters or so: 80 words are
    all that is given of it."""
    mark, closes = opening[0], _CLOSES[opening[0]]
    parts, start, j, length = [], opening.end(), i, 0
    while True:
        close = closes.search(paras[j], start)
        if close:
            parts.append(paras[j][start : close.start()])
            return " ".join(parts), j, close.start()
        parts.append(paras[j][start:])
        length += len(parts[-1])
        if (
            length < 1500
            and j + 1 < len(paras)
            and (
                paras[j + 1].startswith(mark)  # the quotation goes on in the next paragraph
                or (paras[j + 1][:1].islower() and not whole(paras[j]))  # a page's break inside a sentence
            )
        ):
            j, start = j + 1, 1 if paras[j + 1].startswith(mark) else 0
            continue
        return " ".join(parts), j, None


def _quotation_start(text: str, close: int) -> int | None:
    """Where the quotation that ends at `close` opens. A quotation of several paragraphs opens each with “ and
    closes only the last, so it opens at the first of the paragraphs that open with “ and run on unclosed; within
    a paragraph, at the first opening mark that no ” follows."""
    start = text.rfind("“", 0, close)
    if start < 0 or "\n\n\n" in text[start:close]:
        return None
    while True:
        line_start = text.rfind("\n", 0, start) + 1
        before = text.rfind("“", line_start, start)
        if before >= 0 and "”" not in text[before:start]:
            start = before
            continue
        if text[line_start:start].strip() or line_start == 0:
            break
        previous = text[: line_start - 1].rstrip("\n")
        para_start = previous.rfind("\n") + 1
        if not previous[para_start:].startswith("“") or "”" in previous[para_start:]:
            break
        start = para_start
    return start if len(text[start:close]) >= 40 else None


def _limit_words(text: str, limit: int) -> str:
    text = re.sub(r"\s+", " ", text).strip().strip('“”"')
    out: list[str] = []
    for s in split_sentences(text):
        if word_count(" ".join([*out, s])) > limit:
            break
        out.append(s)
    return " ".join(out) if out else " ".join(text.split()[:limit])


_FOUND = re.compile(r"\b(?:found|finds|findings?|concluded|noted|identified|saw)\b", re.I)
_ASKS = re.compile(r"\b(?:should|must|recommend\w*|needs? to)\b", re.I)


def key_findings(sents: list[Sentence], *, report: bool, limit: int = 6) -> tuple[str, ...]:
    """Short bullets: judgement sentences from a report's findings, or a post's own bullet points."""
    out: list[str] = []
    last = sents[-1].index if sents else -1

    def complete(s: Sentence) -> bool:
        # A list item may end without a full stop; the text's last sentence without one was cut off.
        return whole(s.text) or (s.bullet and s.index != last and not s.text.rstrip().endswith("…"))

    sents = [s for s in sents if complete(s)]
    if report:
        limit = 9
        by_section: dict[int, Sentence] = {}
        for s in sents:
            if not in_findings(s):
                continue
            if JUDGEMENT.search(s.text) and s.words <= 40 and s.section not in by_section:
                by_section[s.section] = s
        for s in by_section.values():
            label = _unit_label(s.heading, s.text)
            out.append(f"{label}: {s.text}" if label else s.text)
    else:
        intro = ""
        for s in sents:
            if not s.bullet:
                intro = s.text if s.text.rstrip().endswith(":") else ""
                continue
            if _ASKS.search(intro):
                continue  # "The PDU should:" introduces recommendations, not findings
            item = as_item(s.text)
            if s.words <= 45 and item not in out and (s.index == 0 or not NOISE.search(s.text)):
                first_in_bullet = not out or not any(o.startswith(item[:30]) for o in out)
                # Lower-case items under "Inspectors found:" are findings too.
                lower_finding = s.text[:1].islower() and _FOUND.search(intro)
                if first_in_bullet and (lower_finding or (s.text[:1].isupper() and EVALUATIVE.search(s.text))):
                    out.append(item)
                    sents_para = s.para
                    sents = [x for x in sents if x.para != sents_para or x.index <= s.index]
        if not out:
            # Judgements from the prose: each labelled with the service its paragraph is about, where the
            # paragraph is about one ("Overall, the work of the CRC … Work to reduce reoffending was poor.").
            opening: dict[int, str] = {}
            for s in sents:
                opening.setdefault(s.para, s.text)
            out = [
                _labelled(_unit_label(_one_service(opening[s.para]), s.text), s.text)
                for s in sents
                if JUDGEMENT.search(s.text) and s.words <= 40
            ][:limit]
    return tuple(out[:limit])


def _one_service(sentence: str) -> str:
    """The one service (CRC or NPS) a sentence is about, or "" when it names none or both."""
    named = {u for u, rx in (("CRC", _CRC), ("NPS", _NPS)) if rx.search(sentence)}
    return named.pop() if len(named) == 1 else ""


_CRC = re.compile(r"\bCRC\b|Community Rehabilitation Company")
_NPS = re.compile(r"\bNPS\b|National Probation Service")


def _labelled(label: str, text: str) -> str:
    return f"{label}: {text}" if label else text


def _unit_label(heading: str, sentence: str) -> str:
    if re.search(r"\bCRC\b", heading) and re.search(r"\bNPS\b", heading):
        return "" if re.search(r"\b(?:CRC|NPS)\b", sentence) else "CRC and NPS"
    for unit in ("CRC", "NPS", "PDU", "YOS", "YOT"):
        if re.search(rf"\b{unit}\b", heading) and not re.search(rf"\b{unit}\b", sentence):
            return unit
    return ""


def merge_cards(news: Summary, report: Summary, *, short: bool) -> Summary:
    """One card for a press release and the report it announces: the card from the report, the headline summary
    (when the release is not `short` of text) and the quote from the release when it has them."""
    if report.scanned:
        return replace(news, summary=f"{news.summary} (The report PDF is a scanned image and was not read.)")
    return replace(
        report,
        title=news.title,
        kind=news.kind if news.kind != "inspection" else report.kind,
        about_probation=news.about_probation or report.about_probation,
        summary=news.summary if short and news.summary else report.summary,
        organisation=news.organisation or report.organisation,
        unit=news.unit or report.unit,
        facts=tuple(dict.fromkeys(news.facts + report.facts))[:4],
        rating=news.rating or report.rating,
        rating_note=None if (news.rating or report.rating) else report.rating_note,
        published=news.published or report.published,
        chief_inspector=news.chief_inspector or report.chief_inspector,
        chief_inspector_quote=news.chief_inspector_quote or report.chief_inspector_quote,
        key_findings=report.key_findings or news.key_findings,
        recommendations=report.recommendations or news.recommendations,
    )

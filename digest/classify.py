"""Is an item about probation in England and Wales, and what kind of publication is it? Pure and offline.

Relevance weighs the probation sector's language against other sectors' (prisons, police and fire, the CPS)
and other jurisdictions' (Scotland's justice social work, Northern Ireland's probation board, US federal and
county probation), and a court report's language (a defendant sentenced to a community order is news about
a case, not about probation). The inspectorate's own feeds need no filter.

The kind comes from evidence in order of strength: how the source files it (a blog feed, a blog's address,
a dated headline), what the title says it is (research, an annual report, a thematic), and whether it names a
body that was inspected.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .bodies import inspected_body
from .dates import is_listing
from .models import Document, Item, Kind, SourceType

_PROBATION = [
    (r"\bprobation\b", 3),
    (r"\bcommunity rehabilitation compan(?:y|ies)\b|\bCRCs?\b", 3),
    (r"\bnational probation service\b|\bNPS\b", 2),
    (r"\bprobation delivery units?\b|\bPDUs?\b", 3),
    (r"\byouth (?:justice|offending) (?:services?|teams?|board)\b|\bYOTs?\b|\bYJS\b", 3),
    (r"\byouth justice\b|\byouth offending\b", 2),  # England and Wales's two names for it
    (r"\bunpaid work\b|\bcommunity payback\b", 2),
    (r"\bcommunity (?:orders?|sentences?)\b", 2),
    # England and Wales's youth sentences, which youth offending teams deliver
    (r"\byouth rehabilitation orders?\b", 2),
    # A youth court's referral order, told as one (its length, the panel, the court, the offence): a clinic's
    # "electronic referral order" is another thing.
    (
        r"\b(?:\d+|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve)[- ]months?\s+referral\s+orders?\b|"
        r"\breferral\s+orders?\b[^.\n]{0,80}\b(?:youth|panels?|courts?|offen[cd]\w*|YOTs?|sentenc\w+|assaults?)\b|"
        r"\b(?:youth|court|panel|sentenced|given|received)\b[^.\n]{0,60}\breferral\s+orders?\b",
        2,
    ),
    (r"\bon licence\b|\blicence conditions?\b|\brecall(?:ed)? to (?:custody|prison)\b", 1),
    (r"\bMAPPA\b|\bapproved premises\b|\baccredited programmes?\b", 2),
    (r"\bvictim contact scheme\b", 3),  # the Probation Service's statutory scheme
    (r"\bvictim liaison officers?\b", 1),  # probation's, in that scheme; the CPS and police have liaison staff too
    (r"\btransforming rehabilitation\b|\bthrough the gate\b", 2),
    (r"\bresponsible officers?\b|\bcase ?loads?\b|\bsupervis(?:ion|ed|ing)\b", 1),
    (r"\breoffending\b|\brehabilitation\b", 1),
    (r"\bHMPPS\b|\bHM Prison and Probation Service\b", 1),
    (r"\bHM Inspectorate of Probation\b|\bHMI Probation\b|\bChief Inspector of Probation\b|\bhmiprobation\b", 5),
    # Welsh, for the Welsh Government's and the inspectorate's Welsh pages: the inspectorate, the Probation Service,
    # youth justice (services), youth offending teams.
    (r"\bArolygiaeth Prawf\b", 5),
    (r"\bgwasanaeth(?:au)? prawf\b|\bgwasanaeth(?:au)? cyfiawnder ieuenctid\b|\btim(?:au)? troseddu ieuenctid\b", 3),
    (r"\bcyfiawnder ieuenctid\b", 2),
    (r"\bsentence plans?\b|\brisk of (?:serious )?harm\b|\bOASys\b", 1),
]
_ELSEWHERE = [
    (r"\bHM Inspectorate of Prisons\b|\bChief Inspector of Prisons\b|\bHMI Prisons\b|\bhmiprisons\b", 6),
    (r"\bHMP\s+[A-Z]\w+|\b(?:prison|prisoners|jail|gaol|young offender institution|YOI|inmates?)\b", 1),
    (r"\bpolice(?: force| service)?\b|\bconstabular(?:y|ies)\b|\bHMICFRS\b|\bpolicing\b", 1),
    (r"\bfire and rescue\b|\bfire service\b", 3),
    (r"\bCrown Prosecution Service\b|\bHMCPSI\b|\bCPS\b", 3),
    # A court report: a case, its defendant and sentence.
    (r"\bdefendants?\b|\bpleaded guilty\b|\bwas (?:convicted|sentenced|jailed)\b|\bsentenced to\b", 2),
]
# Another jurisdiction's probation: the same words, another country's service.
_ABROAD = [
    r"\bScotland\b|\bScottish\b|\bcommunity payback orders?\b|\bjustice social work\b|\bCare Inspectorate\b",
    r"\bNorthern Ireland\b|\bPBNI\b|\bProbation Board for Northern Ireland\b|\bCriminal Justice Inspection\b|\bCJI\b",
    r"\bU\.S\.|\bUnited States\b|\bfederal (?:courts?|judiciary|probation|system|offenders?)\b|\bdistrict courts?\b|"
    r"\bpretrial services\b|\bsupervised release\b|\bcounty (?:adult )?probation\b|\bparole board of [A-Z]\w+\b|"
    r"\b(?:Pennsylvania|California|Texas|Ohio|Michigan|Florida|Georgia|Illinois|Arizona|Tennessee|sheriff)\b",
    r"\bAustralia\b|\bNew South Wales\b|\bVictoria(?:n)? (?:Government|corrections)\b|\bQueensland\b|"
    r"\bNew Zealand\b|\bIreland's Probation Service\b|\bRepublic of Ireland\b",
]
_HOME = re.compile(
    r"\bEngland\b|\bEnglish\b|\bWales\b|\bWelsh\b|\bHM Inspectorate of Probation\b|\bhmiprobation\b|"
    r"\bHMPPS\b|\bPDUs?\b|\bprobation delivery units?\b|\bgov\.uk\b|\bMinistry of Justice\b|\bLondon\b|\bCymru\b",
    re.I,
)
_HOME_SITE = re.compile(
    r"^https?://(?:[\w.-]*\.)?(?:hmiprobation\.justiceinspectorates\.gov\.uk|justiceinspectorates\.gov\.uk/hmiprobation)\b",
    re.I,
)
# Another sector's body in England and Wales: its site weighs against.
_AWAY_SITE = re.compile(
    r"^https?://(?:[\w.-]*\.)?(?:hmiprisons\.justiceinspectorates\.gov\.uk|justiceinspectorates\.gov\.uk/(?:hmiprisons|hmicfrs|hmcpsi)|"
    r"hmicfrs\.justiceinspectorates\.gov\.uk|cps\.gov\.uk)",
    re.I,
)
# Another jurisdiction's government or probation service: its site settles it. Not every .scot site: a newspaper
# there may write about England and Wales.
_FOREIGN_SITE = re.compile(
    r"^https?://(?:[\w.-]*\.)?(?:cjini\.org|gov\.scot|mygov\.scot|communityjustice\.scot|police\.scot|rma\.scot|"
    r"sps\.gov\.uk|copfs\.gov\.uk|scotcourts\.gov\.uk|parolescotland\.gov\.uk|prisonsinspectoratescotland\.gov\.uk|"
    r"careinspectorate\.com|pbni\.org\.uk|nidirect\.gov\.uk|"
    r"justice-ni\.gov\.uk|[\w-]+\.gov|[\w.-]+\.gov\.au|[\w.-]+\.govt\.nz|[\w.-]+\.gov\.ie|probation\.ie)(?::\d+)?(?:/|$)",
    re.I,
)
_JOINT_WITH_US = re.compile(r"\b(?:HM|His Majesty’s|Her Majesty’s) Inspectorate of Probation\b|\bHMI Probation\b")
# A mention of an earlier joint report ("our joint inspection with HM Inspectorate of Probation (published
# November 2022)") makes the probation inspectorate no author of this one; "…, published on 3 June 2025, found"
# dates this one.
_EARLIER = re.compile(
    r"\(published\b[^).\n]{0,30}\b20\d\d\b|\b(?:back|earlier|last\s+year|previous(?:ly)?)\b[^.\n]{0,30}\b20\d\d\b|"
    r"\bback\s+in\b",
    re.I,
)


# "That was the question posed by HM Inspectorate of Probation, alongside …, for a joint inspection looking at the
# current effectiveness of MAPPA": the probation inspectorate's own joint inspection of a topic, in the sentence that
# names it, not one recalled ("… since a joint inspection of MAPPA in 2022 found").
_JOINT_INSPECTION = re.compile(r"\b(?:a|this|the|new)\s+joint\s+inspection\s+(?:looking\s+at|of|into|on|examining)\b")
_RECALLED = re.compile(r"\b(?:since|follow(?:s|ed|ing)|after|ago|last\s+year|in\s+(?:19|20)\d\d)\b", re.I)


def _joint_topic(lead: str) -> bool:
    for m in _JOINT_INSPECTION.finditer(lead):
        start = max(lead.rfind(".", 0, m.start()), lead.rfind("\n", 0, m.start())) + 1
        ends = [i for i in (lead.find(".", m.end()), lead.find("\n", m.end())) if i >= 0]
        sentence = lead[start : min(ends) if ends else len(lead)]
        if _JOINT_WITH_US.search(sentence) and not _RECALLED.search(sentence) and not _EARLIER.search(sentence):
            return True
    return False


def _joint_with_us(head: str) -> bool:
    """The probation inspectorate is named as an author of this publication, not of an earlier one."""
    for m in _JOINT_WITH_US.finditer(head):
        start = max(head.rfind(".", 0, m.start()), head.rfind("\n", 0, m.start())) + 1
        ends = [i for i in (head.find(".", m.end()), head.find("\n", m.end())) if i >= 0]
        if not _EARLIER.search(head[start : min(ends) if ends else len(head)]):
            return True
    return False


@dataclass(frozen=True)
class _Term:
    """A weighted pattern, and the words one of which every match contains (casefolded where the pattern ignores
    case): a text with none of them is not searched. Searching costs about 60 µs a pattern on a 6,000-character
    text whatever it holds (every position is tried), and most texts hold few of these words."""

    rx: re.Pattern[str]
    weight: int
    needles: tuple[str, ...] | None  # None: no word every match must contain, so always searched

    @classmethod
    def of(cls, pattern: str, weight: int = 1, flags: int = 0) -> _Term:
        rx = re.compile(pattern, flags)
        needles = _literal_prefixes(pattern)
        if needles is not None and flags & re.I:
            needles = tuple(n.casefold() for n in needles)
        return cls(rx, weight, needles)

    def count(self, text: str, folded: str, cap: int) -> int:
        if self.needles is not None and not any(n in (folded if self.rx.flags & re.I else text) for n in self.needles):
            return 0
        return min(len(self.rx.findall(text)), cap)


def _literal_prefixes(pattern: str) -> tuple[str, ...] | None:
    """The literal text each top-level alternative of `pattern` starts with (after a `\\b`): `\\bCRCs?\\b|\\bNPS\\b`
    gives ("CRC", "NPS"). None if an alternative starts with anything else (a class, a group, an escape)."""
    branches, depth, start, i = [], 0, 0, 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            i += 1  # the escaped character is no bracket and no bar
        elif ch == "[":  # a class: nothing inside it opens or closes a group, or separates alternatives
            i += 2 if pattern[i + 1 : i + 2] == "^" else 1
            i += 1 if pattern[i : i + 1] == "]" else 0  # a "]" first in a class is a character
            while i < len(pattern) and pattern[i] != "]":
                i += 2 if pattern[i] == "\\" else 1
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "|" and depth == 0:
            branches.append(pattern[start:i])
            start = i + 1
        i += 1
    branches.append(pattern[start:])
    out = []
    for branch in branches:
        branch = branch.removeprefix("\\b")
        literal = re.match(r"[\w ’']*", branch)
        word = literal.group(0) if literal else ""
        if branch[len(word) : len(word) + 1] in ("?", "*", "{"):
            word = word[:-1]  # the last character is optional
        if not word.strip():
            return None
        out.append(word)
    return tuple(out)


def _folded(text: str) -> str:
    """The text casefolded as the word test needs it: with re.I, "İ" and "ı" match "i", and casefold() gives "i̇"
    and "ı" (the only two such characters)."""
    return text.casefold().replace("\u0307", "").replace("ı", "i")


_PROBATION_RX = [_Term.of(p, w, 0 if re.search(r"CRC|NPS|PDU|YJS|CPS|MAPPA", p) else re.I) for p, w in _PROBATION]
_ELSEWHERE_RX = [_Term.of(p, w, 0 if re.search(r"HMP|CPS", p) else re.I) for p, w in _ELSEWHERE]
_ABROAD_RX = [_Term.of(p) for p in _ABROAD]

_BLOG_URL = re.compile(
    # a section of blogs ("/blog/…", "/insights_blogs/…", "/chief-inspectors-blog/…"), not a post's slug ("…-new-blog/")
    r"[/_-]blogs?/(?=[^/?#]+)|\bblog\.|\.blogspot\.|/hmiprobation/\d{4}/\d{2}/(?!.*\bpress-releases?\b)|"
    r"/\d{4}/\d{2}/\d{2}/",
    re.I,
)
_DATELINE = re.compile(
    r"^(?:\d{1,2}\s+[a-z]+\s+20\d\d|[a-z]+\s+\d{1,2},?\s+20\d\d)$"  # "17 march 2021", "march 17, 2021"
)
# A headline that names itself one: "Chief Inspector's blog: …", "Parole Board Chief Executive's blog - June 2023"
_BLOG_TITLE = re.compile(r"[’']s\s+blog\s*(?:[:–—-]|$)|^blog\s*[:–—-]\s", re.I)
_DATED_TITLE = re.compile(r"^\d{1,2}\s+[A-Z][a-z]+\s+20\d\d\s*[–—-]\s*\S")
_RESEARCH = re.compile(
    r"\b(?:research|academic insights?|bulletins?|evidence review|effective practice|literature review|"
    r"annual report|management information|statistics|statistical|transparency data|data tables)\b",
    re.I,
)
_OTHER = re.compile(
    # Not "vacancies": a headline about a service's staffing ("must address vacancies") is no job advert.
    r"\b(?:factsheet|guidance|manual|terms of reference|job vacanc(?:y|ies)|"
    r"job (?:advert|description)|privacy notice|about us|inspection\W{1,3}standards|"
    r"inspection questions(?=\s*$|\s*[.:;,(–—-]))\b",  # the document, not "Inspection questions safety of …"
    re.I,
)
_GOVERNMENT = re.compile(r"^https?://[^/]*(?:justiceinspectorates|\.gov\.uk|gov\.wales|gov\.scot)(?:[:/]|$)", re.I)
_STATISTICS = re.compile(
    r"\b(?:statistics|statistical (?:release|bulletin)|data tables|management information|transparency data)\b", re.I
)
_NEWSLETTER = re.compile(r"\b(?:bulletin|newsletter)\b", re.I)
_ANALYSIS = re.compile(r"\b(?:research|analysis|statistic(?:s|al)|evidence|data|academic)\b", re.I)
_THEMATIC = re.compile(r"\bthemati[cg]\b", re.I)  # Welsh: thematig
# A lead that announces research: the publication is research, however its headline reads.
_RESEARCH_NEWS = re.compile(
    r"\bInspectorate\s+of\s+\w+\s+(?:has\s+|have\s+)?publish(?:ed|es)\s+(?:new\s+|its\s+|a\s+)?research\b|"
    r"^(?:The\s+|A\s+|Our\s+|This\s+)?(?:new\s+)?(?:Research\s+(?:&|and)\s+Analysis\s+Bulletin|Academic\s+Insights?)\b",
    re.I | re.M,
)
# The inspectorates' addresses name a thematic's press release or report so: ".../press-releases/2022/06/ete-thematic/",
# ".../iomthematic/", "/document/a-thematic-inspection-of-…"; not a page about thematics (a consultation on them,
# the programme of them, a response to one) nor "mathematics".
_THEMATIC_SLUG = re.compile(
    r"/(?:press-releases?|document)/(?:[^?#]*/)?"
    r"(?![^/?#]*(?:consult|programme|program\b|response|framework|standards|guidance|planning|about))"
    r"[^/?#]*(?<!ma)thematic[^/?#]*/?(?:[?#]|$)",
    re.I,
)
# The lead says this publication is a thematic ("A new thematic inspection …"), not that some were published.
_THIS_THEMATIC = re.compile(
    r"\b(?:a|an|this|the|our|new|latest|joint)\s+(?:new\s+|joint\s+|\d{4}\s+)?thematic\b(?!\s+\w+s\b)", re.I
)
# English, and Welsh for the Welsh versions of Welsh reports ("Arolygiad", inspection; "graddiwyd", rated)
_INSPECTION_WORDS = re.compile(
    r"\binspect(?:ion|ions|ed|ors?|orate)\b|\brat(?:ed|ing)\b|\barolyg\w*|\bgraddiwyd\b", re.I
)
# A press release of 2011–2017: "Today she published a report, Referral orders: …", "publishing the report of an
# inspection of the Victim Contact Scheme".
# The past, announcing one report ("publishes the report on its website" is how a guidance page says it).
_PUBLISHED_REPORT = re.compile(
    r"\bpublish(?:ed|ing)\s+(?:a|the|its|their|our)\s+(?:(?:new|joint|second|third|first|final|latest|full)\s+)"
    r"{0,2}report(?:,|\s+(?:of|into|on|looking|examining|about)\b)",
    re.I,
)
# A section's page given to one report: an inspectorate, in the opening sentence, published it.
_SECTION_REPORT = re.compile(rf"\bInspectorate\b[^.]{{0,160}}?{_PUBLISHED_REPORT.pattern}", re.I)
_REPORT_OF_TOPIC = re.compile(
    r"\b(?:review|report|inspection)\b[^.]{0,80}\b(?:by|from)\s+(?:His Majesty’s |HM |Her Majesty’s )?"
    r"Inspectorate of Probation\b|\bInspectorate of Probation (?:has )?(?:published|revisited|reported|examined|"
    r"found|reviewed|looked)\b(?!\s+to\s+be\b)|\baccording to (?:the )?(?:independent )?(?:inspectors|a new report|"
    r"the report)\b|"
    # "according to the Chief Inspector of Probation", "according to Dame Glenys Stacey, HM Chief Inspector of …"
    r"\baccording to (?:the\s+|(?:[A-Z][\w’'-]+\s+){1,3}[A-Z][\w’'-]+,\s+)(?:HM\s+|His Majesty’s\s+|Her Majesty’s\s+)?"
    r"Chief Inspectors? of (?:Probation|Prisons?)\b|"
    r"\b(?:a|this|the|new)\s+joint\s+(?:inspection\s+)?report\b|"
    # "The report … reflects the findings of HM Inspectorate of Probation and …", "Our report, Transforming
    # Rehabilitation – Early Implementation, …"
    rf"{_PUBLISHED_REPORT.pattern}|\breflects?\s+the\s+findings\s+of\s+(?:His Majesty’s |HM |Her Majesty’s )?"
    r"Inspectorate\s+of\s+Probation\b|(?m:^)\s*Our\s+report,|"  # opening a paragraph: not "Responding to our report,"
    r"\bArolygiad\s+gan\s+Arolygiaeth\s+Prawf\b",  # Welsh: "an inspection by HM Inspectorate of Probation"
    re.I,
)


@dataclass(frozen=True)
class Classification:
    about_probation: bool
    kind: Kind
    score: float
    reason: str = ""  # why it is not about probation, in words an editor can check; empty when it is


def _score(text: str, terms: list[_Term], cap: int = 6) -> int:
    folded = _folded(text)
    return sum(t.count(text, folded, cap) * t.weight for t in terms)


def _abroad(text: str) -> bool:
    """Written about another jurisdiction: its names outnumber England and Wales's."""
    folded = _folded(text)
    away = sum(t.count(text, folded, 6) for t in _ABROAD_RX)
    return away >= 2 and away > len(_HOME.findall(text))


def classify(
    *,
    title: str,
    text: str,
    categories: tuple[str, ...] = (),
    source_type: SourceType | None = None,
    filtered: bool = True,
    url: str = "",
) -> Classification:
    """Decide relevance and kind from what the item says and where it comes from."""
    reason, score = _relevance(title, text, categories, source_type, filtered, url)
    return Classification(
        about_probation=not reason,
        kind=kind_of(title, text, categories, source_type, url),
        score=score,
        reason=reason,
    )


def why_left_out(item: Item, doc: Document | None) -> str:
    """Why the filter left an item out of the digest, worked out again from the stored text as `summarise`
    judged it, so the editor can check the filter's call (`digest status`, the dashboard). Only relevance is
    worked out, and nothing of the card is imported for it."""
    title = re.sub(r"\s+", " ", item.title or (doc.title if doc else "") or "Untitled").strip()
    text = doc.text if doc else ""
    url = doc.url if doc else item.url
    reason, _ = _relevance(title, text, item.categories, item.source_type, item.filter, url)
    return reason or "judged not about probation when it was read"


# A minister's title names probation whatever the news is about ("Prisons and Probation Minister, …, said" of new
# prisons): it is no sign that the news is about probation.
_MINISTER = re.compile(
    r"\b(?:Prisons?,?\s+(?:Parole\s+)?and\s+Probation\s+Minister|"
    r"Minister\s+(?:of\s+State\s+)?for\s+Prisons?,?\s+(?:Parole\s+)?and\s+Probation)\b",
    re.I,
)


def _relevance(
    title: str, text: str, categories: tuple[str, ...], source_type: SourceType | None, filtered: bool, url: str
) -> tuple[str, int]:
    """Why it is not about probation (empty when it is), and the probation score less the other sectors'."""
    head = f"{title}\n{' '.join(categories)}\n{text[:6000]}"
    title_cats = f"{title} {' '.join(categories)}"
    pro = _score(head, _PROBATION_RX) + 2 * _score(title_cats, _PROBATION_RX, cap=2)
    other = _score(head, _ELSEWHERE_RX) + 2 * _score(title_cats, _ELSEWHERE_RX, cap=2)
    # A minister's title ("Prisons and Probation Minister, …, said") mentions probation, but it weighs nothing
    # against prisons: it says the same of new prisons as of new probation officers.
    titled = len(_MINISTER.findall(head)) + 2 * len(_MINISTER.findall(title_cats))
    weighed = pro - 3 * min(titled, 6)
    # Who published it says much: the probation inspectorate's own site, or another body's.
    if _HOME_SITE.search(url):
        pro += 6
    elif _AWAY_SITE.search(url) and not _joint_with_us(head[:1500]):
        other += 6  # another body's site, unless the probation inspectorate is named as a joint author
    reason = ""
    if filtered and source_type != "inspectorate":
        # Relevant when probation language is present, outweighs the other sectors', and is about here.
        if _FOREIGN_SITE.search(url) and not _joint_with_us(head[:1500]):
            reason = "published by a body outside England and Wales"
        elif _abroad(head):
            reason = "about another country's justice system"
        elif pro < 4:
            reason = f"hardly mentions probation (probation score {pro}, at least 4 needed)"
        elif weighed < 1.2 * other and not _HOME_SITE.search(url):  # the probation inspectorate's own page is
            # about probation even where it is about its work in prisons (offender management inspections)
            reason = f"more about prisons, courts or policing than probation (probation {weighed}, other {other})"
    return reason, pro - other


# GOV.UK opens every page with its document type; the inspectorates' sites file pages under named sections.
_GOVUK_TYPE = {
    "guidance": "other",
    "statutory guidance": "other",
    "policy paper": "other",
    "form": "other",
    "map": "other",
    "transparency data": "research",
    "official statistics": "research",
    "accredited official statistics": "research",
    "national statistics": "research",
    "research and analysis": "research",
    "statistical data set": "research",
    "corporate report": "research",
    "independent report": "research",
    "press release": "news",
    "news story": "news",
    "speech": "news",
    "open consultation": "news",
    "closed consultation": "news",
    "consultation outcome": "news",
    "government response": "news",
}
# GOV.UK files each page under its format's path, and says so when the page lost its type line: news, speeches and
# consultations are news; of publications (guidance, policy papers, research, corporate reports, forms) only a
# government response or a letter is.
_GOVUK_PATH = re.compile(
    r"^https?://(?:www\.)?gov\.uk/(?:government/)?(news|speeches|consultations|publications|collections|groups)/", re.I
)
# Outside /government/ GOV.UK keeps its guides (mainstream guides, /guidance/): a department's news is never there.
_GOVUK_GUIDE = re.compile(r"^https?://(?:www\.)?gov\.uk/(?!government/)[\w-]+(?:[/?#]|$)", re.I)
_NEWS_VOICE = re.compile(
    r"\b(?:said|says|today|yesterday|announced?|announcing|announcement|launche[sd]|welcome[sd]?|pledged?|unveil\w*|"
    # not "was published": a standing paper says that of another ("the Blueprint, which was published in 2019")
    r"(?:has|have)\s+published|(?:has|have|was|were)\s+(?:appointed|confirmed|revealed))\b|[“”]",
    re.I,
)
_RESPONSE_OR_LETTER = re.compile(r"\bgovernment[- ]response\b|^letter\s+(?:to|from)\b|/letter-(?:to|from)-", re.I)
# An address filed under news or press releases is news, however it is told.
_NEWS_SECTION = re.compile(r"/(?:news|media|press-releases?|statements?|speeches)/|press-release", re.I)
_SECTION_URL: list[tuple[re.Pattern[str], Kind]] = [
    (
        re.compile(
            r"/(?:(?:our-)?research|effective-practice|evidence-base[\w-]*|statistics|publications/statistics)/|"
            r"^https?://data\.",
            re.I,
        ),
        "research",
    ),
    (
        re.compile(
            r"/(?:about|about-[\w-]+|our-work|our-inspections|guidance|standards|jobs|vacancies|"
            r"careers|roles|corporate-documents?)/|apply-for-public-appointment",
            re.I,
        ),
        "other",
    ),
    # A consultation's page, or a consultation hub's (Citizen Space runs government ones at "consult.…").
    (re.compile(r"/(?:(?:current|open|closed|past|our|public)-)?consultations?/|^https?://consult\.", re.I), "news"),
]


def _navigation(text: str) -> bool:
    """A short page of mostly short lines that end without a sentence's stop (headings, link titles, list
    entries): a page to find publications by, not one. A report is long, whatever its contents page looks like."""
    lines = [ln.strip() for ln in text.split("\n") if ln.strip()]
    if not 12 <= len(lines) <= 150:
        return False
    short = sum(1 for ln in lines if len(ln.split()) < 10 and not re.search(r"[.!?:”\"]$", ln))
    return short / len(lines) >= 0.55


def kind_of(
    title: str, text: str, categories: tuple[str, ...] = (), source_type: SourceType | None = None, url: str = ""
) -> Kind:
    """What kind of publication it is: blog, research, other, thematic, inspection or news."""
    lead = text[:1500]
    cats = " ".join(categories).lower()
    if is_listing(text):
        return "other"  # an index of posts or reports, not one of them
    if _NEWSLETTER.search(title) and not _ANALYSIS.search(title):
        return "news"  # a programme's bulletin or newsletter, whatever GOV.UK files it under
    if (
        source_type == "blog"
        or "blog" in cats
        or _BLOG_URL.search(url)
        or _DATED_TITLE.match(title)
        or (_BLOG_TITLE.search(title) and source_type != "news")  # a news feed's "X's blog: …" is news about it
    ):
        return "blog"
    first_line = lead.split("\n", 1)[0].strip().lower()
    if source_type not in ("inspectorate", "govuk") and _DATELINE.match(first_line):
        return "blog"  # a post opens on its date, then its headline and author
    if first_line in _GOVUK_TYPE:
        if _GOVUK_TYPE[first_line] == "news" and _STATISTICS.search(title):
            return "research"  # a press release that is the statistics' release
        return _GOVUK_TYPE[first_line]  # type: ignore[return-value]
    govuk = _GOVUK_PATH.match(url)
    if govuk and govuk[1].lower() == "groups":
        return "other"  # a board's or a committee's standing page
    if govuk and govuk[1].lower() not in ("publications", "collections"):
        return "research" if _STATISTICS.search(title) else "news"
    if _GOVUK_GUIDE.match(url):
        return "other"
    if re.match(
        r"(?:consultation|call for evidence|(?:written|oral)(?: ministerial)? statement|statement on)\b", title, re.I
    ):
        return "news"
    # The deepest section the address names decides ("/about-hmi-prisons/current-consultations/…" is a consultation).
    sections = [(m.start(), section) for rx, section in _SECTION_URL for m in rx.finditer(url)]
    for _, section in sorted(sections, reverse=True)[:1]:
        if not (section == "other" and _SECTION_REPORT.search(lead[:400])):
            return section  # unless a section's page is given to one report: "… published a joint report on …"
    if _STATISTICS.search(title):
        return "research"  # statistics: their tables are short lines, which is no sign of a page of links
    if _navigation(text):
        return "other"  # a landing or index page: headings and links, little prose
    if _RESEARCH.search(title) or re.search(r"\bannual report\b", lead[:700], re.I):
        return "research"
    if _OTHER.search(title):
        return "other"
    if _THEMATIC.search(title) or _THIS_THEMATIC.search(lead[:800]) or _THEMATIC_SLUG.search(url):
        return "thematic"
    inspection_words = _INSPECTION_WORDS.search(f"{title}\n{lead}")
    if inspection_words and inspected_body(title, text) is not None:
        return "inspection"
    if _RESEARCH_NEWS.search(lead[:600]):
        return "research"  # its own research announced: "HM Inspectorate of Probation has published new research"
    if inspection_words and (_REPORT_OF_TOPIC.search(lead) or _joint_topic(lead)):
        return "thematic"  # the inspectorate reports on a topic, naming no single body
    if govuk:  # a publication that is no report: guidance, a plan, a strategy; a government response or a letter
        if _RESPONSE_OR_LETTER.search(title) or _RESPONSE_OR_LETTER.search(url):  # news, as the type lines say
            return "news"
        return "research" if _RESEARCH.search(lead[:300]) else "other"
    if source_type in ("inspectorate", "news", "govuk"):
        return "news"
    if _GOVERNMENT.search(url):
        # A page of a government site, reached other than through its news feed: news when it is told as news
        # (someone said, today, announced, a quotation), else a standing page (a topic page, a circular).
        return "news" if _NEWS_SECTION.search(url) or _NEWS_VOICE.search(lead) else "other"
    if _RESEARCH.search(lead[:300]):
        return "research"
    return "other"

"""Say what a publication says: an extractive summary for everything, and a report card (see `card`) for
inspections.

Pure and deterministic: a `Document` (plus what the feed told us) in, a `Summary` out. No model, no download.
Summaries are whole sentences taken from the text, chosen for position, centrality and the language of
findings, and put back in document order. Inspection reports contribute their findings chapter; the foreword
gives the chief inspector's words; the recommendations section gives numbered recommendations and whom each
is for.
"""

from __future__ import annotations

import functools
import math
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import replace

from .bodies import discussed_body, inspected_body
from .card import (
    EVALUATIVE,
    JUDGEMENT,
    NOISE,
    SECTION_FINDINGS,
    SPEECH_VERBS,
    chief_inspector,
    context_facts,
    foreword_words,
    in_findings,
    inspected_unit,
    key_findings,
    standard_ratings,
)
from .classify import classify
from .models import Document, Kind, Summary
from .models import Hints as Hints  # defined with the other data that crosses modules; named here as before
from .ratings import find_rating
from .recommendations import recommendations
from .text import DEPENDENT as DEPENDENT
from .text import Sentence, sentences, split_sentences, whole

_STOP_WORDS = """
    a about above after again against all also am an and any are as at be because been before being below
    between both but by can could did do does doing down during each few for from further had has have having he
    her here hers herself him himself his how i if in into is it its itself just me more most my myself no nor
    not now of off on once only or other our ours ourselves out over own same she should so some such than that
    the their theirs them themselves then there these they this those through to too under until up very was we
    were what when where which while who whom why will with would you your yours yourself said says it's
"""
_STOP = frozenset(_STOP_WORDS.split())


def summarise(doc: Document, hints: Hints | None = None, *, words: int = 120) -> Summary:
    hints = hints or Hints()
    title = _clean_title(hints.title or doc.title or "Untitled")
    published = hints.published or doc.published
    verdict = classify(
        title=title,
        text=doc.text,
        categories=hints.categories,
        source_type=hints.source_type,
        filtered=hints.filtered,
        url=doc.url,
    )
    kind: Kind = verdict.kind
    if doc.scanned:
        return Summary(
            title=title,
            kind=kind if kind != "other" else "inspection",
            about_probation=verdict.about_probation,
            published=published,
            scanned=True,
            summary="This PDF is a scanned image with no text layer, so it cannot be summarised; "
            "open the report to read it.",
        )
    sents = sentences(doc.text)
    report = _is_report(doc, sents)
    if report and kind in ("other", "blog", "news"):
        kind = "inspection" if re.search(r"\binspect", doc.text[:5000], re.I) else kind
    chief, quote = chief_inspector(doc.text, sents, title, foreword=False)
    card = kind in ("inspection", "thematic")
    findings = key_findings(sents, report=report) if card else ()
    # Each sentence once. A report's findings (from its findings chapter, labelled by service) stay findings and
    # the summary says something else; a shorter text's summary keeps its best sentences and the findings
    # list only what the summary does not say. Neither repeats the chief inspector's words.
    avoid = (quote or "", *(f.split(": ", 1)[-1] for f in findings)) if report else (quote or "",)
    summary = _extractive(sents, words, report=report, avoid=avoid, title=title)
    if chief and quote is None:
        # Words the page quotes are theirs to give first; a foreword's sentences are the text's, so the summary
        # chooses first and the card gives the foreword's other judgements as theirs.
        quote = foreword_words(sents, chief, besides=" ".join((summary, *findings)))
    findings = tuple(f for f in findings if not _repeats(f, quote) and f.split(": ", 1)[-1] not in summary)
    if not card:
        return Summary(
            title=title,
            kind=kind,
            about_probation=verdict.about_probation,
            summary=summary,
            # A post about an inspection names the body it discusses: it joins that report's entry.
            organisation=discussed_body(title, doc.text) if kind in ("blog", "news") else None,
            published=published,
            chief_inspector=chief,
            chief_inspector_quote=quote,
        )
    # Only an inspection names a body and rates it; a thematic reports on a topic across many.
    org = inspected_body(title, doc.text) if kind == "inspection" else None
    # Before 2018 there was no four-point scale: "good overall" then was a description, not a rating.
    year = published.year if published else _url_year(doc.url)
    older = (year is not None and year < 2018) or re.search(r"Quality\s*&\s*Impact", doc.text[:5000])
    rating = find_rating(doc.text, title=title, body=org) if kind == "inspection" and not older else None
    note = None
    if rating is None and kind == "inspection":
        note = (
            "This inspection predates the four-point rating scale introduced in 2018."
            if older
            else "The report states no overall rating."
        )
    return Summary(
        title=title,
        kind=kind,
        about_probation=verdict.about_probation,
        summary=summary,
        organisation=org,
        unit=inspected_unit(title, org, doc.text),
        facts=context_facts(doc.text),
        rating=rating,
        rating_note=note,
        standard_ratings=standard_ratings(doc.text),
        published=published,
        chief_inspector=chief,
        chief_inspector_quote=quote,
        key_findings=findings,
        recommendations=recommendations(doc.text),
    )


def _url_year(url: str) -> int | None:
    """The year in a dated address (".../press-releases/2013/01/..."), which the site gives at publication."""
    m = re.search(r"/(20\d\d)/(?:0[1-9]|1[0-2])/", url)
    return int(m[1]) if m else None


def _clean_title(title: str) -> str:
    return re.sub(r"\s+", " ", title).strip()


def _is_report(doc: Document, sents: list[Sentence]) -> bool:
    if doc.format == "pdf" and len(sents) > 60:
        return True
    chapters = {s.chapter.lower() for s in sents if s.chapter}
    return len(sents) > 150 and any(SECTION_FINDINGS.search(c) for c in chapters)


# ---- the extractive summary


_WORD = re.compile(r"[a-z][a-z’'-]+")


@functools.lru_cache(maxsize=4096)  # a sentence's words are asked for again and again while its summary is chosen
def _content_words(s: str) -> tuple[str, ...]:
    return tuple(w for w in _WORD.findall(s.lower()) if w not in _STOP and len(w) > 2)


def _repeats(finding: str, quote: str | None) -> bool:
    """The finding is already in the chief inspector's words: never say it twice."""
    core = finding.split(": ", 1)[-1].rstrip(".")
    return bool(quote and core in quote)


_VERDICT = re.compile(
    r"\boverall\b[^.]{0,80}[‘'“\"](?:Outstanding|Good|Requires improvement|Inadequate)[’'”\"]"
    r"|[‘'“\"](?:Outstanding|Good|Requires improvement|Inadequate)[’'”\"][^.]{0,20}\boverall\b",
    re.I,
)
_PROCEDURE = re.compile(
    r"\b(?:programme of (?:\w+ )?inspections?|part of our (?:\w+ )?programme|fieldwork|methodology|"
    r"(?:we|have) (?:have )?inspected and rated|broad areas|this report (?:sets out|presents|describes)|"
    r"case sample|were (?:interviewed|surveyed)|focus groups?|we would like to thank|inspection was led by)\b",
    re.I,
)
_ATTRIBUTED = re.compile(r"\b(?:said|says|added|told|according to|commented|explained|warned)\b", re.I)
_FOOTNOTE = re.compile(r"(?<=[.!?”’\w])\[\d{1,3}\]")


def _quote_ok(s: Sentence) -> bool:
    """Quotation marks balanced, and a quotation says who is speaking."""
    t = s.text
    if t.count("“") != t.count("”") or t.count('"') % 2:
        return False
    quoted = t.lstrip()[:1] in '“"' or "“" in t
    return not quoted or bool(_ATTRIBUTED.search(t))


def _extractive(
    sents: list[Sentence], budget: int, *, report: bool, avoid: tuple[str, ...] = (), title: str = ""
) -> str:
    heading = re.sub(r"\W+", " ", title).strip().lower()
    # a sentence of four words or more: a short one ("Why?") would be found in every sentence that holds its words
    said = [b for a in avoid if a for part in split_sentences(a) if len((b := _bare(part)).split()) >= 4]
    told = _told_unmarked(sents)
    title_words = set(_content_words(title))
    glued = _glued_heading(title)
    sents = [_unglued(s, glued) for s in sents]
    pool = [
        s
        for s in sents
        if 6 <= s.words <= 70
        and not s.text.lstrip("“\"‘'(")[:1].islower()  # a fragment, such as a recommendation's list item
        and not NOISE.search(s.text)
        and not _PROCEDURE.search(s.text)  # how the inspection was done tells a reader nothing it found
        and not s.text.endswith("?")
        and not s.text.rstrip().endswith(":")
        and whole(s.text)
        and _quote_ok(s)
        and not (heading and re.sub(r"\W+", " ", s.text).strip().lower().startswith(heading))
        and not _said_elsewhere(s.text, said)
        and s.para not in told
    ]
    if report:
        findings = [s for s in pool if in_findings(s)]
        if len(findings) >= 5:
            pool = findings
    if not pool:
        return ""
    freq: Counter[str] = Counter()
    for s in pool:
        freq.update(set(_content_words(s.text)))
    n = len(pool)
    first = pool[0].index
    by_index = {s.index: s for s in pool}

    def score(s: Sentence) -> float:
        cw = _content_words(s.text)
        centrality = sum(math.log(1 + freq[w]) for w in set(cw)) / (1 + len(set(cw))) if cw else 0
        position = s.index - first
        lead = 1.0 / (1 + position / 3) if not report else 0.6 / (1 + position / 40)
        cues = min(3, len(EVALUATIVE.findall(s.text))) * 0.25
        judgement = 0.8 if JUDGEMENT.search(s.text) else 0
        length = -0.4 if s.words < 9 else 0
        bullet = 0.2 if s.bullet else 0
        verdict = 1.2 if _VERDICT.search(s.text) else 0  # the overall rating is the first thing a reader wants
        # The headline names what the publication is about: sentences that share its words say it (Edmundson's
        # title method). Weighed on the tune half of the report/press-release pairs only.
        about = 2.0 * len(title_words & set(cw)) / (1 + len(title_words)) if title_words else 0
        return centrality + lead + cues + judgement + length + bullet + verdict + about

    ranked = sorted(pool, key=lambda s: (-score(s), s.index))
    chosen: dict[int, Sentence] = {}
    used = 0
    seen: set[str] = set()
    for s in ranked[: max(40, n)]:
        key = " ".join(_content_words(s.text))
        if key in seen or s.index in chosen or _restates(s, chosen.values()):
            continue
        group = [s]
        if DEPENDENT.match(s.text) and s.index - 1 not in chosen:
            before = by_index.get(s.index - 1)
            if before is None or before.para != s.para or DEPENDENT.match(before.text):
                continue  # it would point back at a sentence the reader does not see
            group = [before, s]
        cost = sum(g.words for g in group)
        if used + cost <= budget:
            for g in group:
                chosen[g.index] = g
                seen.add(" ".join(_content_words(g.text)))
            used += cost
        if used >= budget - 5:
            break
    return " ".join(_FOOTNOTE.sub("", s.text) for s in sorted(chosen.values(), key=lambda s: s.index))


def _told_unmarked(sents: list[Sentence]) -> set[int]:
    """Paragraphs that are someone's words given without quotation marks, after a paragraph that ends "… said:"
    ("Receiving the report, Secretary of State David Gauke said:" then "I am extremely grateful …"): out of it, a
    sentence would say "I" or "we" for nobody the reader knows."""
    last: dict[int, str] = {}
    for s in sents:
        last[s.para] = s.text
    return {para + 1 for para, text in last.items() if re.search(rf"\b{SPEECH_VERBS}(?:\s+\w+)?:\s*$", text)}


def _bare(text: str) -> str:
    """A sentence without its quotation marks and closing stop or comma: the chief inspector's words are the same
    words told as a quotation (“… we have seen,” said …) or given on the card ("… we have seen.")."""
    return re.sub(r"[“”\"]", "", text).strip().rstrip(".,;:!?").strip()


def _said_elsewhere(text: str, said: list[str]) -> bool:
    """The sentence says words the card gives elsewhere (the chief inspector's, a finding), or is one of them."""
    bare = _bare(text)
    return bool(bare) and any(b in bare or bare in b for b in said)


def _glued_heading(title: str) -> re.Pattern[str] | None:
    """The headline run into the front of a sentence, once or repeated (made once for a document's sentences)."""
    words = re.findall(r"\w+", title)
    if len(words) < 3:
        return None
    return re.compile(r"\s*(?:" + r"\W+".join(map(re.escape, words)) + r"\W*?\s+)+", re.I)


def _unglued(s: Sentence, glued: re.Pattern[str] | None) -> Sentence:
    """The sentence without the headline run into its front (a page's heading, once or repeated, with no stop
    after it: "An Inspection of Through the Gate … An Inspection of … Support for prisoners … was poor …"), when
    what follows is a sentence of its own; otherwise the sentence as it is (the summary leaves it out)."""
    m = glued.match(s.text) if glued is not None else None
    if not m:
        return s
    rest = s.text[m.end() :]
    if not rest[:1].isupper() or len(rest.split()) < 6:
        return s
    return replace(s, text=rest)


def _restates(s: Sentence, chosen: Iterable[Sentence]) -> bool:
    """Half or more of what the sentence says (its content words) is already in one sentence chosen: it would say
    the same thing twice ("… impressive services for women." "For women, there is an impressive range …")."""
    words = set(_content_words(s.text))
    return len(words) >= 3 and any(len(words & set(_content_words(c.text))) * 2 >= len(words) for c in chosen)

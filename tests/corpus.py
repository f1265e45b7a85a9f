"""The labelled corpus (tests/data/corpus): loading, the fixed tune/holdout split, and scoring cards against the
labels. Shared by the golden tests (tests/test_corpus.py) and the evaluation (`make eval`, bench/cards.py).

The split is fixed by a hash of each document's pair key (a report page and its press release stay together)
or else its URL: half the corpus was read while writing rules ("tune"), the other half was not ("holdout").
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any

from digest.extract import extract_text
from digest.models import Document, SourceType, Summary
from digest.summarise import Hints, summarise
from digest.text import split_sentences

CORPUS = Path(__file__).resolve().parent / "data" / "corpus"
FIELDS = ("relevance", "kind", "rating", "organisation", "chief_inspector", "published")


@dataclass(frozen=True)
class Case:
    slug: str
    text: str
    labels: dict[str, Any]

    @property
    def half(self) -> str:
        if self.labels.get("split"):
            return str(self.labels["split"])  # a batch gathered later and kept apart: "fresh"
        key = self.labels.get("pair") or self.labels["source_url"]
        return "tune" if int(hashlib.sha256(key.encode()).hexdigest(), 16) % 2 == 0 else "holdout"

    @property
    def source_type(self) -> SourceType | None:
        """The kind of feed this publication arrives through, as an operator would configure it."""
        publisher = self.labels["publisher"].lower()
        if "inspectorate of probation" in publisher:
            return "inspectorate"
        if self.labels["source_url"].startswith(("https://www.gov.uk/", "http://www.gov.uk/")):
            return "govuk"
        return None

    def document(self) -> Document:
        """The text as `digest summarise page.txt` reads it (boilerplate dropped, paragraphs kept)."""
        doc = extract_text(self.text, url=self.labels["source_url"], title=self.labels["title"])
        return replace(doc, title=self.labels["title"])


def load(half: str | None = None) -> list[Case]:
    cases = []
    for path in sorted(CORPUS.glob("*.json")):
        labels = json.loads(path.read_text(encoding="utf-8"))
        text = path.with_suffix(".txt").read_text(encoding="utf-8")
        case = Case(slug=path.stem, text=text, labels=labels)
        if half is None or case.half == half:
            cases.append(case)
    return cases


def halves() -> tuple[str, ...]:
    """Every part of the corpus: the tune and holdout halves, then the later batches in the order gathered."""
    later = {c.half for c in load()} - {"tune", "holdout"}
    return ("tune", "holdout", *sorted(later, key=lambda h: (len(h), h)))


def card(case: Case) -> Summary:
    """The card as the pipeline makes it: the title and the feed's kind as hints, the text as the document."""
    hints = Hints(title=case.labels["title"], source_type=case.source_type, filtered=case.source_type != "inspectorate")
    return summarise(case.document(), hints)


def relevant(case: Case) -> bool:
    """Relevance as a filtered feed with no hint judges it: the strict test every hard negative must fail."""
    return summarise(case.document(), Hints(title=case.labels["title"], filtered=True)).about_probation


# ---- comparing names

_TITLES = re.compile(r"\b(?:dame|sir|mr|mrs|ms|dr|professor|prof|lord|lady|cbe|obe|mbe|kc|qc)\b\.?", re.I)
_UNIT_WORDS = [
    (r"\bprobation delivery units?\b", "pdu"),
    (r"\byouth justice services?\b", "yjs"),
    (r"\byouth offending services?\b", "yos"),
    (r"\byouth offending teams?\b", "yot"),
    (r"\bcommunity rehabilitation company\b", "crc"),
    (r"\bhis majesty[’']?s\b|\bher majesty[’']?s\b", "hm"),
    (r"\bnational probation service\b", "nps"),
]
_GENERIC = re.compile(
    r"\b(?:pdu|yjs|yos|yot|crc|nps|region|division|service|probation|of the probation service|area)\b", re.I
)


def norm_name(name: str | None) -> str:
    if not name:
        return ""
    name = _TITLES.sub(" ", name)
    return re.sub(r"[^a-z]+", " ", name.lower()).strip()


def norm_org(org: str | None) -> str:
    if not org:
        return ""
    s = org.lower().replace("&", " and ")
    for pattern, short in _UNIT_WORDS:
        s = re.sub(pattern, short, s)
    s = re.sub(r"\([^)]*\)", " ", s)  # an abbreviation or an aside: "Hull (Kingston upon Hull) YJS"
    s = re.sub(r"^the\s+", "", s)
    return re.sub(r"[^a-z]+", " ", s).strip()


def _core(org: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"\b(?:of|the|in)\b", " ", _GENERIC.sub(" ", org))).strip()


def same_org(predicted: str | None, label: str | None) -> bool:
    """The same body: equal once spelt alike, or the same place named with or without the kind of body."""
    p, lab = norm_org(predicted), norm_org(label)
    if not p or not lab:
        return p == lab
    return p == lab or (_core(p) == _core(lab) and bool(_core(p)))


# ---- scoring


@dataclass
class Score:
    right: int = 0
    total: int = 0
    misses: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.right / self.total if self.total else 1.0


def _check(score: Score, ok: bool, slug: str, got: object, want: object) -> None:
    score.total += 1
    if ok:
        score.right += 1
    else:
        score.misses.append(f"{slug}: got {got!r}, want {want!r}")


@dataclass(frozen=True)
class Agreement:
    """Two labellers, and the program, on the documents a second labeller labelled blind to the first."""

    documents: int
    relevance: int  # the labellers agree
    program_relevance: tuple[int, int]  # the program agrees with the first, with the second
    positives: int  # the first labeller's documents about probation, where kind is compared
    kind: int
    program_kind: tuple[int, int]


def second_labels() -> dict[str, dict[str, Any]]:
    path = CORPUS.parent / "corpus-second-labels.json"
    return dict(json.loads(path.read_text(encoding="utf-8"))["labels"]) if path.exists() else {}


def agreement(cases: Iterable[Case]) -> Agreement | None:
    second = second_labels()
    both = [c for c in cases if c.slug in second]
    if not both:
        return None
    rel = [(c.labels["about_probation"], second[c.slug]["about_probation"], relevant(c)) for c in both]
    kinds = [(c.labels["kind"], second[c.slug]["kind"], card(c).kind) for c in both if c.labels["about_probation"]]
    return Agreement(
        documents=len(both),
        relevance=sum(a == b for a, b, _ in rel),
        program_relevance=(sum(p == a for a, _, p in rel), sum(p == b for _, b, p in rel)),
        positives=len(kinds),
        kind=sum(a == b for a, b, _ in kinds),
        program_kind=(sum(p == a for a, _, p in kinds), sum(p == b for _, b, p in kinds)),
    )


def _plain(text: str) -> str:
    """Text without quotation marks or runs of spaces: the words as a quotation or a page's paragraph gives them."""
    return re.sub(r"\s+", " ", re.sub(r"[“”\"]", "", text)).strip()


def verbatim(quote: str, text: str) -> bool:
    """Every sentence of the chief inspector's words, as the card gives them, is in the text as published (a
    closing comma given as a stop)."""
    plain = _plain(text)
    return all(_plain(part).rstrip(".,") in plain for part in split_sentences(quote))


@dataclass(frozen=True)
class Words:
    """The chief inspector's words on the cards of documents about probation whose label names a chief inspector."""

    named: int
    given: int
    verbatim: int


def words(cases: Iterable[Case]) -> Words:
    named = [c for c in cases if c.labels["about_probation"] and c.labels.get("chief_inspector")]
    quotes = [(c, card(c).chief_inspector_quote) for c in named]
    given = [(c, q) for c, q in quotes if q]
    return Words(len(named), len(given), sum(verbatim(q, c.document().text) for c, q in given))


def evaluate(cases: Iterable[Case]) -> dict[str, Score]:
    scores = {f: Score() for f in FIELDS}
    for case in cases:
        lab = case.labels
        about = relevant(case)
        _check(scores["relevance"], about == lab["about_probation"], case.slug, about, lab["about_probation"])
        if not lab["about_probation"]:
            continue
        got = card(case)
        _check(scores["kind"], got.kind == lab["kind"], case.slug, got.kind, lab["kind"])
        _check(scores["rating"], got.rating == lab["rating"], case.slug, got.rating, lab["rating"])
        org = got.organisation if got.kind == "inspection" else None
        want_org = lab["organisation"] if lab["kind"] == "inspection" else None
        _check(scores["organisation"], same_org(org, want_org), case.slug, org, want_org)
        _check(
            scores["chief_inspector"],
            norm_name(got.chief_inspector) == norm_name(lab["chief_inspector"]),
            case.slug,
            got.chief_inspector,
            lab["chief_inspector"],
        )
        want_date = date.fromisoformat(lab["published"]) if lab["published"] else None
        # A date is never wrong: none is allowed where the label has one, a different one is not.
        _check(scores["published"], got.published in (None, want_date), case.slug, got.published, want_date)
    return scores


def write_provenance() -> None:
    """PROVENANCE.md from the sidecars: each document's source, publisher and licence."""
    rows = [(c.slug, c.labels["publisher"], c.labels["licence"], c.labels["source_url"]) for c in load()]
    licences: dict[str, int] = {}
    for row in rows:
        licences[row[2]] = licences.get(row[2], 0) + 1
    lines = [
        "# Provenance of the labelled corpus",
        "",
        "Each document is the opening of a public page (up to about 2,000 characters, as a stored public copy holds",
        "it), kept verbatim. Crown-copyright text is used under the Open Government Licence v3.0",
        "(https://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/): *Contains public sector",
        "information licensed under the Open Government Licence v3.0.* US federal government works are in the public",
        "domain. Made by `python -m tests.corpus` from the sidecars.",
        "",
        "Licences: " + ", ".join(f"{k} {v}" for k, v in sorted(licences.items())),
        "",
        "| document | publisher | licence | source_url |",
        "|---|---|---|---|",
        *(f"| `{slug}` | {pub} | {lic} | {url} |" for slug, pub, lic, url in rows),
    ]
    (CORPUS / "PROVENANCE.md").write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    write_provenance()

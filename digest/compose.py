"""Compose a day's digest from summarised items. Pure: items and summaries in, a `Digest` out. Compose decides
what is in a digest: which items, grouped how, for whom (`for_subscriber`), and how much in full within the
size budget (`fit`, given a way to measure).

One entry per publication: when the inspectorate's item and blog posts discuss the same report (a post links
to it, or names the same organisation within a week), the entry carries the report card and the posts become
"Also discussed by" links.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta

from .bodies import same_body
from .feeds import canonical_url
from .models import Digest, Document, Entry, Item, Link, Recommendation, Section, Subscriber, Summary
from .regions import region_of, youth_justice
from .text import TITLE_LIMIT, safe_text, web_link
from .tracker import Inspection, chart, previously

SAME_REPORT_WINDOW = timedelta(days=14)
SECTIONS = (
    ("inspections", "Inspection reports", ("inspection",)),
    ("thematic", "Thematic and research", ("thematic", "research")),
    ("news", "News and blogs", ("news", "blog", "other")),
)


@dataclass(frozen=True)
class Candidate:
    item: Item
    summary: Summary
    document: Document | None = None


def _keys(c: Candidate) -> set[str]:
    """Every URL spelling that identifies the publication a candidate is about."""
    urls = [c.item.url]
    if c.document is not None:
        urls += [u for u in (c.document.url, c.document.report_url, c.document.pdf_url) if u]
    return {canonical_url(u) for u in urls}


def _rank(c: Candidate) -> tuple[int, int, int]:
    """Which of several items about one publication leads: the inspectorate's own, then the fullest card."""
    s = c.summary
    return (
        c.item.source_type == "inspectorate",
        s.kind in ("inspection", "thematic"),
        len(s.recommendations) + len(s.key_findings) + (s.rating is not None),
    )


def group(candidates: Sequence[Candidate]) -> list[tuple[Candidate, list[Candidate]]]:
    """Merge candidates about the same publication; keep the order of the leading item."""
    # Each candidate's URL spellings, worked out once: comparing every pair recomputed them n² times.
    seen = [_Spellings(c, _keys(c), {canonical_url(u) for u in c.item.links}) for c in candidates]
    groups: list[list[_Spellings]] = []
    for c in seen:
        home = next((g for g in groups if any(_same_publication(c, other) for other in g)), None)
        if home is None:
            groups.append([c])
        else:
            home.append(c)
    out = []
    for g in groups:
        lead = max((s.candidate for s in g), key=_rank)
        out.append((lead, [s.candidate for s in g if s.candidate is not lead]))
    out.sort(key=lambda pair: (pair[0].item.published, pair[0].item.id or 0), reverse=True)
    return out


@dataclass(frozen=True)
class _Spellings:
    candidate: Candidate
    keys: set[str]  # the publication's own URLs
    links: set[str]  # the URLs its text links to


def _same_publication(one: _Spellings, other: _Spellings) -> bool:
    if one.links & other.keys or other.links & one.keys:
        return True
    # Without a link: a post that names the same inspected body within a fortnight of the report.
    c, o = one.candidate, other.candidate
    a, b = c.summary, o.summary
    if not same_body(a.organisation, b.organisation):
        return False
    close = abs(c.item.published - o.item.published) <= SAME_REPORT_WINDOW
    return close and (a.kind == "inspection" or b.kind == "inspection")


def _link(item: Item) -> str:
    """Only http(s) becomes a link; anything else (an item stored before that rule) points at its feed."""
    return web_link(item.url) or item.feed_url


def _safe_summary(s: Summary) -> Summary:
    """Every text a reader sees, without control or bidi-override characters and within a sane length."""
    return replace(
        s,
        title=safe_text(s.title, TITLE_LIMIT),
        summary=safe_text(s.summary),
        organisation=safe_text(s.organisation, TITLE_LIMIT) if s.organisation else None,
        unit=safe_text(s.unit, TITLE_LIMIT) if s.unit else None,
        rating_note=safe_text(s.rating_note, 600) if s.rating_note else None,
        chief_inspector=safe_text(s.chief_inspector, 200) if s.chief_inspector else None,
        chief_inspector_quote=safe_text(s.chief_inspector_quote, 1500) if s.chief_inspector_quote else None,
        key_findings=tuple(safe_text(f, 1000) for f in s.key_findings[:12]),
        recommendations=tuple(
            Recommendation(safe_text(r.text, 1000), safe_text(r.owner, 200) if r.owner else None)
            for r in s.recommendations[:20]
        ),
        facts=tuple(safe_text(f, 600) for f in s.facts),
        standard_ratings=tuple((safe_text(n, 200), safe_text(r, 60)) for n, r in s.standard_ratings),
    )


LEFT_OUT_BY_EDITOR = "left out by the editor"


def apply_choices(candidates: Iterable[Candidate], choices: Mapping[int, str]) -> list[Candidate]:
    """The candidates with the editor's calls made: "include" puts an item the filter dropped in the digest,
    "leave-out" keeps one out (it is still considered, so the run claims it and it does not come back)."""
    out = []
    for c in candidates:
        choice = choices.get(c.item.id or 0)
        if choice in ("include", "leave-out"):
            c = replace(c, summary=replace(c.summary, about_probation=choice == "include"))
        out.append(c)
    return out


def compose(
    candidates: Iterable[Candidate],
    *,
    list_name: str,
    day: date,
    subject: str,
    since: date | None = None,
    weekly: bool = False,
    history: Sequence[Inspection] = (),
) -> Digest:
    """Build the digest: relevant items only, grouped per publication, in sections, newest first. `since`: the
    first day of several it covers (a weekly digest, or a catch-up after a switch from weekly). `history`, the
    inspections the store knows (`tracker.inspections`), gives each card the body's previous rating and, on a day
    with an inspection, the digest its "ratings this year" chart."""
    candidates = list(candidates)
    relevant = [c for c in candidates if c.summary.about_probation]
    entries: list[Entry] = []
    for lead, others in group(relevant):
        item_id = lead.item.id or 0
        doc = lead.document
        url = _link(lead.item)
        report_url = web_link(doc.report_url) if doc else None
        entries.append(
            Entry(
                item_id=item_id,
                title=safe_text(lead.summary.title or lead.item.title, TITLE_LIMIT),
                url=url,
                source=safe_text(lead.item.source, 200),
                published=lead.item.published,
                summary=_safe_summary(lead.summary),
                report_url=report_url if report_url != url else None,
                pdf_url=web_link(doc.pdf_url) if doc else None,
                region=region_of(lead.summary.organisation) if lead.summary.kind == "inspection" else None,
                youth_justice=lead.summary.kind == "inspection"
                and youth_justice(lead.summary.organisation, lead.summary.unit),
                previously=previously(
                    lead.summary.organisation, lead.summary.published or lead.item.published.date(), history
                )
                if lead.summary.kind == "inspection"
                else None,
                also=tuple(
                    Link(
                        title=safe_text(o.item.title, TITLE_LIMIT),
                        url=_link(o.item),
                        source=safe_text(o.item.source, 200),
                    )
                    for o in others
                ),
                anchor=f"item-{item_id}",
            )
        )
    ids = tuple(sorted(c.item.id for c in relevant if c.item.id is not None))
    digest = _assemble(entries, list_name=list_name, day=day, subject=subject, item_ids=ids, since=since, weekly=weekly)
    inspected = bool(history) and any(e.summary.kind == "inspection" for e in entries)
    return replace(
        digest,
        considered=tuple(sorted(c.item.id for c in candidates if c.item.id is not None)),
        chart=chart(history, day.year, until=day) if inspected else None,
    )


def _assemble(
    entries: Sequence[Entry],
    *,
    list_name: str,
    day: date,
    subject: str,
    item_ids: tuple[int, ...],
    overflow: Sequence[Entry] = (),
    since: date | None = None,
    weekly: bool = False,
) -> Digest:
    sections = []
    for key, title, kinds in SECTIONS:
        chosen = tuple(e for e in entries if e.summary.kind in kinds)
        if chosen:
            sections.append(Section(key=key, title=title, entries=chosen))
    everything = list(entries) + list(overflow)
    return Digest(
        list_name=list_name,
        day=day,
        subject=make_subject(subject, list_name, day, everything, weekly=weekly),
        sections=tuple(sections),
        overflow=tuple(overflow),
        item_ids=item_ids,
        since=since,
        weekly=weekly,
    )


def for_subscriber(digest: Digest, subscriber: Subscriber, subject: str) -> Digest:
    """The digest narrowed to a subscriber's preferences, its subject (from the `subject` pattern) counting
    what they get; the same digest when they want everything."""
    if not subscriber.narrowed:
        return digest
    kept = [e for e in digest.entries if subscriber.wants(e)]
    main = [e for e in kept if e not in digest.overflow]
    over = [e for e in kept if e in digest.overflow]
    narrowed = _assemble(
        main,
        list_name=digest.list_name,
        day=digest.day,
        subject=subject,
        item_ids=digest.item_ids,
        overflow=over,
        since=digest.since,
        weekly=digest.weekly,
    )
    inspected = any(e.summary.kind == "inspection" for e in kept)
    return replace(narrowed, chart=digest.chart if inspected else None)


def trim(digest: Digest, keep: int) -> Digest:
    """Keep the first `keep` entries in full; list the rest as headlines only."""
    ordered = [e for s in digest.sections for e in s.entries] + list(digest.overflow)
    return replace(
        _assemble(
            ordered[:keep],
            list_name=digest.list_name,
            day=digest.day,
            subject=digest.subject,
            item_ids=digest.item_ids,
            overflow=ordered[keep:],
            since=digest.since,
            weekly=digest.weekly,
        ),
        subject=digest.subject,
        chart=digest.chart,
    )


def fit(digest: Digest, max_bytes: int, size: Callable[[Digest], int]) -> Digest:
    """The digest within the HTML size budget (Gmail clips at 102 KB): past it, the rest listed as headlines.
    `size` measures a digest as it would be sent (its rendered HTML's bytes); the last digest measured is the
    one returned, so a caller that renders to measure can keep that rendering."""
    keep = len([e for s in digest.sections for e in s.entries])
    fitted = digest
    measured = size(digest)
    while measured > max_bytes and keep > 0:
        # Shrink in proportion to the overshoot, at least one entry a step.
        keep = min(keep - 1, int(keep * max_bytes / measured))
        fitted = trim(digest, max(keep, 0))
        measured = size(fitted)
    return fitted


def _plural(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def counts_phrase(entries: Sequence[Entry]) -> str:
    kinds = [e.summary.kind for e in entries]
    parts = []
    inspections = kinds.count("inspection")
    thematic = kinds.count("thematic") + kinds.count("research")
    posts = len(kinds) - inspections - thematic
    if inspections:
        parts.append(_plural(inspections, "inspection report", "inspection reports"))
    if thematic:
        parts.append(_plural(thematic, "thematic or research report", "thematic and research reports"))
    if posts:
        parts.append(_plural(posts, "post", "posts"))
    return ", ".join(parts) or "nothing new"


def make_subject(pattern: str, list_name: str, day: date, entries: Sequence[Entry], *, weekly: bool = False) -> str:
    name = f"{list_name} weekly" if weekly else list_name
    return pattern.format(list_name=name, date=day, counts=counts_phrase(entries), count=len(entries))

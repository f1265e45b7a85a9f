"""Grouping: a post about an inspection joins the report's entry, linked or not, within a fortnight."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from digest.compose import Candidate, compose
from digest.extract import extract_text
from digest.summarise import Hints, summarise

from .conftest import SEEDS
from .corpus import load
from .test_render import DAY, item

REPORT_DAY = datetime(2017, 6, 29, 9, 0, tzinfo=UTC)


def _candidates(blog_days_later: float) -> list[Candidate]:
    """The South Yorkshire report (as the inspectorate's item) and the blog post about it, with no link."""
    report_doc = extract_text((SEEDS / "report_south_yorkshire_2017.txt").read_text(encoding="utf-8"), url="r")
    report = summarise(
        report_doc, Hints(title="Quality & Impact inspection: South Yorkshire", source_type="inspectorate")
    )
    blog_doc = extract_text((SEEDS / "blog_south_yorkshire_2017.txt").read_text(encoding="utf-8"), url="b")
    blog = summarise(blog_doc, Hints(title=blog_doc.title, source_type="blog"))
    return [
        Candidate(
            item(1, report.title, kind="inspectorate", source="HM Inspectorate of Probation", when=REPORT_DAY), report
        ),
        Candidate(item(2, blog.title, when=REPORT_DAY + timedelta(days=blog_days_later)), blog),
    ]


def test_a_post_naming_the_inspected_body_joins_the_report_without_a_link() -> None:
    """A blog post that names the body a report inspected, days later and without linking it, is listed as
    "Also discussed by" on the report's entry."""
    digest = compose(_candidates(3), list_name="Probation Digest", day=DAY, subject="{count} items")
    (entry,) = digest.entries
    assert entry.summary.kind == "inspection"
    assert [link.source for link in entry.also] == ["Russell Webster"]


def test_a_post_weeks_later_stands_on_its_own() -> None:
    """Past a fortnight the same body names another occasion: the post is its own entry."""
    digest = compose(_candidates(20), list_name="Probation Digest", day=DAY, subject="{count} items")
    assert len(digest.entries) == 2 and all(not e.also for e in digest.entries)


def test_news_about_another_body_is_not_grouped_with_a_report() -> None:
    """Two real press releases about different PDUs, the same day, stay apart."""
    cases = {c.slug: c for c in load()}
    a, b = cases["news-derbyshire-pdu"], cases["news-trafford-yjs-2025"]
    found = [
        Candidate(
            item(i, c.labels["title"], kind="inspectorate", when=REPORT_DAY),
            summarise(c.document(), Hints(title=c.labels["title"], source_type="inspectorate")),
        )
        for i, c in ((1, a), (2, b))
    ]
    digest = compose(found, list_name="Probation Digest", day=DAY, subject="{count} items")
    assert len(digest.entries) == 2


def test_the_editors_calls_include_a_dropped_item_and_leave_out_a_kept_one() -> None:
    """ "Include anyway" puts an item the filter judged off-topic in the digest, "leave out" takes a relevant one
    out; both stay considered (so the run claims them), and an item without a call keeps the filter's verdict."""
    from digest.compose import apply_choices
    from digest.models import Summary

    def cand(i: int, relevant: bool) -> Candidate:
        s = Summary(title=f"Post {i}", kind="blog", about_probation=relevant, summary="Text.")
        return Candidate(item(i, f"Post {i}", when=REPORT_DAY + timedelta(hours=i)), s)

    found = [cand(1, True), cand(2, False), cand(3, True), cand(4, False)]
    chosen = apply_choices(found, {1: "leave-out", 2: "include"})
    digest = compose(chosen, list_name="Probation Digest", day=DAY, subject="{count} items")
    assert sorted(e.title for e in digest.entries) == ["Post 2", "Post 3"]
    assert digest.considered == (1, 2, 3, 4)

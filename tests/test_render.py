"""The rendered email: golden files for what a subscriber sees, the size budget, and the subject line."""

from __future__ import annotations

import os
import re
from datetime import UTC, date, datetime, timedelta
from email import message_from_bytes, policy
from pathlib import Path

import pytest

from digest.compose import Candidate, compose, for_subscriber
from digest.messages import EmailRenderer as Renderer
from digest.messages import Envelope, MessageFactory
from digest.models import Document, Item, Recommendation, Subscriber, Summary
from digest.render import PREFERENCES, RECIPIENT, UNSUBSCRIBE

from .conftest import DATA

GOLDEN = DATA / "golden"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"  # regenerate on purpose: UPDATE_GOLDEN=1 make test
DAY = date(2026, 11, 24)
NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def item(
    i: int,
    title: str,
    *,
    source: str = "Russell Webster",
    kind: str | None = "blog",
    links: tuple[str, ...] = (),
    when: datetime | None = None,
) -> Item:
    url = (
        f"https://{'hmiprobation.justiceinspectorates.gov.uk/news' if kind == 'inspectorate' else 'blog.example'}/p{i}/"
    )
    return Item(
        feed_url="https://feed.example/",
        source=source,
        guid=f"g{i}",
        url=url,
        canonical_url=url,
        title=title,
        published=when or datetime(2026, 11, 23, 9, i, tzinfo=UTC),
        content_html="",
        summary_html="",
        content_hash=f"h{i}",
        links=links,
        id=i,
        source_type=kind,
    )


def candidates() -> list[Candidate]:
    report = Summary(
        title="An inspection of probation services in: West Kent PDU",
        kind="inspection",
        about_probation=True,
        summary="Inspectors found a committed team working under heavy caseloads. Work to keep people safe "
        "required improvement, but court work was strong.",
        organisation="West Kent PDU",
        rating="Requires improvement",
        published=date(2026, 11, 23),
        chief_inspector="Martin Jones",
        chief_inspector_quote="West Kent PDU has a committed workforce, but caseloads are too high to do the job well.",
        key_findings=("Caseloads were too high for staff to do good work.", "Court work was strong."),
        recommendations=(
            Recommendation("Reduce caseloads to a manageable level", "The PDU"),
            Recommendation("Review the quality of risk assessments", "HM Prison and Probation Service"),
        ),
    )
    news = item(
        1, "West Kent probation requires improvement", source="HM Inspectorate of Probation", kind="inspectorate"
    )
    blog = item(2, "West Kent: caseloads again", links=(news.url,))
    post = item(3, "Desistance & the probation <relationship>")
    return [
        Candidate(
            news,
            report,
            Document(
                url=news.url,
                title="",
                text="",
                format="feed",
                report_url="https://hmiprobation.justiceinspectorates.gov.uk/document/west-kent/",
                pdf_url="https://hmiprobation.justiceinspectorates.gov.uk/r.pdf",
            ),
        ),
        Candidate(
            blog,
            Summary(
                title=blog.title, kind="blog", about_probation=True, summary="A post.", organisation="West Kent PDU"
            ),
        ),
        Candidate(
            post,
            Summary(
                title=post.title,
                kind="blog",
                about_probation=True,
                summary="Relationships matter: “people change when someone believes in them.”",
            ),
        ),
        Candidate(
            item(4, "Prison news"),
            Summary(title="Prison news", kind="news", about_probation=False, summary="About prisons."),
        ),
    ]


def render(**kw: object):  # type: ignore[no-untyped-def]
    digest = compose(
        candidates(), list_name="Probation Digest", day=DAY, subject="{list_name}, {date:%a %-d %b}: {counts}"
    )
    renderer = Renderer(public_url="https://digest.example.org", contact="editor@example.org")
    return digest, renderer.fit(digest, 90_000)


def check_golden(name: str, actual: str) -> None:
    path = GOLDEN / name
    data = actual.encode("utf-8")
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    assert path.exists(), f"no golden file {path}: run UPDATE_GOLDEN=1 make test once and review it"
    assert data == path.read_bytes(), f"{name} differs from the golden file (UPDATE_GOLDEN=1 to accept)"


def test_compose_groups_the_report_and_the_blog_and_drops_the_irrelevant() -> None:
    """One entry per publication, the blog as "also discussed by"; prisons news is left out."""
    digest, _ = render()
    assert digest.subject == "Probation Digest, Tue 24 Nov: 1 inspection report, 1 post"
    assert [s.title for s in digest.sections] == ["Inspection reports", "News and blogs"]
    card = digest.sections[0].entries[0]
    assert [link.source for link in card.also] == ["Russell Webster"]
    assert card.report_url and card.pdf_url


def test_golden_html_and_text() -> None:
    """Fixed items render to exactly the stored HTML and plain text."""
    _, rendered = render()
    check_golden("digest.html", rendered.html)
    check_golden("digest.txt", rendered.text)


def test_golden_message() -> None:
    """With fixed Date and Message-ID, the whole MIME message is byte-for-byte stable."""
    digest, rendered = render()
    env = Envelope(
        from_name="Probation Digest",
        from_address="digest@probation-digest.example",
        list_id="probation-digest.probation-digest.example",
        subject=digest.subject,
        date=NOW,
        run_key="probation-digest:2026-11-24",
    )
    data = MessageFactory(rendered, env).build(
        to="reader@example.org",
        name="Ré Ader",
        message_id="<20261124.abc@probation-digest.example>",
        unsubscribe_url="https://digest.example.org/unsubscribe/TOKEN",
        preferences_url="https://digest.example.org/preferences/PREFS",
    )
    check_golden("message.eml", data.decode("ascii"))
    msg = message_from_bytes(data, policy=policy.default)
    assert msg["To"] == "Ré Ader <reader@example.org>"
    assert msg["List-Unsubscribe"] == (
        "<https://digest.example.org/unsubscribe/TOKEN>, <mailto:digest@probation-digest.example?subject=unsubscribe>"
    )
    html = msg.get_body(("html",)).get_content()  # type: ignore[union-attr]
    text = msg.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    # Encoded once with slots, decoded it is exactly the rendering with this subscriber's values.
    unsub = "https://digest.example.org/unsubscribe/TOKEN"
    crlf = "\r\n"  # canonical MIME line ends
    prefs = "https://digest.example.org/preferences/PREFS"
    assert html.replace(crlf, "\n") == rendered.html.replace(UNSUBSCRIBE, unsub).replace(
        RECIPIENT, "reader@example.org"
    ).replace(PREFERENCES, prefs)
    assert text.replace(crlf, "\n") == rendered.text.replace(UNSUBSCRIBE, unsub).replace(
        RECIPIENT, "reader@example.org"
    ).replace(PREFERENCES, prefs)
    assert 'href="https://digest.example.org/unsubscribe/TOKEN"' in html
    assert '<a href="https://digest.example.org/preferences/PREFS"' in html
    assert "Desistance &amp; the probation &lt;relationship&gt;" in html


@pytest.mark.parametrize(
    "name",
    [
        "Eve\r\nBcc: x@evil.example",
        "Eve\nBcc: x@evil.example",
        "Eve\rBcc: x@evil.example",
        "Zoë\r\nBcc: x@evil.example",
        'Eve <x@evil.example>, "Mallory" <y@evil.example>',
        "Eve\x00\t\u2028\u202eevil",
    ],
)
def test_a_name_can_never_add_a_header(name: str) -> None:
    """Whatever a subscriber's name holds, their message has exactly one To: header, naming one address (theirs),
    and no Bcc."""
    digest, rendered = render()
    env = Envelope(
        from_name="Probation Digest",
        from_address="digest@probation-digest.example",
        list_id="probation-digest.probation-digest.example",
        subject=digest.subject,
        date=NOW,
    )
    data = MessageFactory(rendered, env).build(
        to="reader@example.org",
        name=name,
        message_id="<m@x>",
        unsubscribe_url="https://x.example/u",
        preferences_url="https://x.example/p",
    )
    head = data.split(b"\r\n\r\n", 1)[0]
    assert not any(line.lower().startswith(b"bcc") for line in head.split(b"\r\n"))
    msg = message_from_bytes(data, policy=policy.default)
    assert msg.get_all("Bcc") is None
    (to,) = msg.get_all("To")  # type: ignore[misc]
    assert [a.addr_spec for a in to.addresses] == ["reader@example.org"]


def test_html_has_what_a_reader_needs() -> None:
    """Badge with the rating in words, headlines linking to entries, escaped titles, lang, no remote images."""
    _, rendered = render()
    html = rendered.html
    assert '<html lang="en-GB">' in html
    assert "Rated: Requires improvement" in html
    assert 'href="https://digest.example.org/digests/2026-11-24#item-1"' in html
    assert "Also discussed by:" in html and "<img" not in html
    assert "@media (prefers-color-scheme: dark)" in html and "@media only screen and (max-width: 620px)" in html
    assert 'style="' in html  # CSS was inlined


def test_plain_text_reads_on_its_own() -> None:
    """The text part has headings, wrapped lines, the rating in words and every link."""
    _, rendered = render()
    text = rendered.text
    assert "INSPECTION REPORTS" in text and "NEWS AND BLOGS" in text
    assert max(len(line) for line in text.splitlines() if "http" not in line) <= 72
    assert "Rating: Requires improvement" in text
    assert "The report (PDF): https://hmiprobation.justiceinspectorates.gov.uk/r.pdf" in text
    assert "<" not in text.replace("<relationship>", "")


def test_link_labels_say_where_they_go() -> None:
    """On a card whose report is elsewhere, the item's own link is labelled the news release and the report's
    links the report: a reader who clicks "Read the report" gets the report."""
    digest, rendered = render()
    card = next(e for e in digest.entries if e.summary.kind == "inspection" and e.pdf_url)
    links = dict((label, href) for href, label in re.findall(r'<a href="([^"]+)"[^>]*>([^<]+)</a>', rendered.html))
    assert links["News release"] == card.url
    assert links["Read the report"] == card.report_url
    assert links["Report (PDF)"] == card.pdf_url
    assert f"News release: {card.url}" in rendered.text


def test_forty_items_stay_under_gmails_clip() -> None:
    """On a 40-item day the HTML stays under 100 KB and the rest are listed as headlines, with a note."""
    long_summary = " ".join(
        ["Inspectors found that the probation service had improved its work with people on licence."] * 16
    )
    many = [
        Candidate(
            item(i, f"Post number {i} about probation practice", when=NOW - timedelta(minutes=i)),
            Summary(
                title=f"Post number {i} about probation practice",
                kind="blog",
                about_probation=True,
                summary=long_summary,
                key_findings=("A finding that matters.",) * 3,
            ),
        )
        for i in range(1, 41)
    ]
    digest = compose(many, list_name="Probation Digest", day=DAY, subject="{counts}")
    rendered = Renderer(public_url="https://digest.example.org").fit(digest, 90_000)
    full = len(Renderer(public_url="https://digest.example.org").render(digest).html.encode())
    assert full > 100_000, "the test day must be too big to send whole"
    size = len(rendered.html.encode())
    assert size < 100_000
    assert rendered.digest.overflow, "some items must be listed as headlines only"
    assert len(rendered.digest.entries) == 40
    assert "To keep this email short, these are listed by headline only" in rendered.html
    assert "Post number 40 about probation practice" in rendered.html


def test_subscriber_preferences_narrow_the_digest() -> None:
    """A subscriber who wants inspections only gets the report card and not the posts."""
    digest, _ = render()
    mine = for_subscriber(
        digest, Subscriber(email="x@example.org", kinds=frozenset({"inspection"})), "{list_name}: {counts}"
    )
    assert [e.title for e in mine.entries] == ["An inspection of probation services in: West Kent PDU"]
    assert mine.subject == "Probation Digest: 1 inspection report"


@pytest.mark.parametrize(
    ("pattern", "subject"), [("{list_name} {date:%d/%m}", "PD 24/11"), ("Digest: {count} new", "Digest: 2 new")]
)
def test_subject_pattern_is_configurable(pattern: str, subject: str) -> None:
    """The subject follows the configured pattern."""
    assert compose(candidates(), list_name="PD", day=DAY, subject=pattern).subject == subject


def test_templates_directory_override(tmp_path: Path) -> None:
    """An editor's own templates folder replaces the packaged templates."""
    from digest.render import templates_dir

    (tmp_path / "digest.html.j2").write_text("<p>{{ digest.subject }}</p>")
    (tmp_path / "digest.txt.j2").write_text("{{ digest.subject }}")
    digest = compose(candidates(), list_name="PD", day=DAY, subject="custom {count}")
    rendered = Renderer(public_url="https://x.example", templates=tmp_path).render(digest)
    assert rendered.html == "<html><head></head><body><p>custom 2</p></body></html>"
    assert templates_dir(None).joinpath("digest.html.j2").exists()


def test_an_inspection_card_names_its_region() -> None:
    """A reader sees which probation region an inspected body is in, from the shipped table: West Kent PDU is in
    Kent, Surrey and Sussex."""
    digest, rendered = render()
    card = next(e for e in digest.entries if e.summary.organisation == "West Kent PDU")
    assert card.region == "Kent, Surrey and Sussex"
    assert "Region: Kent, Surrey and Sussex" in rendered.html
    assert "region: Kent, Surrey and Sussex" in " ".join(rendered.text.split())
    assert all(e.region is None for e in digest.entries if e.summary.kind != "inspection")

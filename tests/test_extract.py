"""Extraction: the main text of pages and reports, without the chrome around them."""

from __future__ import annotations

import io

from fpdf import FPDF

from digest.extract import extract, extract_html
from digest.pdf import extract_pdf

from .conftest import WEB

PDF = WEB / "hmiprobation.justiceinspectorates.gov.uk/wp-content/uploads/sites/5/2017/06/South-Yorkshire-QI-report.pdf"
REPORT_PAGE = (
    WEB / "hmiprobation.justiceinspectorates.gov.uk/document/quality-and-impact-inspection-south-yorkshire/index"
)


def test_blog_page_loses_its_chrome_and_keeps_the_post() -> None:
    """Navigation, cookie banner, share bars, comments, related posts, sponsor, newsletter and licence go."""
    page = WEB / "www.russellwebster.com/another-private-probation-service-under-performing/index"
    doc = extract_html(
        page.read_bytes(), url="https://www.russellwebster.com/another-private-probation-service-under-performing/"
    )
    assert doc.title == "Another private probation service under-performing"
    for junk in (
        "Are you OK with cookies",
        "Share This Post",
        "Share on twitter",
        "Leave a Reply",
        "Related posts",
        "sponsored by Unilink",
        "Get every blog post by email",
        "Open Government Licence",
        "Home",
        "Your email address will not be published",
    ):
        assert junk not in doc.text, junk
    assert "the CRC – which supervises 5,347 people – was found to deliver impressive services for women" in doc.text
    assert "Reviewing of work was erratic" in doc.text  # list items are kept


def test_report_page_links_to_its_pdf() -> None:
    """An HTML report page (the inspectorate's site since 2025) is read and its PDF link found."""
    doc = extract(
        REPORT_PAGE.read_bytes(),
        url="https://hmiprobation.justiceinspectorates.gov.uk/document/q/",
        content_type="text/html",
    )
    assert doc.format == "html"
    assert doc.pdf_url is not None and doc.pdf_url.endswith("South-Yorkshire-QI-report.pdf")
    assert "Dame Glenys Stacey" in doc.text
    assert len(doc.text.split()) > 15_000


def test_a_broken_link_on_a_page_does_not_lose_the_page_or_its_report() -> None:
    """A link urljoin cannot read (an unclosed IPv6 bracket) used to fail the whole read, and one with a port that
    is no number was taken as the report's PDF (then failed the read when fetched); both are passed over and the
    report page's PDF is still found."""
    page = REPORT_PAGE.read_bytes().replace(
        b"<body",
        b'<p><a href="http://[broken/x">x</a> <a href="https://www.justiceinspectorates.gov.uk:80a/x/r.pdf">y</a></p>'
        b"<body",
        1,
    )
    doc = extract(page, url="https://hmiprobation.justiceinspectorates.gov.uk/document/q/", content_type="text/html")
    assert doc.pdf_url is not None and doc.pdf_url.endswith("South-Yorkshire-QI-report.pdf")


def test_pdf_report_without_running_headers() -> None:
    """The report PDF gives its text with page headers like "52 Quality & Impact: South Yorkshire" removed."""
    doc = extract_pdf(PDF.read_bytes(), url="https://example.org/r.pdf")
    assert doc.pages > 50 and not doc.scanned
    assert doc.title == "Quality & Impact inspection: The effectiveness of probation work in South Yorkshire"
    assert "Quality & Impact: South Yorkshire" not in doc.text.replace(
        "Quality & Impact inspection: The effectiveness", ""
    )
    # Wrapped lines are rejoined: a sentence that spans three PDF lines comes back whole.
    assert "The CRC offers an impressive range of interventions, including high quality services for women." in doc.text
    assert "\n\n3. reduce the number of absences judged as acceptable" in doc.text


def test_scanned_pdf_is_marked_and_not_read() -> None:
    """A PDF with no text layer is marked scanned, with no garbage text."""
    pdf = FPDF()
    for _ in range(3):
        pdf.add_page()
        pdf.rect(20, 20, 150, 200, style="F")  # an "image" of a page: no text at all
    doc = extract(bytes(pdf.output()), url="https://example.org/scan.pdf")
    assert doc.scanned and doc.text == "" and doc.pages == 3


def test_plain_text_capture_of_a_web_page() -> None:
    """Text captured from a page (one paragraph per line) keeps its headline and drops share lines."""
    from digest.extract import extract_text

    from .conftest import SEEDS

    doc = extract_text((SEEDS / "blog_hlny_crc_2019.txt").read_text(), url="file:///x")
    assert doc.title == "Another private probation service under-performing"
    assert "Share on twitter" not in doc.text
    assert io.StringIO(doc.text).read().count("\n\n") > 20


def test_binary_content_is_an_extract_error_not_garbage_text() -> None:
    """A feed item that links to an image or a zip (whatever its Content-Type) is refused, so no item is ever
    summarised from binary garbage; HTML sent as octet-stream still reads."""
    import pytest

    from digest.errors import ExtractError

    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8
    with pytest.raises(ExtractError, match="not text, HTML or PDF"):
        extract(png, url="https://example.org/a", content_type="text/html")
    page = (
        b"<html><body><p>" + "Probation caf\u00e9 inspection findings. ".encode("latin-1") * 30 + b"</p></body></html>"
    )
    assert (
        "inspection findings"
        in extract(page, url="https://example.org/b", content_type="application/octet-stream").text
    )


def test_a_feed_served_where_a_page_was_expected_is_still_read() -> None:
    """An XML document (a feed, with its encoding declared) that trafilatura will not take for HTML is read
    leniently: its text and the report it links are kept, as from any page, not lost as an empty document."""
    feed = WEB / "hmiprobation.justiceinspectorates.gov.uk/news/feed/index"
    doc = extract_html(feed.read_bytes(), url="https://hmiprobation.justiceinspectorates.gov.uk/news/feed/")
    assert "Probation work in South Yorkshire ‘generally good’" in doc.text
    assert "The quality of probation work in South Yorkshire" in doc.text  # after a CDATA read as a comment
    assert doc.report_url is not None and doc.report_url.endswith("/quality-and-impact-inspection-south-yorkshire/")
    page = b"<main><div><h1>Youth justice<!-- --> inspection</h1><p>Published<!-- --> 12 March 2025</p></div></main>"
    doc = extract_html(page, url="https://example.org/p")  # not HTML enough for trafilatura: read leniently
    assert doc.title == "Youth justice inspection" and "12 March 2025" in doc.text


def test_a_page_without_main_text_gives_its_body_text_without_scripts() -> None:
    """When trafilatura finds no main text, the body's own text is what is read: never a script's, a stylesheet's
    or a comment's, while the text after them is kept, and so is a <noscript>'s (no script runs here). Control
    characters in the text do not stop it; a script inside the headline is not part of the title."""
    page = (
        b"<html><head><title>Notice</title><style>p{color:red}</style></head><body><footer>"
        b"<script>var tracker = 1;</script>Offices closed <noscript>Open in a browser</noscript>on Monday"
        b"<!-- draft: hidden --></footer></body></html>"
    )  # all of it in a footer, which trafilatura is told to leave out
    doc = extract_html(page, url="https://example.org/notice")
    assert "Offices closed" in doc.text and "Monday" in doc.text and "Open in a browser" in doc.text
    assert "tracker" not in doc.text and "color" not in doc.text and "draft" not in doc.text
    assert doc.title == "Notice"
    odd = extract_html(b"<p>Reopened.<script>t()</script>\x0bResidents returned.</p>", url="https://example.org/o")
    assert "Reopened." in odd.text and "Residents returned." in odd.text and "t()" not in odd.text
    named = extract_html(
        b"<html><body><h1>Wales<script>var a = 1</script> youth justice</h1><p>Text.</p></body></html>",
        url="https://example.org/n",
    )
    assert named.title == "Wales youth justice"


def test_a_pdf_whose_font_names_a_lone_surrogate_is_still_read() -> None:
    """A font's ToUnicode map can name a lone surrogate, which pypdf passes on: it is read as the replacement
    character, so the text can be stored and mailed (SQLite refused it, and the item's reading was lost)."""
    cmap = (
        b"/CIDInit /ProcSet findresource begin 12 dict begin begincmap /CMapName /X def\n"
        b"1 begincodespacerange <00> <FF> endcodespacerange\n1 beginbfchar <41> <D800> endbfchar\n"
        b"endcmap CMapName currentdict /CMap defineresource pop end end"
    )
    content = b"BT /F1 12 Tf 72 720 Td (A " + b" ".join([b"probation"] * 60) + b") Tj ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 4 0 R >> >> "
        b"/Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /ToUnicode 6 0 R >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
        b"<< /Length %d >>\nstream\n" % len(cmap) + cmap + b"\nendstream",
    ]
    pdf, offsets = b"%PDF-1.4\n", []
    for n, body in enumerate(objects, 1):
        offsets.append(len(pdf))
        pdf += b"%d 0 obj\n" % n + body + b"\nendobj\n"
    xref = len(pdf)
    pdf += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1) + b"".join(
        b"%010d 00000 n \n" % o for o in offsets
    )
    pdf += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    doc = extract_pdf(pdf, url="https://example.org/r.pdf")
    assert doc.text.count("probation") >= 50
    doc.text.encode("utf-8")  # no lone surrogate left
    assert "\ufffd" in doc.text

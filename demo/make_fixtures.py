"""Build the offline sample web (demo/web/) from ../shared/seeds. Run once; the output is committed.

demo/web/HOST/PATH mirrors the real sources' URLs, so the demo and the tests fetch exactly the URLs that
production would, served by MirrorTransport or a local HTTP server instead of the network:

- HM Inspectorate of Probation: a WordPress RSS 2.0 news feed (content:encoded) whose South Yorkshire item links
  to an HTML report page (/document/…, the site since 2025) and to the report PDF (/wp-content/uploads/…);
  the PDF has a running header on every page, as the real ones do.
- Russell Webster's blog: a WordPress feed with full posts in content:encoded, plus each post's web page with
  its navigation, share bar, sponsor block, newsletter sign-up and comment form.
- GOV.UK's HMPPS Atom feed: summaries only, pages behind them with a cookie banner and licence footer; one item
  is about prisons and should be filtered out.
- A Blogger feed.

Usage: python demo/make_fixtures.py [SEEDS_DIR]
"""

from __future__ import annotations

import html
import re
import sys
import zlib
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent
WEB = ROOT / "web"
HMIP = "hmiprobation.justiceinspectorates.gov.uk"
RW = "www.russellwebster.com"
PDF_PATH = "wp-content/uploads/sites/5/2017/06/South-Yorkshire-QI-report.pdf"
REPORT_PAGE = "document/quality-and-impact-inspection-south-yorkshire/"


def lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


def body(seed: list[str], start: str, stops: tuple[str, ...]) -> list[str]:
    """The post body: from the line starting with `start` to the first stop marker."""
    begin = next(i for i, ln in enumerate(seed) if ln.strip().startswith(start))
    out = []
    for ln in seed[begin:]:
        if ln.strip().startswith(stops):
            break
        out.append(ln)
    return out


def to_html(text_lines: list[str]) -> str:
    """Paragraph per line; runs of bullet lines become a list; short lines without a full stop, headings."""
    out: list[str] = []
    in_list = False
    for raw in text_lines:
        s = raw.strip()
        if not s:
            continue
        if s.startswith("•"):
            if not in_list:
                out.append("<ul>")
                in_list = True
            out.append(f"<li>{html.escape(s.lstrip('• ').strip())}</li>")
            continue
        if in_list:
            out.append("</ul>")
            in_list = False
        if len(s.split()) <= 8 and not s.endswith((".", ":", "”", '"')):
            out.append(f"<h2>{html.escape(s)}</h2>")
        else:
            out.append(f"<p>{html.escape(s)}</p>")
    if in_list:
        out.append("</ul>")
    return "\n".join(out)


def rss(title: str, link: str, description: str, items: list[dict[str, str]]) -> str:
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:atom="http://www.w3.org/2005/Atom">',
        "<channel>",
        f"<title>{html.escape(title)}</title>",
        f'<atom:link href="{link}feed/" rel="self" type="application/rss+xml" />',
        f"<link>{link}</link>",
        f"<description>{html.escape(description)}</description>",
        "<language>en-GB</language>",
        "<generator>https://wordpress.org/?v=6.4.2</generator>",
    ]
    for it in items:
        cats = "".join(f"<category><![CDATA[{c}]]></category>" for c in it.get("categories", "").split("|") if c)
        parts += [
            "<item>",
            f"<title>{html.escape(it['title'])}</title>",
            f"<link>{it['link']}</link>",
            f"<dc:creator><![CDATA[{it.get('author', 'admin')}]]></dc:creator>",
            f"<pubDate>{it['date']}</pubDate>",
            cats,
            f'<guid isPermaLink="false">{it["guid"]}</guid>',
            f"<description><![CDATA[{it['excerpt']} [&#8230;]]]></description>",
            f"<content:encoded><![CDATA[{it['content']}]]></content:encoded>",
            "</item>",
        ]
    parts += ["</channel>", "</rss>", ""]
    return "\n".join(parts)


def rfc822(y: int, m: int, d: int, h: int = 9, mi: int = 30) -> str:
    return format_datetime(datetime(y, m, d, h, mi, tzinfo=UTC))


def page(title: str, content: str, *, site: str, extra_body: str = "") -> str:
    """A WordPress-like page with all the chrome a reader does not want in a summary."""
    return f"""<!DOCTYPE html>
<html lang="en-GB"><head><meta charset="utf-8"><title>{html.escape(title)} - {site}</title>
</head><body>
<div class="cookie-banner"><p>Are you OK with cookies?</p><button>Accept all cookies</button></div>
<header><nav class="menu"><ul><li><a href="/">Home</a></li><li><a href="/about/">About</a></li>
<li><a href="/blog/">Blog</a></li><li><a href="/contact/">Contact</a></li></ul></nav></header>
<main><article class="post">
<h1 class="entry-title">{html.escape(title)}</h1>
<div class="share-bar"><p>Share This Post</p><ul><li><a href="https://twitter.com/share">Share on twitter</a></li>
<li><a href="https://www.facebook.com/sharer">Share on facebook</a></li><li><a href="#">Share on linkedin</a></li></ul></div>
<div class="entry-content">
{content}
</div>
{extra_body}
<div class="sharedaddy"><p>Share This Post</p><a href="#">Share on email</a></div>
</article>
<section class="related-posts"><h3>Related posts</h3><ul><li><a href="/desistance/">Desistance, adversity and trauma</a></li></ul></section>
<div id="comments" class="comments-area"><h3>Leave a Reply</h3>
<p>Your email address will not be published. Required fields are marked *</p><form><textarea></textarea></form></div>
</main>
<aside class="sponsor"><p>Probation posts sponsored by Unilink</p><p>Excellence through innovation</p></aside>
<div class="newsletter subscribe"><p>Get every blog post by email for free</p><p>One email every day at noon</p></div>
<footer><p>All content is available under the Open Government Licence v3.0, except where otherwise stated</p>
<p>© Crown copyright</p></footer>
</body></html>
"""


def write(rel: str, data: str | bytes) -> None:
    target = WEB / rel
    if rel.endswith("/"):
        target = target / "index"
    target.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        target.write_text(data, encoding="utf-8")
    else:
        target.write_bytes(data)


def report_pdf(seed: list[str]) -> bytes:
    """The seed report as a PDF: 52 lines a page, a running header on each, as the inspectorate prints them."""
    from fpdf import FPDF

    header = re.compile(r"^\s*\d*\s?Quality & Impact: South Yorkshire\s*$")
    text = [ln.rstrip() for ln in seed if not header.match(ln)]
    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(False)
    font = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
    pdf.add_font("DejaVu", "", font)
    pdf.set_title("Quality & Impact inspection: The effectiveness of probation work in South Yorkshire")
    pdf.set_author("HM Inspectorate of Probation")
    pdf.set_creation_date(datetime(2017, 6, 29, 9, 30, tzinfo=UTC))
    per_page = 52
    for n, start in enumerate(range(0, len(text), per_page), start=1):
        pdf.add_page()
        pdf.set_font("DejaVu", size=8)
        pdf.set_xy(15, 10)
        label = f"{n} Quality & Impact: South Yorkshire" if n % 2 == 0 else f"Quality & Impact: South Yorkshire {n}"
        pdf.cell(180, 5, label, align="R" if n % 2 else "L")
        pdf.set_font("DejaVu", size=9.5)
        y = 22.0
        for ln in text[start : start + per_page]:
            pdf.set_xy(15, y)
            if ln.strip():
                pdf.cell(180, 5, ln.strip())
            y += 5.0
    return bytes(pdf.output())


def main(seeds: Path) -> None:
    report = lines(seeds / "report_south_yorkshire_2017.txt")
    sy_blog = lines(seeds / "blog_south_yorkshire_2017.txt")
    staffs = lines(seeds / "blog_staffordshire_2017.txt")
    hlny = lines(seeds / "blog_hlny_crc_2019.txt")
    press = lines(seeds / "press_northamptonshire_2017.txt")
    stops = ("Share This Post", "Share on twitter", "Related posts", "Leave a Reply", "Click here to see")

    # ---- HM Inspectorate of Probation: report PDF, HTML report page, news feed
    write(f"{HMIP}/{PDF_PATH}", report_pdf(report))
    header = re.compile(r"^\s*\d*\s?Quality & Impact: South Yorkshire\s*$")
    report_text = [ln for ln in report if not header.match(ln)]
    paras, cur = [], []
    for ln in report_text:
        if ln.startswith(" ") and ln.strip() and cur:  # a page break in the capture: a new paragraph
            paras.append(" ".join(cur))
            cur = [ln.strip()]
        elif ln.strip():
            cur.append(ln.strip())
        elif cur:
            paras.append(" ".join(cur))
            cur = []
    if cur:
        paras.append(" ".join(cur))
    report_html = "\n".join(
        (f"<h2>{html.escape(p)}</h2>" if len(p.split()) <= 10 and not p.endswith(".") else f"<p>{html.escape(p)}</p>")
        for p in paras
    )
    pdf_url = f"https://{HMIP}/{PDF_PATH}"
    write(
        f"{HMIP}/{REPORT_PAGE}",
        page(
            "Quality & Impact inspection: The effectiveness of probation work in South Yorkshire",
            f'<p class="document-meta">Published: 29 June 2017</p>\n'
            f'<p><a href="{pdf_url}">Download the full report (PDF, 1.4 MB)</a></p>\n{report_html}',
            site="HM Inspectorate of Probation",
        ),
    )
    report_page_url = f"https://{HMIP}/{REPORT_PAGE}"
    sy_news = f"""<p>The quality of probation work in South Yorkshire was generally good and, for the first time in
this programme of inspections, of a similar standard in the Community Rehabilitation Company (CRC) and the
National Probation Service (NPS), said Dame Glenys Stacey, HM Chief Inspector of Probation, publishing the report
of an inspection of probation work in South Yorkshire.</p>
<p>This was the third inspection of adult probation work undertaken by a CRC owned by Sodexo Justice Services in
partnership with Nacro, and the third area within the NPS North East division to be inspected.</p>
<p>Inspectors found that, after a difficult start and the loss of many experienced staff, the CRC was managing
change competently. Staff were encouraged to work flexibly and to make home visits, and the CRC offered an
impressive range of interventions, including high-quality services for women. However, too many service users
were allowed to drift, with absences often going unchallenged.</p>
<p>The NPS was delivering good quality work with a complex and challenging cohort and maintained an unrelenting
focus on public protection, but leaders had more to do to bring about change and to manage case assignment better.</p>
<p>Dame Glenys said:</p>
<blockquote><p>“We found the quality of work in South Yorkshire to be generally good and - for the first time - of a
similar standard in the CRC and the NPS. In contrast to the two Sodexo-owned CRCs recently inspected in their
southern region, we found their interim operating model to be working reasonably well in the north.”</p></blockquote>
<p>Inspectors made 13 recommendations to the CRC, the NPS, HM Prison and Probation Service and the Ministry of
Justice.</p>
<p><a href="{report_page_url}">Read the report: Quality &amp; Impact inspection: The effectiveness of probation
work in South Yorkshire</a> (<a href="{pdf_url}">PDF</a>)</p>"""
    press_body = body(press, "The National Probation Service (NPS) was supervising", ("Share", "Related"))
    news_items = [
        {
            "title": "Probation work in South Yorkshire ‘generally good’",
            "link": f"https://{HMIP}/news/probation-work-in-south-yorkshire-generally-good/",
            "guid": f"https://{HMIP}/?p=4101",
            "date": rfc822(2017, 6, 29, 0, 1),
            "author": "HMI Probation",
            "categories": "News|Inspection reports|Adult inspections",
            "excerpt": "The quality of probation work in South Yorkshire was generally good",
            "content": sy_news,
        },
        {
            "title": "Probation services in Northamptonshire “need to improve”",
            "link": f"https://{HMIP}/news/probation-services-in-northamptonshire-need-to-improve/",
            "guid": f"https://{HMIP}/?p=3987",
            "date": rfc822(2017, 4, 20, 0, 1),
            "author": "HMI Probation",
            "categories": "News|Inspection reports",
            "excerpt": "The National Probation Service was supervising people who posed a higher risk reasonably well",
            "content": to_html(press_body),
        },
    ]
    write(
        "hmiprobation.justiceinspectorates.gov.uk/news/feed/",
        rss(
            "HM Inspectorate of Probation",
            f"https://{HMIP}/",
            "News from HM Inspectorate of Probation",
            news_items,
        ),
    )

    # ---- Russell Webster: full posts in the feed and pages with all the chrome
    posts = [
        (
            "private-probation-in-south-yorks-much-better",
            "Private probation in South Yorks “much better”",
            body(sy_blog, "Highest performing area inspected", stops),
            rfc822(2017, 6, 29, 7, 0),
            "Probation|Inspections",
        ),
        (
            "probation-public-protection-work-sub-standard-in-staffordshire",
            "Probation public protection work sub-standard in Staffordshire",
            body(staffs, "Inspectors report on Staffordshire", stops),
            rfc822(2017, 1, 12, 7, 0),
            "Probation",
        ),
        (
            "another-private-probation-service-under-performing",
            "Another private probation service under-performing",
            body(hlny, "Inspectors rate Humberside", stops),
            rfc822(2019, 2, 21, 7, 0),
            "Probation|CRCs",
        ),
    ]
    rw_items = []
    for slug, title, text, date, cats in posts:
        content = to_html(text)
        if slug.startswith("private-probation-in-south-yorks"):
            content += f'\n<p>You can read the full report <a href="{report_page_url}">here</a>.</p>'
        url = f"https://{RW}/{slug}/"
        write(f"{RW}/{slug}/", page(title, content, site="Russell Webster"))
        first = next(t.strip() for t in text if len(t.split()) > 12)
        rw_items.append(
            {
                "title": title,
                "link": url,
                "guid": f"https://{RW}/?p={zlib.crc32(slug.encode()) % 90000}",
                "date": date,
                "author": "Russell Webster",
                "categories": cats,
                "excerpt": html.escape(" ".join(first.split()[:40])),
                "content": content,
            }
        )
    write(f"{RW}/feed/", rss("Russell Webster", f"https://{RW}/", "Drugs and crime", rw_items))

    # ---- GOV.UK Atom (summaries only) and the pages behind it
    govuk = "www.gov.uk"
    gov_items = [
        (
            "government/news/new-probation-officers-join-the-service",
            "Record number of new probation officers join the service",
            "More than 1,000 trainee probation officers have started work in probation delivery units.",
            "<p>More than 1,000 trainee probation officers have started work in probation delivery units across "
            "England and Wales this year, the highest intake since the Probation Service was reunified.</p>"
            "<p>The trainees will supervise people on community orders and on licence after release from custody, "
            "easing caseloads that inspectors have repeatedly described as unmanageable in some regions.</p>"
            "<p>HM Prison and Probation Service said the new officers would complete the Professional Qualification "
            "in Probation while holding a reduced caseload, with support from senior probation officers.</p>"
            "<p>The National Probation Service workload measurement tool will be used to keep caseloads at safe "
            "levels while trainees build up experience of risk of harm assessment and sentence planning.</p>",
            "2017-06-28T10:00:00Z",
        ),
        (
            "government/news/new-prison-officer-recruitment-drive",
            "Prison officer recruitment drive opens in the North West",
            "A new recruitment campaign for prison officers at HMP Liverpool and HMP Altcourse.",
            "<p>A new recruitment campaign has opened for prison officers at HMP Liverpool and HMP Altcourse.</p>"
            "<p>Successful candidates will work on prison wings, supporting prisoners and keeping jails safe and "
            "secure, after completing their training at the prison service college.</p>"
            "<p>The prison governor welcomed the campaign, saying the prison needed more experienced officers.</p>",
            "2017-06-28T11:00:00Z",
        ),
    ]
    entries = []
    for path, title, summary, content, updated in gov_items:
        write(f"{govuk}/{path}", page(title, content, site="GOV.UK"))
        entries.append(f"""<entry>
<id>https://{govuk}/{path}</id>
<updated>{updated}</updated>
<link rel="alternate" type="text/html" href="https://{govuk}/{path}"/>
<title>{html.escape(title)}</title>
<summary type="html">{html.escape(summary)}</summary>
</entry>""")
    write(
        "www.gov.uk/government/organisations/hm-prison-and-probation-service.atom",
        f"""<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="en">
<id>https://www.gov.uk/government/organisations/hm-prison-and-probation-service</id>
<link rel="alternate" type="text/html" href="https://www.gov.uk/government/organisations/hm-prison-and-probation-service"/>
<link rel="self" type="application/atom+xml" href="https://www.gov.uk/government/organisations/hm-prison-and-probation-service.atom"/>
<title>HM Prison and Probation Service - Activity on GOV.UK</title>
<updated>2017-06-28T11:00:00Z</updated>
{chr(10).join(entries)}
</feed>
""",
    )

    # ---- Blogger
    blogger_post = (
        "<p>Three years into the new probation system, the officers I speak to describe caseloads that leave "
        "little room for the relationship at the heart of supervision.</p>"
        "<p>Inspectors keep finding the same thing: when responsible officers have time to see people, plan "
        "properly and follow up absences, work to reduce reoffending is good. When they do not, people drift "
        "and risk of harm goes unmanaged.</p>"
        "<p>The answer is not another operating model. It is enough qualified probation officers, manageable "
        "caseloads and the professional discretion to use them well.</p>"
    )
    write(
        "probationmatters.blogspot.com/feeds/posts/default",
        f"""<?xml version='1.0' encoding='UTF-8'?>
<feed xmlns='http://www.w3.org/2005/Atom' xmlns:openSearch='http://a9.com/-/spec/opensearchrss/1.0/' xmlns:blogger='http://schemas.google.com/blogger/2008'>
<id>tag:blogger.com,1999:blog-1234567890</id><updated>2017-06-27T21:14:00.001+01:00</updated>
<category term="probation"/><title type='text'>On Probation</title>
<link rel='alternate' type='text/html' href='https://probationmatters.blogspot.com/'/>
<author><name>Jim Brown</name></author><generator version='7.00' uri='http://www.blogger.com'>Blogger</generator>
<entry><id>tag:blogger.com,1999:blog-1234567890.post-987654321</id>
<published>2017-06-27T21:14:00.001+01:00</published><updated>2017-06-27T21:20:00.001+01:00</updated>
<category scheme='http://www.blogger.com/atom/ns#' term='caseloads'/><category scheme='http://www.blogger.com/atom/ns#' term='TR'/>
<title type='text'>Caseloads, not operating models</title>
<content type='html'>{html.escape(blogger_post)}</content>
<link rel='alternate' type='text/html' href='https://probationmatters.blogspot.com/2017/06/caseloads-not-operating-models.html' title='Caseloads, not operating models'/>
<author><name>Jim Brown</name></author></entry>
</feed>
""",
    )
    print(f"wrote {sum(1 for p in WEB.rglob('*') if p.is_file())} files under {WEB}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT.parent.parent / "shared" / "seeds")

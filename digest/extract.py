"""Extract readable text from pages, PDFs and plain text. Pure: bytes in, `Document` out.

HTML goes through trafilatura (main-content detection, comments off) and then a boilerplate filter for
what blogs add around a post: share bars, sponsor blurbs, newsletter sign-ups, cookie questions, licence text.
PDFs go through pypdf; running headers and footers are dropped and wrapped lines rejoined into paragraphs.
"""

from __future__ import annotations

import io
import logging
import re
import statistics
from collections import Counter
from collections.abc import Iterable
from datetime import date, datetime
from urllib.parse import urljoin, urlsplit

import trafilatura
from bs4 import BeautifulSoup
from pypdf import PdfReader
from pypdf.errors import PdfReadError

from .errors import ExtractError
from .models import Document

logging.getLogger("trafilatura").setLevel(logging.CRITICAL)
logging.getLogger("htmldate").setLevel(logging.CRITICAL)
logging.getLogger("pypdf").setLevel(logging.ERROR)

_BOILERPLATE = re.compile(
    r"""^(?:share\ this\ (?:post|page|article)|share\ on\ \w+|tweet|share|print|email\ this
    |leave\ a\ (?:reply|comment)|\d+\ comments?|related\ posts?|you\ may\ also\ like|read\ more
    |(?:probation|drugs|criminal\ justice)\ posts?\ (?:are\ )?sponsored\ by\b.*
    |are\ you\ ok\ with\ cookies\??|accept\ (?:all\ )?cookies|reject\ (?:all\ )?cookies|cookie\ settings
    |we\ use\ (?:some\ essential\ )?cookies\b.*|skip\ to\ (?:main\ )?content
    |(?:get|receive)\ every\ (?:blog\ )?post\ by\ email.*|one\ email\ every\ day\ at\ noon.*
    |subscribe\ (?:to\ (?:our|the)\ newsletter|now|by\ email).*|sign\ up\ (?:to|for)\ (?:our\ )?newsletter.*
    |all\ content\ is\ available\ under\ the\ open\ government\ licence.*|©\ crown\ copyright.*
    |we\ use\ small\ files\ called\ .cookies.*|which\ cookies\ are\ you\ happy.*|you\ can\ choose\ to\ turn\ off.*
    |to\ view\ this\ licence,?\ visit.*|or\ write\ to:?(?:\ information\ policy\ team.*)?|or\ email:?
    |information\ policy\ team,?
    |the\ national\ archives,?|kew,?|london\ tw9\ 4du|or\ email:?\ psi@nationalarchives.*
    |this\ publication\ is\ available\ at:?.*|https?://\S*nationalarchives\.gov\.uk\S*
    |keep\ up-to-date\ with\ drugs\ and\ crime|thanks\ to\ \S+\ for\ the\ (?:photo|image).*
    |photo\ (?:by|credit).*|filed\ under.*|tagged\ (?:with)?.*|posted\ in\ .*|previous\ post.*|next\ post.*
    )$""",
    re.I | re.X,
)
_MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
_DATE_DMY = re.compile(r"\b(\d{1,2})(?:st|nd|rd|th)?\s+(" + "|".join(_MONTHS) + r")\s+(20\d\d)\b")
_DATE_MY = re.compile(r"\b(" + "|".join(_MONTHS) + r")\s+(20\d\d)\b")
_PRUNE = [
    "//*[contains(@class,'share')]",
    "//*[contains(@class,'sharedaddy')]",
    "//*[contains(@class,'related')]",
    "//*[contains(@class,'comment')]",
    "//*[@id='comments']",
    "//*[contains(@class,'newsletter')]",
    "//*[contains(@class,'sponsor')]",
    "//*[contains(@class,'cookie')]",
    "//*[contains(@id,'cookie')]",
    "//*[contains(@class,'subscribe')]",
    "//nav",
    "//footer",
    "//aside",
]


def is_pdf(content: bytes, content_type: str = "") -> bool:
    return content[:1024].lstrip().startswith(b"%PDF") or content_type == "application/pdf"


def extract(content: bytes, *, url: str, content_type: str = "") -> Document:
    """Dispatch on what the bytes are: PDF, HTML or plain text."""
    if is_pdf(content, content_type):
        return extract_pdf(content, url=url)
    head = content[:4096].lower()
    if (
        content_type in ("text/html", "application/xhtml+xml")
        or b"<html" in head
        or b"<body" in head
        or b"<p>" in head
        or b"<!doctype html" in head
    ):
        return extract_html(content, url=url)
    return extract_text(content.decode("utf-8", errors="replace"), url=url)


def extract_text(text: str, *, url: str, title: str = "") -> Document:
    """Plain text as captured from a page or a PDF: drop running headers and boilerplate, keep paragraphs.

    Text captured from a web page has one paragraph per line; text from a PDF is wrapped at a fixed width and
    separates paragraphs with blank lines. The line lengths tell which.
    """
    lines = [ln.rstrip() for ln in text.replace("\r\n", "\n").split("\n")]
    counts = Counter(_norm_running(ln) for ln in lines if ln.strip())
    lines = [
        ln
        for ln in lines
        if not (ln.strip() and counts[_norm_running(ln)] >= 5 and len(ln.split()) <= 8 and re.search(r"\d", ln))
    ]
    long_lines = [len(ln) for ln in lines if len(ln) > 40]
    web = bool(long_lines) and statistics.median(long_lines) > 110
    if web:
        raw = [p for p in (re.sub(r"\s+", " ", ln).strip() for ln in lines) if p]
    else:
        raw = _paragraphs_from_blocks(lines, keep_boilerplate=True)
    paragraphs = [p for p in raw if not _BOILERPLATE.match(p)]
    return Document(
        url=url,
        title=title or _text_title(raw, web=web),
        text="\n\n".join(paragraphs),
        format="text",
        published=find_date(text[:3000]),
    )


def _text_title(paragraphs: list[str], *, web: bool) -> str:
    """The headline of captured text: the last short line before the share bar or the first long paragraph."""

    def candidate(p: str) -> bool:
        n = len(p.split())
        return (
            2 <= n <= 16
            and not p.endswith(".")
            and not _BOILERPLATE.match(p)
            and not _has_date(p)
            and not re.match(r"^(?:menu|home|search)\b", p, re.I)
        )

    head = paragraphs[:25]
    if not web:
        return next((p for p in head if candidate(p)), head[0][:200] if head else "")
    anchor = next((i for i, p in enumerate(head) if re.match(r"^share\b", p, re.I) or len(p.split()) > 25), len(head))
    for p in reversed(head[:anchor]):
        if candidate(p):
            return p
    return next((p for p in head if candidate(p)), head[0][:200] if head else "")


def _paragraphs_from_blocks(lines: list[str], *, keep_boilerplate: bool = False) -> list[str]:
    """Lines separated by blank lines are paragraphs; bullets start their own."""
    out: list[str] = []
    cur: list[str] = []

    def flush() -> None:
        if cur:
            para = _join_lines(cur)
            if para and (keep_boilerplate or not _BOILERPLATE.match(para)):
                out.append(para)
            cur.clear()

    for ln in lines:
        s = ln.strip()
        if not s:
            flush()
        elif re.match(r"^(?:[•▪●◦·*-]|\d{1,2}[.)])\s", s) or (ln[:1].isspace() and s[:1].isupper()):
            flush()  # a bullet, or an indented line: a page break in text captured from a PDF
            cur.append(s)
        else:
            cur.append(s)
    flush()
    return out


def _join_lines(lines: list[str]) -> str:
    text = ""
    for ln in lines:
        if not text:
            text = ln
        elif text.endswith("-") and len(text) > 1 and text[-2].isalpha() and ln[:1].islower():
            text += ln  # a word hyphenated at the line end
        else:
            text += " " + ln
    return re.sub(r"\s+", " ", text).strip()


def extract_html(content: bytes | str, *, url: str) -> Document:
    raw = content.decode("utf-8", errors="replace") if isinstance(content, bytes) else content
    soup = BeautifulSoup(raw, "lxml")
    report_url, pdf_url = find_report_links(soup, url)
    result = trafilatura.bare_extraction(
        raw,
        url=url,
        include_comments=False,
        include_tables=True,
        favor_recall=True,
        with_metadata=True,
        prune_xpath=_PRUNE,
    )
    text = getattr(result, "text", None) or ""
    if not text.strip():
        body = soup.body or soup
        text = body.get_text("\n")
    paragraphs = [
        p for p in (re.sub(r"\s+", " ", ln).strip() for ln in text.split("\n")) if p and not _BOILERPLATE.match(p)
    ]
    title = (
        getattr(result, "title", None) or (soup.title.string if soup.title and soup.title.string else "") or ""
    ).strip()
    h1 = soup.find("h1")
    if h1 is not None and h1.get_text(strip=True):
        title = h1.get_text(" ", strip=True)
    published: date | None = None
    meta_date = getattr(result, "date", None)
    if meta_date:
        try:
            published = date.fromisoformat(str(meta_date)[:10])
        except ValueError:
            published = None
    if paragraphs and paragraphs[0] == title:
        paragraphs = paragraphs[1:]
    return Document(
        url=url,
        title=title,
        text="\n\n".join(paragraphs),
        format="html",
        published=published or find_date("\n".join(paragraphs[:10])),
        report_url=report_url,
        pdf_url=pdf_url,
    )


def find_report_links(soup: BeautifulSoup, base: str) -> tuple[str | None, str | None]:
    """The inspectorate report a page points to: an HTML report page (/document/…) and a PDF."""
    return report_links((str(a["href"]) for a in soup.find_all("a", href=True)), base)


def report_links(links: Iterable[str], base: str) -> tuple[str | None, str | None]:
    """The inspectorate report among a page's or a feed entry's links (relative ones resolved against `base`):
    the first HTML report page (/document/… on justiceinspectorates, not `base` itself) and the first PDF. The one
    place this rule is written: pages (`find_report_links`) and feed entries (pipeline) both use it."""
    report_url = pdf_url = None
    base_path = urlsplit(base).path
    for link in links:
        href = urljoin(base, link)
        parts = urlsplit(href)
        if parts.scheme not in ("http", "https"):
            continue
        path = parts.path.lower()
        if pdf_url is None and path.endswith(".pdf"):
            pdf_url = href
        elif (
            report_url is None
            and "/document/" in path
            and "justiceinspectorates" in parts.netloc + parts.path  # the path too: a mirror's URL keeps the host there
            and parts.path != base_path
            and not path.rstrip("/").endswith("/document")
        ):
            report_url = href
    return report_url, pdf_url


# "Published: 3 September 2025" as a line of its own, or "published today (21 February 2019)"; never "these
# reports were published on …", which is about other reports.
_PUBLISHED = re.compile(
    r"(?:^|\n)[ \t]*(?:first\s+)?(?:published|date\s+published|publication\s+date|posted)(?:\s+on)?\s*:?\s*"
    r"|\bpublished\s+today\s*[(,]?\s*",
    re.I,
)


def _date_at(text: str, pos: int = 0) -> date | None:
    """A date starting at `pos`: "3 September 2025", or a month and year ("June 2017": its first day)."""
    m = _DATE_DMY.match(text, pos)
    if m:
        try:
            return date(int(m[3]), _MONTHS.index(m[2]) + 1, int(m[1]))
        except ValueError:
            return None
    m = _DATE_MY.match(text, pos)
    return date(int(m[2]), _MONTHS.index(m[1]) + 1, 1) if m else None


def _has_date(text: str) -> bool:
    return bool(_DATE_DMY.search(text) or _DATE_MY.search(text))


def find_date(text: str) -> date | None:
    """The publication date, only where the text gives it as such: after "Published", as a line of its own
    near the top (a report's cover, a post's dateline), or heading the title ("01 July 2020 – …"). A date
    inside a sentence is about something else (a previous inspection, a deadline) and is never taken."""
    for m in _PUBLISHED.finditer(text):
        found = _date_at(text, m.end())
        if found:
            return found
    lines = [ln.strip(" \t|–-") for ln in text.split("\n") if ln.strip()][:15]
    for ln in lines:
        found = _date_at(ln)
        if found and len(ln.split()) <= 4:
            return found
        if found and re.match(r"^\d{1,2}\s+\w+\s+20\d\d\s+[–-]\s+\S", ln) and len(ln.split()) <= 20:
            return found  # a dated headline
    return None


# ---- PDF


def extract_pdf(content: bytes, *, url: str) -> Document:
    try:
        reader = PdfReader(io.BytesIO(content))
        pages = [page.extract_text() or "" for page in reader.pages]
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as exc:
        raise ExtractError(f"not a readable PDF: {exc}", url=url) from exc
    meta_title = ""
    meta_date: date | None = None
    try:
        info = reader.metadata
        if info is not None:
            meta_title = (info.title or "").strip()
            created = info.creation_date
            if isinstance(created, datetime):
                meta_date = created.date()
    except (PdfReadError, ValueError, TypeError):
        pass
    chars = sum(len(re.sub(r"\s", "", p)) for p in pages)
    if not pages or chars / max(1, len(pages)) < 100:
        # Scanned: no text layer worth reading. Marked so nothing is summarised from garbage.
        return Document(url=url, title=meta_title, text="", format="pdf", scanned=True, pages=len(pages))
    pages = strip_running_lines(pages)
    text = "\n\n".join(p for p in (pdf_paragraphs(pg) for pg in pages) if p)
    text = _rejoin_across_pages(text)
    title = meta_title or _pdf_title(text)
    return Document(
        url=url,
        title=title,
        text=text,
        format="pdf",
        pages=len(pages),
        published=find_date(text[:3000]) or meta_date,
    )


def _norm_running(line: str) -> str:
    return re.sub(r"[\d\s]+", "", line.lower())


def strip_running_lines(pages: list[str]) -> list[str]:
    """Drop headers and footers that repeat on many pages ("52 Quality & Impact: South Yorkshire")."""
    if len(pages) < 3:
        return pages
    counts: Counter[str] = Counter()
    for page in pages:
        lines = [ln for ln in page.split("\n") if ln.strip()]
        edge = set(_norm_running(ln) for ln in lines[:2] + lines[-2:])
        counts.update(edge)
    threshold = max(3, len(pages) // 4)
    running = {k for k, n in counts.items() if n >= threshold}
    out = []
    for page in pages:
        lines = page.split("\n")
        nonblank = [i for i, ln in enumerate(lines) if ln.strip()]
        edges = set(nonblank[:2] + nonblank[-2:])
        kept = [
            ln
            for i, ln in enumerate(lines)
            if not (i in edges and (_norm_running(ln) in running or re.fullmatch(r"\s*\d{1,3}\s*", ln)))
        ]
        out.append("\n".join(kept))
    return out


def pdf_paragraphs(page: str) -> str:
    """Rejoin a page's wrapped lines into paragraphs: a short line ending a sentence closes one."""
    lines = [ln.rstrip() for ln in page.split("\n")]
    lengths = [len(ln) for ln in lines if len(ln.strip()) > 20]
    width = statistics.median(lengths) if lengths else 80
    paras: list[str] = []
    cur: list[str] = []

    def flush() -> None:
        if cur:
            paras.append(_join_lines(cur))
            cur.clear()

    for ln in lines:
        s = ln.strip()
        if not s:
            flush()
            continue
        if re.match(r"^(?:[•▪●◦·*-]|\d{1,2}\.\d*|\d{1,2}[.)]|[a-z][.)])\s", s):
            flush()
        elif (
            cur
            and cur[-1].endswith((".", ":", "?", "!"))
            and (s.endswith("should:") or (len(s.split()) <= 8 and s[:1].isupper() and not re.search(r"[.,;:]$", s)))
        ):
            flush()  # an owner line ("The NPS should:") or a heading after a finished sentence
        cur.append(s)
        # In reflowed text only a paragraph's last line is short; contents lines stand alone.
        if len(s) < 0.6 * width or re.search(r"\.{4,}\s*\d+$", s):
            flush()
    flush()
    return "\n\n".join(p for p in paras if p)


def _rejoin_across_pages(text: str) -> str:
    """A paragraph broken by a page end continues with a lower-case word on the next page."""
    return re.sub(r"(?<=[a-z,])\n\n(?=[a-z])", " ", text)


def _pdf_title(text: str) -> str:
    for para in text.split("\n\n")[:8]:
        if 3 <= len(para.split()) <= 20 and not para.lower().startswith(("an inspection by", "©")):
            return para
    return ""

"""Extract readable text from pages, PDFs and plain text. Pure: bytes in, `Document` out.

HTML goes through trafilatura (main-content detection, comments off) and then a boilerplate filter for
what blogs add around a post: share bars, sponsor blurbs, newsletter sign-ups, cookie questions, licence text.
PDFs are read in `pdf`; publication dates are found in `dates`.
"""

from __future__ import annotations

import logging
import re
import statistics
from collections import Counter
from collections.abc import Iterable, Iterator
from datetime import date
from typing import Any
from urllib.parse import urljoin, urlsplit

import lxml.html
import trafilatura
from lxml import etree
from lxml.etree import ParserError
from trafilatura.utils import load_html

from .dates import find_date, has_date
from .errors import ExtractError
from .models import Document
from .pdf import extract_pdf
from .text import join_lines, running_key

logging.getLogger("trafilatura").setLevel(logging.CRITICAL)
logging.getLogger("htmldate").setLevel(logging.CRITICAL)

NOT_TEXT = "not text, HTML or PDF (the bytes are binary data); nothing to summarise"

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


def is_binary(content: bytes) -> bool:
    """Bytes that are no kind of text (an image, a zip, a Word file): sniffed from the content, whatever the name
    or the Content-Type says. A NUL, or more than one character in ten a control character or not UTF-8 (text in
    Latin-1 has a few such; binary data has many)."""
    head = content[:8192]
    if b"\x00" in head:
        return True
    sample = head.decode("utf-8", errors="replace")[: -4 if len(content) > len(head) else None]  # a cut character
    bad = sum(1 for c in sample if c == "\ufffd" or (c < " " and c not in "\t\n\r\f") or c == "\x7f")
    return bad * 10 > len(sample)


def extract(content: bytes, *, url: str, content_type: str = "") -> Document:
    """Dispatch on what the bytes are: PDF, HTML or plain text; anything else is an ExtractError."""
    if is_pdf(content, content_type):
        return extract_pdf(content, url=url)
    if is_binary(content):
        raise ExtractError(NOT_TEXT, url=url)
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
    counts = Counter(running_key(ln) for ln in lines if ln.strip())
    lines = [
        ln
        for ln in lines
        if not (ln.strip() and counts[running_key(ln)] >= 5 and len(ln.split()) <= 8 and re.search(r"\d", ln))
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
            and not has_date(p)
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
            para = join_lines(cur)
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


def extract_html(content: bytes | str, *, url: str) -> Document:
    raw = content.decode("utf-8", errors="replace") if isinstance(content, bytes) else content
    # One parse, trafilatura's own (its decoding and repairs), read here for the links, title and headline and then
    # handed to trafilatura, which works on a copy. (BeautifulSoup parsed every page a second time: about a third
    # of reading a page.)
    tree = load_html(raw)
    result = (
        trafilatura.bare_extraction(
            tree,
            url=url,
            include_comments=False,
            include_tables=True,
            favor_recall=True,
            with_metadata=True,
            prune_xpath=_PRUNE,
        )
        if tree is not None
        else None
    )
    if tree is None:  # not what trafilatura takes for HTML: lxml reads what it can of it
        tree = _lenient_tree(raw)
    report_url, pdf_url = report_links(_hrefs(tree), url)
    text = getattr(result, "text", None) or ""
    if not text.strip() and tree is not None:
        text = _all_text(tree)
    paragraphs = [
        p for p in (re.sub(r"\s+", " ", ln).strip() for ln in text.split("\n")) if p and not _BOILERPLATE.match(p)
    ]
    title = (getattr(result, "title", None) or _head_title(tree) or "").strip()
    h1 = next(tree.iter("h1"), None) if tree is not None else None
    headline = " ".join(s.strip() for s in _texts(h1) if s.strip()) if h1 is not None else ""
    if headline:
        title = headline
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


def _lenient_tree(raw: str) -> lxml.html.HtmlElement | None:
    try:  # bytes: lxml refuses a str that declares its encoding (an XML document served as a page)
        return lxml.html.document_fromstring(raw.encode("utf-8"), parser=lxml.html.HTMLParser(encoding="utf-8"))
    except (ParserError, ValueError):
        return None


def _hrefs(tree: lxml.html.HtmlElement | None) -> list[str]:
    return [str(a.get("href")) for a in tree.iter("a") if a.get("href") is not None] if tree is not None else []


def _head_title(tree: lxml.html.HtmlElement | None) -> str:
    """The <title>'s text, when it is text alone."""
    found = next(tree.iter("title"), None) if tree is not None else None
    return found.text or "" if found is not None and len(found) == 0 else ""


_NO_TEXT = frozenset(("script", "style", "template"))


def _texts(top: Any) -> Iterator[str]:
    """The texts of an element and all within it, in order, without a script's, a style's or a comment's: what a
    reader sees of it (a <noscript>'s is kept: this reader runs no script). The tree is not changed."""
    skipping = 0
    for event, el in etree.iterwalk(top, events=("start", "end", "comment", "pi")):
        if event in ("comment", "pi"):  # reported once, not as a start and an end: only the text after it is read
            if not skipping and el.tail:
                yield el.tail
            continue
        if event == "start":
            if skipping or not isinstance(el.tag, str) or el.tag in _NO_TEXT:
                skipping += 1
            elif el.text:
                yield el.text
            continue
        if skipping:
            skipping -= 1
        if not skipping and el is not top and el.tail:
            yield el.tail  # the text after an element is its parent's


def _all_text(tree: lxml.html.HtmlElement) -> str:
    """Every text of the body, one piece a line: what is left when trafilatura finds no main text."""
    return "\n".join(_texts(next(tree.iter("body"), tree)))


def report_links(links: Iterable[str], base: str) -> tuple[str | None, str | None]:
    """The inspectorate report among a page's or a feed entry's links (relative ones resolved against `base`):
    the first HTML report page (/document/… on justiceinspectorates, not `base` itself) and the first PDF. The one
    place this rule is written: pages (`extract_html`) and feed entries (pipeline) both use it."""
    report_url = pdf_url = None
    base_path = urlsplit(base).path
    for link in links:
        try:
            href = urljoin(base, link)
            parts = urlsplit(href)
            parts.port  # noqa: B018 -- reading it raises for a port that is no number
        except ValueError:  # an unclosed IPv6 bracket, a bad port: a broken link is no report, and no failed read
            continue
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

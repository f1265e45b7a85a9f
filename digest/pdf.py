"""Read a PDF's text: pypdf's pages, with running headers and footers dropped and wrapped lines rejoined into
paragraphs. Pure: bytes in, `Document` out."""

from __future__ import annotations

import io
import logging
import re
import statistics
from collections import Counter
from datetime import date, datetime

from pypdf import PdfReader
from pypdf.errors import PdfReadError

from .dates import find_date
from .errors import ExtractError
from .models import Document
from .text import join_lines, running_key

logging.getLogger("pypdf").setLevel(logging.ERROR)


def _whole_characters(text: str) -> str:
    """Surrogates that make a pair (two glyphs' halves) joined into their character; a lone one replaced."""
    if not _SURROGATE.search(text):
        return text
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


_SURROGATE = re.compile("[\ud800-\udfff]")


def extract_pdf(content: bytes, *, url: str) -> Document:
    try:
        reader = PdfReader(io.BytesIO(content))
        # A font's ToUnicode map can name a lone surrogate (pypdf decodes it with "surrogatepass"): no character,
        # and no string SQLite or an email can hold. It is read as the replacement character.
        pages = [_whole_characters(page.extract_text() or "") for page in reader.pages]
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


def strip_running_lines(pages: list[str]) -> list[str]:
    """Drop headers and footers that repeat on many pages ("52 Quality & Impact: South Yorkshire")."""
    if len(pages) < 3:
        return pages
    counts: Counter[str] = Counter()
    for page in pages:
        lines = [ln for ln in page.split("\n") if ln.strip()]
        edge = set(running_key(ln) for ln in lines[:2] + lines[-2:])
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
            if not (i in edges and (running_key(ln) in running or re.fullmatch(r"\s*\d{1,3}\s*", ln)))
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
            paras.append(join_lines(cur))
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

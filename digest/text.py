"""Sentences and sections: the text structure the summariser works on. Pure."""

from __future__ import annotations

import re
from dataclasses import dataclass

_ABBREV = {
    "mr",
    "mrs",
    "ms",
    "dr",
    "st",
    "no",
    "nos",
    "e.g",
    "i.e",
    "etc",
    "vs",
    "cf",
    "approx",
    "inc",
    "ltd",
    "co",
    "jr",
    "sr",
    "prof",
    "rev",
    "hon",
    "dept",
    "fig",
    "vol",
    "pp",
    "para",
    "paras",
    "ch",
    "sec",
}
_END = re.compile(r"""([.!?…]+)(["”’')\]]*(?:\[\d{1,3}\])?)(\s+)(?=["“‘'(\[]?[A-Z0-9£])""")
_BULLET = re.compile(r"^(?:[•▪●◦·*–-]|\d{1,2}[.)]|[a-z][.)])\s+")
_HEADING_SKIP = re.compile(r"\.{4,}")  # table-of-contents leaders


@dataclass(frozen=True)
class Sentence:
    text: str
    para: int  # paragraph index in the document
    index: int  # sentence index in the document
    heading: str  # nearest heading above
    chapter: str  # nearest top-level (numbered) heading above
    bullet: bool
    section: int = 0  # counts headings: sentences under the same heading occurrence share it

    @property
    def words(self) -> int:
        return len(self.text.split())


def split_sentences(paragraph: str) -> list[str]:
    """Split a paragraph into sentences; never inside a quotation, never after an abbreviation or initial."""
    parts: list[str] = []
    start = 0
    for m in _END.finditer(paragraph):
        end = m.end(2)
        before = paragraph[start : m.start(1)]
        last = re.split(r"[\s(]", before)[-1].lower() if before else ""
        if m.group(1) == "." and (last in _ABBREV or (len(last) == 1 and last.isalpha())):
            continue
        parts.append(paragraph[start:end].strip())
        start = m.end(3)
    tail = paragraph[start:].strip()
    if tail:
        parts.append(tail)
    return _merge_quotes(parts)


def _open_quote(s: str) -> bool:
    return s.count("“") > s.count("”") or s.count('"') % 2 == 1


def _merge_quotes(parts: list[str]) -> list[str]:
    out: list[str] = []
    buf = ""
    for p in parts:
        buf = f"{buf} {p}" if buf else p
        if not _open_quote(buf):
            out.append(buf)
            buf = ""
    if buf:
        out.append(buf)
    return out


def is_heading(para: str) -> bool:
    words = para.split()
    if not words or len(words) > 14 or _HEADING_SKIP.search(para) or _BULLET.match(para):
        return bool(re.match(r"^\d{1,2}\.\s+[A-Z]", para)) and len(words) <= 14 and not _HEADING_SKIP.search(para)
    return not para.rstrip().endswith((".", ",", ";", "!", "?", '"', "”", ":")) and para[0].isupper()


def is_chapter(para: str) -> bool:
    """A top-level heading: a numbered chapter, or one of the sections reports are built of."""
    para = re.sub(r"\s*\(back to top\)\s*$", "", para, flags=re.I)  # the inspectorate's HTML report pages
    return bool(
        re.match(r"^\d{1,2}\.\s+[A-Z][^.]*$", para) and len(para.split()) <= 14 and not _HEADING_SKIP.search(para)
    ) or bool(
        re.match(
            r"^(?:foreword|executive summary|summary|overview|key findings|overall findings|main findings|"
            r"conclusions?|introduction|contents|appendix\b.*|glossary|key facts|background|methodology|"
            r"recommendations)$",
            para.strip(),
            re.I,
        )
    )


def sentences(text: str) -> list[Sentence]:
    """Every sentence of a document with the headings it sits under."""
    out: list[Sentence] = []
    heading = chapter = ""
    section = 0
    for p_index, para in enumerate(p for p in text.split("\n\n") if p.strip()):
        para = para.strip()
        if is_chapter(para):
            chapter = heading = para
            section += 1
            continue
        if is_heading(para):
            heading = para
            section += 1
            continue
        bullet = bool(_BULLET.match(para))
        body = _BULLET.sub("", para) if bullet else para
        for s in split_sentences(body):
            out.append(
                Sentence(
                    text=s,
                    para=p_index,
                    index=len(out),
                    heading=heading,
                    chapter=chapter,
                    bullet=bullet,
                    section=section,
                )
            )
    return out


def word_count(s: str) -> int:
    return len(s.split())


# ---- what may reach an email: no control characters, no bidi overrides, bounded length

# C0 and C1 controls (but tab and newline), DEL, bidi embeddings/overrides/isolates, and the line and paragraph
# separators: they can reorder what a reader sees (a "right-to-left override" makes exe.pdf look like fdp.exe).
_UNSAFE_RANGES = (
    (0x00, 0x08),
    (0x0B, 0x1F),
    (0x7F, 0x9F),
    (0x202A, 0x202E),
    (0x2066, 0x2069),
    (0x2028, 0x2029),
    (0xFEFF, 0xFEFF),
)
UNSAFE = frozenset(chr(c) for low, high in _UNSAFE_RANGES for c in range(low, high + 1))
UNSAFE_CLASS = "".join(f"{chr(low)}-{chr(high)}" for low, high in _UNSAFE_RANGES)  # for names.py too
_UNSAFE_CHARS = re.compile(f"[{UNSAFE_CLASS}]")
TITLE_LIMIT = 300
TEXT_LIMIT = 4000


def safe_text(s: str, limit: int = TEXT_LIMIT) -> str:
    """Drop control and bidi-override characters; cut at a word boundary past `limit` characters, with '…'."""
    if not s.isprintable():  # every unsafe character is unprintable; the test is ten times quicker than the regex
        s = _UNSAFE_CHARS.sub("", s)
    if len(s) <= limit:
        return s
    cut = s[:limit]
    if " " in cut[limit // 2 :]:
        cut = cut.rsplit(None, 1)[0]  # a whole word, unless that would lose more than half
    return cut.rstrip(" ,;:-–") + "…"


def web_link(url: str | None) -> str | None:
    """The URL if it may become a link in an email or page (absolute http or https), else None."""
    if not url:
        return None
    url = url.strip()
    scheme, sep, rest = url.partition(":")
    if not sep or scheme.lower() not in ("http", "https") or not rest.startswith("//") or len(rest) < 3:
        return None
    if url.isascii() and url.isprintable():  # the usual link: no ASCII control is printable, nor white space but " "
        return None if " " in url else url
    if _UNSAFE_CHARS.search(url) or any(c.isspace() for c in url):
        return None
    return url


_WHOLE = re.compile(r"""[.!?…][”"’')\]]*(?:\[\d{1,3}\])?$""")
_TRUNCATED = re.compile(r"(?:\[(?:…|\.\.\.|&hellip;)\]|\.\.\.|…)\s*$")


# A sentence that leans on the one before it: never shown without it.
DEPENDENT = re.compile(
    r"^(?:(?:This|These|That|Those)(?=\s+(?:is|was|are|were|has|had|have|will|would|can|could|may|might|must|"
    r"should|means?|meant|contrasts?|shows?|showed|reflects?|reflected|led|leads?|made|makes|includes?|included|"
    r"also|not|in|on|at|resulted|results|suggests?|suggested|indicates?|indicated|came|comes|did|does|"
    r"one|ones|kind|approach|figure|number|work)\b|,)|"  # a pronoun ("This was …"), not "This inspection …"
    r"Such|It|They|He|She|Here|There|Instead|However|But|And|Also|Another|Meanwhile|"
    r"Nevertheless|Nonetheless|Similarly|Likewise|Conversely|Moreover|Furthermore|Therefore|Thus|Hence|Yet|"
    r"Still|Otherwise|In (?:addition|contrast|turn|response)|As a (?:result|consequence)|Despite (?:this|that)|"
    r"On the other hand|At the same time|Even so|Again|Both|Neither|The (?:latter|former|same)|"
    # A condition on someone named before: "If they did not, enforcement action was taken."
    r"(?:If|When|Where|Unless|Until|Once|Although|Though|While|Because|Since|As) "
    r"(?:they|he|she|this|these|those|them))\b"  # not "it": "When it comes to …" points nowhere
)


def whole(text: str) -> bool:
    """A finished sentence: ends in a full stop (or ! ? …), not cut off by an excerpt ("[…]", mid-word)."""
    text = text.rstrip()
    return bool(_WHOLE.search(text)) and not _TRUNCATED.search(text)


def as_item(text: str) -> str:
    """A list item as a sentence of its own: "too few staff;" → "Too few staff."."""
    text = text.strip().rstrip(";,").rstrip()
    if not text:
        return text
    text = text[0].upper() + text[1:]
    return text if _WHOLE.search(text) else text + "."


def join_lines(lines: list[str]) -> str:
    """Wrapped lines as one paragraph: a word hyphenated at a line end is mended."""
    text = ""
    for ln in lines:
        if not text:
            text = ln
        elif text.endswith("-") and len(text) > 1 and text[-2].isalpha() and ln[:1].islower():
            text += ln  # a word hyphenated at the line end
        else:
            text += " " + ln
    return re.sub(r"\s+", " ", text).strip()


def running_key(line: str) -> str:
    """A line lower-cased without digits or spaces: a running header or footer compares equal on every page."""
    return re.sub(r"[\d\s]+", "", line.lower())

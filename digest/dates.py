"""Publication dates as reports and posts give them in their text ("Published: 3 September 2025"). Pure."""

from __future__ import annotations

import re
from datetime import date

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
_DATE_LEAD = re.compile(rf"^(?:{_DATE_DMY.pattern}|{_DATE_MY.pattern})")
_TIME = re.compile(r"\b\d{1,2}[:.]\d\d(?:\s*[ap]\.?m\.?)?\b", re.I)

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


def has_date(text: str) -> bool:
    return bool(_DATE_DMY.search(text) or _DATE_MY.search(text))


def is_listing(text: str) -> bool:
    """An index page: several entries, each with its own "Published" date or its teaser cut off "[…]". It has
    no publication date of its own and is not itself a publication."""
    dates = {_date_at(text, m.end()) for m in _PUBLISHED.finditer(text)} - {None}
    teasers = len(re.findall(r"(?:\[…\]|\[\.\.\.\])[ \t]*$", text, re.M))
    return len(dates) >= 3 or teasers >= 3


def find_date(text: str) -> date | None:
    """The publication date, only where the text gives it as such: after "Published", as a line of its own
    near the top (a report's cover, a post's dateline), or heading the title ("01 July 2020 – …"). A date
    inside a sentence is about something else (a previous inspection, a deadline) and is never taken; an index
    page's dates are its entries'."""
    if is_listing(text):
        return None
    for m in _PUBLISHED.finditer(text):
        found = _date_at(text, m.end())
        if found:
            return found
    lines = [ln.strip(" \t|–-") for ln in text.split("\n") if ln.strip()][:15]
    for ln in lines:
        found = _date_at(ln)
        # A dateline is the date and at most a word or two, or its time; "March 2015 8,733" is a table's row.
        rest = _TIME.sub("", _DATE_LEAD.sub("", ln, count=1))
        if found and len(ln.split()) <= 4 and not re.search(r"\d", rest):
            return found
        if found and re.match(r"^\d{1,2}\s+\w+\s+20\d\d\s+[–-]\s+\S", ln) and len(ln.split()) <= 20:
            return found  # a dated headline
    return None

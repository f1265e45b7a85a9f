"""The recommendations a report or press release makes, each with whom it is for ("The CRC should:"). Pure."""

from __future__ import annotations

import re

from .models import Recommendation
from .text import split_sentences

_OWNER = re.compile(
    r"(?:^|(?<=[.!?] ))(?P<owner>(?:(?:[Tt]he|Her Majesty’s|Her Majesty's|His Majesty’s|HM)\s+)?"
    r"[A-Z][\w’' ,&()-]{1,120}?)\s+should(?: also)?:?$"
)


def recommendations(text: str) -> tuple[Recommendation, ...]:
    """Numbered or bulleted recommendations, each with whom it is for ("The CRC should:").

    A block starts at a Recommendations heading or at an owner line, and runs while items and owner lines
    follow; the longest block wins, so a table of contents never does.
    """
    paras = [re.sub(r"\s+", " ", p).strip() for p in text.split("\n\n") if p.strip()]
    best: list[Recommendation] = []
    i = 0
    while i < len(paras):
        p = paras[i]
        if not (re.search(r"(?:^|\. )(?:our |key )?recommendations?:?$", p, re.I) or _OWNER.search(p)):
            i += 1
            continue
        found: list[Recommendation] = []
        owner: str | None = None
        j = i if _OWNER.search(p) else i + 1
        while j < len(paras):
            q = paras[j]
            who = _OWNER.search(q)
            if who:
                owner = who.group("owner").strip()
            else:
                m = re.match(r"^(?:\d{1,2}[.)]|[•▪●◦·*–-])\s+(.+)$", q)
                if not m:
                    break
                body = re.sub(r"(?<=[a-z.])\d{1,2}$", "", m.group(1)).strip()  # a trailing footnote mark
                body = body[0].upper() + body[1:] if body else body
                found.append(Recommendation(text=body.rstrip(";"), owner=owner))
            j += 1
        if len(found) > len(best):
            best = found
        i = max(j, i + 1)
    if best:
        return tuple(best)
    # Prose: "Inspectors made recommendations … The CRC should …"
    prose: list[Recommendation] = []
    for p in paras:
        if re.search(r"\brecommend", p, re.I):
            for s in split_sentences(p):
                m = re.match(r"^((?:The |Her Majesty’s |HM )?[A-Z][\w’' ()&-]{1,80}?)\s+should\s+(.+)$", s)
                if m:
                    prose.append(Recommendation(text=m.group(2)[0].upper() + m.group(2)[1:], owner=m.group(1)))
    return tuple(prose)

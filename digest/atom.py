"""The archive's Atom 1.0 feed (RFC 4287): one entry per digest sent, so a feed reader gets what a subscriber gets,
once a day; each entry lists the digest's items, linked to their pages in the archive. Pure: data in, bytes out
(ElementTree writes it, so it is well-formed whatever the titles hold).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from xml.etree import ElementTree as ET

from .text import safe_text

ATOM = "http://www.w3.org/2005/Atom"


@dataclass(frozen=True)
class FeedItem:
    item_id: int
    title: str
    source: str
    rating: str | None = None
    also: tuple[str, ...] = ()  # the sources of the posts folded into it ("Also discussed by"), as the email says


@dataclass(frozen=True)
class FeedSection:
    title: str  # the email's section heading ("Inspection reports"; "More items" for the headlines past its budget)
    items: tuple[FeedItem, ...]


@dataclass(frozen=True)
class FeedDigest:
    day: str  # YYYY-MM-DD
    subject: str
    created_at: datetime
    sections: tuple[FeedSection, ...]  # grouped and ordered as the email was

    @property
    def items(self) -> tuple[FeedItem, ...]:
        """Every item, in the email's order; as many as the email counted."""
        return tuple(i for s in self.sections for i in s.items)


def _stamp(when: datetime) -> str:
    return when.isoformat(timespec="seconds").replace("+00:00", "Z")


def _content(base: str, d: FeedDigest) -> str:
    """The entry's HTML: the digest's sections, each a list of its items linked to their pages in the archive."""
    html = []
    for section in d.sections:
        div = ET.Element("div")
        ET.SubElement(div, "h2").text = section.title
        ul = ET.SubElement(div, "ul")
        for i in section.items:
            li = ET.SubElement(ul, "li")
            a = ET.SubElement(li, "a", href=f"{base}/items/{i.item_id}")
            a.text = safe_text(i.title, 300)
            a.tail = f" ({i.rating}), {i.source}" if i.rating else f", {i.source}"
            if i.also:
                a.tail += f". Also discussed by {', '.join(i.also)}"
        html.append(ET.tostring(div, encoding="unicode", method="html"))
    return "".join(html)


def feed(*, base: str, list_name: str, digests: Sequence[FeedDigest], updated: datetime) -> bytes:
    """The feed of the latest digests, newest first. `updated` stands when there is none yet."""
    ET.register_namespace("", ATOM)

    def sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
        el = ET.SubElement(parent, f"{{{ATOM}}}{tag}", attrs)
        el.text = text
        return el

    root = ET.Element(f"{{{ATOM}}}feed")
    sub(root, "id", f"{base}/digests")
    sub(root, "title", list_name)
    sub(root, "subtitle", "Every digest sent: what is new in probation, each item summarised")
    sub(root, "updated", _stamp(max((d.created_at for d in digests), default=updated)))
    sub(sub(root, "author"), "name", list_name)
    sub(root, "link", rel="self", type="application/atom+xml", href=f"{base}/digests.atom")
    sub(root, "link", rel="alternate", type="text/html", href=f"{base}/digests")
    for d in digests:
        entry = sub(root, "entry")
        sub(entry, "id", f"{base}/digests/{d.day}")
        sub(entry, "title", safe_text(d.subject, 300))
        sub(entry, "updated", _stamp(d.created_at))
        sub(entry, "published", _stamp(d.created_at))
        sub(entry, "link", rel="alternate", type="text/html", href=f"{base}/digests/{d.day}")
        n = len(d.items)
        more = f"; and {n - 5} more" if n > 5 else ""  # "6 items:" then five titles had read as one missing
        sub(entry, "summary", f"{n} item{'' if n == 1 else 's'}: " + "; ".join(i.title for i in d.items[:5]) + more)
        sub(entry, "content", _content(base, d), type="html")
    body: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=False)
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + body

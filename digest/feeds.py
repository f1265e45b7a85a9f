"""Parse feed bytes into normalised items. Pure: bytes and headers in, items out; no I/O, no clock.

feedparser's own sanitiser and relative-URI resolution are switched off (they cost ~2/3 of its time);
nh3 sanitises the content instead and resolves links as it goes.
"""

from __future__ import annotations

import calendar
import hashlib
import html
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

import nh3

from .errors import FeedError
from .models import Feed, Item
from .text import TITLE_LIMIT, safe_text, web_link

_TRACKING = re.compile(r"^(utm_[a-z]+|fbclid|gclid|dclid|mc_cid|mc_eid|_ga|_gl|igshid|yclid|msclkid|ref|cmpid)$", re.I)
_ALLOWED_TAGS = {
    "a",
    "abbr",
    "b",
    "blockquote",
    "br",
    "caption",
    "cite",
    "code",
    "dd",
    "del",
    "div",
    "dl",
    "dt",
    "em",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "hr",
    "i",
    "li",
    "ol",
    "p",
    "pre",
    "q",
    "s",
    "small",
    "span",
    "strong",
    "sub",
    "sup",
    "table",
    "tbody",
    "td",
    "tfoot",
    "th",
    "thead",
    "tr",
    "u",
    "ul",
}
_ALLOWED_ATTRS = {"a": {"href", "title"}, "td": {"colspan", "rowspan"}, "th": {"colspan", "rowspan"}}
_DROP_WITH_CONTENT = {
    "script",
    "style",
    "iframe",
    "object",
    "embed",
    "form",
    "noscript",
    "template",
    "svg",
    "math",
    "select",
    "textarea",
    "button",
}
_TAG = re.compile(r"<[^>]+>")


@dataclass(frozen=True)
class ParsedFeed:
    title: str
    link: str
    items: tuple[Item, ...]
    version: str
    problem: str | None = None  # feedparser's complaint when it still found entries


def canonical_url(url: str) -> str:
    """One spelling per page: https, no www, no tracking parameters, sorted query, no fragment or trailing slash."""
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").lower().removeprefix("www.")
    if parts.port and parts.port not in (80, 443):
        host = f"{host}:{parts.port}"
    path = re.sub(r"/{2,}", "/", parts.path) or "/"
    if len(path) > 1:
        path = path.rstrip("/")
    query = sorted((k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _TRACKING.match(k))
    scheme = "https" if parts.scheme in ("http", "https", "") else parts.scheme.lower()
    return urlunsplit((scheme, host, path, urlencode(query), ""))


def clean_text(s: str) -> str:
    """Decode entities (twice-encoded ones too), drop tags, fold white space."""
    s = html.unescape(html.unescape(_TAG.sub(" ", s)))
    # str.split() splits on what \s matches (str.isspace); five times quicker than re.sub over a long text.
    return " ".join(s.split())


def sanitise_html(fragment: str, base_url: str) -> tuple[str, tuple[str, ...]]:
    """Sanitise feed HTML with nh3; make links absolute; return the HTML and the links it holds."""
    links: list[str] = []

    def attribute_filter(tag: str, attr: str, value: str) -> str | None:
        if attr == "href":
            absolute = urljoin(base_url, value.strip())
            if urlsplit(absolute).scheme not in ("http", "https", "mailto"):
                return None
            links.append(absolute)
            return absolute
        return value

    cleaned = nh3.clean(
        fragment,
        tags=_ALLOWED_TAGS,
        clean_content_tags=_DROP_WITH_CONTENT,
        attributes=_ALLOWED_ATTRS,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer",
        attribute_filter=attribute_filter,
        strip_comments=True,
    )
    return cleaned, tuple(dict.fromkeys(links))


def _when(entry: Mapping[str, Any], fetched_at: datetime) -> datetime:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        st = entry.get(key)
        if st:
            try:
                dt = datetime.fromtimestamp(calendar.timegm(st), tz=UTC)
            except (OverflowError, ValueError, TypeError):
                continue
            return min(dt, fetched_at)  # a date in the future is clamped to the fetch time
    return fetched_at


def content_hash(title: str, text: str) -> str:
    """The first 400 words, lower-cased, hashed: the same text says the same thing. Scans no further than those
    words (a long post's full content was most of a feed's parsing time); the hash is unchanged by that."""
    lowered = f"{title} {text}".lower()
    first = _FIRST_WORDS.search(lowered)  # where the first 400 words end: the rest is never scanned
    words = _WORD.findall(lowered, 0, first.end()) if first else []
    return hashlib.sha256(" ".join(words).encode()).hexdigest()[:32]


_WORD = re.compile(r"\w+")
_FIRST_WORDS = re.compile(r"\w+(?:\W+\w+){0,399}")


def parse_feed(content: bytes, headers: Mapping[str, str], *, feed: Feed, url: str, fetched_at: datetime) -> ParsedFeed:
    """Turn a feed document into items. Raises FeedError when the bytes hold no feed at all."""
    import feedparser  # 45 ms to import: paid by the pool workers that parse, not by every command that polls

    if not content.strip():
        raise FeedError("empty response body; expected an RSS or Atom feed", url=url)
    parsed = feedparser.parse(
        content,
        response_headers={k.lower(): v for k, v in headers.items()},
        sanitize_html=False,
        resolve_relative_uris=False,
    )
    entries = parsed.get("entries", [])
    problem = str(parsed.get("bozo_exception")) if parsed.get("bozo") else None
    if not entries:
        head = content[:2048].lstrip().lower()
        if not parsed.get("version") and (b"<html" in head or b"<!doctype html" in head):
            raise FeedError("got an HTML page, not a feed (is the URL the feed's, not the site's?)", url=url)
        if not parsed.get("version"):
            raise FeedError(f"not a feed: {problem or 'no RSS or Atom root element'}", url=url)
        if problem:
            raise FeedError(f"malformed feed with no readable entries: {problem}", url=url)
    info = parsed.get("feed", {})
    feed_link = web_link(urljoin(url, info.get("link") or "")) or url
    items: list[Item] = []
    seen: set[str] = set()
    for entry in entries:
        item = _item(entry, feed=feed, url=url, feed_link=feed_link, fetched_at=fetched_at)
        if item is None or item.guid in seen:
            continue  # duplicate guids inside one feed: the first wins
        seen.add(item.guid)
        items.append(item)
    return ParsedFeed(
        title=safe_text(clean_text(info.get("title", "")), TITLE_LIMIT) or feed.name,
        link=feed_link,
        items=tuple(items),
        version=parsed.get("version", ""),
        problem=problem,
    )


def _item(entry: Mapping[str, Any], *, feed: Feed, url: str, feed_link: str, fetched_at: datetime) -> Item | None:
    title = safe_text(clean_text(entry.get("title", "")), TITLE_LIMIT)
    link = (entry.get("link") or "").strip()
    if not link:
        for candidate in entry.get("links", []):
            if candidate.get("rel") in ("alternate", None) and candidate.get("href"):
                link = candidate["href"]
                break
    guid = (entry.get("id") or "").strip()
    # Only http(s) becomes a link: a feed's javascript: or data: URL is dropped here, where it enters.
    if link:
        link = web_link(urljoin(feed_link, link)) or ""
    if not link:
        link = web_link(guid) or ""
    content_html = ""
    if entry.get("content"):
        content_html = max((c.get("value", "") for c in entry["content"]), key=len)
    summary_html = entry.get("summary", "") or ""
    base = link or feed_link
    content_clean, links = sanitise_html(content_html, base) if content_html else ("", ())
    summary_clean, summary_links = sanitise_html(summary_html, base) if summary_html else ("", ())
    text = safe_text(clean_text(content_clean or summary_clean), 200_000)
    if not title and not text:
        return None
    if not title:
        title = " ".join(text.split()[:12]) + "…"
    digest = content_hash(title, text)
    if not guid:
        guid = link or f"urn:sha256:{digest}"
    if not link:
        link = feed_link  # an item with no link of its own points at its feed's site
        canonical = f"urn:item:{digest}"
    else:
        canonical = canonical_url(link)
    authors = tuple(
        safe_text(clean_text(a.get("name", "")), 200) for a in entry.get("authors", []) if a.get("name", "").strip()
    )
    if not authors and entry.get("author"):
        authors = (safe_text(clean_text(entry["author"]), 200),)
    categories = tuple(
        dict.fromkeys(safe_text(clean_text(t.get("term", "")), 200) for t in entry.get("tags", []) if t.get("term"))
    )
    return Item(
        feed_url=url,
        source=feed.name,
        guid=guid,
        url=link,
        canonical_url=canonical,
        title=title,
        published=_when(entry, fetched_at),
        content_html=content_clean,
        summary_html=summary_clean,
        content_hash=digest,
        authors=authors,
        categories=categories,
        links=tuple(dict.fromkeys(links + summary_links)),
        source_type=feed.source_type,
        filter=feed.filter,
    )

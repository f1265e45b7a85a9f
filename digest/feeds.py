"""Parse feed bytes into normalised items. Pure: bytes and headers in, items out; no I/O, no clock.

feedparser's own sanitiser and relative-URI resolution are switched off (they cost ~2/3 of its time);
nh3 sanitises the content instead and resolves links as it goes.
"""

from __future__ import annotations

import calendar
import hashlib
import html
import re
import threading
from collections.abc import Mapping, Set
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

import nh3

from .errors import FeedError
from .models import Feed, Item
from .text import TITLE_LIMIT, UNSAFE, safe_text, web_link

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
# An absolute http(s) address of printable ASCII, no port, user, fragment, ";" parameters, brackets or empty
# query at its end: urljoin gives it back as it is (its path is never resolved when it has a host), so reading
# it needs no urlsplit.
_PLAIN_LINK = re.compile(r"(https?)://([A-Za-z0-9.-]+)((?:[/?][!\"$-:<-Z^-~]*)?)(?<!\?)\Z")


@dataclass(frozen=True)
class ParsedFeed:
    title: str
    link: str
    items: tuple[Item, ...]
    version: str
    problem: str | None = None  # feedparser's complaint when it still found entries
    known: int = 0  # entries whose guid the caller already had: counted, not built


def canonical_url(url: str) -> str:
    """One spelling per page: https, no www, no tracking parameters, sorted query, no fragment or trailing slash.
    An address too malformed to read (an unclosed IPv6 bracket, a port that is no number) is its own spelling."""
    url = url.strip()
    plain = _PLAIN_LINK.match(url)
    if plain and "?" not in url and "//" not in plain[3]:  # the usual link: the same spelling, four times quicker
        path = plain[3]
        return f"https://{plain[2].lower().removeprefix('www.')}{path.rstrip('/') if len(path) > 1 else '/'}"
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return url
    host = (parts.hostname or "").lower().removeprefix("www.")
    if port and port not in (80, 443):
        host = f"{host}:{port}"
    path = (re.sub(r"/{2,}", "/", parts.path) if "//" in parts.path else parts.path) or "/"
    if len(path) > 1:
        path = path.rstrip("/")
    query = ""
    if parts.query:  # most links have none: parsing and encoding nothing was half the cost
        pairs = sorted((k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _TRACKING.match(k))
        query = urlencode(pairs)
    scheme = "https" if parts.scheme in ("http", "https", "") else parts.scheme.lower()
    return urlunsplit((scheme, host, path, query, ""))


def absolute_link(base: str, href: str) -> str:
    """`href` made absolute against `base` if it may then become a link (http or https, nothing hidden in it),
    else "". A malformed address (an unclosed IPv6 bracket, a port that is no number) is dropped: it used to
    raise, and one such item lost its whole feed."""
    href = href.strip()
    if _PLAIN_LINK.match(href):
        return href  # what urljoin would give back, and a web link (tests/test_feeds.py): 8 µs a link saved
    try:
        joined = urljoin(base, href)
        urlsplit(joined).port  # noqa: B018 -- reading it raises for a port that is no number or out of range
    except ValueError:
        return ""
    return web_link(joined) or ""


def clean_text(s: str) -> str:
    """Decode entities (twice-encoded ones too), drop tags, fold white space."""
    if "<" in s:  # a title, an author or a category seldom holds a tag
        s = _TAG.sub(" ", s)
    s = html.unescape(html.unescape(s))
    # str.split() splits on what \s matches (str.isspace); five times quicker than re.sub over a long text.
    return " ".join(s.split())


class _Sanitiser:
    """nh3 with this module's rules, built once: building a Cleaner per call was half the cost of a short
    fragment. The base URL and the links found belong to the call in progress (one per thread)."""

    def __init__(self) -> None:
        self._call = threading.local()
        self._cleaner = nh3.Cleaner(
            tags=_ALLOWED_TAGS,
            clean_content_tags=_DROP_WITH_CONTENT,
            attributes=_ALLOWED_ATTRS,
            url_schemes={"http", "https", "mailto"},
            link_rel="noopener noreferrer",
            attribute_filter=self._attribute,
            strip_comments=True,
        )

    def _attribute(self, tag: str, attr: str, value: str) -> str | None:
        if attr != "href":
            return value
        value = value.strip()
        if _PLAIN_LINK.match(value):
            absolute = value  # as urljoin would give it back
        else:
            absolute = urljoin(self._call.base, value)
            if urlsplit(absolute).scheme not in ("http", "https", "mailto"):
                return None
        self._call.links.append(absolute)
        return absolute

    def __call__(self, fragment: str, base_url: str) -> tuple[str, tuple[str, ...]]:
        self._call.base, self._call.links = base_url, []
        try:
            cleaned = self._cleaner.clean(fragment)
            return cleaned, tuple(dict.fromkeys(self._call.links))
        finally:
            self._call.links = []


_sanitiser = _Sanitiser()


def sanitise_html(fragment: str, base_url: str) -> tuple[str, tuple[str, ...]]:
    """Sanitise feed HTML with nh3; make links absolute; return the HTML and the links it holds."""
    return _sanitiser(fragment, base_url)


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


def content_hash(title: str, body_html: str) -> str:
    """The first 400 words (runs of \\w) of the title (already clean, as an item's is) and the body's text,
    lower-cased, hashed: the same text says the same thing. The text is the body's as
    `safe_text(clean_text(body_html), _ITEM_TEXT)` gives it.

    Only a prefix of the HTML long enough to hold 401 words is read, in pieces each cut just before a tag (the
    first about 3,200 characters, the rest until the words are found or the HTML ends), each piece once: a tag
    is a space in the text (nh3 escapes any other "<"), so no word runs across a cut, and the 401st word proves
    the 400th is whole. A long post's full content was most of a feed's parsing time. The hash is the one the
    store already holds for every item (tests/test_feeds.py).
    """
    words = _words(title, _HASH_WORDS)
    start, span, read = 0, _HASH_PREFIX, 0
    while len(words) <= _HASH_WORDS and start < len(body_html):
        end = len(body_html) if start + span >= len(body_html) else body_html.rfind("<", start, start + span)
        if end <= start:  # no tag inside this look: look further
            span *= 2
            continue
        text = html.unescape(html.unescape(_TAG.sub(" ", body_html[start:end])))
        read += len(text)
        if read > _ITEM_TEXT:  # the words may run past where the item's text is cut: cut it the same
            words = _words(title, _HASH_WORDS)
            words += _words(safe_text(clean_text(body_html), _ITEM_TEXT), _HASH_WORDS - len(words))
            break
        words += _words(text, _HASH_WORDS - len(words))
        start = end  # each piece is read once: the next begins at the tag this one stopped before
    return hashlib.sha256(b" ".join(words[:_HASH_WORDS])).hexdigest()[:32]


def _words(s: str, limit: int) -> list[bytes]:
    """The runs of \\w in `safe_text(s)`, lower-cased, in UTF-8: `re.findall(r"\\w+", safe_text(s).lower())`,
    the first `limit` of them and, if there are more, one more item (the rest, perhaps, unsplit).

    safe_text drops control and bidi characters, after white space is folded: a dropped character joins the
    words beside it, unless it is white space. English text is ASCII but for its punctuation (curly quotes,
    dashes, ellipses): when nothing outside ASCII is a word character or one to drop, one `bytes.translate`
    drops, lowers and turns every other byte into a space, three times quicker than the regex. Any other
    text (Welsh ŵ, Greek, accents) takes the regex.
    """
    raw = s.encode("utf-8", "surrogatepass")  # a lone surrogate is no word character: it separates
    if not s.isascii():  # a flag on the string: no scan
        # Deleting the ASCII bytes leaves the other characters whole: UTF-8 never puts an ASCII byte inside one.
        beyond = set(raw.translate(None, _ASCII).decode("utf-8", "surrogatepass"))
        if beyond & _DROPPED or any(c.isalnum() for c in beyond):  # \\w is str.isalnum() or the underscore
            return [w.encode() for w in _WORD.findall(safe_text(" ".join(s.split()), len(s)).lower())]
    return raw.translate(_LOWER_WORDS, _DROPPED_ASCII).split(None, max(limit, 0))


_get = dict.get  # on feedparser's dicts, for their own keys: see parse_feed
_WORD = re.compile(r"\w+")
_ASCII = bytes(range(128))
_DROPPED = frozenset(c for c in UNSAFE if not c.isspace())  # safe_text drops; white space separates
_DROPPED_ASCII = bytes(ord(c) for c in sorted(_DROPPED) if c.isascii())
# ASCII word bytes as themselves (upper case lowered), every other byte a space.
_LOWER_WORDS = bytes(
    ord(chr(b).lower()) if chr(b).isascii() and (chr(b).isalnum() or chr(b) == "_") else ord(" ") for b in range(256)
)
_HASH_WORDS = 400
_ITEM_TEXT = 200_000  # an item's text, as the hash and a title made from it read it
_HASH_PREFIX = 3200  # 400 English words take about 2,500 characters of text; the tags take more


def parse_feed(
    content: bytes,
    headers: Mapping[str, str],
    *,
    feed: Feed,
    url: str,
    fetched_at: datetime,
    known: Set[str] = frozenset(),
) -> ParsedFeed:
    """Turn a feed document into items. Raises FeedError when the bytes hold no feed at all.

    An entry whose guid is in `known` (the store has it: a later poll of the same feed) is counted and not
    built: sanitising, reading and hashing it would be thrown away, since the store keeps the first copy.
    """
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
    feed_link = absolute_link(url, info.get("link") or "") or url
    items: list[Item] = []
    seen: set[str] = set()
    skipped = 0
    for parsed_entry in entries:
        # A plain dict: FeedParserDict.get maps aliases in Python and raises inside for every absent key (a
        # microsecond a look, a dozen looks an entry). The keys read here are its own, never aliases.
        entry = dict(parsed_entry)
        guid, link = _identity(entry, feed_link)
        if (guid or link) in known:  # the store's guid: the entry's own, else its link (never empty)
            skipped += 1
            continue
        item = _item(entry, guid=guid, link=link, feed=feed, url=url, feed_link=feed_link, fetched_at=fetched_at)
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
        known=skipped,
    )


def _identity(entry: Mapping[str, Any], feed_link: str) -> tuple[str, str]:
    """The entry's own guid (may be empty) and its web link (empty when it has none that may be a link)."""
    link = (entry.get("link") or "").strip()
    if not link:
        for candidate in entry.get("links", []):
            if _get(candidate, "rel") in ("alternate", None) and _get(candidate, "href"):
                link = candidate["href"]
                break
    guid = (entry.get("id") or "").strip()
    # Only http(s) becomes a link: a feed's javascript: or data: URL is dropped here, where it enters.
    if link:
        link = absolute_link(feed_link, link)
    if not link:
        link = absolute_link("", guid)
    return guid, link


def _item(
    entry: Mapping[str, Any], *, guid: str, link: str, feed: Feed, url: str, feed_link: str, fetched_at: datetime
) -> Item | None:
    title = safe_text(clean_text(entry.get("title", "")), TITLE_LIMIT)
    content_html = ""
    if contents := entry.get("content"):  # the longest of the entry's contents: nearly always its only one
        content_html = (
            _get(contents[0], "value", "")
            if len(contents) == 1
            else max((_get(c, "value", "") for c in contents), key=len)
        )
    summary_html = entry.get("summary", "") or ""
    base = link or feed_link
    content_clean, links = sanitise_html(content_html, base) if content_html else ("", ())
    summary_clean, summary_links = sanitise_html(summary_html, base) if summary_html else ("", ())
    body = content_clean or summary_clean
    if not title:
        text = safe_text(clean_text(body), _ITEM_TEXT)
        if not text:
            return None
        title = " ".join(text.split()[:12]) + "…"
    digest = content_hash(title, body)
    if not guid:
        guid = link or f"urn:sha256:{digest}"
    if not link:
        link = feed_link  # an item with no link of its own points at its feed's site
        canonical = f"urn:item:{digest}"
    else:
        canonical = canonical_url(link)
    authors = tuple(
        safe_text(clean_text(_get(a, "name", "")), 200) for a in entry.get("authors", []) if _get(a, "name", "").strip()
    )
    if not authors and entry.get("author"):
        authors = (safe_text(clean_text(entry["author"]), 200),)
    categories = tuple(
        dict.fromkeys(safe_text(clean_text(_get(t, "term", "")), 200) for t in entry.get("tags", []) if _get(t, "term"))
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

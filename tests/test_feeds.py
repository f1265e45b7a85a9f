"""Feed parsing: the formats we follow, normalisation, and the garbage the outside world sends."""

from __future__ import annotations

import hashlib
import random
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from digest.errors import FeedError
from digest.feeds import canonical_url, clean_text, content_hash, parse_feed, sanitise_html
from digest.models import Feed
from digest.text import safe_text

from .conftest import WEB

NOW = datetime(2026, 11, 22, 11, 0, tzinfo=UTC)
FEED = Feed(name="Test", url="https://example.org/feed/")


def parse(data: bytes, headers: dict[str, str] | None = None, feed: Feed = FEED):  # type: ignore[no-untyped-def]
    return parse_feed(data, headers or {"content-type": "application/xml"}, feed=feed, url=feed.url, fetched_at=NOW)


def rss(items: str, encoding: str = "utf-8") -> bytes:
    return (
        f'<?xml version="1.0" encoding="{encoding}"?><rss version="2.0" '
        f'xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel><title>T</title>'
        f"<link>https://example.org/</link>{items}</channel></rss>"
    ).encode(encoding)


def test_wordpress_feed_with_content_encoded() -> None:
    """A WordPress feed gives full content, categories, authors and absolute links."""
    parsed = parse((WEB / "www.russellwebster.com/feed/index").read_bytes())
    assert parsed.version == "rss20"
    assert len(parsed.items) == 3
    first = parsed.items[0]
    assert first.title == "Private probation in South Yorks “much better”"
    assert first.published == datetime(2017, 6, 29, 7, 0, tzinfo=UTC)
    assert first.authors == ("Russell Webster",)
    assert first.categories == ("Probation", "Inspections")
    assert "Highest performing area inspected" in first.content_html
    assert any("/document/quality-and-impact-inspection-south-yorkshire/" in link for link in first.links)


def test_govuk_atom_has_summaries_only() -> None:
    """GOV.UK's Atom feed carries a summary and no content; both items are read."""
    parsed = parse((WEB / "www.gov.uk/government/organisations/hm-prison-and-probation-service.atom").read_bytes())
    assert parsed.version == "atom10"
    assert [i.title for i in parsed.items] == [
        "Record number of new probation officers join the service",
        "Prison officer recruitment drive opens in the North West",
    ]
    assert parsed.items[0].content_html == ""
    assert "1,000 trainee probation officers" in parsed.items[0].summary_html


def test_blogger_feed() -> None:
    """A Blogger feed: the alternate link, the local-time date in UTC, escaped HTML content."""
    parsed = parse((WEB / "probationmatters.blogspot.com/feeds/posts/default").read_bytes())
    item = parsed.items[0]
    assert item.url == "https://probationmatters.blogspot.com/2017/06/caseloads-not-operating-models.html"
    assert item.published == datetime(2017, 6, 27, 20, 14, tzinfo=UTC)
    assert "<p>Three years into" in item.content_html


def test_canonical_url_folds_spellings_of_one_page() -> None:
    """http/https, www, tracking parameters, query order, fragments and trailing slashes do not make a new page."""
    a = canonical_url("http://www.Example.org/post/?utm_source=x&b=2&a=1#comments")
    b = canonical_url("https://example.org/post?a=1&b=2&fbclid=abc")
    assert a == b == "https://example.org/post?a=1&b=2"


def test_titles_are_decoded_and_folded() -> None:
    """Entities (even double-encoded ones) are decoded and white space folded in titles."""
    parsed = parse(
        rss(
            "<item><title>Probation &amp;amp; parole:\n   a  view</title><link>https://e.org/a</link>"
            "<description>x</description></item>"
        )
    )
    assert parsed.items[0].title == "Probation & parole: a view"


def test_hostile_html_is_sanitised() -> None:
    """Scripts, event handlers, javascript: and data: links, iframes, forms and remote images never survive."""
    html, links = sanitise_html(
        '<p onclick="steal()">Hi<script>alert(1)</script><a href="javascript:alert(1)">x</a>'
        '<a href="data:text/html,evil">d</a><iframe src="https://evil.example"></iframe>'
        '<img src="https://tracker.example/pixel.gif"><form action="/x"><input></form>'
        '<span style="background:url(javascript:alert(1))">s</span><a href="/rel">ok</a></p>',
        "https://blog.example/post/",
    )
    for bad in ("script", "onclick", "javascript:", "data:", "iframe", "<img", "tracker", "<form", "style="):
        assert bad not in html
    assert '<a href="https://blog.example/rel"' in html
    assert links == ("https://blog.example/rel",)


def test_duplicate_guids_in_one_feed_keep_the_first() -> None:
    """Two entries with one guid are one item."""
    item = "<item><guid>g1</guid><title>{}</title><link>https://e.org/{}</link><description>d</description></item>"
    parsed = parse(rss(item.format("First", "a") + item.format("Second", "b")))
    assert [i.title for i in parsed.items] == ["First"]


def test_items_without_date_or_link() -> None:
    """No date: the fetch time. No link: the feed's site, and a content-based identity."""
    parsed = parse(rss("<item><title>Undated</title><description>Some text here</description></item>"))
    item = parsed.items[0]
    assert item.published == NOW
    assert item.url == "https://example.org/"
    assert item.canonical_url.startswith("urn:item:")


def test_future_dates_are_clamped() -> None:
    """An item dated next year is treated as published at fetch time."""
    parsed = parse(
        rss(
            "<item><title>Soon</title><link>https://e.org/s</link>"
            "<pubDate>Mon, 01 Jan 2035 00:00:00 +0000</pubDate></item>"
        )
    )
    assert parsed.items[0].published == NOW


def test_malformed_xml_with_entries_keeps_them() -> None:
    """A feed with an XML error after its entries still yields them, with the problem noted."""
    data = rss("<item><title>Kept</title><link>https://e.org/k</link></item>").replace(
        b"</channel>", b"<bad></channel>"
    )
    parsed = parse(data)
    assert [i.title for i in parsed.items] == ["Kept"]
    assert parsed.problem


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "empty response body"),
        (b"<!DOCTYPE html><html><head><title>Blog</title></head><body><p>Hello</p></body></html>", "HTML page"),
        (b"\x00\x01garbage that is not xml at all", "not a feed"),
    ],
)
def test_bodies_that_are_not_feeds_are_errors(body: bytes, message: str) -> None:
    """An empty body, an HTML page and binary garbage are clear errors, not empty feeds."""
    with pytest.raises(FeedError, match=message):
        parse(body, {"content-type": "text/html"})


def test_wrong_declared_charset_and_non_utf8() -> None:
    """A Latin-1 feed is decoded correctly, and a feed that lies about its charset still parses."""
    latin = rss("<item><title>Caf\u00e9 probation</title><link>https://e.org/c</link></item>", encoding="iso-8859-1")
    assert parse(latin).items[0].title == "Café probation"
    lying = rss("<item><title>Na\u00efve</title><link>https://e.org/n</link></item>").replace(
        b'encoding="utf-8"', b'encoding="us-ascii"'
    )
    assert parse(lying, {"content-type": "application/xml; charset=us-ascii"}).items[0].title == "Naïve"


def test_rss_090_to_10_formats() -> None:
    """RSS 0.91 (Netscape/Userland) and RSS 1.0 (RDF) feeds are read like RSS 2.0."""
    rss091 = (
        b'<?xml version="1.0"?><rss version="0.91"><channel><title>Old</title><link>https://old.example/</link>'
        b"<item><title>Probation news</title><link>https://old.example/1</link>"
        b"<description>Probation officers met.</description></item></channel></rss>"
    )
    rdf = (
        b'<?xml version="1.0"?><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
        b'xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/">'
        b'<channel rdf:about="https://rdf.example/"><title>RDF</title><link>https://rdf.example/</link></channel>'
        b'<item rdf:about="https://rdf.example/a"><title>Youth justice</title><link>https://rdf.example/a</link>'
        b"<dc:date>2026-11-20T09:00:00Z</dc:date><description>YOT inspected.</description></item></rdf:RDF>"
    )
    old = parse(rss091)
    assert old.version == "rss091u" and old.items[0].url == "https://old.example/1"
    new = parse(rdf)
    assert new.version == "rss10"
    assert new.items[0].published == datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def test_clean_text_folds_every_kind_of_white_space() -> None:
    """Every character Python counts as white space (no-break, ideographic, line separator, …) folds to one
    space, as the regular expression before it did, and the ends are trimmed."""
    import re

    from digest.feeds import clean_text

    spaces = "".join(chr(c) for c in range(0x110000) if re.fullmatch(r"\s", chr(c)))
    assert clean_text(f"{spaces}a{spaces}b &nbsp; <p>c</p>\u200bd{spaces}") == "a b c \u200bd"


def test_the_content_hash_is_the_first_400_words_however_long_the_text() -> None:
    """Duplicates are found by the hash of an item's first 400 words (lower case) of its title and text: reading
    only as far as those words must give the hash that reading everything gives, or stored items stop matching
    new copies."""

    def everything(title: str, body_html: str) -> str:
        text = safe_text(clean_text(body_html), 200_000)
        words = re.findall(r"\w+", f"{title} {text}".lower())
        return hashlib.sha256(" ".join(words[:400]).encode()).hexdigest()[:32]

    corpus = sorted((Path(__file__).parent / "data" / "corpus").glob("*.txt"))[:40]
    pages = sorted(p for p in WEB.rglob("*") if p.is_file() and b"<p" in p.read_bytes()[:200_000])[:20]
    long_text = " ".join(p.read_text(encoding="utf-8") for p in corpus)
    long_html = " ".join(
        sanitise_html(p.read_text(encoding="utf-8", errors="replace"), "https://x.org/")[0] for p in pages
    )
    long_words = " ".join(f"<b>{n:0>40}</b>-Σ&amp;" for n in range(1_000))  # 400 words need far more than a look
    for body in (long_text, long_html, long_words):
        for cut in (0, 1, 17, 399, 2_000, 2_001, 3_199, 3_200, 3_201, 6_400, 50_000, len(body)):
            for title in ("", "Probation in İstanbul?", "—"):
                assert content_hash(title, body[:cut]) == everything(title, body[:cut])
    # Words beside every kind of character: tags, entities, ASCII punctuation, typographic punctuation (the
    # quick path), letters and digits outside ASCII (the regex path), the underscore, white space of all kinds,
    # the control and bidi characters safe_text drops, a lone surrogate.
    rng = random.Random(400)
    english = [*"aZ9_ .,;'\"-–—’“”…€£\t\n\r\x0b\x1c\x01\x7f\x85\x9b\u00a0\u2028\u202e\ufeff\ud800"]
    english += ["<p>", "</p>", "<a href='x'>", "&amp;", "&#8217;", "&nbsp;", "&lt;", "&#1;"]
    world = [*english, *"áŵΣİß٣Kﬁ", "&amp;eacute;"]
    for alphabet in (english, world):
        for _ in range(3_000):
            body = "".join(rng.choice(alphabet) for _ in range(rng.randrange(1, 60)))
            assert content_hash("", body) == everything("", body), repr(body)
    # Past the 200,000 characters an item's text is cut at, no word counts (a reviewer's cases).
    for body in (
        "<p>" + "x" * 250_000 + "</p>",
        "<p>" + " ".join(["y" * 1000] * 300) + "</p>",
        "<p>" + "-" * 199_990 + " alpha beta gamma delta</p>",
    ):
        assert content_hash("", body) == everything("", body)
    # A tag across the end of the first look: its name and attributes are not words.
    for pad in range(0, 60, 3):
        body = "x" * pad + " abcdefg" * 398 + ' <a href="https://example.org/one/two/three/four">last</a> more' * 5
        assert content_hash("", body) == everything("", body)


def test_entries_the_store_already_has_are_counted_not_built() -> None:
    """A later poll passes the guids it has: those entries are counted (the poll's "N new of M" still counts
    them) and only the new ones are built, exactly as a first poll builds them."""
    doc = (WEB / "www.russellwebster.com/feed/index").read_bytes()
    first = parse(doc)
    assert len(first.items) == 3
    known = frozenset(i.guid for i in first.items[1:])
    later = parse_feed(doc, {}, feed=FEED, url=FEED.url, fetched_at=NOW, known=known)
    assert later.items == first.items[:1]
    assert later.known == len(first.items) - 1


def test_a_link_becomes_one_only_when_it_is_an_absolute_web_address_with_nothing_hidden_in_it() -> None:
    """A feed's link is kept only when it is http(s) and holds no white space, control or bidi character (a
    right-to-left override can make a link read as another): the quick test for plain ASCII links agrees with
    the full one on every kind of character."""
    from digest.text import UNSAFE_CLASS, web_link

    def full(url: str) -> str | None:
        url = url.strip()
        scheme, sep, rest = url.partition(":")
        if not sep or scheme.lower() not in ("http", "https") or not rest.startswith("//") or len(rest) < 3:
            return None
        if re.search(f"[{UNSAFE_CLASS}]", url) or any(c.isspace() for c in url):
            return None
        return url

    assert web_link("https://example.org/a") == "https://example.org/a"
    assert web_link("https://example.org/\u202egpj.exe") is None
    assert web_link("https://example.org/a b") is None
    rng = random.Random(7)
    tail = [*"az09/._-?=&%~ \t\n\x0b\x1c\x01\x7f\x85\x9b\u00a0\u2028\u202e\ufeffé", "%20"]
    for _ in range(5_000):
        url = rng.choice(["https://", "http://", "HTTPS://", "ftp://", "https:/", " https://"]) + "".join(
            rng.choice(tail) for _ in range(rng.randrange(0, 12))
        )
        assert web_link(url) == full(url), repr(url)


@pytest.mark.parametrize("bad", ["http://[oops/post", "https://example.org:abc/post", "https://example.org:99999/"])
def test_an_item_with_a_malformed_link_loses_nothing_but_its_link(bad: str) -> None:
    """An unclosed IPv6 bracket or a port that is no number made urljoin raise, and the whole feed failed with
    it: every other item of the day lost. Now the item keeps its guid's link and its neighbours are read."""
    parsed = parse(
        rss(
            f"<item><title>Odd</title><link>{bad}</link><guid>https://example.org/odd</guid>"
            "<description>First</description></item>"
            "<item><title>Fine</title><link>https://example.org/fine</link><description>Second</description></item>"
            f'<item><title>Odd again</title><link>{bad}</link><guid isPermaLink="false">x-1</guid>'
            "<description>Third</description></item>"
        )
    )
    assert [(i.title, i.url) for i in parsed.items] == [
        ("Odd", "https://example.org/odd"),
        ("Fine", "https://example.org/fine"),
        ("Odd again", "https://example.org/"),  # no link of its own: its feed's site, as any such item
    ]
    assert canonical_url(f" {bad} ") == bad  # its own spelling: compose reads every item's links with it


def test_links_are_read_as_the_standard_library_reads_them() -> None:
    """The quick reading of a plain address gives what urljoin, urlsplit and the full canonical spelling give,
    on random addresses of every awkward character: made absolute, kept or dropped, and spelled one way."""
    from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

    from digest.feeds import absolute_link
    from digest.text import web_link

    def full_absolute(base: str, href: str) -> str:
        try:
            joined = urljoin(base, href.strip())
            urlsplit(joined).port  # noqa: B018
        except ValueError:
            return ""
        return web_link(joined) or ""

    def full_canonical(url: str) -> str:
        try:
            parts = urlsplit(url.strip())
            port = parts.port
        except ValueError:
            return url.strip()
        host = (parts.hostname or "").lower().removeprefix("www.")
        if port and port not in (80, 443):
            host = f"{host}:{port}"
        path = re.sub(r"/{2,}", "/", parts.path) or "/"
        if len(path) > 1:
            path = path.rstrip("/")
        tracking = re.compile(
            r"^(utm_[a-z]+|fbclid|gclid|dclid|mc_cid|mc_eid|_ga|_gl|igshid|yclid|msclkid|ref|cmpid)$", re.I
        )
        pairs = sorted((k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not tracking.match(k))
        scheme = "https" if parts.scheme in ("http", "https", "") else parts.scheme.lower()
        return urlunsplit((scheme, host, path, urlencode(pairs), ""))

    rng = random.Random(11)
    host = [*"aZ09.-_:@[]%é", "www.", "WWW."]
    path = [*"aZ09/._-~?=&#;:@!$'()*+,%[]\\|^`{} \t\x01\x7fé", "//", "./", "../", "utm_source=x", "?", "#"]
    bases = ["https://blog.example.org/feed/", "http://example.org/a/b", ""]
    for _ in range(20_000):
        url = rng.choice(["https://", "http://", "HTTP://", "ftp://", "//", "/", "", " https://"])
        url += "".join(rng.choice(host) for _ in range(rng.randrange(0, 6)))
        url += "".join(rng.choice(path) for _ in range(rng.randrange(0, 10)))
        assert canonical_url(url) == full_canonical(url), repr(url)
        for base in bases:
            assert absolute_link(base, url) == full_absolute(base, url), (base, url)
    # The sanitiser takes a plain href as it is only where urljoin would give it back unchanged.
    links = ["https://example.org/a?b=1", "http://example.org/x/../y", "https://example.org/a?", "../up"]
    for href in links:
        _, found = sanitise_html(f'<a href="{href}">x</a>', "https://blog.example.org/feed/")
        assert found == (urljoin("https://blog.example.org/feed/", href),)

"""Parsing a feed: `feeds.parse_feed` against feedparser alone with its sanitiser and URI resolution off.

The feeds are bench/poll.py's: WordPress RSS 2.0 documents of 20 items with content:encoded (~96 KB each).
Per feed, interleaved (ours, feedparser, ours, …), medians of 5 passes over 20 feeds, in this process:
- the reference: `feedparser.parse(content, sanitize_html=False, resolve_relative_uris=False)`, nothing more;
- ours at first sight (no entry known: a feed's first poll): `parse_feed` — the same feedparser call, then each
  item's HTML sanitised by nh3 with its links made absolute and checked, its text cleaned and bounded, its
  canonical URL and content hash;
- ours on a later poll: the same document with 19 of its 20 guids already in the store (what `digest poll`
  passes as `known`); those entries are counted, not built.

Last line: RESULT ms_per_feed=… later_ms_per_feed=… feedparser_ms=… ratio=… later_ratio=…
Target (issue 14): ≤ 1.2× feedparser (was 19.2 ms against 10.3, 1.9×).
"""

from __future__ import annotations

import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import feedparser

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import QUICK, load
from bench.poll import feed_xml
from digest.feeds import parse_feed
from digest.models import Feed

FEEDS = 10 if QUICK else 20
PASSES = 3 if QUICK else 5
TARGET = 1.2


def main() -> None:
    now = datetime.now(UTC)
    docs = [feed_xml(n, now) for n in range(FEEDS)]
    headers = {"content-type": "application/rss+xml; charset=UTF-8"}
    feed = Feed(name="Blog", url="https://blog.example.org/feed/")

    def ours(doc: bytes) -> int:
        return len(parse_feed(doc, headers, feed=feed, url=feed.url, fetched_at=now).items)

    known = {
        doc: frozenset(i.guid for i in parse_feed(doc, headers, feed=feed, url=feed.url, fetched_at=now).items[1:])
        for doc in docs
    }

    def later(doc: bytes) -> int:
        parsed = parse_feed(doc, headers, feed=feed, url=feed.url, fetched_at=now, known=known[doc])
        return len(parsed.items) + parsed.known

    def reference(doc: bytes) -> int:
        return len(
            feedparser.parse(doc, response_headers=headers, sanitize_html=False, resolve_relative_uris=False).entries
        )

    for doc in docs[:2]:  # warm: imports, regexes compiled
        assert ours(doc) == reference(doc) == later(doc) == 20
    times: dict[str, list[float]] = {"ours": [], "reference": [], "later": []}
    for _ in range(PASSES):
        spent = dict.fromkeys(times, 0.0)
        for doc in docs:  # interleaved per feed: a change in the machine's load falls on all three alike
            for name, fn in (("ours", ours), ("reference", reference), ("later", later)):
                start = time.process_time()
                fn(doc)
                spent[name] += time.process_time() - start
        for name, seconds in spent.items():
            times[name].append(seconds / FEEDS * 1000)
    got, ref = statistics.median(times["ours"]), statistics.median(times["reference"])
    again = statistics.median(times["later"])
    print(load())
    print(
        f"{FEEDS} feeds × 20 items ({sum(map(len, docs)) / FEEDS / 1024:.0f} KB each), CPU time per feed, "
        f"medians of {PASSES} interleaved passes"
    )
    print(f"feedparser, sanitiser and URI resolution off: {ref:.2f} ms a feed")
    for label, ms in (("first sight, every entry new", got), ("a later poll, 1 of 20 entries new", again)):
        print(
            f"parse_feed, {label}: {ms:.2f} ms a feed ({ms / ref:.2f}× feedparser; target ≤ {TARGET}×: "
            f"{'met' if ms / ref <= TARGET else 'MISSED'})"
        )
    print(
        f"RESULT ms_per_feed={got:.2f} later_ms_per_feed={again:.2f} feedparser_ms={ref:.2f} "
        f"ratio={got / ref:.2f} later_ratio={again / ref:.2f}"
    )


if __name__ == "__main__":
    main()

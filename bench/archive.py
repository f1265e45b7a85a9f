"""The archive at ten years' size: 3,000 inspections and 12,000 other items in one store, each figure beside its
reference measured in this run.

- a search (`store.search`, FTS5 with its join, filters off), median of 5 rounds of 4 queries, against the same
  page without words (`/search` with no words: every item about probation, newest first, counted);
- listing the ratings tracker (`store.inspection_rows` + `tracker.inspections`, what `/ratings` and each digest
  build pay), median of 3, against reading the same rows alone (`store.inspection_rows`);
- one card's "previously" (`tracker.previously`), median of 200, against `bodies.same_body` once.

Last line: RESULT search_ms=… browse_ms=… search_ratio=… tracker_s=… rows_s=… tracker_ratio=… previously_ms=…
same_body_ms=… previously_ratio=…
"""

from __future__ import annotations

import os
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from digest import tracker
from digest.bodies import same_body
from digest.models import Feed, Item, Summary
from digest.store import Store
from digest.store_archive import SearchQuery

PLACES = [
    "Wakefield", "Leeds", "Bradford", "Cardiff", "Swansea", "Kent", "Sussex", "Surrey", "Derby", "Leicester",
    "Birmingham", "Coventry", "Bristol", "Bath", "Devon", "Cornwall", "Dorset", "Hampshire", "Essex", "Norfolk",
    "Barnsley", "Bedfordshire", "Bridgend", "Calderdale", "Camden", "Croydon", "Durham", "Gateshead", "Hull",
    "Lambeth", "Liverpool", "Manchester", "Newcastle", "Nottingham", "Oldham", "Plymouth", "Salford", "Sheffield",
]  # fmt: skip
UNITS = ["PDU", "Youth Justice Service", "YOS", "CRC"]
# Each searched word in about one item in twenty, among 2,000 others, as a real word is.
SEARCHED = ["caseloads", "staffing", "supervision", "risk", "housing", "unpaid", "work", "courts", "victims"]
WORDS = SEARCHED + [f"term{k}" for k in range(2000)]


def median(fn: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def fill(store: Store, n_inspections: int, n_other: int) -> None:
    rng = random.Random(15)
    feed = Feed("Inspectorate", "https://inspectorate.example/feed/", "inspectorate")
    store.sync_feeds([feed])
    start = datetime(2016, 1, 1, tzinfo=UTC)
    items = []
    for n in range(n_inspections + n_other):
        url = f"https://inspectorate.example/{n}/"
        when = start + timedelta(hours=rng.randint(0, 10 * 365 * 24))
        items.append(Item(feed.url, feed.name, url, url, url, f"Item {n}", when, "", "", f"h{n}"))
    store.add_items(feed.url, items, now=start, backfill_since=None)
    with store.transaction():
        for n, item in enumerate(items, start=1):
            text = " ".join(rng.choices(WORDS, k=120))
            if n <= n_inspections:
                body = f"{rng.choice(PLACES)} {rng.choice(UNITS)}"
                summary = Summary(
                    f"An inspection of {body}", "inspection", True, text, organisation=body,
                    rating=rng.choice(["Outstanding", "Good", "Requires improvement", "Inadequate"]),
                )  # fmt: skip
            else:
                summary = Summary(f"Post {n}", "blog", True, text)
            store.save_summary(n, summary, now=item.published)


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="digest-archive-") as tmp, Store(Path(tmp) / "a.sqlite3") as store:
        fill(store, 3000, 12000)
        queries = [SearchQuery(words) for words in ("caseloads", "unpaid work", "victims courts", "housing risk")]
        search_s = median(lambda: [store.search(q, limit=20) for q in queries], 5) / len(queries)
        count_s = median(lambda: store.search(SearchQuery(), limit=20), 5)
        rows_s = median(store.inspection_rows, 3)
        tracker_s = median(lambda: tracker.inspections(store.inspection_rows()), 3)
        history = tracker.inspections(store.inspection_rows())
        probe = history[len(history) // 2]
        previously_s = median(lambda: tracker.previously(probe.organisation, probe.published, history), 200)
        same_s = median(lambda: same_body("Wakefield PDU", "Wakefield Probation Delivery Unit"), 200)
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"archive: 3,000 inspections and 12,000 other items (load average {load})")
    print(f"  search, one page:            {search_s * 1000:8.2f} ms   browsing, no words {count_s * 1000:6.2f} ms")
    print(f"  ratings tracker, every row:  {tracker_s:8.3f} s    reading the rows   {rows_s:6.3f} s")
    print(f"  a card's 'previously':       {previously_s * 1000:8.3f} ms   same_body once     {same_s * 1000:6.3f} ms")
    print(
        f"RESULT search_ms={search_s * 1000:.2f} browse_ms={count_s * 1000:.2f} "
        f"search_ratio={search_s / count_s:.1f} tracker_s={tracker_s:.3f} rows_s={rows_s:.3f} "
        f"tracker_ratio={tracker_s / rows_s:.2f} previously_ms={previously_s * 1000:.3f} "
        f"same_body_ms={same_s * 1000:.3f} previously_ratio={previously_s / same_s:.1f}"
    )


if __name__ == "__main__":
    main()

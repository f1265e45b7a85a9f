"""Reading new items: `pipeline.process` over excerpt items whose pages sit behind 100 ms of latency.

Twenty HTTP servers on 127.0.0.1–127.0.0.20 (a blog each) answer every request after 100 ms. Each blog's feed
carries only an excerpt (under the 150 words that make `process` fetch the page) of each post; each post's page
is a ~1,300-word WordPress-like page with navigation, share bars and a footer. Timed, interleaved, medians:
- ours: `pipeline.process` (fetch the page, extract, classify, summarise, store) with the command's two worker
  processes and the configured fetcher (20 connections, 4 per host), over a freshly polled copy of the store;
- the reference: async httpx (20 connections, 20 requests in flight) fetching the same pages, each handed as it
  arrives to `trafilatura.extract` in a pool of two processes: fetch + extract and nothing else. Until session 9
  it asked httpx for all 1,000 pages at once; its pool then spends its time looking through the queue (about
  19 ms an item instead of 7), and the figure flattered ours (0.46-0.58× instead of about 1.5×).
Both pools are started and warm before the clock starts.

Last line: RESULT items=… ours_s=… reference_s=… ratio=… ms_per_item=…
Target (issue 14): ≤ 1.3× the reference on 1,000 items (was 2.9×: 8 items in flight while the fetcher allows
20, and each excerpt went through trafilatura twice).
"""

from __future__ import annotations

import asyncio
import html
import multiprocessing
import shutil
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import QUICK, free_port, load, serve
from digest import pipeline
from digest.config import load_settings
from digest.fetch import Fetcher
from digest.store import Store
from digest.workers import WorkerPool

ROOT = Path(__file__).resolve().parent.parent
HOSTS = 20
ITEMS = 200 if QUICK else 1000
RUNS = 1 if QUICK else 3
LATENCY = 0.1
TARGET = 1.3
SEEDS = [
    [p for p in (ROOT / f"tests/data/seeds/{name}.txt").read_text(encoding="utf-8").split("\n") if len(p.split()) > 15]
    for name in ("blog_south_yorkshire_2017", "blog_staffordshire_2017", "blog_hlny_crc_2019")
]


def page(n: int) -> bytes:
    paragraphs = SEEDS[n % 3]
    start = n % max(1, len(paragraphs) - 12)
    body = "".join(f"<p>{html.escape(p)}</p>" for p in paragraphs[start : start + 12])
    return (
        f"<!doctype html><html><head><title>Post {n} | Blog</title></head><body>"
        "<header><nav><a href='/'>Home</a> <a href='/about/'>About</a> <a href='/feed/'>Feed</a></nav></header>"
        f"<main><article><h1>Probation practice, post {n}</h1><p class='meta'>Posted 23 November 2026</p>"
        f"<div class='share'>Share this post</div>{body}<p>Post number {n}.</p></article>"
        "<aside class='related'><h2>Related posts</h2><ul><li><a href='/a/'>A</a></li></ul></aside></main>"
        "<footer><p>Subscribe to our newsletter</p><p>© Blog</p></footer></body></html>"
    ).encode()


def feed(host: int, urls: list[str], now: datetime) -> bytes:
    items = []
    for i, url in enumerate(urls):
        excerpt = " ".join(SEEDS[i % 3][i % 7].split()[:60])
        items.append(
            f"<item><title>Probation practice, post {host}-{i}</title><link>{url}</link>"
            f"<pubDate>{format_datetime(now - timedelta(minutes=i))}</pubDate><guid>{url}</guid>"
            f"<category>Probation</category><description>{html.escape(excerpt)} […]</description></item>"
        )
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>Blog {host}</title>'
        f"<link>http://blog{host}.example.org/</link><description>d</description>{''.join(items)}</channel></rss>"
    ).encode()


def _warm(seconds: float) -> None:
    import trafilatura  # noqa: F401  (imported in the worker before the clock starts)

    from digest import extract, summarise  # noqa: F401

    time.sleep(seconds)


def _extract(content: bytes) -> int:
    import trafilatura

    return len(trafilatura.extract(content.decode("utf-8")) or "")


async def reference(urls: list[str], pool: ProcessPoolExecutor) -> float:
    loop = asyncio.get_running_loop()
    async with httpx.AsyncClient(
        limits=httpx.Limits(max_connections=20), timeout=httpx.Timeout(60, pool=None)
    ) as client:
        in_flight = asyncio.Semaphore(20)

        async def one(url: str) -> int:
            async with in_flight:
                r = await client.get(url)
            return await loop.run_in_executor(pool, _extract, r.content)

        start = time.perf_counter()
        sizes = await asyncio.gather(*(one(u) for u in urls))
        elapsed = time.perf_counter() - start
    assert all(sizes), "trafilatura found no text in a page"
    return elapsed


async def ours(config: Path, base: Path, work: Path, pool: WorkerPool) -> float:
    db = work / "run.sqlite3"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    shutil.copy(base, db)
    settings = replace(load_settings(config), database=db)
    # (settings, database=db)
    with Store(db) as store:
        assert store.count_unsummarised() == ITEMS
        async with Fetcher(settings.fetch) as fetcher:
            start = time.perf_counter()
            done = await pipeline.process(settings, store, fetcher, clock=lambda: datetime.now(UTC), runner=pool)
            elapsed = time.perf_counter() - start
        assert done == ITEMS and store.count_unsummarised() == 0
        fetched = store.db.execute("SELECT count(*) FROM documents WHERE format='html' AND error IS NULL").fetchone()
        assert fetched[0] == ITEMS, f"only {fetched[0]} of {ITEMS} pages were read"
    return elapsed


def main() -> None:
    port = free_port()
    now = datetime.now(UTC)
    per = ITEMS // HOSTS
    urls: list[str] = []
    servers = []
    feeds = []
    for h in range(HOSTS):
        host = f"127.0.0.{h + 1}"
        mine = [f"http://{host}:{port}/{now:%Y/%m}/post-{h * per + k}/" for k in range(per)]
        bodies = {
            f"/{now:%Y/%m}/post-{h * per + k}/": ("text/html; charset=UTF-8", page(h * per + k)) for k in range(per)
        }
        bodies["/feed/"] = ("application/rss+xml; charset=UTF-8", feed(h, mine, now))
        servers.append(serve(host, port, bodies, LATENCY))
        urls += mine
        feeds.append(f"http://{host}:{port}/feed/")
    work = Path(tempfile.mkdtemp(prefix="digest-bench-reading-"))
    config = work / "digest.yml"
    config.write_text(
        "database: base.sqlite3\nbackfill_hours: 48\nfetch:\n  allow_private: [127.0.0.0/8]\n  concurrency: 20\n"
        "feeds:\n" + "".join(f"  - {{name: 'Blog {i}', url: '{u}', type: blog}}\n" for i, u in enumerate(feeds))
    )
    settings = load_settings(config)

    async def prepare() -> None:
        with Store(settings.database) as store:
            async with Fetcher(settings.fetch) as fetcher:
                results = await pipeline.poll(settings, store, fetcher, clock=lambda: now)
        assert sum(r.new for r in results) == ITEMS, results

    async def run() -> dict[str, float]:
        loop = asyncio.get_running_loop()
        spawn = multiprocessing.get_context("spawn")
        with WorkerPool(workers=2) as pool, ProcessPoolExecutor(2, mp_context=spawn) as ref_pool:
            await asyncio.gather(pool.run(_warm, 0.5), pool.run(_warm, 0.5))
            await asyncio.gather(*(loop.run_in_executor(ref_pool, _warm, 0.5) for _ in range(2)))
            times: dict[str, list[float]] = {"reference": [], "ours": []}
            for _ in range(RUNS):
                times["reference"].append(await reference(urls, ref_pool))
                times["ours"].append(await ours(config, settings.database, work, pool))
        return {k: sorted(v)[len(v) // 2] for k, v in times.items()}

    try:
        asyncio.run(prepare())
        medians = asyncio.run(run())
    finally:
        for server in servers:
            server.shutdown()
        shutil.rmtree(work, ignore_errors=True)
    ref, got = medians["reference"], medians["ours"]
    ratio = got / ref
    print(f"{load()}")
    print(
        f"{ITEMS} excerpt items, pages of ~{len(page(0)) // 1024} KB on {HOSTS} hosts, {LATENCY * 1000:.0f} ms "
        f"latency; medians of {RUNS}, interleaved"
    )
    print(f"reference (httpx 20 connections + trafilatura.extract in 2 processes): {ref:.2f} s")
    print(
        f"pipeline.process (2 workers): {got:.2f} s, {got / ITEMS * 1000:.1f} ms an item; {ratio:.2f}× the "
        f"reference (target ≤ {TARGET}×: {'met' if ratio <= TARGET else 'MISSED'})"
    )
    print(
        f"RESULT items={ITEMS} ours_s={got:.2f} reference_s={ref:.2f} ratio={ratio:.2f} "
        f"ms_per_item={got / ITEMS * 1000:.1f}"
    )


if __name__ == "__main__":
    main()

"""`digest poll` of 200 feeds × 20 items against local servers with 100 ms latency and ETags.

Twenty HTTP servers on 127.0.0.1–127.0.0.20 (ten feeds each, as feeds live on many hosts) answer every
request after 100 ms; each feed is a realistic WordPress RSS 2.0 document of 20 items with content:encoded
(~96 KB). Times, in one run:
- the first `digest poll --no-read` (fetch, parse in the process pool, dedupe, store), as a command;
- the second, which gets 304 Not Modified for every feed;
- a fetch-only reference: async httpx, 20 connections, no parsing.

Last line: RESULT first_s=… second_s=… reference_s=… first_ratio=… second_ratio=…
Targets (issue 3): first ≤ 2.5× the reference, second ≤ 1.5×. (rss2email, polling one feed at a time, took
39 s and 21 s on this workload here.)
"""

from __future__ import annotations

import asyncio
import hashlib
import html
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
HOSTS = 20
PER_HOST = 10
ITEMS = 20
LATENCY = 0.1
SEED = (ROOT / "tests/data/seeds/blog_south_yorkshire_2017.txt").read_text(encoding="utf-8")


def feed_xml(n: int, now: datetime) -> bytes:
    paragraphs = [p for p in SEED.split("\n") if len(p.split()) > 15]
    items = []
    for i in range(ITEMS):
        body = "".join(f"<p>{html.escape(p)}</p>" for p in paragraphs[i % 5 : i % 5 + 9])
        when = format_datetime(now - timedelta(minutes=30 * i + n))
        items.append(
            f"<item><title>Feed {n} post {i}: probation practice</title>"
            f"<link>https://blog{n}.example.org/{now:%Y/%m}/post-{i}/</link>"
            f"<dc:creator><![CDATA[Author {n}]]></dc:creator><pubDate>{when}</pubDate>"
            f'<category><![CDATA[Probation]]></category><guid isPermaLink="false">https://blog{n}.example.org/?p={i}</guid>'
            f"<description><![CDATA[{html.escape(paragraphs[i % 5][:300])} [&#8230;]]]></description>"
            f"<content:encoded><![CDATA[{body}<p>Post {i} of feed {n}.</p>]]></content:encoded></item>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0" '
        'xmlns:content="http://purl.org/rss/1.0/modules/content/" xmlns:dc="http://purl.org/dc/elements/1.1/">'
        f"<channel><title>Blog {n}</title><link>https://blog{n}.example.org/</link><description>d</description>"
        + "".join(items)
        + "</channel></rss>"
    ).encode()


def serve(host: str, port: int, feeds: dict[str, bytes]) -> ThreadingHTTPServer:
    etags = {path: '"' + hashlib.sha1(body).hexdigest()[:16] + '"' for path, body in feeds.items()}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            time.sleep(LATENCY)
            body = feeds.get(self.path)
            if body is None:
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            if self.headers.get("If-None-Match") == etags[self.path]:
                self.send_response(304)
                self.send_header("ETag", etags[self.path])
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml; charset=UTF-8")
            self.send_header("ETag", etags[self.path])
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


async def reference(urls: list[str]) -> float:
    async with httpx.AsyncClient(limits=httpx.Limits(max_connections=20)) as client:
        start = time.perf_counter()
        responses = await asyncio.gather(*(client.get(u) for u in urls))
        elapsed = time.perf_counter() - start
    assert all(r.status_code == 200 for r in responses)
    return elapsed


def main() -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    now = datetime.now(UTC)
    urls: list[str] = []
    servers = []
    size = 0
    for h in range(HOSTS):
        host = f"127.0.0.{h + 1}"
        feeds = {}
        for k in range(PER_HOST):
            n = h * PER_HOST + k
            feeds[f"/feed{n}/"] = feed_xml(n, now)
            size += len(feeds[f"/feed{n}/"])
            urls.append(f"http://{host}:{port}/feed{n}/")
        servers.append(serve(host, port, feeds))
    work = Path(tempfile.mkdtemp(prefix="digest-bench-poll-"))
    config = work / "digest.yml"
    config.write_text(
        "database: digest.sqlite3\nbackfill_hours: 48\nfetch:\n  allow_private: [127.0.0.0/8]\n  concurrency: 20\n"
        "feeds:\n" + "".join(f"  - {{name: 'Blog {i}', url: '{u}', type: blog}}\n" for i, u in enumerate(urls))
    )
    cmd = [sys.executable, "-m", "digest.cli", "--config", str(config), "poll", "--no-read"]
    try:
        ref = asyncio.run(reference(urls))
        start = time.perf_counter()
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
        first = time.perf_counter() - start
        assert out.count(f"{ITEMS} new of {ITEMS}") == len(urls), out[:500]
        start = time.perf_counter()
        out = subprocess.run([*cmd, "--all"], check=True, capture_output=True, text=True).stdout
        second = time.perf_counter() - start
        assert out.count("not modified") == len(urls), out[:500]
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "digest.cli", "--help"], check=True, capture_output=True)
        startup = time.perf_counter() - start
    finally:
        for server in servers:
            server.shutdown()
    print(
        f"{len(urls)} feeds × {ITEMS} items ({size / len(urls) / 1024:.0f} KB each) on {HOSTS} hosts, "
        f"{LATENCY * 1000:.0f} ms latency"
    )
    print(f"reference (async httpx, 20 connections, no parsing): {ref:.2f} s")
    print(f"digest poll, first:  {first:.2f} s ({first / ref:.2f}× the reference; target ≤ 2.5×)")
    print(f"digest poll, second (304s): {second:.2f} s ({second / ref:.2f}×; target ≤ 1.5×)")
    print(f"of which the command's start-up (interpreter and imports): {startup:.2f} s")
    print(
        f"RESULT first_s={first:.2f} second_s={second:.2f} reference_s={ref:.2f} first_ratio={first / ref:.2f} "
        f"second_ratio={second / ref:.2f}"
    )


if __name__ == "__main__":
    main()

"""/health, the admin dashboard and `digest status` against a history that has grown: each at 1k and at 100k
deliveries (the latest run's ledger) over 100k items, beside a bare starlette handler, in one run.

The history: five feeds; 100,000 items (summarised, claimed by 3,000+ past runs of about 30 items each), 40 items
waiting for the next digest, and today's run with 1,000 or 100,000 recipients in its ledger. Timed in-process:
the service's ASGI app and a bare Starlette app (one route returning a JSON document of the same shape as
/health; one rendering the dashboard's template from a context worked out once), both through the same httpx client over
`httpx.ASGITransport`, taking turns, medians of 3 rounds of N requests: CPU-ms per request (process time) and
requests per second. `digest status` runs as a command on the 100k history: wall time, CPU time and peak RSS
(median of 3),
beside `python -c "import click"`.

Last line: RESULT health_1k_ms=… health_100k_ms=… bare_ms=… health_ratio=… dashboard_1k_ms=… dashboard_100k_ms=…
bare_page_ms=… dashboard_ratio=… status_s=… status_cpu_s=… status_mb=…
Targets (issue 14): /health and the dashboard cost the same at 1k and 100k and ≤ 1.5× the bare handler;
`digest status` ≤ 0.3 s and ≤ 80 MB at 100k items. (Before: 1.93 CPU-ms per /health at 10k deliveries and 5.7
at 50k, against 0.28 for the bare handler; status 1.25 s and 195 MB at 10k pending items.)
"""

from __future__ import annotations

import asyncio
import gc
import itertools
import json
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import QUICK, compile_package, load
from digest.auth import hash_password
from digest.config import load_settings
from digest.models import Summary
from digest.store import Store, summary_json
from digest.web import create_app

ITEMS = 20_000 if QUICK else 100_000
PER_RUN = 30
PENDING = 40
SIZES = (1_000, 20_000) if QUICK else (1_000, 100_000)
REQUESTS = 100 if QUICK else 300
ROUNDS = 3
NOW = datetime.now(UTC).replace(microsecond=0)
SECRET = "3f9c1e7a5b2d4086c8e1f0a9b7d6c5e4a3b2c1d0e9f8a7b6c5d4e3f2a1b0c9d8"
PASSWORD = "correct horse"
TARGET = 1.5
STATUS_S, STATUS_MB = 0.3, 80
CONFIG = """\
list_name: Bench digest
from_address: digest@example.org
public_url: https://digest.example.org
database: digest.sqlite3
subscribers_file: subscribers.yml
feeds:
{feeds}
delivery:
  method: outbox
"""


def build(folder: Path, deliveries: int) -> Path:
    """A config and a database holding the history described above."""
    folder.mkdir(parents=True, exist_ok=True)
    feeds = "".join(
        f"  - {{name: 'Feed {i}', url: 'https://feed{i}.example.org/feed/', type: blog}}\n" for i in range(5)
    )
    config = folder / "digest.yml"
    config.write_text(CONFIG.format(feeds=feeds.rstrip("\n")), encoding="utf-8")
    settings = load_settings(config)
    with Store(settings.database) as store:
        store.sync_feeds(settings.feeds)
        feed_ids = [r[0] for r in store.db.execute("SELECT id FROM feeds ORDER BY id")]
        total = ITEMS + PENDING
        days = ITEMS // PER_RUN
        with store.transaction() as db:
            for n in range(0, days + 1):
                day = (NOW - timedelta(days=n)).date()
                db.execute(
                    "INSERT INTO runs (key, day, created, subject, status, item_ids, html, text) "
                    "VALUES (?,?,?,?,?,?,?,?)",
                    (f"bench-digest:{day}", day.isoformat(), NOW.isoformat(), "Digest", "done", "[]", "", ""),
                )
            rows = []
            summaries = []
            for i in range(total):
                published = NOW - timedelta(hours=i * 24 / PER_RUN)
                run_key = (
                    None
                    if i < PENDING
                    else f"bench-digest:{(NOW - timedelta(days=1 + (i - PENDING) // PER_RUN)).date()}"
                )
                url = f"https://feed{i % 5}.example.org/{i}/"
                rows.append(
                    (
                        feed_ids[i % 5],
                        url,
                        url,
                        url,
                        f"Item {i} about probation",
                        published.isoformat(),
                        published.isoformat(),
                        "[]",
                        '["Probation"]',
                        "[]",
                        "",
                        "<p>An excerpt.</p>",
                        f"h{i}",
                        "new",
                        run_key,
                    )
                )
                summary = Summary(
                    title=f"Item {i} about probation",
                    kind="blog",
                    about_probation=i % 10 != 0,
                    summary="Probation practice in one area, as inspectors found it. " * 4,
                    published=published.date(),
                )
                summaries.append((i + 1, json.dumps(summary_json(summary)), NOW.isoformat()))
            db.executemany(
                "INSERT INTO items (feed_id, guid, url, canonical_url, title, published, discovered, authors, "
                "categories, links, content_html, summary_html, content_hash, state, run_key) "
                "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                rows,
            )
            db.executemany("INSERT INTO summaries (item_id, data, created) VALUES (?,?,?)", summaries)
            db.executemany(
                "UPDATE feeds SET last_polled=?, last_success=? WHERE id=?",
                [(NOW.isoformat(), NOW.isoformat(), f) for f in feed_ids],
            )
        store.create_run(
            f"bench-digest:{NOW.date()}",
            day=NOW.date(),
            now=NOW,
            subject="Today",
            item_ids=[],
            html="<p>digest</p>",
            text="digest",
            recipients=[(f"reader{i:06d}@example.org", None, f"<{i}@bench>") for i in range(deliveries)],
        )
        store.db.execute("UPDATE deliveries SET state='sent' WHERE run_key=?", (f"bench-digest:{NOW.date()}",))
        store.finish_run(f"bench-digest:{NOW.date()}", now=NOW)
    (folder / "subscribers.yml").write_text("subscribers:\n  - email: reader@example.org\n", encoding="utf-8")
    return config


def dashboard_page(config: Path) -> Callable[[], HTMLResponse]:
    """The dashboard's template rendered from a context worked out once: what the page costs with no data to
    gather."""
    from digest import daily, schedule
    from digest.service import Service
    from digest.web import Pages

    settings = load_settings(config)
    pages = Pages(Service(settings, clock=lambda: NOW))
    with Store(settings.database) as store:
        runs = store.recent_runs(7)
        context = {
            "csrf": "x" * 32,
            "feeds": store.feed_health(),
            "runs": [(r, daily.run_tally(settings, store, r)) for r in runs],
            "next_send": schedule.next_send(settings, NOW, store.run_status(daily.run_key(settings, NOW.date()))),
            "last_poll": store.last_poll(),
            "waiting": daily.waiting(settings, store, NOW),
            "last_send": "",
            "problems": (),
        }
    return lambda: pages.page("admin/dashboard", 200, **context)


def bare_app(health_body: dict[str, object], page: Callable[[], HTMLResponse]) -> Starlette:
    async def health(request: Request) -> Response:
        return JSONResponse(health_body)

    async def dashboard(request: Request) -> Response:
        return page()

    async def sign_in(request: Request) -> Response:
        request.session.update(sid="s" * 43, csrf="c" * 32)  # a session the size of ours
        return Response()

    # The dashboard's reference sits behind the same session middleware as ours: any page behind a login pays
    # for its signed cookie; what is compared is the work of the handler.
    return Starlette(
        routes=[Route("/health", health), Route("/admin", dashboard), Route("/login", sign_in)],
        middleware=[Middleware(SessionMiddleware, secret_key=SECRET, session_cookie="digest_session")],
    )


async def per_request(client: httpx.AsyncClient, path: str, n: int) -> tuple[float, float]:
    """CPU-ms per request and requests per second over n sequential requests."""
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(n):
        r = await client.get(path)
        assert r.status_code in (200, 503), (path, r.status_code)
    return (time.process_time() - cpu) / n * 1000, n / (time.perf_counter() - wall)


async def login(client: httpx.AsyncClient) -> None:
    page = (await client.get("/admin/login")).text
    csrf = re.search(r'name="csrf" value="([^"]+)"', page)
    assert csrf is not None
    r = await client.post("/admin/login", data={"password": PASSWORD, "csrf": csrf[1]})
    assert r.status_code == 303, r.status_code


# A small launcher runs the command, so that the peak it reports is the command's own (a child forked from this
# big process would be charged for the parent's pages), with the command's CPU time.
# The installed `digest` script, as a user types it (`python -m digest.cli` when there is none).
_SCRIPT = Path(sys.executable).with_name("digest")
ENTRY = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "digest.cli"]
# The launcher times the command itself: its own start-up (an interpreter and `subprocess`, 20-30 ms) had been
# counted in the command's wall time.
LAUNCHER = (
    "import resource, subprocess, sys, time; t = time.perf_counter(); "
    "subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL); t = time.perf_counter() - t; "
    "u = resource.getrusage(resource.RUSAGE_CHILDREN); print(u.ru_maxrss, u.ru_utime + u.ru_stime, t)"
)


def status_run(config: Path) -> tuple[float, float, float]:
    """`digest status` as a command: wall seconds, peak RSS in MB and CPU seconds (the bytecode compiled first,
    as an installed service has it)."""
    compile_package()
    out = subprocess.run(
        [sys.executable, "-c", LAUNCHER, *ENTRY, "--config", str(config), "status"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    return float(out[2]), int(out[0]) / 1024, float(out[1])


def click_run() -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import click"], check=True)
    return time.perf_counter() - start


async def measure(configs: dict[int, Path]) -> dict[str, tuple[float, float]]:
    clients: dict[str, tuple[httpx.AsyncClient, str]] = {}
    # The clock moves a second at every reading: every request is worked out afresh, as a monitor asking every
    # few seconds sees it (a second's later requests would be answered from its first answer).
    ticks = itertools.count()
    for size, config in configs.items():
        app = create_app(load_settings(config), clock=lambda: NOW + timedelta(seconds=next(ticks)))
        probe = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://bench")
        editor = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://bench")
        await login(editor)
        clients[f"health_{size}"] = (probe, "/health")
        clients[f"dashboard_{size}"] = (editor, "/admin")
    health_body = (await clients[f"health_{SIZES[0]}"][0].get("/health")).json()
    page = dashboard_page(configs[SIZES[0]])
    bare = bare_app(health_body, page)
    bare_probe = httpx.AsyncClient(transport=httpx.ASGITransport(app=bare), base_url="https://bench")
    bare_editor = httpx.AsyncClient(transport=httpx.ASGITransport(app=bare), base_url="https://bench")
    await bare_editor.get("/login")
    clients["bare"] = (bare_probe, "/health")
    clients["bare_page"] = (bare_editor, "/admin")
    for client, path in clients.values():
        await per_request(client, path, 10)  # warm: templates compiled, connections opened
    got: dict[str, list[tuple[float, float]]] = {name: [] for name in clients}
    names = list(clients)
    for n in range(ROUNDS):
        # Each round takes the cases in another order, and each case starts with no garbage of the one before it
        # to collect: the case that followed the dashboards had been charged for their garbage (/health at 1k
        # read 0.24 CPU-ms a request, at 100k 0.19).
        random.Random(n).shuffle(names)
        for name in names:
            client, path = clients[name]
            gc.collect()
            got[name].append(await per_request(client, path, REQUESTS))
    for client, _ in clients.values():
        await client.aclose()
    return {
        name: (statistics.median(c for c, _ in runs), statistics.median(r for _, r in runs))
        for name, runs in got.items()
    }


def main() -> None:
    os.environ.setdefault("DIGEST_SECRET", SECRET)
    os.environ["DIGEST_ADMIN_PASSWORD_HASH"] = hash_password(PASSWORD)
    with tempfile.TemporaryDirectory(prefix="digest-bench-health-") as tmp:
        start = time.perf_counter()
        configs = {size: build(Path(tmp) / str(size), size) for size in SIZES}
        built = time.perf_counter() - start
        figures = asyncio.run(measure(configs))
        big = configs[SIZES[-1]]
        click_s, status = [], []
        for _ in range(3):
            click_s.append(click_run())
            status.append(status_run(big))
    small, large = (f"{n // 1000}k" for n in SIZES)
    print(load())
    print(
        f"history: {ITEMS:,} items ({PENDING} waiting), {len(SIZES)} databases with {SIZES[0]:,} and {SIZES[-1]:,} "
        f"deliveries in today's run (built in {built:.0f} s); {REQUESTS} requests × {ROUNDS} rounds, interleaved, "
        f"medians; in-process ASGI, one httpx client"
    )
    bare_ms, bare_rps = figures["bare"]
    page_ms, page_rps = figures["bare_page"]
    print(f"bare starlette /health (constant JSON): {bare_ms:.2f} CPU-ms a request, {bare_rps:.0f} requests/s")
    worst = {}
    for what, ref_ms in (("health", bare_ms), ("dashboard", page_ms)):
        for size, label in zip(SIZES, (small, large), strict=True):
            ms, rps = figures[f"{what}_{size}"]
            print(
                f"{'/health' if what == 'health' else '/admin (dashboard)'} at {label} deliveries: {ms:.2f} CPU-ms, "
                f"{rps:.0f} requests/s ({ms / ref_ms:.2f}× the bare handler)"
            )
        worst[what] = max(figures[f"{what}_{s}"][0] for s in SIZES) / ref_ms
        if what == "health":
            print(
                f"bare starlette /admin (the dashboard's template from a ready context, behind the same session "
                f"middleware): {page_ms:.2f} CPU-ms, {page_rps:.0f} requests/s"
            )
    growth = {w: figures[f"{w}_{SIZES[-1]}"][0] / figures[f"{w}_{SIZES[0]}"][0] for w in ("health", "dashboard")}
    print(
        f"{large} ÷ {small}: /health {growth['health']:.2f}×, dashboard {growth['dashboard']:.2f}×; worst against "
        f"the bare handler: /health {worst['health']:.2f}×, dashboard {worst['dashboard']:.2f}× (target ≤ {TARGET}×: "
        f"{'met' if max(worst.values()) <= TARGET else 'MISSED'})"
    )
    status_s = statistics.median(s for s, _, _ in status)
    status_mb = statistics.median(m for _, m, _ in status)
    status_cpu = statistics.median(c for _, _, c in status)
    click_med = statistics.median(click_s)
    print(
        f"digest status at {ITEMS:,} items, {SIZES[-1]:,} deliveries (median of 3): {status_s:.3f} s "
        f"({status_cpu:.3f} s of CPU), peak RSS "
        f"{status_mb:.0f} MB ({status_s / click_med:.2f}× python -c 'import click' at {click_med:.3f} s; target ≤ "
        f"{STATUS_S} s and ≤ {STATUS_MB} MB: {'met' if status_s <= STATUS_S and status_mb <= STATUS_MB else 'MISSED'})"
    )
    print(
        f"RESULT health_{small}_ms={figures[f'health_{SIZES[0]}'][0]:.2f} "
        f"health_{large}_ms={figures[f'health_{SIZES[-1]}'][0]:.2f} bare_ms={bare_ms:.2f} "
        f"health_ratio={worst['health']:.2f} dashboard_{small}_ms={figures[f'dashboard_{SIZES[0]}'][0]:.2f} "
        f"dashboard_{large}_ms={figures[f'dashboard_{SIZES[-1]}'][0]:.2f} bare_page_ms={page_ms:.2f} "
        f"dashboard_ratio={worst['dashboard']:.2f} status_s={status_s:.3f} status_cpu_s={status_cpu:.3f} "
        f"status_mb={status_mb:.0f}"
    )


if __name__ == "__main__":
    main()

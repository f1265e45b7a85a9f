"""Subscriber lists of 50,000: how long the list takes to load, and what a whole `digest send` to it holds.

- Loading: `subscribers.load` (validated into frozen Subscribers, as `send` and `status` read it) of a list of
  50,000 (and of 5,000) addresses with names, as `digest subscribers add` writes it, beside the YAML safe loader
  alone (ruamel's C parser: no validation) on the same file; interleaved, medians of 3.
- Memory: `digest send` as a command, to 5,000 and to 50,000 subscribers, through an aiosmtpd sink in another
  process: the command's peak RSS, and the ratio of the two (flat memory: the list, not a tree of it, is held).

- A page's lookup: one address found in the 50,000 by `digest serve`'s copy of the list (`ListCache`: a stat, and
  a read only when the file changed), beside the list's load, which each such page paid before.

Last line: RESULT load_s=… yaml_s=… load_ratio=… send_small_mb=… send_large_mb=… growth=… lookup_us=…
Targets (issue 14): the 50k list loaded in ≤ 0.5 s; `send` to 50k with a peak ≤ 120 MB. (Before: 2.84 s, and
177 MB as the round-trip tree of the list was held, about 2 KB a subscriber.)
"""

from __future__ import annotations

import asyncio
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from ruamel.yaml import YAML

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import QUICK, free_port, load
from bench.send import start_sink
from digest import pipeline
from digest.config import load_settings
from digest.fetch import Fetcher
from digest.store import Store
from digest.subscribers import ListCache
from digest.subscribers import load as load_subscribers

ROOT = Path(__file__).resolve().parent.parent
LARGE = 10_000 if QUICK else 50_000
SMALL = LARGE // 10
LOAD_S, PEAK_MB = 0.5, 120
NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
# The launcher is small, so the peak it reports for its child is the child's own, not a copy of a big parent.
PEAK = (
    "import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL); "
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
)


def write_list(path: Path, n: int) -> None:
    path.write_text(
        "# subscribers\nsubscribers:\n"
        + "".join(f"  - email: reader{i:06d}@example.org\n    name: Reader {i}\n" for i in range(n)),
        encoding="utf-8",
    )


def timed(fn: object, *args: object) -> float:
    start = time.perf_counter()
    fn(*args)  # type: ignore[operator]
    return time.perf_counter() - start


def send_peak_mb(work: Path, port: int, n: int) -> tuple[float, float]:
    """`digest send` to n subscribers in a fresh copy of the prepared store: peak RSS (MB) and seconds."""
    folder = work / str(n)
    folder.mkdir()
    write_list(folder / "subscribers.yml", n)
    (folder / "digest.sqlite3").write_bytes((work / "digest.sqlite3").read_bytes())
    config = (work / "digest.yml").read_text(encoding="utf-8")
    (folder / "digest.yml").write_text(config, encoding="utf-8")
    start = time.perf_counter()
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            PEAK,
            sys.executable,
            "-m",
            "digest.cli",
            "--config",
            str(folder / "digest.yml"),
            "send",
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return int(out.split()[-1]) / 1024, time.perf_counter() - start


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="digest-bench-subscribers-"))
    lists = {n: work / f"list-{n}.yml" for n in (SMALL, LARGE)}
    for n, path in lists.items():
        write_list(path, n)
    yaml = YAML(typ="safe")
    got: dict[str, list[float]] = {"ours_small": [], "ours": [], "yaml": []}
    for _ in range(3):
        got["yaml"].append(timed(lambda p: yaml.load(p.read_text(encoding="utf-8")), lists[LARGE]))
        got["ours"].append(timed(load_subscribers, lists[LARGE]))
        got["ours_small"].append(timed(load_subscribers, lists[SMALL]))
    assert len(load_subscribers(lists[LARGE]).subscribers) == LARGE
    medians = {k: statistics.median(v) for k, v in got.items()}
    # A page's lookup (a reader's preferences, a confirmation) in `digest serve`, the file unchanged since it was
    # read: the server's copy (`ListCache`), beside reading the list for the request, as every page did before.
    last = load_subscribers(lists[LARGE]).subscribers[-1].email
    cache = ListCache(lists[LARGE], settle=0.0)  # the file was just written: trusted at once, here only
    cache.get()
    lookups = 200
    start = time.perf_counter()
    for _ in range(lookups):
        assert cache.get().find(last) is not None
    lookup_s = (time.perf_counter() - start) / lookups

    port = free_port()
    sink = start_sink(port)
    try:
        (work / "digest.yml").write_text(
            "from_address: digest@example.org\ndatabase: digest.sqlite3\nbackfill_hours: 175200\n"
            f"subscribers_file: subscribers.yml\nfetch:\n  mirror_dir: {ROOT / 'demo' / 'web'}\n"
            "feeds:\n"
            "  - {name: HM Inspectorate of Probation, url: 'https://hmiprobation.justiceinspectorates.gov.uk/news/feed/',"
            " type: inspectorate, filter: false}\n"
            "  - {name: Russell Webster, url: 'https://www.russellwebster.com/feed/', type: blog}\n"
            f"delivery:\n  method: smtp\n  smtp: {{host: 127.0.0.1, port: {port}, tls: none, pool: 2, rate: 10000}}\n",
            encoding="utf-8",
        )
        settings = load_settings(work / "digest.yml")

        async def prepare() -> None:
            with Store(settings.database) as store:
                async with Fetcher(settings.fetch) as fetcher:
                    await pipeline.poll(settings, store, fetcher, clock=lambda: NOW)
                    await pipeline.process(settings, store, fetcher, clock=lambda: NOW)

        asyncio.run(prepare())
        small_mb, small_s = send_peak_mb(work, port, SMALL)
        large_mb, large_s = send_peak_mb(work, port, LARGE)
    finally:
        sink.terminate()
        sink.wait()
        shutil.rmtree(work, ignore_errors=True)
    ours, ref = medians["ours"], medians["yaml"]
    print(load())
    print(f"subscriber lists of {SMALL:,} and {LARGE:,} addresses with names; loads interleaved, medians of 3")
    print(f"YAML safe loader alone (ruamel, C parser), {LARGE:,}: {ref:.3f} s")
    print(
        f"subscribers.load (read and validated), {LARGE:,}: {ours:.3f} s ({ours / ref:.2f}× the YAML loader alone; "
        f"{SMALL:,}: {medians['ours_small']:.3f} s; target ≤ {LOAD_S} s: {'met' if ours <= LOAD_S else 'MISSED'})"
    )
    print(
        f"a page's lookup of one address in {LARGE:,}, the file unchanged: {lookup_s * 1e6:.0f} µs (reading the "
        f"list for the request, as pages did before: {ours * 1000:.0f} ms)"
    )
    print(
        f"digest send, peak RSS: {small_mb:.0f} MB to {SMALL:,} ({small_s:.0f} s), {large_mb:.0f} MB to {LARGE:,} "
        f"({large_s:.0f} s): {large_mb / small_mb:.2f}× for {LARGE // SMALL}× the subscribers "
        f"(target ≤ {PEAK_MB} MB: {'met' if large_mb <= PEAK_MB else 'MISSED'})"
    )
    print(
        f"RESULT load_s={ours:.3f} yaml_s={ref:.3f} load_ratio={ours / ref:.2f} send_small_mb={small_mb:.0f} "
        f"send_large_mb={large_mb:.0f} growth={large_mb / small_mb:.2f} lookup_us={lookup_s * 1e6:.0f}"
    )


if __name__ == "__main__":
    main()

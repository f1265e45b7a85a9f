"""Send the digest to 5,000 subscribers (2,000 with --quick) through an aiosmtpd sink in a separate process.

Measures `daily.send_digest` end to end (subscriber list, ledger rows, rendering, per-subscriber messages,
SMTP over `pool` connections) and, in the same run, the sink's raw rate: pre-built messages of the same size
sent with bare smtplib over the same number of connections, no ledger. The two take turns, three rounds each
(after the first, the run is rebuilt with --force and sent again in full); medians.

Last line: RESULT rate=… raw_rate=… ratio=… client_cpu_ms_per_msg=… peak_rss_mb=…
Targets: ratio ≥ 0.9 (issue 14; 0.8 in issue 6); client CPU ≤ 1.5 ms per message; peak memory < 300 MB.

`--dkim` signs every message (the test key in tests/data/dkim) to show what signing costs; `-n` sets how many
subscribers.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import smtplib
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import QUICK, load
from digest import daily, pipeline
from digest.config import Settings, load_settings
from digest.deliver import Sender, SmtpSender
from digest.fetch import Fetcher
from digest.store import Store

ROOT = Path(__file__).resolve().parent.parent
N = 2_000 if QUICK else 5_000
ROUNDS = 3
TARGET = 0.9
POOL = 2
NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_sink(port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{port}", "-c", "aiosmtpd.handlers.Sink"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("the sink did not start")


def raw_rate(port: int, data: bytes, n: int) -> float:
    """Pre-built messages over POOL connections with bare smtplib: what the sink can take."""
    per = n // POOL

    def worker() -> None:
        conn = smtplib.SMTP("127.0.0.1", port)
        for i in range(per):
            conn.sendmail("digest@example.org", [f"raw{i}@example.org"], data)
        conn.quit()

    threads = [threading.Thread(target=worker) for _ in range(POOL)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return per * POOL / (time.perf_counter() - start)


def _sender(settings: Settings) -> Sender:
    assert settings.smtp is not None, "the bench's settings send by SMTP"
    sender: Sender = SmtpSender(settings.smtp)
    if settings.dkim is not None:
        from digest.signing import DkimSigner, SignedSender

        sender = SignedSender(sender, DkimSigner(settings.dkim))
    return sender


def main() -> None:
    global N
    parser = argparse.ArgumentParser()
    parser.add_argument("--dkim", action="store_true", help="sign every message with DKIM")
    parser.add_argument("-n", type=int, default=N, help="subscribers")
    parser.add_argument("--quick", action="store_true", help="2,000 subscribers (bench.common reads it too)")
    args = parser.parse_args()
    N = args.n
    work = Path(tempfile.mkdtemp(prefix="digest-bench-send-"))
    port = free_port()
    sink = start_sink(port)
    try:
        (work / "subscribers.yml").write_text(
            "subscribers:\n" + "".join(f"  - email: reader{i:05d}@example.org\n" for i in range(N))
        )
        (work / "digest.yml").write_text(
            "from_address: digest@example.org\ndatabase: digest.sqlite3\nbackfill_hours: 175200\n"
            f"fetch:\n  mirror_dir: {ROOT / 'demo' / 'web'}\n"
            "feeds:\n"
            "  - {name: HM Inspectorate of Probation, url: 'https://hmiprobation.justiceinspectorates.gov.uk/news/feed/',"
            " type: inspectorate, filter: false}\n"
            "  - {name: Russell Webster, url: 'https://www.russellwebster.com/feed/', type: blog}\n"
            f"delivery:\n  method: smtp\n  smtp: {{host: 127.0.0.1, port: {port}, tls: none, pool: {POOL}, "
            "rate: 10000}\n"
            + (f"dkim: {{selector: bench, key_file: {ROOT / 'tests/data/dkim/test.key'}}}\n" if args.dkim else "")
        )
        settings = load_settings(work / "digest.yml")

        async def prepare() -> None:
            with Store(settings.database) as store:
                async with Fetcher(settings.fetch) as fetcher:
                    await pipeline.poll(settings, store, fetcher, clock=lambda: NOW)
                    await pipeline.process(settings, store, fetcher, clock=lambda: NOW)

        asyncio.run(prepare())
        assert settings.smtp is not None
        with Store(settings.database) as store:
            sample = daily.test_message(settings, store, "reader00000@example.org", now=NOW).data
        # Taking turns, the sink's raw rate and ours, ROUNDS times (a rebuilt run, --force, after the first):
        # a burst of load from elsewhere hits both; medians.
        raws: list[float] = []
        rates: list[float] = []
        cpus: list[float] = []
        for n in range(ROUNDS):
            raws.append(raw_rate(port, sample, N))
            cpu0 = resource.getrusage(resource.RUSAGE_SELF)
            start = time.perf_counter()
            with Store(settings.database) as store:
                outcome = daily.send_digest(settings, store, _sender(settings), clock=lambda: NOW, force=n > 0)
            elapsed = time.perf_counter() - start
            cpu1 = resource.getrusage(resource.RUSAGE_SELF)
            assert outcome.report is not None and outcome.report.sent == N, outcome.message
            rates.append(N / elapsed)
            cpus.append((cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime))
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        raw, rate, cpu = statistics.median(raws), statistics.median(rates), statistics.median(cpus)
    finally:
        sink.terminate()
        sink.wait()
    print(load())
    print(
        f"{N:,} subscribers, {len(sample) / 1024:.1f} KB messages, {POOL} connections, sink in another process; "
        f"medians of {ROUNDS}, taking turns"
    )
    print(
        f"raw smtplib, pre-built messages, {POOL} connections: {raw:.0f} messages/s "
        f"(each: {', '.join(f'{r:.0f}' for r in raws)})"
    )
    print(
        f"digest send: {rate:.0f} messages/s (each: {', '.join(f'{r:.0f}' for r in rates)}); {rate / raw:.2f}× the "
        f"sink's raw rate (target ≥ {TARGET}: {'met' if rate / raw >= TARGET else 'MISSED'}); client CPU "
        f"{cpu / N * 1000:.3f} ms a message; peak RSS {peak:.0f} MB"
    )
    print(
        f"RESULT rate={rate:.0f} raw_rate={raw:.0f} ratio={rate / raw:.2f} client_cpu_ms_per_msg={cpu / N * 1000:.3f} "
        f"peak_rss_mb={peak:.0f}"
    )


if __name__ == "__main__":
    main()

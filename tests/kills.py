"""The SIGKILL experiment on the ledger: a real `digest send` killed at random moments, again and again, each
time followed by another `digest send` of the same run, against an aiosmtpd sink that counts what it accepted
per recipient. Shared by the test (tests/test_ledger_kills.py) and the benchmark (bench/kill.py).

The sink counts a message before it answers 250, so a message counted but not recorded as sent when a process
dies is exactly one the server accepted before the ledger wrote it down: the only duplicate a kill may cause.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP as SMTPProtocol
from aiosmtpd.smtp import Envelope, Session

from digest import acceptances, daily, pipeline
from digest.config import load_settings
from digest.fetch import Fetcher
from digest.store import Store

ROOT = Path(__file__).resolve().parent.parent
NOON = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


class CountingSink:
    """An aiosmtpd server on 127.0.0.1 that counts the messages it accepts, per recipient."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.received: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._controller = Controller(self, hostname="127.0.0.1", port=port)

    async def handle_DATA(self, server: SMTPProtocol, session: Session, envelope: Envelope) -> str:
        with self._lock:
            self.received.update(envelope.rcpt_tos)  # counted before the 250 leaves
        return "250 2.0.0 Ok: queued"

    def total(self) -> int:
        with self._lock:
            return sum(self.received.values())

    def snapshot(self) -> Counter[str]:
        with self._lock:
            return Counter(self.received)

    def __enter__(self) -> CountingSink:
        self._controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._controller.stop()


def prepare(work: Path, port: int, subscribers: int, *, pool: int = 2) -> tuple[Path, list[str]]:
    """A settings file, a subscriber list and a database polled from the demo's mirrored feed; returns the
    settings file and the addresses."""
    addresses = [f"reader{i:05d}@example.org" for i in range(subscribers)]
    (work / "subscribers.yml").write_text("subscribers:\n" + "".join(f"  - email: {a}\n" for a in addresses))
    config = work / "digest.yml"
    config.write_text(
        "from_address: digest@example.org\ndatabase: digest.sqlite3\nbackfill_hours: 175200\n"
        f"fetch:\n  mirror_dir: {ROOT / 'demo' / 'web'}\n"
        "feeds:\n  - {name: Russell Webster, url: 'https://www.russellwebster.com/feed/', type: blog}\n"
        f"delivery:\n  method: smtp\n  smtp: {{host: 127.0.0.1, port: {port}, tls: none, pool: {pool}, "
        "rate: 10000, retries: 1}\n"
    )
    settings = load_settings(config)

    async def poll() -> None:
        with Store(settings.database) as store:
            async with Fetcher(settings.fetch) as fetcher:
                await pipeline.poll(settings, store, fetcher, clock=lambda: NOON)
                await pipeline.process(settings, store, fetcher, clock=lambda: NOON)

    asyncio.run(poll())
    return config, addresses


@dataclass
class Figures:
    kills: int = 0
    caused: list[int] = field(default_factory=list)  # per kill: messages accepted that the ledger did not record
    duplicates: int = 0  # messages the sink got more than once, all told
    missed: int = 0  # subscribers the sink never got a message for
    seconds: float = 0.0

    def line(self) -> str:
        worst = max(self.caused, default=0)
        return (
            f"kills={self.kills} duplicates={self.duplicates} missed={self.missed} "
            f"worst_kill={worst} seconds={self.seconds:.1f}"
        )


def _unaccounted(config: Path, received: Counter[str]) -> int:
    """Copies the sink holds beyond what the ledger accounts for: one per `sent` row or acceptance in the
    journal the next send settles (see digest.acceptances), none for any other (that recipient is sent to
    again). After the last send it is the number of duplicates; between kills it grows by the messages each kill
    left accepted but unrecorded."""
    settings = load_settings(config)
    with Store(settings.database) as store:
        key = daily.run_key(settings, daily.digest_day(settings, datetime.now(UTC)))  # `digest send` reads the clock
        sent = {d.email for d in store.deliveries(key, ["sent"])}
    for journal in acceptances.journal_files(settings.database):
        sent |= {email for run, email, _ in acceptances.read(journal) if run == key}
    return sum(n - (email in sent) for email, n in received.items())


def _settled(sink: CountingSink) -> Counter[str]:
    """What the sink holds once it has read everything a dead process had already written to its sockets."""
    last = -1
    while (now := sink.total()) != last:
        last = now
        time.sleep(0.1)
    return sink.snapshot()


def experiment(
    config: Path, sink: CountingSink, addresses: list[str], *, kills: int, rng: random.Random, most: float = 0.25
) -> Figures:
    """Kill `digest send` `kills` times, each at a random moment up to `most` seconds after it has begun
    delivering (it may be mid-DATA, waiting for a 250, or writing the ledger), then let a last one finish."""
    env: dict[str, Any] = {**os.environ, "DIGEST_CONFIG": str(config)}
    cmd = [sys.executable, "-m", "digest.cli", "send"]
    figures = Figures()
    unaccounted = 0
    start = time.monotonic()
    while figures.kills < kills:
        before = sink.total()
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 60
        while sink.total() == before and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.002)
        time.sleep(rng.uniform(0, most))
        if proc.poll() is not None:
            _, err_bytes = proc.communicate()  # reads and closes its pipe: no file left open for a later test
            err = err_bytes.decode() if err_bytes else ""
            raise RuntimeError(f"`digest send` ended before kill {figures.kills + 1} (too few subscribers?): {err}")
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        if proc.stderr:
            proc.stderr.close()
        figures.kills += 1
        now = _unaccounted(config, _settled(sink))
        figures.caused.append(now - unaccounted)
        unaccounted = now
    last = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    if last.returncode != 0:
        raise RuntimeError(f"the last `digest send` failed: {last.stderr}")
    figures.seconds = time.monotonic() - start
    received = sink.snapshot()
    figures.duplicates = sum(n - 1 for n in received.values() if n > 1)
    figures.missed = sum(1 for a in addresses if not received[a])
    return figures

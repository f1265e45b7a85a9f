"""The command's fixed cost: what `digest` pays before it does anything, each beside its reference in this run.

- `digest --help` (the installed script, as a user types it; `python -m digest.cli` without one), wall time,
  median of 5 subprocess runs, against `python -c "import click"` (the least a click command can cost);
- a poll's fixed cost: `digest poll --all --no-read` of one feed that answers 304 Not Modified from 127.0.0.1
  with no latency (settings read, database opened, the HTTP client and its TLS context made, one conditional
  request, nothing to parse), median of 7, against `python -c pass` (the interpreter alone). It was measured with
  zero feeds until the HTTP client came to be made at the first request: a poll with nothing to fetch now
  skips it, but a poll that fetches does not, and that is the cost measured.

The package's bytecode is compiled first, as `pip install` does: what an installed service pays, and what the
libraries (and `import click`) already have. A checkout run with PYTHONDONTWRITEBYTECODE=1 (some sandboxes set
it) writes none and compiles every module of the package on every command: about 60 ms more for a poll.

Beside the poll, the import of the libraries it cannot do without (click, asyncio, httpx, certifi, ruamel.yaml,
msgspec, sqlite3): the machine's speed shows in it, and the difference is the poll's own cost.

Last line: RESULT help_s=… click_s=… help_ratio=… poll_s=… python_s=… poll_ratio=… libraries_s=… own_s=…
Targets (issue 14): `digest --help` ≤ 0.15 s; a poll's fixed cost ≤ 0.3 s. (Before lazy imports: 0.6 s and
about 1.9 s, as everything, trafilatura, pypdf, bs4 and the daily run included, was imported eagerly.)
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import compile_package, free_port, serve

# What a poll must import, whoever wrote it: the CLI, the event loop, the HTTP client and the TLS bundle, the
# settings' YAML and validation, SQLite. Timed beside the poll, so that a run on a slow machine says so.
LIBRARIES = "import click, asyncio, httpx, certifi, ruamel.yaml, msgspec, sqlite3, json"
HELP_TARGET = 0.15
POLL_TARGET = 0.3
CONFIG = """\
list_name: Startup bench
from_address: digest@example.org
contact: editor@example.org
public_url: https://digest.example.org
database: digest.sqlite3
subscribers_file: subscribers.yml
fetch:
  allow_private: [127.0.0.1]
feeds:
  - name: Unchanged
    url: http://127.0.0.1:{port}/feed
delivery:
  method: outbox
"""


def wall(cmd: list[str], runs: int, cwd: Path) -> float:
    """The median wall time of `runs` runs of cmd, which must succeed.

    Waited for with a blocking wait and a watchdog, not `subprocess.run(timeout=…)`: with a timeout, Popen polls
    the child with sleeps that grow to 50 ms, and every figure had come out up to 50 ms long, on a 50 ms grid."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        watchdog = threading.Timer(60, proc.kill)
        watchdog.daemon = True  # Ctrl-C ends the bench at once
        watchdog.start()
        try:
            code = proc.wait()
            times.append(time.perf_counter() - start)
        finally:
            watchdog.cancel()
            if proc.poll() is None:  # Ctrl-C: the child goes too
                proc.kill()
                proc.wait()
        if code:
            raise subprocess.CalledProcessError(code, cmd)
    return statistics.median(times)


def main() -> None:
    py = sys.executable
    with tempfile.TemporaryDirectory(prefix="digest-startup-") as tmp:
        cwd = Path(tmp)
        port = free_port()
        feed = Path(__file__).resolve().parent.parent / "demo" / "web" / "www.russellwebster.com" / "feed" / "index"
        server = serve("127.0.0.1", port, {"/feed": ("application/rss+xml", feed.read_bytes())}, 0, etags=True)
        try:
            (cwd / "digest.yml").write_text(CONFIG.replace("{port}", str(port)), encoding="utf-8")
            # The installed `digest` script, as a user types it (`python -m digest.cli` when there is none).
            script = Path(py).with_name("digest")
            entry = [str(script)] if script.exists() else [py, "-m", "digest.cli"]
            cli = [*entry, "--config", str(cwd / "digest.yml")]
            poll = [*cli, "poll", "--all", "--no-read"]
            wall(poll, 1, cwd)  # the first creates the database and stores the ETag
            # A poll whose fetch failed exits 0 too (a proxy in the environment, say): time only the real thing.
            said = subprocess.run(poll, cwd=cwd, capture_output=True, text=True, check=True).stdout
            if "not modified" not in said:
                raise SystemExit(f"the poll did not get its 304, so there is nothing to time: {said.strip()}")
            compile_package()
            wall([*cli, "--help"], 1, cwd)  # warm the file cache
            click_s = wall([py, "-c", "import click"], 5, cwd)
            help_s = wall([*cli, "--help"], 5, cwd)
            python_s = wall([py, "-c", "pass"], 5, cwd)
            # Taking turns, so that both see the machine as it is: a noisy figure, so more runs.
            libraries, polls = [], []
            for _ in range(7):
                libraries.append(wall([py, "-c", LIBRARIES], 1, cwd))
                polls.append(wall(poll, 1, cwd))
            libraries_s, poll_s = statistics.median(libraries), statistics.median(polls)
        finally:
            server.shutdown()
            server.server_close()
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"load average: {load}; {os.cpu_count()} CPUs")
    print(f'python -c "import click" (median of 5): {click_s:.3f} s')
    print(
        f"digest --help (median of 5): {help_s:.3f} s ({help_s / click_s:.2f}× import click; "
        f"target ≤ {HELP_TARGET} s: {'met' if help_s <= HELP_TARGET else 'MISSED'})"
    )
    print(f"python -c pass (median of 5): {python_s:.3f} s")
    print(
        f"digest poll --all --no-read, one feed answering 304 (median of 7): {poll_s:.3f} s ({poll_s / python_s:.2f}× "
        f"python -c pass; target ≤ {POLL_TARGET} s: {'met' if poll_s <= POLL_TARGET else 'MISSED'})"
    )
    print(
        f"beside it, taking turns, importing the libraries a poll cannot do without (median of 7): "
        f"{libraries_s:.3f} s; the poll's own {poll_s - libraries_s:.3f} s beyond them (settings, store, its modules, "
        "the TLS context, the request)"
    )
    print(
        f"RESULT help_s={help_s:.3f} click_s={click_s:.3f} help_ratio={help_s / click_s:.2f} "
        f"poll_s={poll_s:.3f} python_s={python_s:.3f} poll_ratio={poll_s / python_s:.2f} "
        f"libraries_s={libraries_s:.3f} own_s={poll_s - libraries_s:.3f}"
    )


if __name__ == "__main__":
    main()

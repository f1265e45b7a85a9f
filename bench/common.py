"""What the benchmarks share: the load average, medians of interleaved runs, `--quick`, and HTTP servers on
127.0.0.x that answer after a fixed latency."""

from __future__ import annotations

import hashlib
import os
import socket
import statistics
import sys
import threading
import time
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

QUICK = "--quick" in sys.argv or os.environ.get("BENCH_QUICK") == "1"


def compile_package() -> None:
    """Write the package's bytecode, as `pip install` does, before a command is timed as a process: with
    PYTHONDONTWRITEBYTECODE=1 (some sandboxes set it) a checkout would otherwise compile every module on every
    run, which no installed service does."""
    import compileall
    from pathlib import Path

    compileall.compile_dir(Path(__file__).resolve().parent.parent / "digest", quiet=1)


def load() -> str:
    """The load average beside the CPU count: figures on a busy machine are noisy, and the note says so."""
    return "load average " + ", ".join(f"{x:.2f}" for x in os.getloadavg()) + f" on {os.cpu_count()} CPUs"


def interleaved(runs: int, **cases: Callable[[], float]) -> dict[str, float]:
    """Run each case `runs` times, taking turns (a, b, a, b, …) so that a burst of load hits both; medians."""
    got: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(runs):
        for name, case in cases.items():
            got[name].append(case())
    return {name: statistics.median(values) for name, values in got.items()}


def children_cpu(exclude: tuple[int, ...] = ()) -> float:
    """CPU seconds (user and system) used so far by this process's live children, other than `exclude` (a
    worker pool's processes, say, which `resource` counts only once they have exited). Linux only: 0 elsewhere."""
    total = 0.0
    tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    try:
        tasks = os.listdir(f"/proc/{os.getpid()}/task")
    except OSError:
        return 0.0
    pids: set[int] = set()
    for task in tasks:
        try:
            with open(f"/proc/{os.getpid()}/task/{task}/children") as f:
                pids.update(int(p) for p in f.read().split())
        except OSError:
            continue
    for pid in pids - set(exclude):
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick  # utime and stime, fields 14 and 15 of stat
        except (OSError, IndexError, ValueError):
            continue
    return total


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def etag_of(body: bytes) -> str:
    """The ETag `serve` gives a body: the same in every process (`hash()` of bytes is not)."""
    return '"' + hashlib.sha1(body).hexdigest()[:16] + '"'


def serve(
    host: str, port: int, bodies: Mapping[str, tuple[str, bytes]], latency: float, etags: bool = False
) -> ThreadingHTTPServer:
    """Serve path -> (content type, body) after `latency` seconds per response; with `etags` (each `etag_of` its
    body), answer a matching If-None-Match with 304."""
    tags = {path: etag_of(body) for path, (_, body) in bodies.items()}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            time.sleep(latency)
            found = bodies.get(self.path)
            if found is None:
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            ctype, body = found
            if etags and self.headers.get("If-None-Match") == tags[self.path]:
                self.send_response(304)
                self.send_header("ETag", tags[self.path])
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", ctype)
            if etags:
                self.send_header("ETag", tags[self.path])
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = _Server((host, port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


class _Server(ThreadingHTTPServer):
    # A real host's backlog, not socketserver's 5: a client opening ten connections at once to one host would
    # otherwise see some refused and retried a second later, and be timed as slow for it.
    request_queue_size = 128

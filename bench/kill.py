"""SIGKILL a real `digest send` again and again mid-send, each time followed by another `digest send` of the same
run, against an aiosmtpd sink (in this process) that counts what it accepts per recipient; then print how many
messages were duplicated and how many subscribers missed. The experiment is tests/kills.py, as the test runs it.

Usage: python bench/kill.py [--kills 20] [--subscribers 2000] [--pool 2] [--seed N]
Last line: RESULT kills=… duplicates=… missed=… worst_kill=… seconds=…
Target (issue 16): missed 0; duplicates at most one per kill (the message whose 250 arrived but was not written).
"""

from __future__ import annotations

import argparse
import random
import socket
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.kills import CountingSink, experiment, prepare


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--subscribers", type=int, default=2000)
    parser.add_argument("--pool", type=int, default=2, help="SMTP connections")
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    work = Path(tempfile.mkdtemp(prefix="digest-bench-kill-"))
    port = free_port()
    config, addresses = prepare(work, port, args.subscribers, pool=args.pool)
    most = min(0.3, args.subscribers / args.kills / 2000)  # leave every kill something to land in
    with CountingSink(port) as sink:
        figures = experiment(config, sink, addresses, kills=args.kills, rng=random.Random(seed), most=most)
    print(f"{args.subscribers:,} subscribers, {args.pool} connections, seed {seed}")
    print(f"messages left accepted but unrecorded, per kill: {figures.caused}")
    print(
        f"kills {figures.kills}, duplicates {figures.duplicates} (reference: at most {figures.kills}, one per kill; "
        f"ratio {figures.duplicates / figures.kills:.2f}), missed {figures.missed}"
    )
    print(f"RESULT {figures.line()}")


if __name__ == "__main__":
    main()

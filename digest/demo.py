"""`make demo`: poll the bundled sample feeds, summarise, and deliver today's digest to .demo/outbox.

Offline: the feeds, pages and the report PDF are served from demo/web by the fetcher's mirror transport.
Running it again the same day sends nothing (the ledger says why); `--reset` starts from scratch and says so.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from .cli import main as cli_main

ROOT = Path(__file__).resolve().parent.parent
STATE = ROOT / ".demo"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="make demo", description=__doc__)
    parser.add_argument("--reset", action="store_true", help="delete .demo/ first and start again")
    args = parser.parse_args(argv)
    if args.reset and STATE.exists():
        shutil.rmtree(STATE)
        print("reset: deleted .demo/ (database, outbox, preview); starting again")
    STATE.mkdir(exist_ok=True)
    config = STATE / "digest.yml"
    shutil.copyfile(ROOT / "demo" / "digest.yml", config)
    for command in (["poll"], ["send"], ["preview", "--out", str(STATE / "preview.html")]):
        try:
            cli_main(["--config", str(config), *command])
        except SystemExit as exc:
            if exc.code:
                raise
    outbox = STATE / "outbox"
    emls = sorted(outbox.rglob("*.eml"))
    print(f"outbox: {outbox.relative_to(ROOT)} ({len(emls)} .eml files)")
    for eml in emls:
        print(f"  {eml.relative_to(ROOT)}")
    print(f"preview: {(STATE / 'preview.html').relative_to(ROOT)}")
    if not emls:
        sys.exit(1)


if __name__ == "__main__":
    main()

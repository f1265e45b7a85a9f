"""`make demo`: poll the bundled sample feeds, summarise, and deliver today's digest to .demo/outbox.

Offline: the feeds, pages and the report PDF are served from demo/web by the fetcher's mirror transport.
Running it again the same day sends nothing (the ledger says why); `--reset` starts from scratch and says so.
Everything it writes is under the state folder: the subscriber list is a copy of subscribers.example.yml there,
so subscribing on the demo site or adding in its admin never changes a file in the repository.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import shutil
import sys
from pathlib import Path

from .cli import main as cli_main

ROOT = Path(__file__).resolve().parent.parent
STATE = ROOT / ".demo"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="make demo", description=__doc__)
    parser.add_argument("--reset", action="store_true", help="delete the state folder first and start again")
    parser.add_argument("--state", type=Path, default=STATE, help="where the demo keeps its state (default .demo)")
    args = parser.parse_args(argv)
    state: Path = args.state.resolve()
    if args.reset and state.exists():
        shutil.rmtree(state)
        print(f"reset: deleted {_show(state)} (database, subscribers, outbox, preview); starting again")
    state.mkdir(parents=True, exist_ok=True)
    config = state / "digest.yml"
    # The demo config names the repository's files relative to .demo/; make them absolute for any state folder.
    text = (ROOT / "demo" / "digest.yml").read_text(encoding="utf-8").replace(": ../", f": {ROOT}/")
    config.write_text(text, encoding="utf-8")
    subscribers = state / "subscribers.yml"
    if not subscribers.exists():  # kept between runs, so what was added on the demo site stays until --reset
        shutil.copyfile(ROOT / "subscribers.example.yml", subscribers)
    for command in (["poll"], ["send"], ["preview", "--out", str(state / "preview.html")]):
        # The send has said the subject; the preview's path is said below with the outbox's.
        quiet = contextlib.redirect_stdout(io.StringIO()) if command[0] == "preview" else contextlib.nullcontext()
        try:
            with quiet:
                cli_main(["--config", str(config), *command])
        except SystemExit as exc:
            if exc.code:
                raise
    outbox = state / "outbox"
    emls = sorted(outbox.rglob("*.eml"))
    print(f"outbox: {_show(outbox)} ({len(emls)} .eml files)")
    for eml in emls:
        print(f"  {_show(eml)}")
    print(f"preview: {_show(state / 'preview.html')}")
    if not emls:
        sys.exit(1)


def _show(path: Path) -> str:
    """A path relative to the repository when it is inside it."""
    try:
        return str(path.relative_to(ROOT))
    except ValueError:
        return str(path)


if __name__ == "__main__":
    main()

"""The command line as a user runs it: the JSON contract, status, preview, exit codes, documented commands."""

from __future__ import annotations

import json
import os
import queue
import random
import re
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import click
import pytest

from digest.cli import cli, main

from .conftest import REPO, SECRET, SEEDS, WebServer, demo_feeds, free_port
from .test_extract import PDF

KEYS = [
    "title",
    "kind",
    "about_probation",
    "organisation",
    "rating",
    "published",
    "chief_inspector",
    "summary",
    "key_findings",
    "recommendations",
    "recommendation_owners",
]


def run(*args: str, config: Path | None = None) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "digest.cli", *(["--config", str(config)] if config else []), *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


def test_summarise_json_contract_for_a_pdf() -> None:
    """`digest summarise report.pdf --json` prints one object with exactly the stable keys."""
    r = run("summarise", str(PDF), "--json")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert list(data) == KEYS
    assert data["kind"] == "inspection" and data["about_probation"] is True
    assert data["organisation"] == "South Yorkshire" and data["rating"] is None
    assert data["chief_inspector"] == "Dame Glenys Stacey"
    assert len(data["recommendations"]) == 13
    owners = data["recommendation_owners"]  # whom each is for, in order, as the report's "X should:" lines say
    assert len(owners) == 13 and owners[2] == "The Community Rehabilitation Company"
    assert owners[-1] == "The Ministry of Justice"
    assert len(data["summary"].split()) <= 120
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", data["published"])


@pytest.mark.parametrize("name", ["blog_hlny_crc_2019.txt", "press_northamptonshire_2017.txt"])
def test_summarise_json_for_text_files(name: str) -> None:
    """Text files work too, with --words respected."""
    r = run("summarise", str(SEEDS / name), "--json", "--words", "60")
    data = json.loads(r.stdout)
    assert list(data) == KEYS and len(data["summary"].split()) <= 60
    assert data["chief_inspector"] == "Dame Glenys Stacey"


def test_summarise_a_url(web: WebServer, make_config: Any, capsys: pytest.CaptureFixture[str]) -> None:
    """An http(s) URL is fetched and summarised (HTML page)."""
    config = make_config([])
    main(
        [
            "--config",
            str(config),
            "summarise",
            web.url("https://www.russellwebster.com/another-private-probation-service-under-performing/"),
            "--json",
        ]
    )
    data = json.loads(capsys.readouterr().out)
    assert data["rating"] == "Requires improvement"
    assert data["title"] == "Another private probation service under-performing"


def test_missing_file_and_bad_config_exit_codes(tmp_path: Path) -> None:
    """Bad input: a clear message naming the file, and a non-zero exit code."""
    r = run("summarise", str(tmp_path / "missing.pdf"))
    assert r.returncode == 2 and "missing.pdf" in r.stderr
    bad = tmp_path / "digest.yml"
    bad.write_text("feeds:\n  - name: X\n    url: nope\n")
    r = run("status", config=bad)
    assert r.returncode == 2
    assert r.stderr.strip() == f"error: {bad}:3: feeds[0].url: 'nope' is not valid; expected an http or https URL"


def test_status_and_preview(web: WebServer, make_config: Any, tmp_path: Path) -> None:
    """`digest status` shows feed health and what waits; `digest preview` writes today's email."""
    config = make_config(demo_feeds(web), subscribers=["a@example.org"])
    assert run("poll", config=config).returncode == 0
    status = run("status", config=config).stdout
    assert "feeds: 4 (0 with errors)" in status
    assert "waiting for the next digest: 6 items (from 7 feed items about probation" in status
    out = tmp_path / "p.html"
    r = run("preview", "--out", str(out), config=config)
    assert r.returncode == 0 and "preview:" in r.stdout
    assert "Probation work in South Yorkshire" in out.read_text()
    text = run("preview", "--text", config=config).stdout
    assert text.startswith("PROBATION DIGEST\n")
    dry = run("send", "--dry-run", config=config).stdout
    assert "would send to 1 of 1 subscriber " in dry
    assert not (tmp_path / "outbox").exists()


def test_a_reader_whose_choices_miss_every_item_is_sent_nothing_and_told_why(
    web: WebServer, make_config: Any, tmp_path: Path
) -> None:
    """A reader who chose research alone, on a day of inspections and posts: `send --dry-run` says nobody would be
    sent to, and why; `send` sends no email of nothing (send_empty is off) and says so."""
    config = make_config(demo_feeds(web), subscribers=[])
    (tmp_path / "subscribers.yml").write_text(
        "subscribers:\n  - email: r@example.org\n    preferences:\n      kinds: [research]\n", encoding="utf-8"
    )
    # before the poll, nothing at all: said as such, not blamed on their being weekly or paused
    assert (
        "would send to 0 of 1 subscriber (0 suppressed, 1 with nothing new today)"
        in run("send", "--dry-run", config=config).stdout
    )
    assert run("poll", config=config).returncode == 0
    dry = run("send", "--dry-run", config=config).stdout
    assert "would send to 0 of 1 subscriber (0 suppressed, 1 with nothing today that they chose); 6 items" in dry
    sent = run("send", config=config)
    assert sent.returncode == 0, sent.stderr
    assert "1 reader chose nothing of today's 6 items" in sent.stdout
    assert not list((tmp_path / "outbox").rglob("*.eml"))


@pytest.mark.parametrize(
    ("flags", "said"),
    [
        (("--force", "--resend-failed"), "choose one"),
        (("--to", "t@example.org", "--dry-run"), "cannot go with --dry-run"),
        (("--to", "t@example.org", "--force"), "cannot go with --force"),
    ],
)
def test_send_refuses_flags_that_contradict_each_other(
    make_config: Any, tmp_path: Path, flags: tuple[str, ...], said: str
) -> None:
    """`send --force --resend-failed` sent to everyone, and `--to X --dry-run` reported on the whole list: each flag
    silently lost to the other. Now the pair is refused, with nothing sent or recorded."""
    config = make_config([], subscribers=["a@example.org"])
    r = run("send", *flags, config=config)
    assert r.returncode == 2 and said in r.stderr
    assert not (tmp_path / "outbox").exists() and not list(tmp_path.glob("*.sqlite3"))


def test_paths_that_cannot_be_written_are_named_and_the_send_loses_nobody(
    web: WebServer, make_config: Any, tmp_path: Path
) -> None:
    """An outbox, a preview file or a database under something that is not a folder: one line naming the path, no
    traceback; the send stops with everyone still pending, and sends to them all once the path is put right."""
    config = make_config(demo_feeds(web), subscribers=["a@example.org", "b@example.org"])
    assert run("poll", config=config).returncode == 0
    (tmp_path / "afile").write_text("not a folder")
    good = config.read_text()
    config.write_text(good.replace("outbox_dir: ", "outbox_dir: afile/"))
    stopped = run("send", config=config)
    assert stopped.returncode == 1 and "Traceback" not in stopped.stderr
    assert "STOPPED with 2 still pending: cannot write to " in stopped.stdout and "afile" in stopped.stdout
    preview = run("preview", "--out", str(tmp_path / "afile" / "p.html"), config=config)
    assert preview.returncode == 1 and "Traceback" not in preview.stderr
    assert preview.stderr.strip().startswith(f"error: {tmp_path / 'afile'}")
    config.write_text(good)
    sent = run("send", config=config)
    assert sent.returncode == 0 and "2 sent, 0 failed" in sent.stdout
    config.write_text(good.replace("database: ", "database: afile/"))
    status = run("status", config=config)
    assert status.returncode == 1 and status.stderr.strip().startswith(f"error: {tmp_path / 'afile'}")
    assert "Traceback" not in status.stderr


def test_status_counts_the_configured_feeds_and_forgets_a_feed_taken_out(
    web: WebServer, make_config: Any, tmp_path: Path
) -> None:
    """Before the first poll `digest status` counts the feeds in the settings, not yet polled (it said "feeds: 0")
    and `digest feeds` does not call them ok; a broken feed taken out of the settings is no longer reported (it
    was, in `status`, `feeds`, /health and the dashboard, for ever)."""
    broken = {"name": "Gone away", "url": web.url("https://gone.example/feed/")}
    config = make_config([*demo_feeds(web), broken], subscribers=["a@example.org"])
    assert "feeds: 5 (0 with errors, 5 not yet polled)" in run("status", config=config).stdout
    assert "not yet polled; last success never" in run("feeds", config=config).stdout
    run("poll", config=config)
    status = run("status", config=config).stdout
    assert "feeds: 5 (1 with errors)" in status and "! Gone away: " in status
    config.write_text(config.read_text().replace(f'  - name: "Gone away"\n    url: {broken["url"]}\n', ""))
    status = run("status", config=config).stdout
    assert "feeds: 4 (0 with errors)" in status and "Gone away" not in status
    assert "Gone away" not in run("feeds", config=config).stdout


@pytest.mark.parametrize("command", ["status", "serve"])
def test_a_file_that_is_not_a_database_is_named_without_a_traceback(
    make_config: Any, tmp_path: Path, command: str
) -> None:
    """The database file damaged (here: random bytes): `status` and `serve` say which file and what to do, exit 1,
    and print no traceback (serve exited 3 after one, the code `digest` gives to a lock)."""
    config = make_config([])
    (tmp_path / "digest.sqlite3").write_bytes(bytes(range(256)) * 20)
    r = run(command, config=config)
    assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr[-2000:]
    assert "digest.sqlite3: cannot use the database: file is not a database" in r.stderr
    assert "restore it from a backup" in r.stderr


def test_demo_runs_twice_and_says_why_the_second_sends_nothing(tmp_path: Path) -> None:
    """`make demo`'s job: one .eml per example subscriber; the second run sends nothing and says so. (Its state
    goes to a temporary folder: the test never touches a checkout's own .demo/.)"""
    demo = [sys.executable, "-m", "digest.demo", "--state", str(tmp_path / "demo")]
    r = subprocess.run([*demo, "--reset"], capture_output=True, text=True, timeout=300, cwd=REPO)
    assert r.returncode == 0, r.stderr
    assert "3 sent, 0 failed" in r.stdout and "(3 .eml files)" in r.stdout
    assert len(list((tmp_path / "demo" / "outbox").rglob("*.eml"))) == 3
    again = subprocess.run(demo, capture_output=True, text=True, timeout=300, cwd=REPO)
    assert "already sent today to 3 subscribers; nothing to do" in again.stdout


def test_the_demo_email_says_the_same_in_both_parts_and_labels_links_truly(tmp_path: Path) -> None:
    """Read as a subscriber would: a press release is never labelled the report; a post's organisation and the
    chief inspector's words are in the HTML as in the text; each finding names the service it is about; a
    summary neither says a thing twice nor opens on "Another …" without the first."""
    demo = [sys.executable, "-m", "digest.demo", "--state", str(tmp_path / "demo")]
    subprocess.run([*demo, "--reset"], capture_output=True, text=True, timeout=300, cwd=REPO, check=True)
    eml = next((tmp_path / "demo" / "outbox").rglob("editor@example.org.eml"))
    msg = message_from_bytes(eml.read_bytes(), policy=policy.default)
    html = msg.get_body(("html",)).get_content()  # type: ignore[union-attr]
    text = msg.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    release = re.search(
        r'<a href="[^"]*/news/probation-services-in-northamptonshire-need-to-improve/"[^>]*>([^<]+)<', html
    )
    assert release and release[1] == "News release"
    assert (
        "News release: https://hmiprobation.justiceinspectorates.gov.uk/news/probation-services-in-northamptonshire"
        in text
    )
    flat = re.sub(r"\s+", " ", text)
    for both in ("the morale of operational staff is low", "Humberside, Lincolnshire and North Yorkshire CRC"):
        assert both in flat
        assert both in re.sub(r"\s+", " ", html.replace("&amp;", "&"))
    assert "- CRC: Work to reduce reoffending was poor." in flat
    assert "- NPS: Their work to reduce reoffending was acceptable" in flat
    assert "Another concern" not in flat and "For women, there is an impressive range" not in flat


def _commands(group: click.Group, prefix: str = "digest") -> list[str]:
    out = []
    for name, cmd in group.commands.items():
        full = f"{prefix} {name}"
        out.append(full)
        if isinstance(cmd, click.Group):
            out += _commands(cmd, full)
    return out


def test_every_command_is_documented_in_the_readme() -> None:
    """The README's command reference names every command and subcommand `digest --help` lists."""
    readme = (REPO / "README.md").read_text()
    missing = [c for c in _commands(cli) if f"`{c}" not in readme]
    assert missing == []


def test_send_says_when_new_items_are_not_summarised_yet(web: WebServer, make_config: Any) -> None:
    """Items polled but not yet read would miss today's email: `digest send` says so."""
    config = make_config(demo_feeds(web)[1:2], subscribers=["a@example.org"])
    assert run("poll", "--no-read", config=config).returncode == 0
    r = run("send", config=config)
    assert "3 new items are not summarised yet" in r.stderr
    assert "nothing new today" in r.stdout


@pytest.mark.parametrize("args", [["subscribers", "add", "not-an-address"], ["send", "--to", "nobody"]])
def test_an_invalid_address_is_a_clear_error(tmp_path: Path, args: list[str]) -> None:
    """An address that is not one gets a one-line error and exit code 2, never a traceback."""
    config = tmp_path / "digest.yml"
    config.write_text("database: d.sqlite3\n")
    r = run(*args, config=config)
    assert r.returncode == 2
    assert r.stderr.startswith("error: '") and "is not a valid email address" in r.stderr
    assert "Traceback" not in r.stderr


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["subscribers", "add", "a@example.org"], "a@example.org is already subscribed"),
        (["subscribers", "remove", "nobody@example.org"], "nobody@example.org is not on the list"),
    ],
)
def test_an_edit_the_list_refuses_for_what_it_asks_is_bad_input(make_config: Any, args: list[str], said: str) -> None:
    """Adding an address already on the list, or removing one not on it, is bad input (exit 2, as the README maps
    it), not a failure (it exited 1); the file is unchanged."""
    config = make_config([], subscribers=["a@example.org"])
    listed = (config.parent / "subscribers.yml").read_bytes()
    r = run(*args, config=config)
    assert (r.returncode, r.stderr.strip()) == (2, f"error: {said}")
    assert (config.parent / "subscribers.yml").read_bytes() == listed


def test_a_name_with_a_line_break_is_a_clear_error(tmp_path: Path) -> None:
    """`subscribers add --name` with a line break in it exits 2 with a one-line reason and adds nobody."""
    config = tmp_path / "digest.yml"
    config.write_text("database: d.sqlite3\n")
    r = run("subscribers", "add", "eve@example.org", "--name", "Eve\r\nBcc: x@evil.example", config=config)
    assert r.returncode == 2
    assert r.stderr == (
        "error: a name cannot contain line breaks, control characters or text-direction overrides (it has U+000D)\n"
    )
    assert not (tmp_path / "subscribers.yml").exists()


@pytest.mark.parametrize("text", ["", "# Probation Digest settings\n\n# list_name: Probation Digest\n"])
def test_an_empty_settings_file_is_refused(tmp_path: Path, text: str) -> None:
    """A digest.yml with nothing in it (0 bytes, or only comments) is an error naming the file, not all defaults."""
    config = tmp_path / "digest.yml"
    config.write_text(text)
    r = run("status", config=config)
    assert r.returncode == 2
    assert r.stderr.strip() == (
        f"error: {config}: no settings (the file is empty or only comments); expected keys such as list_name, "
        "from_address, feeds and delivery (see digest.example.yml)"
    )


def _break(subscribers: Path, how: str) -> None:
    if how == "missing":
        subscribers.unlink()
    elif how == "empty":
        subscribers.write_text("")
    else:
        subscribers.write_text("# nobody yet\nsubscribers: []\n")


_NO_LIST = {
    "missing": "file not found",
    "empty": "no subscribers in the file",
    "an empty list": "no subscribers in the file",
}


@pytest.mark.parametrize("how", list(_NO_LIST))
def test_send_without_subscribers_records_nothing_and_sends_once_restored(
    web: WebServer, make_config: Any, tmp_path: Path, how: str
) -> None:
    """A missing or empty subscriber list stops `digest send` (exit 2, naming the file) before the day is
    recorded or its items claimed; once the file is back, `digest send` sends the day's items."""
    config = make_config(demo_feeds(web)[1:2], subscribers=["a@example.org"])
    assert run("poll", config=config).returncode == 0
    subscribers = tmp_path / "subscribers.yml"
    kept = subscribers.read_text()
    _break(subscribers, how)
    r = run("send", config=config)
    assert r.returncode == 2
    assert r.stderr.startswith(f"error: {subscribers}: {_NO_LIST[how]}; a send needs at least one subscriber, so ")
    status = run("status", config=config).stdout
    assert "recent digests: none yet" in status
    assert "waiting for the next digest: 3 items" in status
    subscribers.write_text(kept)
    r = run("send", config=config)
    assert r.returncode == 0, r.stderr
    assert ": 1 sent, 0 failed" in r.stdout
    assert [p.name for p in (tmp_path / "outbox").rglob("*.eml")] == ["a@example.org.eml"]


def _catch_up_now() -> str:
    """Schedule settings under which `digest serve` finds today's send overdue and sends at once: a fixed-offset
    zone where it is about noon now, a send time of midnight and a cut-off just before the next one."""
    offset = 12 - datetime.now(UTC).hour
    zone = f"Etc/GMT{'-' if offset >= 0 else '+'}{abs(offset)}"  # Etc/GMT-N is N hours ahead of UTC
    return f"schedule:\n  timezone: {zone}\n  send_time: '00:00'\n  missed_cutoff: '23:59'\n"


_SEND_LOG = re.compile(r"digest: send( failed| skipped)?: ")


def test_serve_does_not_record_a_day_without_subscribers(web: WebServer, make_config: Any, tmp_path: Path) -> None:
    """`digest serve`'s send job logs a missing subscriber list as an error and records nothing, so the day's
    items go out once the file is back."""
    config = make_config(demo_feeds(web)[1:2], subscribers=["a@example.org"], extra=_catch_up_now())
    subscribers = tmp_path / "subscribers.yml"
    kept = subscribers.read_text()
    subscribers.unlink()
    assert run("poll", "--all", config=config).returncode == 0  # the send job sends what the polls have read
    proc = subprocess.Popen(
        [sys.executable, "-m", "digest.cli", "--config", str(config), "serve", "--port", str(free_port())],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "DIGEST_SECRET": SECRET},
    )
    lines: queue.Queue[str] = queue.Queue()
    assert proc.stdout is not None
    reader = threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout or ()], daemon=True)
    reader.start()
    log = []
    try:
        deadline = time.monotonic() + 60
        while not any(_SEND_LOG.search(line) for line in log):
            assert time.monotonic() < deadline, "the catch-up send did not run:\n" + "".join(log)
            try:
                log.append(lines.get(timeout=1))
            except queue.Empty:
                pass
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
        reader.join(10)
        proc.stdout.close()
    sent = [line for line in log if _SEND_LOG.search(line)]
    assert f"ERROR digest: send failed: {subscribers}: file not found; a send needs at least one subscriber" in sent[0]
    status = run("status", config=config).stdout
    assert "recent digests: none yet" in status and "waiting for the next digest: 3 items" in status
    subscribers.write_text(kept)
    r = run("send", config=config)
    assert r.returncode == 0 and ": 1 sent, 0 failed" in r.stdout


def test_without_a_settings_file_it_says_where_it_looked_and_how_to_start(tmp_path: Path) -> None:
    """`digest status` with no settings file names the path it tried and why, and says how to start: copy
    digest.example.yml (in the folder, or the one installed with the package) or set DIGEST_CONFIG."""
    env = {k: v for k, v in os.environ.items() if k != "DIGEST_CONFIG"}
    r = subprocess.run(
        [sys.executable, "-m", "digest.cli", "status"], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert r.returncode == 2
    assert (
        f"looked for {tmp_path / 'digest.yml'} (the default, as neither --config nor $DIGEST_CONFIG is set)" in r.stderr
    )
    example = re.search(r"cp (\S+) digest\.yml", r.stderr)[1]  # type: ignore[index]
    assert Path(example).is_file() and Path(example).name == "digest.example.yml"
    assert "$DIGEST_CONFIG" in r.stderr.splitlines()[-1]

    (tmp_path / "digest.example.yml").write_text("# the example\n")  # as in the repository's root
    r = subprocess.run(
        [sys.executable, "-m", "digest.cli", "status"], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert "cp digest.example.yml digest.yml" in r.stderr

    env["DIGEST_CONFIG"] = str(tmp_path / "etc" / "digest.yml")
    r = subprocess.run(
        [sys.executable, "-m", "digest.cli", "status"], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert r.returncode == 2 and f"looked for {tmp_path / 'etc' / 'digest.yml'} (named by $DIGEST_CONFIG)" in r.stderr


HEAVY = ("trafilatura", "pypdf", "lxml", "feedparser", "httpx", "jinja2")


@pytest.mark.parametrize("args", [["--help"], ["subscribers", "--help"], ["feeds", "--help"]])
def test_help_imports_none_of_the_heavy_libraries(args: list[str]) -> None:
    """`digest --help` stays instant: it imports no extraction, feed, HTTP or template library (half a second)."""
    code = (
        "import sys\nfrom digest.cli import main\n"
        f"main({args!r})\n"
        f"print(' '.join(m for m in {HEAVY!r} if m in sys.modules) or 'none', file=sys.stderr)"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert "Usage: digest" in r.stdout
    assert r.stderr.strip().splitlines()[-1] == "none"


def test_a_pool_worker_imports_only_what_its_task_needs(tmp_path: Path) -> None:
    """A worker (spawned, so it imports the `digest` command as its main module) starts without the extraction and
    feed libraries; parsing a feed brings in feedparser and nothing for reading pages."""
    script = tmp_path / "digest_main.py"
    script.write_text(
        "from digest.cli import main  # as the installed `digest` script does\n"
        "if __name__ == '__main__':\n"
        "    import asyncio\n"
        "    from datetime import UTC, datetime\n"
        "    from digest.feeds import parse_feed\n"
        "    from digest.models import Feed\n"
        "    from digest.workers import WorkerPool\n"
        f"    PROBE = \"' '.join(m for m in {HEAVY!r} if m in __import__('sys').modules) or 'none'\"\n"
        "    async def go() -> None:\n"
        "        with WorkerPool(workers=1) as pool:\n"
        "            print(await pool.run(eval, PROBE))\n"
        "            feed = Feed(name='f', url='https://example.org/feed')\n"
        "            rss = b'<rss version=\"2.0\"><channel><title>t</title></channel></rss>'\n"
        "            await pool.run(parse_feed, rss, {}, feed=feed, url=feed.url, fetched_at=datetime.now(UTC))\n"
        "            print(await pool.run(eval, PROBE))\n"
        "    asyncio.run(go())\n",
        encoding="utf-8",
    )
    r = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split("\n")[:2] == ["none", "feedparser"]


def _noon_zone() -> str:
    """A fixed-offset zone where it is about noon now, so a late send time has not come yet today."""
    offset = 12 - datetime.now(UTC).hour
    return f"Etc/GMT{'-' if offset >= 0 else '+'}{abs(offset)}"  # Etc/GMT-N is N hours ahead of UTC


def test_after_todays_send_status_shows_tomorrow_and_dry_run_agrees_with_send(web: WebServer, make_config: Any) -> None:
    """Once today's digest has gone, `digest status` names tomorrow's send, and `send --dry-run` says there
    is nothing to do, as `send` does."""
    zone = _noon_zone()
    extra = f"schedule:\n  timezone: {zone}\n  send_time: '23:30'\n  missed_cutoff: '23:59'\n"
    config = make_config(demo_feeds(web)[1:2], subscribers=["a@example.org"], extra=extra)
    assert run("poll", config=config).returncode == 0
    today = datetime.now(ZoneInfo(zone)).date()
    assert f"next send: {today} 23:30" in run("status", config=config).stdout
    assert "would send to 1 of 1 subscriber " in run("send", "--dry-run", config=config).stdout
    assert ": 1 sent, 0 failed" in run("send", config=config).stdout
    assert f"next send: {today + timedelta(days=1)} 23:30" in run("status", config=config).stdout
    dry = run("send", "--dry-run", config=config).stdout
    again = run("send", config=config).stdout
    assert "already sent today to 1 subscriber; nothing to do" in again
    assert dry.startswith("already sent today to 1 subscriber; nothing to do") and "would send" not in dry


def test_dry_run_after_a_new_subscriber_counts_only_who_send_would_send_to(web: WebServer, make_config: Any) -> None:
    """After today's send, one new subscriber: `send --dry-run` says it would send to 1 (the others were sent
    today), and `send` then sends to exactly 1."""
    zone = _noon_zone()
    extra = f"schedule:\n  timezone: {zone}\n  send_time: '23:30'\n  missed_cutoff: '23:59'\n"
    config = make_config(demo_feeds(web)[1:2], subscribers=["a@example.org", "b@example.org"], extra=extra)
    assert run("poll", config=config).returncode == 0
    assert ": 2 sent, 0 failed" in run("send", config=config).stdout
    assert run("subscribers", "add", "new@example.org", config=config).returncode == 0
    dry = run("send", "--dry-run", config=config).stdout
    assert "would send to 1 of 3 subscribers (0 suppressed, 2 already sent today)" in dry
    assert ": 1 sent, 0 failed" in run("send", config=config).stdout


def test_preview_as_a_weekly_reader_says_when_their_next_email_goes_and_shows_it(
    web: WebServer, make_config: Any
) -> None:
    """`digest preview --subscriber` for a weekly reader on another day says they get nothing today and when
    they do, and shows that weekly email with the items owed to them, not today's daily one."""
    from digest.models import WEEKDAYS

    config = make_config(demo_feeds(web)[1:2], subscribers=[])
    today = datetime.now(ZoneInfo("Europe/London")).date()
    their_day = today + timedelta(days=2)
    (config.parent / "subscribers.yml").write_text(
        "subscribers:\n  - email: w@example.org\n    preferences:\n      frequency: weekly\n"
        f"      day: {WEEKDAYS[their_day.weekday()]}\n"
    )
    assert run("poll", config=config).returncode == 0
    r = run("preview", "--subscriber", "w@example.org", "--text", config=config)
    assert r.returncode == 0, r.stderr
    assert (
        f"w@example.org: not due today (weekly on {WEEKDAYS[their_day.weekday()].title()}s); their next email "
        f"goes on {their_day:%A %-d %B %Y}" in r.stderr
    )
    assert "This week: 3 posts." in r.stdout and f"{their_day:%A %-d %B %Y} - 3 new items" in r.stdout


def test_preview_as_a_reader_says_what_the_send_would_do_with_them_today(web: WebServer, make_config: Any) -> None:
    """After today's send: a reader already sent it is told their next email is tomorrow (it said "due today");
    a weekly reader whose day is today, added after the send, is shown today's items and told they go only if
    it is sent again now (it showed an empty email, "due today"); a reader whose choices miss every item is told
    no email goes today."""
    from digest.models import WEEKDAYS

    config = make_config(demo_feeds(web), subscribers=["a@example.org"])
    today = datetime.now(ZoneInfo("Europe/London")).date()
    assert run("poll", config=config).returncode == 0
    assert run("send", config=config).returncode == 0
    with (config.parent / "subscribers.yml").open("a") as f:
        f.write("  - email: w@example.org\n    preferences:\n      frequency: weekly\n")
        f.write(f"      day: {WEEKDAYS[today.weekday()]}\n")
        f.write("  - email: r@example.org\n    preferences:\n      kinds: [research]\n")
    sent = run("preview", "--subscriber", "a@example.org", "--text", config=config)
    tomorrow = today + timedelta(days=1)
    assert f"a@example.org: sent today's; their next email goes on {tomorrow:%A %-d %B %Y}" in sent.stderr
    weekly = run("preview", "--subscriber", "w@example.org", "--text", config=config)
    assert "w@example.org: joined after today's digest went: they get today's items only if it is sent again now" in (
        weekly.stderr
    )
    assert "6 new items" in weekly.stdout and "This week: 2 inspection reports, 4 posts." in weekly.stdout
    dry = run("send", "--dry-run", config=config).stdout
    assert "would send to 1 of 3 subscribers (0 suppressed, 1 already sent today, 1 with nothing today that" in dry
    narrowed = run("preview", "--subscriber", "r@example.org", "--text", config=config)
    assert "r@example.org: nothing today is of what they chose, so no email goes to them today" in narrowed.stderr


def test_poll_status_and_the_email_count_the_same_items_and_show_what_was_left_out(
    web: WebServer, make_config: Any, tmp_path: Path
) -> None:
    """`digest poll`, `digest status` and the email agree on the count (6 items from 7 feed items, 1 left out),
    and status names the item the filter left out and why, before and after the send."""
    config = make_config(demo_feeds(web), subscribers=["a@example.org"])
    poll = run("poll", config=config).stdout
    assert "summarised 8 new feed items: 7 about probation, 1 left out as not about probation" in poll
    counted = "6 items (from 7 feed items about probation, grouped by publication); 1 left out as not about probation"
    left_out = "left out: Prison officer recruitment drive opens in the North West (HM Prison and Probation Service): "
    before = run("status", config=config).stdout
    assert f"waiting for the next digest: {counted}; 0 not yet summarised" in before
    assert f"  {left_out}hardly mentions probation" in before
    assert "would send to 1 of 1 subscriber (0 suppressed); 6 items" in run("send", "--dry-run", config=config).stdout
    assert run("send", config=config).returncode == 0
    email = next((tmp_path / "outbox").rglob("*.eml")).read_text()
    assert "6 new items" in email
    after = run("status", config=config).stdout
    assert f"done     {counted}; 1 sent" in after
    assert f"    {left_out}hardly mentions probation" in after


def test_an_impossible_date_in_either_file_is_a_clear_error(make_config: Any, tmp_path: Path) -> None:
    """A date that does not exist (2026-02-30) in the subscribers list or the settings stops every command with the
    file, line and field, exit 2, and no traceback."""
    config = make_config([])
    subs = tmp_path / "subscribers.yml"
    subs.write_text(
        "subscribers:\n  - email: a@example.org\n    preferences:\n      kinds: [inspection]\n"
        "      paused_until: 2026-02-30\n",
        encoding="utf-8",
    )
    said = (
        f"error: {subs}:5: subscribers[0].preferences.paused_until: '2026-02-30' is not a real date; "
        "write a date that exists, or quote the value if it is text"
    )
    for args in (["subscribers", "list"], ["send", "--dry-run"]):
        r = run(*args, config=config)
        assert (r.returncode, r.stderr.strip()) == (2, said), args
    config.write_text(config.read_text().replace("list_name: Probation Digest", "list_name: 2026-02-30"))
    r = run("status", config=config)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert r.stderr.strip().startswith(f"error: {config}:1: list_name: '2026-02-30' is not a real date")


def test_summarise_refuses_binary_data_whatever_its_name(tmp_path: Path) -> None:
    """Random bytes, named .bin or .txt, are refused with a clear message (exit 2) instead of summarised garbage;
    text in Latin-1 still summarises."""
    noise = bytes(random.Random(7).randrange(256) for _ in range(20_000))
    for name in ("rand.bin", "rand.txt", "rand.html"):
        path = tmp_path / name
        path.write_bytes(noise)
        r = run("summarise", str(path))
        assert (r.returncode, r.stdout) == (2, ""), name
        assert (
            r.stderr.strip()
            == f"error: {path}: not text, HTML or PDF (the bytes are binary data); nothing to summarise"
        )
    latin = tmp_path / "note.txt"
    latin.write_bytes("Probation caf\u00e9 report: the service requires improvement.\n".encode("latin-1") * 20)
    assert run("summarise", str(latin)).returncode == 0


@pytest.mark.parametrize(
    ("name", "content", "said"),
    [
        ("fake.pdf", b"garbage\n", "named .pdf, but it is not a PDF (a PDF begins %PDF)"),
        ("saved-page.pdf", b"<html><body><p>Not found</p></body></html>", "named .pdf, but it is not a PDF"),
        ("empty.txt", b"", "empty: there is nothing to summarise"),
        ("blank.html", b"  \n\n ", "empty: there is nothing to summarise"),
    ],
)
def test_summarise_refuses_a_file_that_is_not_what_it_says(
    tmp_path: Path, name: str, content: bytes, said: str
) -> None:
    """A .pdf that is not one (a page saved under a PDF's name) printed its text as the title ("garbage"), and an
    empty file printed "Untitled" and no summary, both exit 0: now each is refused, saying why (exit 2)."""
    path = tmp_path / name
    path.write_bytes(content)
    r = run("summarise", str(path))
    assert r.returncode == 2 and r.stdout == "" and f"error: {path}: {said}" in r.stderr


def test_importing_a_csv_that_is_not_utf8_says_how_to_save_it(make_config: Any, tmp_path: Path) -> None:
    """A CSV in another encoding is refused with what to do (exit 2), not a traceback, and nothing is imported."""
    config = make_config([])
    csv = tmp_path / "bin.csv"
    csv.write_bytes(b"\xff\xfe\x00b\n")
    r = run("subscribers", "import", str(csv), config=config)
    assert (r.returncode, r.stderr.strip()) == (2, f"error: {csv}: not UTF-8 text (save it as CSV UTF-8)")
    csv.write_bytes("email,name\nzoe@example.org,Zo\u00eb\n".encode("utf-8-sig"))
    assert run("subscribers", "import", str(csv), config=config).returncode == 0
    assert "Zo\u00eb" in (tmp_path / "subscribers.yml").read_text(encoding="utf-8")


def test_a_misspelt_source_is_named_and_stops_no_one_elses_digest(
    web: WebServer, make_config: Any, tmp_path: Path
) -> None:
    """A reader's source that names no feed: `subscribers list` names its file, line and reader with the likely
    feed (exit 2); `send` warns the same way and still sends to everyone."""
    config = make_config(demo_feeds(web)[1:2])  # the one feed: "Russell Webster"
    subs = tmp_path / "subscribers.yml"
    subs.write_text(
        "subscribers:\n  - email: a@example.org\n  - email: typo@example.org\n    preferences:\n"
        "      sources: [Russel Webster]\n",
        encoding="utf-8",
    )
    said = (
        f"{subs}:5: subscribers[1].preferences.sources: 'Russel Webster' is not a feed in digest.yml, so "
        "typo@example.org gets nothing from it; did you mean 'Russell Webster'? the feeds are: Russell Webster"
    )
    listed = run("subscribers", "list", config=config)
    assert listed.returncode == 2 and "typo@example.org" in listed.stdout
    assert f"error: {said}" in listed.stderr.splitlines()
    assert run("poll", config=config).returncode == 0
    sent = run("send", config=config)
    assert sent.returncode == 0, sent.stderr
    assert f"warning: {said}" in sent.stderr.splitlines()
    assert "a@example.org.eml" in [p.name for p in (tmp_path / "outbox").rglob("*.eml")]


def test_serve_names_an_unknown_source_and_the_missing_admin_and_still_sends(
    web: WebServer, make_config: Any, tmp_path: Path
) -> None:
    """`digest serve` logs at start that the admin is unavailable without a password hash and names a reader's
    unknown source (file, line, reader), then sends the day's digest to everyone all the same."""
    config = make_config(demo_feeds(web)[1:2], extra=_catch_up_now())
    subs = tmp_path / "subscribers.yml"
    subs.write_text(
        "subscribers:\n  - email: a@example.org\n  - email: b@example.org\n    preferences: {sources: [Nonexistent]}\n",
        encoding="utf-8",
    )
    assert run("poll", "--all", config=config).returncode == 0
    env = {k: v for k, v in os.environ.items() if k != "DIGEST_ADMIN_PASSWORD_HASH"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "digest.cli", "--config", str(config), "serve", "--port", str(free_port())],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**env, "DIGEST_SECRET": SECRET},
    )
    lines: queue.Queue[str] = queue.Queue()
    assert proc.stdout is not None
    reader = threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout or ()], daemon=True)
    reader.start()
    log: list[str] = []
    try:
        deadline = time.monotonic() + 60
        while not any(_SEND_LOG.search(line) for line in log):
            assert time.monotonic() < deadline, "the catch-up send did not run:\n" + "".join(log)
            try:
                log.append(lines.get(timeout=1))
            except queue.Empty:
                pass
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
        reader.join(10)
        proc.stdout.close()
    text = "".join(log)
    assert "WARNING digest: $DIGEST_ADMIN_PASSWORD_HASH is not set, so the admin (/admin) is unavailable" in text
    assert (
        f"WARNING digest: subscribers: {subs}:4: subscribers[1].preferences.sources: 'Nonexistent' is not a feed in "
        "digest.yml, so b@example.org gets nothing from it" in text
    )
    assert "INFO digest: send: " in text and "send failed" not in text
    assert "a@example.org.eml" in [p.name for p in (tmp_path / "outbox").rglob("*.eml")]


def test_on_a_terminal_each_feeds_line_starts_its_own_line_above_the_progress_bar(
    web: WebServer, make_config: Any
) -> None:
    """`digest poll` in a terminal draws a progress bar on stderr; each feed's line is printed where the bar was
    (the bar's line cleared first) and the bar is drawn again below it, never glued after "2/4"."""
    import pty

    config = make_config(demo_feeds(web), subscribers=["a@example.org"])
    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "digest.cli", "--config", str(config), "poll", "--all", "--no-read"],
        stdin=follower,
        stdout=follower,
        stderr=follower,
        close_fds=True,
    )
    os.close(follower)
    out = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the terminal closed with the process
            break
        if not chunk:
            break
        out += chunk
    assert proc.wait(timeout=60) == 0
    os.close(leader)
    text = out.decode(errors="replace")
    lines = re.findall(r"poll [^\r\n:]+: [^\r\n]+", text)
    assert len(lines) == len(demo_feeds(web)), text
    assert "polling feeds" in text  # the bar was drawn
    for line in lines:
        assert f"\r\x1b[2K{line}" in text, (line, text)  # the bar's line cleared first, not glued after it

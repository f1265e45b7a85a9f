"""The subscriber list: clear errors with lines, edits that keep the editor's comments, safe writes."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

from digest.errors import ConfigError, InputError, SubscriberError
from digest.subscribers import Editor, ListCache, load, read_csv

from .conftest import REPO

LIST = """# Probation Digest subscribers (kept by the editor)
subscribers:
  # the editor first
  - email: editor@example.org
    name: Digest Editor
  - email: pdu@example.org   # West Kent
    preferences:
      kinds: [inspection]
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "subscribers.yml"
    path.write_text(text, encoding="utf-8")
    return path


def test_example_list_loads() -> None:
    """subscribers.example.yml is valid, preferences included."""
    subs = load(REPO / "subscribers.example.yml").subscribers
    assert [s.email for s in subs] == ["editor@example.org", "pdu.head@example.org", "research@charity.example.org"]
    assert subs[1].kinds == frozenset({"inspection", "thematic"})


def test_duplicate_addresses_name_both_lines(tmp_path: Path) -> None:
    """The same address twice (in any case) is an error that names both lines."""
    path = write(
        tmp_path, "subscribers:\n  - email: a@example.org\n  - email: b@example.org\n  - email: A@Example.org\n"
    )
    with pytest.raises(ConfigError) as err:
        load(path)
    assert str(err.value) == (f"{path}:4: subscribers[2].email: 'A@example.org' is listed twice: at lines 2 and 4")


def test_bad_address_names_file_line_and_field(tmp_path: Path) -> None:
    """An invalid address is reported with its line and field."""
    path = write(tmp_path, "subscribers:\n  - email: ok@example.org\n  - name: X\n    email: not-an-address\n")
    with pytest.raises(ConfigError) as err:
        load(path)
    assert str(err.value).startswith(f"{path}:4: subscribers[1].email: 'not-an-address' is not a valid address")


def test_unknown_field_and_bad_kind(tmp_path: Path) -> None:
    """Typos in fields and preference values are errors, not silently ignored."""
    with pytest.raises(ConfigError, match=r":3: subscribers\[0\].nmae: unknown field 'nmae'"):
        load(write(tmp_path, "subscribers:\n  - email: a@example.org\n    nmae: A\n"))
    with pytest.raises(ConfigError, match=r"'blogs' is not a kind"):
        load(write(tmp_path, "subscribers:\n  - email: a@example.org\n    preferences:\n      kinds: [blogs]\n"))


@pytest.mark.parametrize(
    ("name", "found"),
    [
        (r"Eve\r\nBcc: x@evil.example", "U+000D"),
        (r"Eve\nBcc: x@evil.example", "U+000A"),
        (r"Eve\0", "U+0000"),
        (r"Eve\tTab", "U+0009"),
        (r"Eve\u202Eevil", "U+202E"),
        (r"Eve\u2028Line", "U+2028"),
    ],
)
def test_control_characters_in_a_name_name_file_line_and_field(tmp_path: Path, name: str, found: str) -> None:
    """A name holding a line break, another control character or a bidi override is an error naming the file,
    the line and the field."""
    path = write(tmp_path, f'subscribers:\n  - email: a@example.org\n  - email: eve@example.org\n    name: "{name}"\n')
    with pytest.raises(ConfigError) as err:
        load(path)
    assert str(err.value).startswith(f"{path}:4: subscribers[1].name: ")
    assert str(err.value).endswith(
        f"is not valid; a name cannot contain line breaks, control characters or text-direction overrides "
        f"(it has {found})"
    )


def test_editor_and_csv_import_refuse_control_characters_in_names(tmp_path: Path) -> None:
    """Adding a name with a line break is refused before anything is written; a CSV row with one is a bad row."""
    path = write(tmp_path, LIST)
    with pytest.raises(InputError, match="a name cannot contain line breaks"):
        Editor(load(path)).add("eve@example.org", "Eve\r\nBcc: x@evil.example")
    assert path.read_text() == LIST
    report = read_csv('email,name\nok@example.org,OK\neve@example.org,"Eve\r\nBcc: x@evil.example"\n', load(path))
    assert report.good == [("ok@example.org", "OK")]
    assert [row for row, _ in report.bad] == [3]


def test_add_and_remove_keep_comments_and_order(tmp_path: Path) -> None:
    """Edits through the CLI code keep the editor's comments and the order of entries."""
    path = write(tmp_path, LIST)
    Editor(load(path)).add("new@example.org", "New Person")
    text = path.read_text()
    assert text.startswith("# Probation Digest subscribers (kept by the editor)\n")
    assert "  # the editor first\n" in text and "# West Kent" in text
    assert text.rstrip().endswith("- email: new@example.org\n    name: New Person")
    Editor(load(path)).remove("EDITOR@example.org")
    after = load(path)
    assert [s.email for s in after.subscribers] == ["pdu@example.org", "new@example.org"]
    assert "# West Kent" in path.read_text()


def test_edit_refused_when_the_file_changed_since_it_was_read(tmp_path: Path) -> None:
    """Someone else's edit in between is never overwritten."""
    path = write(tmp_path, LIST)
    loaded = load(path)
    path.write_text(LIST + "  - email: hand@example.org\n")
    with pytest.raises(SubscriberError, match="changed since it was read"):
        Editor(loaded).add("x@example.org")
    assert "hand@example.org" in path.read_text()
    assert "x@example.org" not in path.read_text()


def test_adding_an_existing_address_is_refused(tmp_path: Path) -> None:
    """No duplicates through the editor either."""
    path = write(tmp_path, LIST)
    with pytest.raises(SubscriberError, match="already subscribed"):
        Editor(load(path)).add("Editor@Example.org")


def test_csv_import_reports_every_bad_row(tmp_path: Path) -> None:
    """Each bad row is reported by number; duplicates are skipped."""
    loaded = load(write(tmp_path, LIST))
    report = read_csv("email,name\nok@example.org,OK\nbad-address,X\neditor@example.org,dup\n\nalso bad,\n", loaded)
    assert report.good == [("ok@example.org", "OK")]
    assert [row for row, _ in report.bad] == [3, 6]
    assert report.duplicates == ["editor@example.org"]


def test_cli_import_is_all_or_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """With a bad row nothing is imported (exit 2) unless --skip-invalid."""
    from digest.cli import main

    write(tmp_path, LIST)
    config = tmp_path / "digest.yml"
    config.write_text("database: d.sqlite3\n")
    csv = tmp_path / "in.csv"
    csv.write_text("a@example.org\nnope\n")
    with pytest.raises(SystemExit) as exit_:
        main(["--config", str(config), "subscribers", "import", str(csv)])
    assert exit_.value.code == 2
    assert f"{csv}:2: email:" in capsys.readouterr().err
    assert "a@example.org" not in (tmp_path / "subscribers.yml").read_text()
    main(["--config", str(config), "subscribers", "import", str(csv), "--skip-invalid"])
    assert "a@example.org" in (tmp_path / "subscribers.yml").read_text()


def test_list_shows_suppressed_status(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`digest subscribers list` shows why an address still in the file gets nothing."""
    from datetime import UTC, datetime

    from digest.cli import main
    from digest.store import Store

    write(tmp_path, LIST)
    config = tmp_path / "digest.yml"
    config.write_text("database: d.sqlite3\n")
    with Store(tmp_path / "d.sqlite3") as store:
        store.suppress("pdu@example.org", "unsubscribed", now=datetime(2026, 1, 1, tzinfo=UTC))
    main(["--config", str(config), "subscribers", "list"])
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:2] == ["editor@example.org", "active"]
    assert lines[1].split()[:2] == ["pdu@example.org", "unsubscribed"]


# Someone editing the file by hand while `digest subscribers add` runs. Whenever they see an add at work (its
# lock held), every other time they append an address in the middle of it, without the lock, as a person just
# saving the file would; and when it is done, they append one under the lock, as our own commands do.
# Appending means the editor never overwrites an add itself: whatever goes missing, an add lost.
_HAND_EDITOR = """
import fcntl, sys, time
from pathlib import Path

path, stop = Path(sys.argv[1]), Path(sys.argv[2])
edits, adds_seen, was_held = [], 0, False


def append():
    edits.append(f"hand{len(edits)}@example.org")
    with open(path, "a") as fh:
        fh.write(f"  - email: {edits[-1]}\\n")
    count.write_text(str(len(edits)))


count = stop.with_name("count")
with open(path.with_name(path.name + ".lock"), "a") as lock:
    count.write_text("0")  # watching: the adds may start
    while not stop.exists():
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            held = True
            if not was_held:
                adds_seen += 1
                if adds_seen % 2:
                    append()
        else:
            held = False
            if was_held:
                append()
            fcntl.flock(lock, fcntl.LOCK_UN)
        was_held = held
        time.sleep(0.001)
print(" ".join(edits))
"""


def test_hand_edits_made_while_adds_run_are_never_lost(tmp_path: Path) -> None:
    """While `digest subscribers add` processes run one after another and someone appends addresses to the file
    by hand (under the lock, and without it in the middle of an add), every hand edit and every add that said
    it succeeded is in the file; an add that could not be made safely says so."""
    import subprocess
    import sys
    import time

    from .test_cli import run

    path = write(
        tmp_path, "# the list\nsubscribers:\n" + "".join(f"  - email: old{i}@example.org\n" for i in range(100))
    )
    config = tmp_path / "digest.yml"
    config.write_text("database: d.sqlite3\n")
    stop, count = tmp_path / "stop", tmp_path / "count"
    editor = subprocess.Popen(
        [sys.executable, "-c", _HAND_EDITOR, str(path), str(stop)], stdout=subprocess.PIPE, text=True
    )
    added, refusals, tried = [], [], 0
    try:
        deadline = time.monotonic() + 30
        while not count.exists() and time.monotonic() < deadline:  # a loaded machine starts Python slowly
            time.sleep(0.05)
        # Adds go on until the editor has landed six edits among them (a short lock hold can slip between two
        # of its looks on a loaded machine), or twelve addresses have been tried.
        while tried < 12 and (tried < 3 or int(count.read_text() or 0) < 6):
            address, tried = f"added{tried}@example.org", tried + 1
            for _try in range(3):  # a refusal says "try again", and so a person would
                r = run("subscribers", "add", address, config=config)
                if r.returncode == 0:
                    added.append(address)
                    break
                refusals.append(r.stderr)
    finally:
        stop.touch()
        hand = editor.communicate(timeout=30)[0].split()
    on_list = {s.email for s in load(path).subscribers}
    assert [a for a in hand + added if a not in on_list] == []
    assert set(refusals) <= {f"error: {path} changed since it was read; nothing was written. Try again.\n"}
    assert len(added) == tried and len(hand) >= 6  # the hand edits did land during the adds, so a loss would show


ADDRESSES = [
    "reader@example.org",
    "first.last+digest@pdu.probation.gov.uk",
    "o'brien@example.co.uk",
    "x_y-z!#$%&'*+/=?^`{|}~@example.org",
    "A@Example.org",
    "UPPER@EXAMPLE.ORG",
    "a@b.c",
    "a@localhost",
    "a@example.local",
    "a@box.test",
    "a@something.invalid",
    "a@10.in-addr.arpa",
    "a@xn--bcher-kva.example",
    "a@ab--cd.example.org",
    "a@-start.example.org",
    "a@end-.example.org",
    "a@example.123",
    "a@example.c0m",
    ".a@example.org",
    "a.@example.org",
    "a..b@example.org",
    "a@example..org",
    "x" * 64 + "@example.org",
    "x" * 65 + "@example.org",
    "a@" + "d" * 63 + ".example.org",
    "a@" + "d" * 64 + ".example.org",
    "a@" + ".".join(["abcdefghi"] * 25) + ".org",
    "a@example." + "t" * 63,
    "a@example." + "t" * 64,
    "a@local.example.org",
    "a@example.-com",
    "a@example.c-m",
    "a@test.onion.example",
    "élodie@example.fr",
    "a@bücher.example",
    '"quoted"@example.org',
    "a@[192.0.2.1]",
    "not-an-address",
    "a@b@example.org",
    "  padded@example.org  ",
]


def test_the_quick_address_check_knows_email_validators_special_use_domains() -> None:
    """The quick check keeps its own copy of the domains email_validator refuses ("x@host.local"), so settings
    load without importing email_validator: an upgrade that changes the list is caught here."""
    import email_validator

    from digest.addresses import SPECIAL_USE

    assert set(SPECIAL_USE) == set(email_validator.SPECIAL_USE_DOMAIN_NAMES)
    assert all("." not in domain for domain in SPECIAL_USE)  # the check compares the last label only


def test_settings_are_read_without_importing_email_validator(tmp_path: Path) -> None:
    """Every command reads the settings' addresses; when they are plain, email_validator (a tenth of a poll's
    start-up) is not imported, and a bad one still gets its answer."""
    import subprocess
    import sys

    config = tmp_path / "digest.yml"
    config.write_text("from_address: digest@probation-digest.example\ncontact: Editor@Example.org\n")
    script = (
        "import sys; from digest.config import load_settings; s = load_settings(sys.argv[1]); "
        "print(s.from_address, 'email_validator' in sys.modules)"
    )
    r = subprocess.run([sys.executable, "-c", script, str(config)], capture_output=True, text=True, cwd=REPO)
    assert r.stdout.split() == ["digest@probation-digest.example", "False"], r.stderr
    config.write_text("from_address: digest@probation-digest..example\n")
    r = subprocess.run([sys.executable, "-c", script, str(config)], capture_output=True, text=True, cwd=REPO)
    assert r.returncode != 0 and "expected an email address" in r.stderr


@pytest.mark.parametrize("address", ADDRESSES)
def test_the_quick_address_check_agrees_with_email_validator(address: str) -> None:
    """An address taken without email_validator is one it accepts, in the same normal form; any other address
    gets email_validator's own answer."""
    from email_validator import EmailNotValidError, validate_email

    from digest.addresses import plain as _plain
    from digest.subscribers import _normal

    try:
        expected: str | None = validate_email(address.strip(), check_deliverability=False).normalized
    except EmailNotValidError:
        expected = None
    if _plain(address.strip()):
        assert expected == address.strip()
    try:
        got: str | None = _normal(address)
    except EmailNotValidError:
        got = None
    assert got == expected


def test_the_quick_address_check_never_takes_a_domain_email_validator_refuses() -> None:
    """5,000 random domains of letters, digits, hyphens and dots: every address the quick check takes without
    email_validator is one email_validator accepts unchanged ("a@example.-com" had been taken)."""
    import random

    from email_validator import EmailNotValidError, validate_email

    from digest.addresses import plain

    rng = random.Random(7)
    wrong = []
    for _ in range(5000):
        address = "x@" + "".join(rng.choice("ab-9.z") for _ in range(rng.randint(1, 12)))
        if plain(address):
            try:
                if validate_email(address, check_deliverability=False).normalized != address:
                    wrong.append(address)
            except EmailNotValidError:
                wrong.append(address)
    assert wrong == []


PLAIN_LISTS = [
    "subscribers:\n  - email: a@example.org\n    name: Reader One\n  - b@example.org\n",
    "# the list\nsubscribers:\n  # the editor first\n  - email: a@example.org   # West Kent\n\n"
    "  - name: Ó Súilleabháin, Aoife (PDU)\n    email: 1st@example.org\n",
    "subscribers:\r\n  - email: a@example.org\r\n    name: Reader\r\n",
    "subscribers:\n",
]
NOT_PLAIN_LISTS = [
    "subscribers:\n  - email: a@example.org\n    preferences:\n      kinds: [inspection]\n",
    "subscribers:\n  - email: 'a@example.org'\n",
    "subscribers:\n  - email: a@example.org\n    name: true\n",
    "subscribers:\n  - email: a@example.org\n    name: 2026-11-24\n",
    "subscribers:\n  - email: a@example.org\n    name: 12\n",
    "subscribers:\n  - email: a@example.org\n    name: null\n",
    "subscribers:\n  - email: a@example.org\n    email: b@example.org\n",
    "subscribers:\n  - email: a@example.org\n    nmae: A\n",
    "subscribers: []\n",
    "%YAML 1.1\n---\nsubscribers:\n  - email: a@example.org\n",
    "subscribers:\n  - email: a@example.org\n\tname: A\n",
    "\ufeffsubscribers:\n  - email: a@example.org\n",
    "- a@example.org\n",
]


@pytest.mark.parametrize("text", PLAIN_LISTS + NOT_PLAIN_LISTS)
def test_the_quick_list_reader_reads_what_yaml_reads_or_declines(text: str) -> None:
    """The line reader gives exactly what the YAML safe loader gives for the lists `subscribers add` writes, and
    declines (the YAML loader then reads the file) anything else: preferences, quotes, values YAML would not read
    as text, a key given twice, unknown keys, tabs, a byte-order mark."""
    from ruamel.yaml import YAML

    from digest.subscribers import _plain_list

    got = _plain_list(text)
    if text in PLAIN_LISTS:
        assert got == YAML(typ="safe").load(text)
    else:
        assert got is None


def test_errors_found_on_the_quick_path_still_name_the_line(tmp_path: Path) -> None:
    """A plain list with a bad address later on reports the file, the line and the field, as the YAML path does."""
    text = "subscribers:\n" + "".join(f"  - email: r{i}@example.org\n    name: R {i}\n" for i in range(50))
    path = write(tmp_path, text + "  - email: r50@example\n")
    with pytest.raises(ConfigError) as err:
        load(path)
    assert str(err.value).startswith(f"{path}:102: subscribers[50].email: 'r50@example' is not a valid address")


def test_an_impossible_date_is_named_with_its_line_and_key(tmp_path: Path) -> None:
    """A date that does not exist, anywhere in the list, is reported with its line and key; a real one reads."""
    path = write(tmp_path, "subscribers:\n  - email: a@example.org\n    preferences: {paused_until: 2025-13-01}\n")
    with pytest.raises(ConfigError, match=r":3: subscribers\[0\]\.preferences\.paused_until: '2025-13-01' is not a"):
        load(path)
    path.write_text("subscribers:\n  - email: a@example.org\n    preferences: {paused_until: 2026-02-28}\n")
    assert str(load(path).subscribers[0].paused_until) == "2026-02-28"
    path.write_text("subscribers:\n  - email: a@example.org\n  - email: b@example.org\n    name: 2026-02-30\n")
    with pytest.raises(ConfigError, match=r":4: subscribers\[1\]\.name: '2026-02-30' is not a real date"):
        load(path)


@pytest.mark.skipif(sys.platform != "linux", reason="Linux tells who holds a file open by a lease")
def test_an_append_opened_before_an_edit_and_written_after_it_is_kept(tmp_path: Path) -> None:
    """Someone appends to the list by hand, without the lock: their editor opens the file just before an edit
    replaces it and writes just after. The edit waits for them to close it, then puts the file back with their
    line and says to try again; their line is never left in the replaced file, where nobody would see it."""
    import subprocess
    import threading

    from digest.errors import SubscriberError
    from digest.yamlfile import replace_if_unchanged

    path = write(tmp_path, "subscribers:\n  - email: a@example.org\n")
    was = path.read_bytes()
    appender = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; f = open(sys.argv[1], 'a'); print('open', flush=True); sys.stdin.readline(); "
            "f.write('  - email: hand@example.org\\n'); f.close()",
            str(path),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert appender.stdout is not None and appender.stdin is not None
    assert appender.stdout.readline().strip() == "open"  # it holds the file that is about to be replaced

    def write_later() -> None:
        time.sleep(0.1)  # after the rename, after a single look would have seen nothing
        assert appender.stdin is not None
        appender.stdin.write("go\n")
        appender.stdin.flush()

    later = threading.Thread(target=write_later)
    later.start()
    try:
        with pytest.raises(SubscriberError, match="changed since it was read"):
            replace_if_unchanged(path, was, was + b"  - email: ours@example.org\n", SubscriberError)
    finally:
        later.join()
        appender.wait(timeout=10)
        appender.stdin.close()
        appender.stdout.close()
    assert path.read_bytes() == was + b"  - email: hand@example.org\n"


@pytest.mark.parametrize(
    "text",
    [
        "subscribers:\n  - email: a@example.org\n    name:\tTabbed\n",
        "subscribers:\n  - email: a@example.org\n    name: !!str 2024\n",
        "%YAML 1.1\n---\nsubscribers:\n  - email: a@example.org\n    name: yes\n",
    ],
)
def test_a_list_reads_as_its_edits_will(text: str, tmp_path: Path) -> None:
    """The list is read with the C loader only when that reads it as the round-trip loader every edit uses does:
    a file the service reads one way must never be edited another (a tab, a tag, a %YAML 1.1 directive)."""
    from digest.subscribers import parse
    from digest.yamlfile import load_tree

    path = write(tmp_path, text)
    try:
        expected: object = parse(load_tree(path.read_bytes(), path), path)
    except ConfigError as exc:
        expected = str(exc)
    try:
        got: object = load(path).subscribers
    except ConfigError as exc:
        got = str(exc)
    assert got == expected


def test_the_servers_copy_of_the_list_is_read_again_only_when_the_file_changes(tmp_path: Path) -> None:
    """A page's lookup of an address uses the list as last read while the file is unchanged, and sees every
    change: an edit (a new file), a hand edit of another length, and one of the same length."""
    path = tmp_path / "subscribers.yml"
    path.write_text("subscribers:\n  - ann@example.org\n")
    lists = ListCache(path, settle=0.3)
    assert lists.get().find("ann@example.org") is not None
    time.sleep(0.4)
    settled = lists.get()
    assert lists.get() is settled  # unchanged since well before the read: not read again
    assert lists.get().find("ANN@example.org ") is settled.subscribers[0]  # found as `find` always found it
    Editor(settled).add("bob@example.org")
    assert lists.get().find("bob@example.org") is not None
    time.sleep(0.4)
    path.write_text("subscribers:\n  - ann@example.org\n  - cat@example.org\n")
    assert [s.email for s in lists.get().subscribers] == ["ann@example.org", "cat@example.org"]
    time.sleep(0.4)
    lists.get()
    # The same length, in place, with the old modification time put back (as a coarse clock would show it): the
    # change time says the file was touched.
    before = path.stat()
    with path.open("r+") as f:
        f.write("subscribers:\n  - ann@example.org\n  - dan@example.org\n")
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert path.stat().st_size == before.st_size
    assert [s.email for s in lists.get().subscribers] == ["ann@example.org", "dan@example.org"]
    path.unlink()
    assert lists.get().subscribers == []


def test_the_list_cache_keeps_a_broken_files_error_and_health_reads_nothing(tmp_path: Path) -> None:
    """A list a hand edit broke is parsed once per change, not at every page (a 50,000-address list takes seconds
    to fail, for its line numbers): the cache gives the same error until the file changes. `known()` says what the
    last read found without reading or waiting (for /health, on the event loop)."""
    from digest.subscribers import ListCache

    path = tmp_path / "subscribers.yml"
    path.write_text("subscribers:\n  - email: a@example.org\n", encoding="utf-8")
    cache = ListCache(path)
    assert cache.known() is None  # never read
    assert [s.email for s in cache.get().subscribers] == ["a@example.org"]
    assert [s.email for s in cache.known().subscribers] == ["a@example.org"]  # type: ignore[union-attr]
    path.write_text("subscribers:\n  - email a@example.org: [\n", encoding="utf-8")
    assert not isinstance(cache.known(), ConfigError)  # as last read, until the next read
    with pytest.raises(ConfigError) as first:
        cache.get()
    with pytest.raises(ConfigError) as again:
        cache.get()
    assert again.value is first.value and cache.known() is first.value  # kept, not parsed again
    path.write_text("subscribers:\n  - email: b@example.org\n", encoding="utf-8")
    assert [s.email for s in cache.get().subscribers] == ["b@example.org"]
    assert not isinstance(cache.known(), ConfigError)

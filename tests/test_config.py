"""Settings files: every key documented in the example loads, and mistakes name file, line, key and value."""

from __future__ import annotations

from pathlib import Path

import pytest

from digest.config import load_settings
from digest.errors import ConfigError

from .conftest import REPO


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "digest.yml"
    path.write_text(text, encoding="utf-8")
    return path


def test_example_config_loads_with_every_key() -> None:
    """digest.example.yml is valid and lists the real sources."""
    s = load_settings(REPO / "digest.example.yml")
    urls = [f.url for f in s.feeds]
    assert "https://hmiprobation.justiceinspectorates.gov.uk/news/feed/" in urls
    assert "https://hmiprobation.justiceinspectorates.gov.uk/document/feed/" in urls
    assert "https://www.russellwebster.com/feed/" in urls
    assert "https://probationmatters.blogspot.com/feeds/posts/default" in urls
    assert "https://www.gov.uk/government/organisations/hm-prison-and-probation-service.atom" in urls
    assert s.send_time.hour == 12 and s.timezone.key == "Europe/London"
    assert s.smtp is not None and s.smtp.tls == "starttls"


def test_typo_in_a_key_names_file_line_and_key(tmp_path: Path) -> None:
    """A mistyped key is an error naming the file, the line, the key path and what was expected."""
    path = write(tmp_path, "list_name: Digest\nschedule:\n  timezone: Europe/London\n  send_tme: '12:00'\n")
    with pytest.raises(ConfigError) as err:
        load_settings(path)
    assert str(err.value) == (
        f"{path}:4: schedule.send_tme: unknown key 'send_tme'; expected one of: "
        "send_time, timezone, poll_interval, missed_cutoff, send_empty"
    )


def test_a_send_time_in_the_evening_moves_the_missed_digest_cut_off(tmp_path: Path) -> None:
    """A send time after the default cut-off (18:00) keeps the same day to catch up in: the cut-off becomes the
    day's end, not a time before the send (which stopped `digest serve` from starting)."""
    evening = load_settings(write(tmp_path, "schedule:\n  send_time: '19:30'\n"))
    assert (evening.send_time.hour, evening.missed_cutoff.hour, evening.missed_cutoff.minute) == (19, 23, 59)
    noon = load_settings(write(tmp_path, "schedule:\n  send_time: '12:00'\n"))
    assert noon.missed_cutoff.hour == 18


def test_a_cut_off_before_the_send_time_is_named(tmp_path: Path) -> None:
    """An explicit cut-off that is not after the send time is an error on its own line, saying why."""
    path = write(tmp_path, "schedule:\n  send_time: '19:30'\n  missed_cutoff: '18:00'\n")
    with pytest.raises(ConfigError) as err:
        load_settings(path)
    assert str(err.value).startswith(
        f"{path}:3: schedule.missed_cutoff: 18:00 is not after schedule.send_time (19:30)"
    ), str(err.value)


def test_bad_url_is_named_with_its_value(tmp_path: Path) -> None:
    """A feed URL that is not http(s) is refused with its value and position."""
    path = write(tmp_path, "feeds:\n  - name: Blog\n    url: htp://example.org/feed\n")
    with pytest.raises(ConfigError) as err:
        load_settings(path)
    assert (
        str(err.value)
        == f"{path}:3: feeds[0].url: 'htp://example.org/feed' is not valid; expected an http or https URL"
    )


def test_bad_time_is_named_with_its_value(tmp_path: Path) -> None:
    """A send time that is not HH:MM is refused with its value."""
    path = write(tmp_path, "schedule:\n  send_time: '25:00'\n")
    with pytest.raises(ConfigError) as err:
        load_settings(path)
    assert str(err.value) == (
        f"{path}:2: schedule.send_time: '25:00' is not valid; expected HH:MM, 24-hour clock, such as 12:00"
    )


@pytest.mark.parametrize("written", ["1200", "0930", "5"])
def test_a_number_for_a_time_is_refused_not_read_as_minutes(tmp_path: Path, written: str) -> None:
    """send_time: 1200 unquoted is a number; it was read as 1,200 minutes after midnight (20:00) and the digest
    went at the wrong hour without a word. Now it is refused, naming the line."""
    path = write(tmp_path, f"schedule:\n  send_time: {written}\n")
    with pytest.raises(ConfigError) as err:
        load_settings(path)
    assert str(err.value).startswith(f"{path}:2: schedule.send_time: ")
    assert str(err.value).endswith("is not valid; expected HH:MM, 24-hour clock, such as 12:00")


def test_unquoted_time_is_read_as_a_time(tmp_path: Path) -> None:
    """12:30 unquoted means half past twelve (YAML 1.2 reads it as a string, not YAML 1.1's number 750)."""
    s = load_settings(write(tmp_path, "schedule:\n  send_time: 12:30\n"))
    assert (s.send_time.hour, s.send_time.minute) == (12, 30)


def test_relative_paths_are_relative_to_the_file(tmp_path: Path) -> None:
    """database and subscribers_file resolve against the config file's folder, not the working directory."""
    s = load_settings(write(tmp_path, "database: data/d.sqlite3\n"))
    assert s.database == tmp_path / "data" / "d.sqlite3"
    assert s.subscribers_file == tmp_path / "subscribers.yml"


def test_missing_file_and_bad_yaml(tmp_path: Path) -> None:
    """A missing file and broken YAML are errors that name the file (and the line)."""
    with pytest.raises(ConfigError, match="file not found"):
        load_settings(tmp_path / "nope.yml")
    with pytest.raises(ConfigError) as err:
        load_settings(write(tmp_path, "feeds:\n  - name: [unclosed\n"))
    assert str(err.value).startswith(f"{tmp_path / 'digest.yml'}:")


def test_smtp_password_comes_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The SMTP password is never in the file: it is read from the named environment variable."""
    s = load_settings(write(tmp_path, "delivery:\n  smtp:\n    host: smtp.example.org\n    password_env: MY_PW\n"))
    assert s.smtp is not None and s.smtp.password is None
    monkeypatch.setenv("MY_PW", "s3cret")
    assert s.smtp.password == "s3cret"


def test_a_subject_pattern_with_an_unknown_field_is_refused(tmp_path: Path) -> None:
    """A typo in the subject pattern is caught when the settings load, not at noon."""
    path = write(tmp_path, "email:\n  subject: '{list_name}: {cuonts}'\n")
    with pytest.raises(
        ConfigError, match=r":2: email.subject: '\{list_name\}: \{cuonts\}' is not valid; expected a pattern"
    ):
        load_settings(path)


def test_list_name_with_a_line_break_is_refused(tmp_path: Path) -> None:
    """The list name goes into the From: and Subject: headers, so a line break in it is an error at load time."""
    path = write(tmp_path, 'from_address: d@example.org\nlist_name: "Digest\\r\\nBcc: x@evil.example"\n')
    with pytest.raises(ConfigError) as err:
        load_settings(path)
    assert str(err.value) == (
        f"{path}:2: list_name: 'Digest\\r\\nBcc: x@evil.example' is not valid; a name cannot contain line breaks, "
        "control characters or text-direction overrides (it has U+000D)"
    )


def test_trusted_proxies_are_addresses_or_networks(tmp_path: Path) -> None:
    """web.trusted_proxies takes IP addresses and networks (none by default); anything else names its position."""
    assert load_settings(write(tmp_path, "list_name: D\n")).trusted_proxies == ()
    ok = load_settings(write(tmp_path, "web:\n  trusted_proxies: [127.0.0.1, 10.0.0.0/8, '::1']\n"))
    assert ok.trusted_proxies == ("127.0.0.1", "10.0.0.0/8", "::1")
    path = write(tmp_path, "web:\n  trusted_proxies:\n    - 127.0.0.1\n    - proxy.internal\n")
    with pytest.raises(ConfigError) as err:
        load_settings(path)
    assert str(err.value) == (
        f"{path}:4: web.trusted_proxies[1]: 'proxy.internal' is not valid; "
        "expected an IP address or network, such as 10.0.0.0/8"
    )


def test_a_feeds_source_type_is_type_and_the_old_kind_still_reads(tmp_path: Path) -> None:
    """A feed says what sort of source it is with `type`; configs written with the old `kind` keep working, and a
    publication kind there is refused with the source types listed."""
    new = load_settings(write(tmp_path, "feeds:\n  - name: A\n    url: https://a.example/feed\n    type: govuk\n"))
    old = load_settings(write(tmp_path, "feeds:\n  - name: A\n    url: https://a.example/feed\n    kind: govuk\n"))
    assert new.feeds[0].source_type == old.feeds[0].source_type == "govuk"
    with pytest.raises(ConfigError) as err:
        load_settings(write(tmp_path, "feeds:\n  - name: A\n    url: https://a.example/feed\n    type: inspection\n"))
    assert "inspectorate" in str(err.value) and ":4:" in str(err.value)


def test_an_impossible_date_and_bytes_that_are_not_utf8_are_clear_errors(tmp_path: Path) -> None:
    """A date that does not exist names its line and key; a file saved in another encoding says so."""
    path = write(tmp_path, "list_name: Digest\nschedule:\n  timezone: Europe/London\n  send_time: 2026-02-30\n")
    with pytest.raises(ConfigError) as err:
        load_settings(path)
    assert str(err.value) == (
        f"{path}:4: schedule.send_time: '2026-02-30' is not a real date; write a date that exists, or quote the "
        "value if it is text"
    )
    path.write_bytes(b"list_name: Caf\xe9 Digest\n")
    with pytest.raises(ConfigError) as err:
        load_settings(path)
    assert str(err.value) == f"{path}: not UTF-8 text (byte 15 is not UTF-8); save it as UTF-8"


SAME_EITHER_WAY = [
    "from_address: d@example.org\nfetch:\n  timeout: 030\n",
    "%YAML 1.1\n---\nfrom_address: d@example.org\nfetch:\n  timeout: 030\n",
    "%YAML 1.1\n---\nfrom_address: d@example.org\nlist_name: yes\n",
    "from_address: d@example.org\nlist_name:\tTabbed\n",
    "from_address: d@example.org\nlist_name: !!str 2024\n",
    "from_address: d@example.org\nlist_name: Probation Digest!\nschedule: {send_time: 07:30}\n",
    "defaults: &d {type: blog}\nfrom_address: d@example.org\nfeeds:\n  - {<<: *d, name: A, url: 'https://a.example/f'}\n",
]


@pytest.mark.parametrize("text", SAME_EITHER_WAY)
def test_settings_read_quickly_are_the_settings_read_round_trip(text: str, tmp_path: Path) -> None:
    """Settings are read with ruamel's C loader, and round-trip (as the admin's feed editor reads them) only for an
    error's line. Whatever the C loader would read differently (a %YAML 1.1 directive, a tab, a tag) is read
    round-trip only, so the service and the editor never disagree about a file: the same settings, or the same
    error with its line."""
    from digest.config import settings_from_yaml
    from digest.yamlfile import load_tree

    path = write(tmp_path, text)
    try:
        expected: object = settings_from_yaml(load_tree(path.read_bytes(), path), path)
    except ConfigError as exc:
        expected = str(exc)
    try:
        got: object = load_settings(path)
    except ConfigError as exc:
        got = str(exc)
    assert got == expected


@pytest.mark.parametrize("name", ["digest.example.yml", "demo/digest.yml"])
def test_the_shipped_settings_read_the_same_either_way(name: str) -> None:
    from digest.config import settings_from_yaml
    from digest.yamlfile import load_tree

    path = REPO / name
    assert load_settings(path) == settings_from_yaml(load_tree(path.read_bytes(), path), path)

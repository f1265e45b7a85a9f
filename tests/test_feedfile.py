"""The admin's edits of the feeds in the settings file: round-trip (comments, order, other keys kept), checked
before writing, and never over a file that changed since it was read."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from digest.config import load_settings
from digest.errors import ConfigError
from digest.feedfile import FeedFile
from digest.models import Feed

from .conftest import REPO


@pytest.fixture
def example(tmp_path: Path) -> Path:
    path = tmp_path / "digest.yml"
    shutil.copy(REPO / "digest.example.yml", path)
    return path


def test_adding_a_feed_keeps_every_comment_and_line_of_the_example(example: Path) -> None:
    """Adding a feed to the shipped example appends its entry and changes no other line (comments included)."""
    before = example.read_text().splitlines()
    settings = FeedFile.read(example).add(
        Feed(name="New blog", url="https://blog.example.org/feed", source_type="blog")
    )
    after = example.read_text().splitlines()
    at = after.index("  - name: New blog")
    assert after[at : at + 3] == ["  - name: New blog", "    url: https://blog.example.org/feed", "    type: blog"]
    assert after[:at] + after[at + 3 :] == before  # not a line of the operator's changed, comments included
    assert settings.feeds[-1] == Feed(name="New blog", url="https://blog.example.org/feed", source_type="blog")
    assert load_settings(example).feeds == settings.feeds


def test_edit_and_disable_keep_the_entrys_comments(example: Path) -> None:
    """Editing a feed changes only its values; its trailing comments stay; disabling writes enabled: false and
    enabling removes it again."""
    url = "https://hmiprobation.justiceinspectorates.gov.uk/news/feed/"
    FeedFile.read(example).update(
        url, Feed(name="HMI Probation news", url=url, source_type="inspectorate", filter=False)
    )
    text = example.read_text()
    assert "  - name: HMI Probation news\n" in text
    assert "    filter: false                      # everything the inspectorate publishes is in scope\n" in text
    settings = FeedFile.read(example).set_enabled(url, False)
    assert [f.enabled for f in settings.feeds][:2] == [False, True]
    assert (
        "filter: false                      # everything the inspectorate publishes is in scope\n    enabled: false\n"
        in (example.read_text())
    )
    FeedFile.read(example).set_enabled(url, True)
    assert "enabled" not in example.read_text().split("feeds:")[1].split("fetch:")[0].replace("# enabled", "")


def test_a_duplicate_or_bad_url_is_refused_and_nothing_is_written(example: Path) -> None:
    """A URL already listed, or one that is not http(s), is a ConfigError and the file is left as it was."""
    before = example.read_bytes()
    with pytest.raises(ConfigError, match="listed twice"):
        FeedFile.read(example).add(Feed(name="Again", url="https://www.russellwebster.com/feed/"))
    with pytest.raises(ConfigError, match="http or https"):
        FeedFile.read(example).add(Feed(name="Local", url="file:///etc/passwd"))
    assert example.read_bytes() == before


def test_a_file_changed_since_it_was_read_is_not_overwritten(example: Path) -> None:
    """A hand edit saved between the read and the write wins: the admin's edit is refused, the hand edit kept."""
    edit = FeedFile.read(example)
    example.write_text(example.read_text() + "# saved by hand meanwhile\n")
    with pytest.raises(ConfigError, match="changed since it was read"):
        edit.add(Feed(name="New blog", url="https://blog.example.org/feed"))
    assert example.read_text().endswith("# saved by hand meanwhile\n")

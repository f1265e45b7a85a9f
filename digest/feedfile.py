"""The feeds in the settings file, edited from the admin. The file stays the source of truth: each edit is made
round-trip on the YAML the operator wrote (`yamlfile`: comments, order and quoting kept; under the lock; never
over a file that changed since it was read), and the whole file must still read as settings before it is
written.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from .config import Settings, settings_from_yaml
from .errors import ConfigError
from .models import Feed
from .yamlfile import dump, load_tree, read, replace_if_unchanged


@dataclass
class FeedFile:
    """The settings file as read, for one edit of its feeds."""

    path: Path
    data: bytes

    @classmethod
    def read(cls, path: Path) -> FeedFile:
        data = read(path)
        if not data:
            raise ConfigError("file not found; the feeds live in the settings file", path=path)
        return cls(path=path, data=data)

    def settings(self) -> Settings:
        return settings_from_yaml(load_tree(self.data, self.path), self.path)

    def add(self, feed: Feed) -> Settings:
        def mutate(seq: CommentedSeq) -> None:
            entry = CommentedMap(name=feed.name, url=feed.url)
            seq.append(entry)
            _set_fields(entry, feed)

        return self._commit(mutate)

    def update(self, url: str, feed: Feed) -> Settings:
        """Change a feed's name, URL, source type and filter; its comments and other keys stay."""
        return self._commit(lambda seq: _set_fields(_entry(seq, url, self.path), feed))

    def set_enabled(self, url: str, enabled: bool) -> Settings:
        def mutate(seq: CommentedSeq) -> None:
            entry = _entry(seq, url, self.path)
            if enabled:
                entry.pop("enabled", None)
            else:
                entry["enabled"] = False

        return self._commit(mutate)

    def _commit(self, mutate: Callable[[CommentedSeq], None]) -> Settings:
        tree = load_tree(self.data, self.path)
        if not isinstance(tree, CommentedMap):
            raise ConfigError("expected a mapping of keys to values", path=self.path)
        if tree.get("feeds") is None:
            tree["feeds"] = CommentedSeq()
        mutate(tree["feeds"])
        data = dump(tree)
        settings = settings_from_yaml(load_tree(data, self.path), self.path)  # never write what we
        replace_if_unchanged(self.path, self.data, data, ConfigError)  # could not read back
        self.data = data
        return settings


def _entry(seq: Any, url: str, path: Path) -> Any:
    for entry in seq:
        if isinstance(entry, dict) and str(entry.get("url", "")).strip() == url:
            return entry
    raise ConfigError(f"no feed with the URL {url!r} (the file may have changed); nothing was written", path=path)


def _set_fields(entry: Any, feed: Feed) -> None:
    entry["name"] = feed.name
    entry["url"] = feed.url
    key = "kind" if "kind" in entry and "type" not in entry else "type"  # an old file keeps its old key
    if feed.source_type:
        entry[key] = feed.source_type
    else:
        entry.pop(key, None)
    if not feed.filter or "filter" in entry:
        entry["filter"] = feed.filter

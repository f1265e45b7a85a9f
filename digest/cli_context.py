"""What every `digest` command shares: the settings, read once when first needed, and how a command fails."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import click

from .errors import ConfigError

if TYPE_CHECKING:  # imported when first used, so that `digest --help` stays fast
    from .config import Settings
    from .store import Store


class Context:
    def __init__(self, config: str | None) -> None:
        self.config_arg = config
        self._settings: Settings | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            from .config import load_settings

            self._settings = load_settings(find_config(self.config_arg))
        return self._settings

    def store(self) -> Store:
        from .store import Store

        return Store(self.settings.database)


pass_ctx = click.make_pass_decorator(Context)


def fail(message: str, code: int) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def settings_or_default(ctx: Context) -> Settings:
    from .config import Settings

    path = default_config_path(ctx.config_arg)
    return ctx.settings if path.exists() else Settings(path=None)


def default_config_path(explicit: str | None) -> Path:
    return Path(explicit or os.environ.get("DIGEST_CONFIG") or "digest.yml")


def example_config() -> Path:
    """digest.example.yml: the copy in the wheel, else the source checkout's."""
    packaged = Path(__file__).parent / "digest.example.yml"
    return packaged if packaged.is_file() else Path(__file__).parent.parent / "digest.example.yml"


def find_config(explicit: str | None) -> Path:
    """The settings file (--config, else $DIGEST_CONFIG, else ./digest.yml); when there is none, a ConfigError that
    says where it looked, why there, and how to start."""
    path = default_config_path(explicit)
    if path.exists():
        return path
    if explicit:
        why = "given by --config"
    elif os.environ.get("DIGEST_CONFIG"):
        why = "named by $DIGEST_CONFIG"
    else:
        why = "the default, as neither --config nor $DIGEST_CONFIG is set"
    example = Path("digest.example.yml") if Path("digest.example.yml").is_file() else example_config()
    raise ConfigError(
        f"no settings file; looked for {path.resolve()} ({why}).\n"
        f"To start, copy the example, which explains every setting, and edit it:  cp {example} {path}\n"
        f"Or point $DIGEST_CONFIG (or --config) at the settings file you have.",
        path=path,
    )

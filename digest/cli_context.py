"""What every `digest` command shares: the settings, read once when first needed, and how a command fails."""

from __future__ import annotations

import sys
from typing import NoReturn

import click

from .config import Settings, default_config_path, find_config, load_settings
from .store import Store


class Context:
    def __init__(self, config: str | None) -> None:
        self.config_arg = config
        self._settings: Settings | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings(find_config(self.config_arg))
        return self._settings

    def store(self) -> Store:
        return Store(self.settings.database)


pass_ctx = click.make_pass_decorator(Context)


def fail(message: str, code: int) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def settings_or_default(ctx: Context) -> Settings:
    path = default_config_path(ctx.config_arg)
    return ctx.settings if path.exists() else Settings(path=None)

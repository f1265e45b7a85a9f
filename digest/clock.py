"""The one clock type. Only the edges (scheduler, CLI, web handlers) call a `Clock`; everything below takes `now`."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    """The real clock: timezone-aware UTC."""
    return datetime.now(UTC)

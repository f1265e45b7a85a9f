"""Numbers from a request (an id in a path or a form, a page in a query), range-checked at the edge: a number
SQLite cannot hold (2**63 and up) never reaches a query, and a page past the last shows the last."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

SQLITE_MAX = 2**63 - 1  # SQLite's INTEGER; a larger Python int makes sqlite3 raise OverflowError
MAX_PAGE = 1_000_000  # far past any real list; keeps (page - 1) * size small

_T = TypeVar("_T")


def row_id(value: Any) -> int | None:
    """A database id as given in a path or a form: a whole number from 1 to SQLite's largest, else None (which
    the caller shows as 'no such …')."""
    text = str(value if value is not None else "").strip()
    if not (text.isascii() and text.isdigit()) or len(text) > len(str(SQLITE_MAX)):
        return None
    n = int(text)
    return n if 1 <= n <= SQLITE_MAX else None


def page_number(value: Any) -> int:
    """The page asked for: 1 when missing or not a whole number, at most MAX_PAGE (`clamped` then finds the last)."""
    text = str(value if value is not None else "").strip()
    if not (text.isascii() and text.isdigit()):
        return 1
    return max(1, min(int(text[:8]) if len(text) <= 8 else MAX_PAGE, MAX_PAGE))


def last_page(total: int, size: int) -> int:
    return max(1, -(-total // size))


def clamped(page: int, size: int, read: Callable[[int, int], tuple[list[_T], int]]) -> tuple[list[_T], int, int]:
    """`read(limit, offset)`'s rows and total for `page`, or for the last page when `page` is past it (a link kept
    from when there were more, or a page number typed in): the rows, the total and the page they are."""
    rows, total = read(size, (page - 1) * size)
    last = last_page(total, size)
    if page > last:
        page = last
        rows, total = read(size, (page - 1) * size)
    return rows, total, page

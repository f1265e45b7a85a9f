"""The pipeline's shape: pure stages take data and return data; only the edges do I/O or read the clock."""

from __future__ import annotations

import ast

import pytest

from .conftest import REPO

PURE = [
    "feeds",
    "extract",
    "classify",
    "summarise",
    "card",
    "recommendations",
    "bodies",
    "ratings",
    "dates",
    "related",
    "text",
    "compose",
    "render",
    "models",
    "tokens",
    "names",
    "addresses",
    "schedule",
    "regions",
    "bounces",
    "verp",
    "webhooks",
    "tracker",
    "atom",
]
IO = {"httpx", "smtplib", "sqlite3", "socket", "urllib.request", "requests", "aiosmtpd", "uvicorn", "starlette"}


@pytest.mark.parametrize("module", PURE)
def test_pure_stages_do_no_io_and_read_no_clock(module: str) -> None:
    """No network, mail or database library is imported, and nothing calls now(), today() or time()."""
    tree = ast.parse((REPO / "digest" / f"{module}.py").read_text(encoding="utf-8"))
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            imported.add(node.module)
    assert not {name for name in imported if name.split(".")[0] in IO or name in IO}, module
    clock_calls = [
        node.func.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and (
            node.func.attr in ("now", "today", "utcnow")
            or (
                node.func.attr in ("time", "monotonic", "perf_counter")
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == "time"
            )
        )
    ]
    assert clock_calls == [], f"{module} reads the clock: {clock_calls}"

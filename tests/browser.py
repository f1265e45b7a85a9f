"""Headless Chromium (Debian's package) driven by Playwright, for tests that look at pages as a person would."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"
# Without the background-networking flags Chromium tries Google's hosts, which this network refuses.
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


# Module scope: the sync API keeps an event loop running while open, which asyncio.run elsewhere cannot share.
@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (make browser, as root, installs it)")
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield b
        b.close()


class CspWatch:
    """What a page's Content-Security-Policy did while a test used it: every violation Chromium reported on the
    console (a style or script the policy blocked, in the page or its frames), and every document it loaded that
    came without a policy (so that no violations means something)."""

    def __init__(self, page: Any) -> None:
        self.violations: list[str] = []
        self.unguarded: list[str] = []
        page.on("console", self._console)
        page.on("response", self._response)

    def _console(self, message: Any) -> None:
        if "Content Security Policy" in message.text:
            self.violations.append(message.text)

    def _response(self, response: Any) -> None:
        if response.request.resource_type == "document" and "content-security-policy" not in response.headers:
            self.unguarded.append(response.url)

    def check(self) -> None:
        assert self.violations == [], self.violations
        assert self.unguarded == [], self.unguarded

"""Debian's Chromium under Playwright, for the tests that need a real browser.

Playwright never downloads a browser here: it launches ``/usr/bin/chromium``
(``scripts/install-system-deps.sh`` installs it). Without it a browser test is
skipped locally, and fails in CI (``CI=true``), where it must run.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Browser

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def require_chromium() -> None:
    """Skip (locally) or fail (in CI) unless Debian's Chromium is installed.

    Works at a test module's top level (the whole module is skipped) as well as in
    a fixture or test.
    """
    if CHROMIUM.exists():
        return
    if os.environ.get("CI") == "true":
        pytest.fail(
            f"{CHROMIUM} is missing in CI: scripts/install-system-deps.sh must install chromium",
            pytrace=False,
        )
    pytest.skip(
        f"{CHROMIUM} is not installed (run scripts/install-system-deps.sh)",
        allow_module_level=True,
    )


@contextmanager
def chromium_browser() -> Iterator[Browser]:
    """Headless Chromium, launched once for the ``with`` block (see ``require_chromium``)."""
    require_chromium()
    # Imported here: modules with browser tests among others import this one too.
    from playwright.sync_api import sync_playwright  # noqa: PLC0415

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=FLAGS
        )
        try:
            yield browser
        finally:
            browser.close()

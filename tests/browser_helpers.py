"""Headless Chromium for the browser tests (Debian's ``chromium`` driven by Playwright).

Shared by the dashboard tests and the documentation-site tests; ``tests/`` is on
``sys.path`` because ``tests/conftest.py`` lives there (pytest's rootdir-relative imports).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
MISSING = f"{CHROMIUM} is missing (apt-get install -y chromium) to run the browser tests"
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_browser() -> Iterator[Any]:
    """Yield a launched headless Chromium (for a module-scoped fixture); skip without one."""
    if not os.path.exists(CHROMIUM):
        pytest.skip(MISSING)
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=LAUNCH_ARGS
        )
        yield browser
        browser.close()

"""Headless Debian chromium for the browser tests (report, rating app), driven by Playwright.

Never a downloaded browser: Playwright gets `executable_path`. .ci/run installs the `chromium` package; without
it the tests are skipped with the reason. Screenshots go to $MIRABENCH_TEST_ARTIFACTS (or the test's tmp dir).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
needs_chromium = [
    pytest.mark.browser,
    pytest.mark.skipif(
        CHROMIUM is None, reason="Debian package `chromium` is not installed (apt-get install chromium; .ci/run does)"
    ),
]
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
XSS_SCRIPT = "<script>window.__xss = 1; alert(1)</script>"
XSS_IMG = '"><img src=x onerror="window.__xss = 2; alert(2)">'


@contextmanager
def chromium() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield b
        finally:
            b.close()


def artifacts(tmp_path: Path) -> Path:
    out = Path(os.environ.get("MIRABENCH_TEST_ARTIFACTS", tmp_path / "artifacts"))
    out.mkdir(parents=True, exist_ok=True)
    return out

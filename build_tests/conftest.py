"""Serve the built book on localhost and drive Debian's Chromium with Playwright.

Chromium is never downloaded (no ``playwright install``): we launch ``/usr/bin/chromium`` (or
``$CHROMIUM``). Every request that leaves localhost is aborted and reported as a failure.
"""
from __future__ import annotations

import pathlib
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
SITE = ROOT / "_build" / "html"
sys.path.insert(0, str(ROOT / "scripts"))
from browser import CHROMIUM, FLAGS, launch, serve  # noqa: E402,F401  (scripts/browser.py)


@pytest.fixture(scope="session")
def site_url():
    if not (SITE / "index.html").exists():
        pytest.fail("the book is not built: run `make book` first")
    server, url = serve(SITE)
    yield url
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = launch(p)
        yield b
        b.close()


def pages():
    """Every HTML page of the book (chapters, intro, notation, appendix)."""
    return sorted(str(p.relative_to(SITE)) for p in (SITE / "book").glob("*.html"))


def pytest_collection_modifyitems(items):
    """The determinism check runs last: the JupyterLab test records its chapter's live run first."""
    items.sort(key=lambda item: item.fspath.basename == "test_determinism.py")

"""The one way nnbook's tools drive a browser: Debian's Chromium, headless, over a local server.

Chromium is never downloaded (no ``playwright install``): Playwright launches ``/usr/bin/chromium``
(or ``$CHROMIUM``) with the flags below, which keep it from reaching the network on its own.
Used by ``build_tests/conftest.py``, ``scripts/screenshot.py`` and ``scripts/pdf.py``.
"""
from __future__ import annotations

import functools
import http.server
import os
import threading

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def serve(directory) -> tuple[http.server.ThreadingHTTPServer, str]:
    """Serve ``directory`` on a free localhost port in a daemon thread: (server, base URL).

    Stop it with ``server.shutdown(); server.server_close()``.
    """
    handler = functools.partial(_Quiet, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def launch(playwright):
    """Debian's Chromium, headless, through a started ``sync_playwright()``."""
    return playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)

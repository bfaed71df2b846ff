"""Playwright on Debian's Chromium (never a downloaded browser) against a live server.

A browser that fails to start fails the test: there is no skip.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture
def live_server(app):
    """The test's app served over HTTP on a loopback port, in a thread."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)


@pytest.fixture
def screenshot(page, request):
    """Save a full-page screenshot when SEMAPHORE_SCREENSHOT_DIR is set (for looking at pages)."""
    directory = os.environ.get("SEMAPHORE_SCREENSHOT_DIR")

    def take(name: str) -> None:
        if directory:
            Path(directory).mkdir(parents=True, exist_ok=True)
            # caret="initial": hiding the caret makes Playwright touch the page, and the next
            # htmx swap then copies that inline style, which our CSP reports as a violation.
            path = str(Path(directory) / f"{name}.png")
            page.screenshot(path=path, full_page=True, caret="initial")

    return take

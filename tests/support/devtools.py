"""Looking at a live web app as a person would: headless Chromium driven over the DevTools protocol.

A plain `chromium --screenshot` captures a Streamlit page blank (it renders over a websocket after load), so
this waits until the page's text holds what the caller expects before taking the screenshot."""

from __future__ import annotations

import base64
import itertools
import json
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from websockets.sync.client import ClientConnection, connect

# Streamlit shows a skeleton while a component's code loads (plotly's is loaded on first use), then the chart.
STREAMLIT_DRAWN = """
!document.querySelector('[data-testid="stSkeleton"]') &&
document.querySelectorAll('[data-testid="stPlotlyChart"]').length ===
document.querySelectorAll('[data-testid="stPlotlyChart"] .js-plotly-plot').length
"""


def chromium() -> str | None:
    """The Chromium binary (Debian's package), or None when it is not installed."""
    return shutil.which("chromium") or shutil.which("chromium-browser")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Page:
    """One browser tab: navigate, read its text, screenshot it."""

    def __init__(self, connection: ClientConnection) -> None:
        self._connection = connection
        self._ids = itertools.count(1)

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        number = next(self._ids)
        self._connection.send(json.dumps({"id": number, "method": method, "params": params}))
        while True:  # events arrive in between; the answer carries our id
            message = json.loads(self._connection.recv(timeout=60))
            if message.get("id") == number:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})

    def text(self) -> str:
        result = self.call("Runtime.evaluate", expression="document.body ? document.body.innerText : ''")
        return result.get("result", {}).get("value", "")

    def drawn(self) -> bool:
        """Whether Streamlit has drawn everything it sent: no placeholder left, every plotly chart plotted."""
        result = self.call("Runtime.evaluate", expression=STREAMLIT_DRAWN)
        return bool(result.get("result", {}).get("value"))

    def open(self, url: str, expected: list[str], timeout: float = 90, settle: float = 1) -> str:
        """Go to `url` and wait until its text holds every expected string and the page is drawn; its text."""
        self.call("Page.navigate", url=url)
        deadline, text = time.monotonic() + timeout, ""
        while time.monotonic() < deadline:
            text = self.text()
            if all(word in text for word in expected) and "Running..." not in text and self.drawn():
                time.sleep(settle)  # a chart's last frame
                return self.text()
            time.sleep(0.5)
        raise TimeoutError(f"{url} never showed {expected}; its text was: {text[:2000]!r}")

    def screenshot(self, path: Path) -> None:
        data = self.call("Page.captureScreenshot", format="png")["data"]
        Path(path).write_bytes(base64.b64decode(data))


@contextmanager
def browser(width: int = 1400, height: int = 1000) -> Iterator[Page]:
    """A headless Chromium with one tab, stopped (and its profile removed) on exit."""
    binary = chromium()
    if binary is None:
        raise RuntimeError("chromium is not installed")
    port = free_port()
    # Chromium's helper processes may still write to the profile as it stops: a leftover file is no failure.
    with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as profile:
        process = subprocess.Popen(
            [
                binary,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--hide-scrollbars",
                f"--remote-debugging-port={port}",
                "--remote-debugging-address=127.0.0.1",
                f"--user-data-dir={profile}",
                f"--window-size={width},{height}",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            target = _page_target(port)
            with connect(target, max_size=None, open_timeout=30) as connection:
                page = Page(connection)
                page.call("Page.enable")
                yield page
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _page_target(port: int, timeout: float = 30) -> str:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=2) as answer:
                pages = [t for t in json.load(answer) if t.get("type") == "page"]
            if pages:
                return pages[0]["webSocketDebuggerUrl"]
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"Chromium's DevTools endpoint on port {port} did not come up")
        time.sleep(0.2)

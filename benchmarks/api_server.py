"""`segflow api` started for a benchmark on a free loopback port, ready when /health answers, stopped after."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def running_api(
    env: dict[str, str], checkout: Path | None = None, wait_seconds: float = 90
) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """(the server's process, its base URL); `checkout` runs that segflow source (`python -m` puts the working
    folder first on sys.path, before PYTHONPATH)."""
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "segflow", "api", "--port", str(port)],
        cwd=checkout,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + wait_seconds
        while True:
            try:
                if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                raise SystemExit("segflow api did not start")
            time.sleep(0.2)
        yield server, base
    finally:
        server.terminate()
        server.wait(timeout=10)

"""Running a flow from a command: a throwaway Prefect API that dies with the command, and quiet failures.

With no PREFECT_API_URL, Prefect itself would start a temporary API server as a child process that survives
a `kill -9` of the command. The one started here asks the kernel to stop it when its parent dies
(PR_SET_PDEATHSIG), so a killed `segflow run` leaves no process behind. The embedded PostgreSQL is not such a
child: it is a service meant to outlive commands (stopped by `segflow db stop`).
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx

from segflow.errors import SegflowError

log = logging.getLogger(__name__)

_PR_SET_PDEATHSIG = 1
STARTUP_SECONDS = 90.0


class PrefectApiUnavailable(SegflowError):
    """The throwaway Prefect API did not start."""


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def _free_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def configured_api_url() -> str | None:
    """The Prefect API the user configured (PREFECT_API_URL or a Prefect profile), if any."""
    from prefect.settings import PREFECT_API_URL

    return PREFECT_API_URL.value() or None


@contextlib.contextmanager
def throwaway_api() -> Iterator[str]:
    """A temporary Prefect API on a free loopback port for the duration of the block; yields its URL.

    Like Prefect's own temporary server (same app, no UI, its database under PREFECT_HOME), but tied to
    this process's life.
    """
    from prefect.settings import PREFECT_API_URL, get_current_settings, temporary_settings

    port = _free_loopback_port()
    url = f"http://127.0.0.1:{port}/api"
    env = {
        **os.environ,
        **get_current_settings().to_environment_variables(exclude_unset=True),
        "PREFECT_UI_ENABLED": "0",
        "PREFECT__SERVER_EPHEMERAL": "1",
        "PREFECT__SERVER_FINAL": "1",
    }
    env.pop("PREFECT_API_URL", None)
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            "prefect.server.api.server:create_app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "error",
            "--lifespan",
            "on",
        ],
        env=env,
        stdin=subprocess.DEVNULL,
        preexec_fn=_die_with_parent,  # noqa: PLW1509 - single-threaded here
    )
    try:
        _wait_until_healthy(server, url)
        with temporary_settings(updates={PREFECT_API_URL: url}):
            try:
                yield url
            finally:
                _drain_to_api()
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def _drain_to_api() -> None:
    """Send the logs and events still queued for the API before it stops (else Prefect reports them lost)."""
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker

    for worker in (APILogWorker, EventsWorker):
        try:
            worker.drain_all(timeout=5)
        except Exception as exc:  # noqa: BLE001 - losing a log line must not fail the command
            log.debug("could not drain %s: %r", worker.__name__, exc)


def _wait_until_healthy(server: subprocess.Popen, url: str) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    with httpx.Client(timeout=2, trust_env=False) as client:
        while time.monotonic() < deadline:
            if server.poll() is not None:
                raise PrefectApiUnavailable(f"the temporary Prefect API exited with code {server.returncode}")
            with contextlib.suppress(httpx.TransportError):
                if client.get(f"{url}/health").status_code == 200:
                    return
            time.sleep(0.1)
    raise PrefectApiUnavailable(f"the temporary Prefect API did not answer at {url} within {STARTUP_SECONDS:.0f} s")


class _DropRunErrors(logging.Filter):
    """Drops flow- and task-run failure records (ERROR records with their tracebacks, and the INFO line that
    repeats the error as the final state) from the console: the command words the error itself. They still
    reach the Prefect API's log store."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.name.startswith(("prefect.flow_runs", "prefect.task_runs")):
            return True
        return record.levelno < logging.ERROR and "Finished in state Failed" not in record.getMessage()


@contextlib.contextmanager
def quiet_run_errors() -> Iterator[None]:
    """While the block runs, flow and task failures are not printed to the console by Prefect's handlers."""
    import prefect.logging.handlers as prefect_handlers
    import prefect.main  # noqa: F401 - importing it configures Prefect's console handlers, filtered below

    consoles = [h for h in logging.getLogger().handlers if isinstance(h, prefect_handlers.PrefectConsoleHandler)]
    dropper = _DropRunErrors()
    for handler in consoles:
        handler.addFilter(dropper)
    try:
        yield
    finally:
        for handler in consoles:
            handler.removeFilter(dropper)

"""The embedded Prefect server: API, UI and scheduler (on loopback by default), its data under $SEGFLOW_HOME/prefect.

Used when no Prefect API is configured. Like the embedded PostgreSQL it is a service, not a child of the
command: the first command that runs a flow starts it in a session of its own, later commands find it healthy
and reuse it at once, and it keeps the run history and serves schedules until `segflow prefect stop` (which
calls stop() here). A small state file records what was started (pid, the process's start time, port), so a
dead server or a pid the system has since given to another process is never mistaken for it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import ipaddress
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx

from segflow.errors import SegflowError
from segflow.storage.private_files import private_folder

log = logging.getLogger(__name__)

HOST = "127.0.0.1"  # the default address; SEGFLOW_PREFECT_HOST may name another
STATE_FILE = "server.json"
LOG_FILE = "server.log"
LOCK_FILE = "server.lock"
# A first start creates Prefect's SQLite schema and copies the UI (about 8 s here, more under load).
STARTUP_SECONDS = 120.0
STOP_SECONDS = 20.0


@dataclasses.dataclass(eq=False)
class PrefectServerUnavailable(SegflowError):
    """The embedded Prefect server exited during its start (pid None) or does not answer; names its log."""

    log: str
    still_running: bool  # a server that runs but does not answer must be stopped first
    pid: int | None = None
    api_url: str = ""
    seconds: float = STARTUP_SECONDS

    def __str__(self) -> str:
        if not self.still_running:
            return f"the embedded Prefect server exited during its start; see {self.log}"
        return (
            f"the embedded Prefect server (pid {self.pid}) did not answer at {self.api_url} within "
            f"{self.seconds:.0f} s; see {self.log}"
        )


@dataclass(frozen=True)
class ServerState:
    """What the state file says was started."""

    pid: int
    port: int
    process_start: str | None  # the process's start time as the kernel reports it; None where unknown
    host: str = HOST  # the address it listens on (state files written before it was recorded: loopback)

    @property
    def api_url(self) -> str:
        return f"{self.ui_url}/api"

    @property
    def ui_url(self) -> str:
        return server_url(self.host, self.port)


def server_url(host: str, port: int) -> str:
    """Where commands on this machine reach a server listening on host:port (any address: through loopback)."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return f"http://{host}:{port}"  # a name
    if address.is_unspecified:
        address = ipaddress.ip_address("::1" if address.version == 6 else HOST)
    return f"http://[{address}]:{port}" if address.version == 6 else f"http://{address}:{port}"


@dataclass(frozen=True)
class ServerStatus:
    """Whether the embedded server runs, and where its files are."""

    prefect_dir: Path
    state: ServerState | None  # None when it is not running

    @property
    def running(self) -> bool:
        return self.state is not None

    @property
    def log_path(self) -> Path:
        return self.prefect_dir / LOG_FILE


def status(prefect_dir: Path) -> ServerStatus:
    """The embedded server's state, from its state file and the process table, without starting anything."""
    state = _read_state(prefect_dir)
    running = state is not None and _is_the_recorded_process(state)
    return ServerStatus(prefect_dir, state if running else None)


def ensure_running(prefect_dir: Path, port: int, host: str = HOST) -> ServerState:
    """The embedded server, started when it is not running (on host:port, or a free port: see choose_port); a
    running server keeps the address it has."""
    private_folder(prefect_dir)  # its SQLite database holds every run's parameters and logs
    current = status(prefect_dir).state
    if current is not None and _healthy(current):
        return current  # the common case: no lock, one /proc read, one HTTP round trip
    # Two commands starting at once must not start two servers: the second waits here, then reuses.
    with _lock(prefect_dir):
        current = _running_state(prefect_dir)
        if current is None:
            current = _start(prefect_dir, choose_port(port, host), host)
        _wait_until_healthy(prefect_dir, current)
        return current


def stop(prefect_dir: Path) -> bool:
    """Stop the embedded server and forget it; returns False when it was not running."""
    with _lock(prefect_dir) if prefect_dir.is_dir() else contextlib.nullcontext():
        current = _running_state(prefect_dir)
        if current is None:
            return False
        _terminate(current)
        (prefect_dir / STATE_FILE).unlink(missing_ok=True)
        return True


def choose_port(preferred: int, host: str = HOST) -> int:
    """`preferred` when it is free on `host`; otherwise (or for 0) a free port the system picks.

    A stable address is what a bookmark wants, but a shared machine may run another program (or another
    user's server) on it; then this server takes a free port rather than failing, says so in a warning, and
    keeps that port until it stops, so the address printed by each command stays right.
    """
    if not 0 <= preferred <= 65535:
        raise ValueError(f"a port is 0..65535, got {preferred}")
    if preferred and _port_is_free(preferred, host):
        return preferred
    with socket.socket(_family(host), socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
    if preferred:
        log.warning(
            "port %s (SEGFLOW_PREFECT_PORT) is in use by another program; the embedded Prefect server listens "
            "on %s:%s instead",
            preferred,
            host,
            port,
        )
    return port


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def _port_is_free(port: int, host: str) -> bool:
    with socket.socket(_family(host), socket.SOCK_STREAM) as sock:
        # As the server will bind it: a port whose last connection is still in TIME_WAIT counts as free.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def _running_state(prefect_dir: Path) -> ServerState | None:
    """The recorded server if its process still runs; a stale state file is removed (callers hold the lock, so
    a file another command has just written is never the one removed)."""
    state = _read_state(prefect_dir)
    if state is None:
        return None
    if _is_the_recorded_process(state):
        return state
    log.info("forgetting the embedded Prefect server (pid %s), which is no longer running", state.pid)
    (prefect_dir / STATE_FILE).unlink(missing_ok=True)
    return None


def _read_state(prefect_dir: Path) -> ServerState | None:
    try:
        raw = json.loads((prefect_dir / STATE_FILE).read_text())
        return ServerState(
            pid=int(raw["pid"]),
            port=int(raw["port"]),
            process_start=raw.get("process_start"),
            host=str(raw.get("host", HOST)),
        )
    except FileNotFoundError:
        return None
    except (ValueError, KeyError, TypeError):  # a truncated or hand-edited file: nothing can be trusted
        log.warning("ignoring the unreadable %s", prefect_dir / STATE_FILE)
        return None


def _write_state(prefect_dir: Path, state: ServerState) -> None:
    record = {
        "pid": state.pid,
        "port": state.port,
        "host": state.host,
        "process_start": state.process_start,
        "api_url": state.api_url,
        "ui_url": state.ui_url,
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    partial = prefect_dir / f"{STATE_FILE}.tmp"
    partial.write_text(json.dumps(record, indent=2) + "\n")
    partial.replace(prefect_dir / STATE_FILE)  # a reader never sees half a file


def _process_start(pid: int) -> str | None:
    """The kernel's start time of a live process (field 22 of /proc/PID/stat), None when it is gone or a zombie.

    A pid and its start time name one process for good; a pid alone may have been reused.
    """
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read()
    except OSError:
        return None
    after_name = fields[fields.rindex(")") + 2 :].split()
    if after_name[0] in {"Z", "X"}:  # killed, not yet reaped (nothing reaps orphans in some containers)
        return None
    return after_name[19]


def _is_the_recorded_process(state: ServerState) -> bool:
    if not Path("/proc/self/stat").exists():  # no /proc (macOS): a live pid is the best evidence there is
        try:
            os.kill(state.pid, 0)
        except OSError:
            return False
        return True
    started = _process_start(state.pid)
    return started is not None and started == state.process_start


def _healthy(state: ServerState) -> bool:
    try:
        with httpx.Client(timeout=2, trust_env=False) as client:
            response = client.get(f"{state.api_url}/health")
    except httpx.TransportError:
        return False
    return response.status_code == 200


@contextlib.contextmanager
def _lock(prefect_dir: Path) -> Iterator[None]:
    # flock is released by the kernel when the holder dies, so a killed command never leaves it held.
    with open(prefect_dir / LOCK_FILE, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def _start(prefect_dir: Path, port: int, host: str) -> ServerState:
    log_path = prefect_dir / LOG_FILE
    if log_path.exists():
        log_path.replace(prefect_dir / f"{LOG_FILE}.1")  # one previous log is kept; logs never grow unbounded
    url = server_url(host, port)
    # The command's own environment, minus what would point the server at another Prefect (profiles, API).
    env = {k: v for k, v in os.environ.items() if k not in {"PREFECT_API_URL", "PREFECT_API_KEY", "PREFECT_PROFILE"}}
    env.update(
        PREFECT_HOME=str(prefect_dir),  # its SQLite database, memo store and profiles live here
        PREFECT_PROFILES_PATH=str(prefect_dir / "profiles.toml"),
        PREFECT_SERVER_ANALYTICS_ENABLED="false",  # many machines running segflow have no internet
        # The UI's JavaScript calls the API at this address; Prefect derives it from these settings, not
        # from --host/--port, so without them a UI on another port than 4200 would call the wrong server.
        PREFECT_SERVER_API_HOST=host,
        PREFECT_SERVER_API_PORT=str(port),
        PREFECT_UI_API_URL=f"{url}/api",
        PREFECT_API_URL=f"{url}/api",
        # The server writes a copy of the UI files at its first start: here, not into site-packages, which
        # need not be writable.
        PREFECT_UI_STATIC_DIRECTORY=str(prefect_dir / "ui"),
    )
    command = [sys.executable, "-m", "prefect", "server", "start", "--host", host, "--port", str(port)]
    command += ["--ui", "--scheduler", "--analytics-off"]
    with open(log_path, "ab") as log_file:
        server = subprocess.Popen(
            command,
            env=env,
            cwd=prefect_dir,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            # A session of its own: Ctrl-C in the terminal and the end (or a kill -9) of this command leave
            # it running, and stop() can signal it and whatever it started as one process group.
            start_new_session=True,
        )
    state = ServerState(pid=server.pid, port=port, process_start=_process_start(server.pid), host=host)
    # Recorded before it is healthy: a command killed while waiting leaves a server the next one finds.
    _write_state(prefect_dir, state)
    log.info("started the embedded Prefect server (pid %s) at %s, log %s", server.pid, url, log_path)
    return state


def _wait_until_healthy(prefect_dir: Path, state: ServerState) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if _healthy(state):
            return
        if not _is_the_recorded_process(state):
            (prefect_dir / STATE_FILE).unlink(missing_ok=True)
            raise PrefectServerUnavailable(str(prefect_dir / LOG_FILE), still_running=False)
        time.sleep(0.1)
    raise PrefectServerUnavailable(str(prefect_dir / LOG_FILE), True, state.pid, state.api_url, STARTUP_SECONDS)


def _terminate(state: ServerState) -> None:
    """SIGTERM to the server's process group (its own session, so only what it started), SIGKILL if it stays."""
    try:
        group = os.getpgid(state.pid)
    except ProcessLookupError:
        return
    # Only a group the server leads is signalled as a group: never someone else's.
    send = (lambda sig: os.killpg(group, sig)) if group == state.pid else (lambda sig: os.kill(state.pid, sig))
    with contextlib.suppress(ProcessLookupError):
        send(signal.SIGTERM)
    deadline = time.monotonic() + STOP_SECONDS
    while time.monotonic() < deadline and _is_the_recorded_process(state):
        _reap(state.pid)
        time.sleep(0.1)
    if _is_the_recorded_process(state):
        log.warning(
            "the embedded Prefect server (pid %s) ignored SIGTERM for %.0f s; killing it", state.pid, STOP_SECONDS
        )
        with contextlib.suppress(ProcessLookupError):
            send(signal.SIGKILL)
    _reap(state.pid)


def _reap(pid: int) -> None:
    # When this process started the server (a long-lived caller, such as a test session), it must collect its
    # exit status, or it stays a zombie.
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)

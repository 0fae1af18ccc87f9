"""The embedded PostgreSQL: start, reuse, stop, keep data, recover from a killed server."""

import os
import shutil
import signal
import tempfile
import time
from pathlib import Path

import psycopg2
import pytest

from segflow import embedded


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

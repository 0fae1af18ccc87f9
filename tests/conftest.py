"""Shared fixtures: one real PostgreSQL per test session (per xdist worker), one database per test, and one
embedded Prefect server per session for the tests that run flows (started only when one asks for it).

With SEGFLOW_TEST_DATABASE_URL set, that server is used instead of an embedded one; its user needs
the CREATEDB privilege, because every test gets a fresh database cloned from a migrated template.
"""

from __future__ import annotations

import csv
import gzip
import io
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from psycopg2 import sql
from support.coverage import unmeasured_children
from support.data import ONLINE_RETAIL_II_HEADER
from support.databases import admin, fresh_database, settings_for, with_database

from segflow.orchestration import prefect_server
from segflow.settings import Settings
from segflow.storage import embedded, migrations
from segflow.storage.db import Database

# Test files in the order they start, the longest first (by `pytest --durations`); the others follow in collection
# order. pytest-xdist hands out whole files (--dist loadfile) in this order (--no-loadscope-reorder; its default order,
# most tests first, started the one-test simulated year last, where it ran alone for ten minutes on two workers).
# Under -m "not slow" the slow files drop out and the integration files that run several nights lead, so that no
# long file (in collection order: segment names, source freshness, score-file, cli segments) starts last.
LONGEST_FIRST = (
    "tests/test_cli.py",
    "tests/e2e/test_soak_year.py",
    "tests/integration/stages/test_pipeline.py",
    "tests/integration/stages/test_lifecycle.py",
    "tests/integration/data/test_online_retail_ii.py",
    "tests/e2e/test_stack_without_docker.py",
    "tests/integration/modelling/test_mlflow_mirror_of_runs.py",
    "tests/integration/modelling/test_segment_names.py",
    "tests/integration/monitoring/test_drift_workspace_over_nights.py",
    "tests/integration/monitoring/test_drift.py",
    "tests/integration/data/test_source_freshness.py",
    "tests/integration/monitoring/test_drift_population.py",
    "tests/e2e/test_dask_cluster.py",
    "tests/integration/serving/test_score_file.py",
    "tests/test_cli_segments.py",
    "tests/integration/orchestration/test_partitioned_nightly.py",
    "tests/integration/orchestration/test_withdraw.py",
    "tests/integration/ui/test_ui.py",
    "tests/e2e/test_cli_lifecycle.py",
    "tests/integration/monitoring/test_report.py",
    "tests/integration/serving/test_api.py",
    "tests/integration/modelling/test_scoring.py",
)


# Starting a Prefect server takes 10-20 s: a test that needs one is slow by definition, marked or not.
PREFECT_FIXTURES = {"shared_prefect_server", "prefect_api_url"}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if PREFECT_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)
    # A moved or renamed test file would silently lose its place and start last again: say so instead.
    missing = [path for path in LONGEST_FIRST if not (config.rootpath / path).is_file()]
    if missing:
        raise pytest.UsageError(f"tests/conftest.py's LONGEST_FIRST names files that do not exist: {missing}")
    rank = {path: n for n, path in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::")[0], len(rank)))  # stable: a file's order is kept


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    # A developer's own SEGFLOW_* variables or .env must not leak into tests (SEGFLOW_TEST_* are the tests' own).
    for key in list(os.environ):
        if key.startswith("SEGFLOW_") and not key.startswith("SEGFLOW_TEST_"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)
    yield
    # A command a test ran may have started an embedded Prefect server in a home under tmp_path: it is a service
    # that outlives commands, so the test that caused it ends it (tests with homes elsewhere stop their own).
    for state_file in tmp_path.glob(f"**/prefect/{prefect_server.STATE_FILE}"):
        prefect_server.stop(state_file.parent)


@pytest.fixture(scope="session")
def shared_prefect_server(worker_id: str) -> Iterator[tuple[Path, prefect_server.ServerState]]:
    """An embedded Prefect server (its folder and state) this worker's tests share, on a free loopback port,
    for tests that run flows but are not about where Prefect runs; stopped at the end of the session."""
    folder = Path(tempfile.mkdtemp(prefix=f"segflow-prefect-{worker_id}-"))
    try:
        with unmeasured_children():  # the server runs no segflow code: tracing it only slows every flow test
            state = prefect_server.ensure_running(folder, port=0)
        yield folder, state
    finally:
        prefect_server.stop(folder)  # also when the start failed half-way: the state file names what was started
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def prefect_api_url(shared_prefect_server: tuple[Path, prefect_server.ServerState]) -> str:
    """PREFECT_API_URL of the shared server: a command given it starts no server of its own."""
    return shared_prefect_server[1].api_url


@pytest.fixture(scope="session")
def server_url(worker_id: str) -> Iterator[str]:
    """Admin URL (database 'postgres') of the PostgreSQL server this worker uses."""
    external = os.environ.get("SEGFLOW_TEST_DATABASE_URL")
    if external:
        yield with_database(external, "postgres")
        return
    # A short folder keeps the Unix socket path under the kernel's 107-byte limit.
    home = Path(tempfile.mkdtemp(prefix=f"segflow-test-{worker_id}-"))
    os.environ.setdefault("XDG_RUNTIME_DIR", str(home / "run"))
    (home / "run" / "python_PostgresServer").mkdir(parents=True)
    (home / "run").chmod(0o700)
    url = embedded.ensure_running(home / "pg")
    try:
        yield with_database(url, "postgres")
    finally:
        embedded.stop(home / "pg")
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="session")
def template_database(server_url: str, worker_id: str) -> Iterator[str]:
    """A fully migrated database that per-test databases are cloned from."""
    name = f"segflow_template_{worker_id}_{uuid.uuid4().hex[:6]}"
    admin(server_url, sql.SQL("create database {}").format(sql.Identifier(name)))
    migrations.upgrade(Database(settings_for(with_database(server_url, name), Path(tempfile.gettempdir()))))
    try:
        yield name
    finally:
        admin(server_url, sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))


@pytest.fixture
def db_url(server_url: str, template_database: str) -> Iterator[str]:
    """URL of a fresh, migrated database for one test."""
    yield from fresh_database(server_url, template_database)


@pytest.fixture
def blank_db_url(server_url: str) -> Iterator[str]:
    """URL of a fresh database segflow has never touched."""
    yield from fresh_database(server_url, None)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """SEGFLOW_HOME of the test's `settings` (not created: the first file written makes it)."""
    return tmp_path / "home"


@pytest.fixture
def settings(db_url: str, home: Path) -> Settings:
    return settings_for(db_url, home)


@pytest.fixture
def db(settings: Settings) -> Database:
    database = Database(settings)
    database.migrated = True  # cloned from the migrated template
    return database


@pytest.fixture
def blank_db(blank_db_url: str, tmp_path: Path) -> Database:
    return Database(settings_for(blank_db_url, tmp_path / "home"))


def _fetch(db: Database, query: str, params: dict | tuple | None = None) -> list[tuple]:
    with db.transaction() as cur:
        cur.execute(query, params)
        return cur.fetchall()


@pytest.fixture
def fetch():
    """fetch(db, query, params) -> rows of an ad-hoc query, for assertions."""
    return _fetch


@pytest.fixture
def write_csv(tmp_path: Path):
    """write_csv(rows, header=..., name=..., gz=False, delimiter=',') -> path of a CSV file in tmp_path."""

    def write(rows, header=ONLINE_RETAIL_II_HEADER, name="lines.csv", gz=False, delimiter=","):
        buffer = io.StringIO()
        writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\n")
        if header is not None:
            writer.writerow(header)
        writer.writerows(rows)
        path = tmp_path / (name + (".gz" if gz and not name.endswith(".gz") else ""))
        data = buffer.getvalue().encode()
        path.write_bytes(gzip.compress(data) if gz else data)
        return path

    return write

"""Database plumbing shared by conftest's fixtures and module-scoped fixtures in tests."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg2
import pytest
from psycopg2 import sql

from segflow.settings import Settings
from segflow.storage.db import Database


def with_database(url: str, name: str) -> str:
    """The same server URL pointing at another database."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def admin(server_url: str, statement: sql.Composable) -> None:
    """Run one statement outside a transaction (create/drop database) on the server."""
    conn = psycopg2.connect(server_url)
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(statement)
    finally:
        conn.close()


def settings_for(url: str, home: Path) -> Settings:
    """Settings for one database and home folder, ignoring any .env file."""
    return Settings(_env_file=None, database_url=url, home=home)


def fresh_database(server_url: str, template: str | None) -> Iterator[str]:
    """Yield the URL of a new database (a clone of `template` when given); drop it when resumed."""
    name = f"segflow_test_{uuid.uuid4().hex[:12]}"
    statement = sql.SQL("create database {}").format(sql.Identifier(name))
    if template:
        statement = sql.SQL("create database {} template {}").format(sql.Identifier(name), sql.Identifier(template))
    admin(server_url, statement)
    try:
        yield with_database(server_url, name)
    finally:
        admin(server_url, sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))


@dataclass(frozen=True)
class Snapshot:
    """A database filled once (generated lines, a published night) and the home folder its files went to."""

    database: str
    home: Path


def filled_template(
    server_url: str, base: str | Snapshot, home: Path, fill: Callable[[Database, Settings], object]
) -> Iterator[Snapshot]:
    """Yield a clone of `base` (the migrated template's name, or another module snapshot to build on) that `fill`
    has filled once, with `home` as SEGFLOW_HOME, for tests to restore in turn (`database_for_test`): a clone takes
    a fraction of a second, generating lines or running a night again takes seconds. Dropped when resumed."""
    name = f"segflow_filled_{uuid.uuid4().hex[:12]}"
    template = base.database if isinstance(base, Snapshot) else base
    admin(server_url, sql.SQL("create database {} template {}").format(sql.Identifier(name), sql.Identifier(template)))
    try:
        url = with_database(server_url, name)
        if isinstance(base, Snapshot):
            _restore_home(url, base, home)
        settings = settings_for(url, home)
        database = Database(settings)
        database.migrated = True
        fill(database, settings)  # its connections are closed when it returns: a template must have no session open
        yield Snapshot(name, home)
    finally:
        admin(server_url, sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))


# The columns that hold absolute paths under SEGFLOW_HOME: a restored snapshot points them at the test's own copy.
HOME_PATH_COLUMNS = (("model_versions", "artifact_path"), ("drift_reports", "html_path"))


def database_for_test(
    request: pytest.FixtureRequest, server_url: str, migrated: str, home: Path, templates: dict[str, str]
) -> Iterator[str]:
    """Yield the URL of a fresh database for one test, dropped when resumed. `templates` maps a fixture a test may ask
    for to the fixture of its `Snapshot`: the test that asks for one gets a clone of that snapshot, its home folder
    copied to `home` and its stored paths moved there; the others get a clone of the migrated template."""
    asked = [template for filled, template in templates.items() if filled in request.fixturenames]
    if not asked:
        yield from fresh_database(server_url, migrated)
        return
    snapshot: Snapshot = request.getfixturevalue(asked[0])
    for url in fresh_database(server_url, snapshot.database):
        _restore_home(url, snapshot, home)
        yield url


def _restore_home(url: str, snapshot: Snapshot, home: Path) -> None:
    """Copy the snapshot's home folder to `home` and point the stored paths of the database at `url` there."""
    if snapshot.home.exists():
        shutil.copytree(snapshot.home, home)
    conn = psycopg2.connect(url)
    try:
        with conn, conn.cursor() as cur:
            for table, column in HOME_PATH_COLUMNS:
                cur.execute(
                    sql.SQL("update segflow.{table} set {column} = replace({column}, %(old)s, %(new)s)").format(
                        table=sql.Identifier(table), column=sql.Identifier(column)
                    ),
                    {"old": str(snapshot.home), "new": str(home)},
                )
    finally:
        conn.close()

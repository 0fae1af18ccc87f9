"""Database plumbing shared by conftest's fixtures and module-scoped fixtures in tests."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg2
from psycopg2 import sql

from segflow.settings import Settings


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

"""Read-only logins for BI tools: members of the group role segflow_bi (made by migration 005)."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from urllib.parse import quote, urlsplit, urlunsplit

import psycopg2
from psycopg2 import sql

from segflow.db import Database, run_composed_named, run_named
from segflow.errors import SegflowError

BI_ROLE = "segflow_bi"
# The relations segflow_bi may read, in the order the README documents them.
BI_RELATIONS = ("current_segments", "segment_summary", "segment_history", "segment_transitions", "runs",
                "model_versions", "drift_reports")
# Lower-case so nobody has to quote the name in a BI tool; PostgreSQL allows 63 bytes.
LOGIN_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")
RESERVED = {"postgres", "public", BI_ROLE}


@dataclass(frozen=True)
class BiLogin:
    """A BI login and how to connect as it."""

    name: str
    password: str
    url: str
    created: bool  # False: the login existed and got a new password


def create_bi_user(db: Database, name: str, password: str | None = None) -> BiLogin:
    """Create a login in segflow_bi (or give an existing BI login a new password) and its URL."""
    _check_login_name(name)
    if password is not None and not password:
        raise SegflowError("--password must not be empty (leave it out to have one generated)")
    password = password or secrets.token_urlsafe(18)
    identifier = sql.Identifier(name)
    try:
        with db.transaction() as cur:
            existing = run_named(cur, "queries/bi_login_role", {"name": name})
            if existing and not existing[0][2]:
                raise SegflowError(
                    f"role {name!r} already exists and is not a {BI_ROLE} login; choose another name")
            if existing:
                run_composed_named(cur, "admin/reset_bi_login_password", {"password": password}, login=identifier)
            else:
                run_composed_named(cur, "admin/create_bi_login", {"password": password}, login=identifier)
            for statement in ("admin/bi_login_read_only", "admin/bi_login_search_path"):
                run_composed_named(cur, statement, {}, login=identifier)
    except psycopg2.errors.InsufficientPrivilege as exc:
        raise SegflowError(
            f"no permission to add the role {name!r}: the user in SEGFLOW_DATABASE_URL needs the CREATEROLE "
            f"privilege ({str(exc).strip().splitlines()[0]})") from None
    except psycopg2.errors.UndefinedObject as exc:
        raise SegflowError(f"the role {BI_ROLE} is missing; run `segflow db upgrade` ({exc.pgerror})") from None
    return BiLogin(name=name, password=password, url=login_url(db.url, name, password), created=not existing)


def login_url(url: str, user: str, password: str) -> str:
    """The database URL with another user and password (host, port, database and options kept)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:  # an IPv6 address needs its brackets back
        host = f"[{host}]"
    port = f":{parts.port}" if parts.port else ""
    netloc = f"{quote(user, safe='')}:{quote(password, safe='')}@{host}{port}"
    return urlunsplit(parts._replace(netloc=netloc))


def _check_login_name(name: str) -> None:
    if not LOGIN_NAME.fullmatch(name):
        raise SegflowError(
            f"login name {name!r} must be 1-63 lower-case letters, digits or underscores, not starting with a digit")
    if name in RESERVED or name.startswith("pg_"):
        raise SegflowError(f"login name {name!r} is reserved; choose another name")

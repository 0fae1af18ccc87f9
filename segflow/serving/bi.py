"""Read-only logins for BI tools: members of the group role segflow_bi (made by migration 005), which reads the
views of schema segflow_bi (migration 014, sql/views/bi_*.sql)."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

import psycopg2
import psycopg2.extensions
from psycopg2 import sql

from segflow.serving.bi_catalog import BI_SCHEMA, DEPRECATED_VIEWS, relation_names

__all__ = ["BI_RELATIONS", "BI_ROLE", "BI_SCHEMA", "create_bi_user", "grant_bi_relations", "login_url"]
from segflow.errors import SegflowError
from segflow.storage.db import SCHEMA, Database, run_composed_named, run_named


class BiLoginRefused(SegflowError):
    """A BI login that cannot be created or given a new password."""


@dataclass(eq=False)
class EmptyPassword(BiLoginRefused):
    """An empty password was given."""

    template = "the password must not be empty (leave it out to have one generated)"


@dataclass(eq=False)
class LoginNameInvalid(BiLoginRefused):
    """A login name PostgreSQL would need quoted, or one reserved for segflow's and PostgreSQL's own roles."""

    name: str
    reserved: bool = False

    def __str__(self) -> str:
        if self.reserved:
            return f"login name {self.name!r} is reserved; choose another name"
        return (
            f"login name {self.name!r} must be 1-63 lower-case letters, digits or underscores, not starting with a "
            "digit"
        )


@dataclass(eq=False)
class RoleTaken(BiLoginRefused):
    """A role of that name exists and is not a plain BI login."""

    template = "role {name!r} already exists and is not a plain {bi_role} login; choose another name"
    name: str
    bi_role: str


@dataclass(eq=False)
class NoRolePermission(BiLoginRefused):
    """The database user may not create roles or grant the BI role."""

    template = (
        "no permission to add the role {name!r} ({reason}): the user in {setting} needs "
        "CREATEROLE and, on PostgreSQL 16 or later, ADMIN OPTION on {bi_role} (GRANT {bi_role} TO it WITH "
        "ADMIN OPTION), or run this as the database's owner"
    )
    name: str
    reason: str
    bi_role: str
    setting: str = "SEGFLOW_DATABASE_URL"


@dataclass(eq=False)
class RoleRace(BiLoginRefused):
    """Another session created the role between the check and the creation."""

    template = "role {name!r} was created by another session meanwhile; run the command again"
    name: str


BI_ROLE = "segflow_bi"
# The relations segflow_bi may read (schema segflow_bi), in the order docs/bi.md lists them.
BI_RELATIONS = relation_names()
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
        raise EmptyPassword()
    password = password or secrets.token_urlsafe(18)
    identifier = sql.Identifier(name)
    try:
        with db.transaction() as cur:
            # A no-op unless the migration could not make the role.
            run_composed_named(
                cur,
                "admin/bi_group_role",
                {},
                relations=_bi_relations(),
                deprecated=_deprecated_views(),
            )
            existing = run_named(cur, "queries/bi/bi_login_role", {"name": name})
            if existing and not existing[0][1]:
                raise RoleTaken(name, BI_ROLE)
            # Hashed here (SCRAM, as the server is set to): the plain password never reaches the server's logs.
            verifier = psycopg2.extensions.encrypt_password(password, name, cur.connection)
            statement = "admin/reset_bi_login_password" if existing else "admin/create_bi_login"
            run_composed_named(cur, statement, {"password": verifier}, login=identifier)
            for setting in ("admin/bi_login_read_only", "admin/bi_login_search_path"):
                run_composed_named(cur, setting, {}, login=identifier)
    except psycopg2.errors.InsufficientPrivilege as exc:
        raise NoRolePermission(name, _first_line(exc), BI_ROLE) from None
    except psycopg2.errors.DuplicateObject:
        raise RoleRace(name) from None
    return BiLogin(name=name, password=password, url=login_url(db.url, name, password), created=not existing)


def grant_bi_relations(cur: psycopg2.extensions.cursor) -> bool:
    """Let the BI role read every view of segflow_bi and the deprecated segflow views, if the role exists (whether
    it did). A view created anew (its file changed, or migration 016 dropped it) has no grants."""
    if not run_named(cur, "queries/bi/bi_role_exists")[0][0]:
        return False
    run_composed_named(cur, "admin/bi_grant_relations", {}, relations=_bi_relations(), deprecated=_deprecated_views())
    return True


def _deprecated_views() -> sql.Composable:
    return sql.SQL(", ").join(sql.Identifier(SCHEMA, view) for view in DEPRECATED_VIEWS)


def _bi_relations() -> sql.Composable:
    return sql.SQL(", ").join(sql.Identifier(BI_SCHEMA, relation) for relation in BI_RELATIONS)


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def login_url(url: str, user: str, password: str) -> str:
    """The database URL with another user and password (host, port, database and options kept).

    user=, password= and passfile= query parameters go: libpq would let them override the new login.
    """
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:  # an IPv6 address needs its brackets back
        host = f"[{host}]"
    port = f":{parts.port}" if parts.port else ""
    netloc = f"{quote(user, safe='')}:{quote(password, safe='')}@{host}{port}"
    query = urlencode(
        [
            (k, v)
            for k, v in parse_qsl(parts.query, keep_blank_values=True)
            if k not in ("user", "password", "passfile")
        ],
        safe="/",
    )
    return urlunsplit(parts._replace(netloc=netloc, query=query))


def _check_login_name(name: str) -> None:
    if not LOGIN_NAME.fullmatch(name):
        raise LoginNameInvalid(name)
    if name in RESERVED or name.startswith("pg_"):
        raise LoginNameInvalid(name, reserved=True)

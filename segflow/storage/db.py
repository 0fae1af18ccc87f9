"""Database access: the one module that opens connections, runs named SQL files and COPYs data.

Connections are plain psycopg2 (COPY needs it); `engine()` gives SQLAlchemy for pandas.
"""

from __future__ import annotations

import io
import logging
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import IO, TYPE_CHECKING, Any, TextIO
from urllib.parse import parse_qs, urlsplit

import psycopg2
import psycopg2.extensions
from psycopg2 import sql

from segflow.errors import CannotConnect, DatabaseUnreachable
from segflow.settings import Settings, redact_url
from segflow.storage import embedded
from segflow.storage.sqlfiles import read_sql, sql_dir  # noqa: F401 - re-exported for callers

if TYPE_CHECKING:  # pandas and sqlalchemy are imported lazily to keep the CLI quick
    import pandas as pd
    from sqlalchemy.engine import Engine

log = logging.getLogger(__name__)

SCHEMA = "segflow"


def describe_url(url: str) -> str:
    """Where a URL points (host or socket folder, port, database), without user or password."""
    parts = urlsplit(url)
    host = parts.hostname or parse_qs(parts.query).get("host", ["localhost"])[0]
    port = parts.port or 5432
    database = parts.path.lstrip("/") or "(default database)"
    return f"{host}:{port}/{database}"


class Database:
    """A PostgreSQL target: the configured external server, or the embedded one started on demand."""

    def __init__(self, settings: Settings, read_only: bool = False, statement_seconds: float | None = None) -> None:
        self.settings = settings
        # Read-only sessions: the server refuses every write, whatever the login may do.
        self.read_only = read_only
        # A statement running longer is cancelled by the server (QueryCanceled): the API's per-request time limit.
        self.statement_seconds = statement_seconds
        self._url: str | None = None
        self.migrated = False

    @property
    def url(self) -> str:
        """Connection URL (may contain a password: never print it, use `safe_url`)."""
        if self._url is None:
            if self.settings.database_url is not None:
                self._url = _normalise_scheme(self.settings.database_url.get_secret_value())
            else:
                self._url = embedded.ensure_running(
                    self.settings.pg_dir,
                    tcp_port=self.settings.embedded_tcp_port,
                    socket_group=self.settings.embedded_socket_group,
                )
        return self._url

    @property
    def safe_url(self) -> str:
        return redact_url(self.url)

    def raw_connection(self) -> psycopg2.extensions.connection:
        """A new psycopg2 connection; the caller closes it."""
        options = []
        if self.read_only:
            options.append("-c default_transaction_read_only=on")
        if self.statement_seconds is not None:
            options.append(f"-c statement_timeout={max(1, round(self.statement_seconds * 1000))}")
        try:
            if options:
                return psycopg2.connect(
                    self.url, connect_timeout=10, application_name="segflow", options=" ".join(options)
                )
            return psycopg2.connect(self.url, connect_timeout=10, application_name="segflow")
        except psycopg2.OperationalError as exc:
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise CannotConnect(describe_url(self.url), reason) from exc

    @contextmanager
    def transaction(self) -> Iterator[psycopg2.extensions.cursor]:
        """A cursor inside one transaction: committed on success, rolled back on any exception."""
        conn = self.raw_connection()
        try:
            with conn, conn.cursor() as cur:
                yield cur
        finally:
            conn.close()

    def run(self, name: str, params: dict[str, Any] | Sequence[Any] | None = None) -> list[tuple[Any, ...]]:
        """Run sql/<name>.sql in its own transaction and return the rows it selects (if any)."""
        with self.transaction() as cur:
            return run_named(cur, name, params)

    def records(self, name: str, params: dict[str, Any] | None = None, **parts: sql.Composable) -> list[dict[str, Any]]:
        """Run sql/<name>.sql (its {placeholders} filled with `parts`, if any) in its own transaction: the rows it
        selects as dicts keyed by the query's column names."""
        with self.transaction() as cur:
            return records_named(cur, name, params, **parts)

    def frame(self, name: str, params: dict[str, Any] | None = None, **parts: sql.Composable) -> pd.DataFrame:
        """Run sql/<name>.sql (its {placeholders} filled with `parts`, if any) in its own transaction: the rows it
        selects as a DataFrame with the query's column names."""
        with self.transaction() as cur:
            return frame(cur, _run_any(cur, name, params, parts))

    @contextmanager
    def copy_out(self, statement: sql.Composable) -> Iterator[IO[bytes]]:
        """Run a COPY ... TO STDOUT into a temporary file, rewound for reading.

        The file stays in memory up to 64 MB and spills to disk beyond, so memory stays flat however
        many rows come out.
        """
        with tempfile.SpooledTemporaryFile(max_size=64 << 20, mode="w+b") as spool:
            conn = self.raw_connection()
            try:
                with conn, conn.cursor() as cur:
                    cur.copy_expert(statement.as_string(cur), spool)
            finally:
                conn.close()
            spool.seek(0)
            yield spool

    def run_composed(self, name: str, params: dict[str, Any], **parts: sql.Composable) -> list[tuple[Any, ...]]:
        """Run sql/<name>.sql after filling its {placeholders} with composed SQL (identifiers, predicates)."""
        with self.transaction() as cur:
            return run_composed_named(cur, name, params, **parts)

    def engine(self) -> Engine:
        """A SQLAlchemy engine on the same database (psycopg2 driver)."""
        from sqlalchemy import create_engine

        return create_engine(self.url.replace("postgresql://", "postgresql+psycopg2://", 1))


def _normalise_scheme(url: str) -> str:
    # libpq only understands postgresql:// and postgres://; SQLAlchemy-style driver suffixes are dropped.
    for prefix in ("postgresql+psycopg2://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql://" + url[len(prefix) :]
    return url


def run_named(
    cur: psycopg2.extensions.cursor, name: str, params: dict[str, Any] | Sequence[Any] | None = None
) -> list[tuple[Any, ...]]:
    """Run sql/<name>.sql on an open cursor and return the rows it selects (if any).

    Parameters are always bound (an empty dict when there are none), so every SQL file writes a
    literal percent sign as %%.
    """
    cur.execute(read_sql(name), params if params is not None else {})
    return cur.fetchall() if cur.description is not None else []


def run_composed_named(
    cur: psycopg2.extensions.cursor, name: str, params: dict[str, Any], **parts: sql.Composable
) -> list[tuple[Any, ...]]:
    """Run sql/<name>.sql on an open cursor after filling its {placeholders} with composed SQL."""
    cur.execute(sql.SQL(read_sql(name)).format(**parts), params)
    return cur.fetchall() if cur.description is not None else []


def _run_any(
    cur: psycopg2.extensions.cursor,
    name: str,
    params: dict[str, Any] | None,
    parts: dict[str, sql.Composable],
) -> list[tuple[Any, ...]]:
    # A file goes through composition only when it has placeholders to fill (the others may hold literal braces),
    # and through run_named / run_composed_named either way, so whatever wraps those (the benchmark's per-statement
    # timing) sees these statements too.
    if parts:
        return run_composed_named(cur, name, params or {}, **parts)
    return run_named(cur, name, params)


def records_named(
    cur: psycopg2.extensions.cursor,
    name: str,
    params: dict[str, Any] | None = None,
    **parts: sql.Composable,
) -> list[dict[str, Any]]:
    """Run sql/<name>.sql on an open cursor (its {placeholders} filled with `parts`, if any): the rows it selects
    as dicts keyed by the query's column names."""
    return records(cur, _run_any(cur, name, params, parts))


def column_names(cur: psycopg2.extensions.cursor) -> list[str]:
    """The names of the columns the cursor's last statement selects ([] for a statement that selects none)."""
    return [column.name for column in cur.description] if cur.description is not None else []


def records(cur: psycopg2.extensions.cursor, rows: Sequence[tuple[Any, ...]]) -> list[dict[str, Any]]:
    """Rows the cursor's last statement selected, as dicts keyed by its column names: a row's shape comes from the
    SQL, so a caller never restates the column order."""
    columns = column_names(cur)
    return [dict(zip(columns, row, strict=True)) for row in rows]


def frame(cur: psycopg2.extensions.cursor, rows: Sequence[tuple[Any, ...]]) -> pd.DataFrame:
    """Rows the cursor's last statement selected, as a DataFrame with its column names (no rows: an empty frame that
    still has them)."""
    import pandas as pd

    return pd.DataFrame(list(rows), columns=column_names(cur))


def copy_in(cur: psycopg2.extensions.cursor, table: str, columns: Sequence[str], data: TextIO) -> None:
    """COPY tab-separated text rows (PostgreSQL text format, \\N for null) into segflow.<table>."""
    statement = sql.SQL(read_sql("queries/db/copy_into_table")).format(
        table=sql.Identifier(SCHEMA, table), columns=sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    cur.copy_expert(statement.as_string(cur), data)


def copy_frame(
    cur: psycopg2.extensions.cursor, table: str, rows: pd.DataFrame, float_format: str | None = None
) -> None:
    """COPY a DataFrame into segflow.<table>, its columns into the table's columns of the same names (NaN and None
    as NULL; float_format, e.g. "%.2f", rounds floats on the way)."""
    buffer = io.StringIO()
    rows.to_csv(buffer, sep="\t", header=False, index=False, na_rep="\\N", float_format=float_format)
    buffer.seek(0)
    copy_in(cur, table, [str(column) for column in rows.columns], buffer)


def copy_named(cur: psycopg2.extensions.cursor, name: str, data: TextIO) -> None:
    """Run the COPY ... FROM STDIN statement in sql/<name>.sql with `data` as its input."""
    cur.copy_expert(read_sql(name), data)


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def copy_text_value(value: str | None) -> str:
    """One field in PostgreSQL's COPY text format."""
    if value is None:
        return "\\N"
    return value.translate(_COPY_ESCAPES)


def is_transient(error: BaseException) -> bool:
    """Whether an error may go away on a retry: a lost or refused connection, an I/O error. Anything else (a
    SegflowError about the data or settings, a bug) fails at once."""
    return isinstance(error, DatabaseUnreachable | psycopg2.OperationalError | psycopg2.InterfaceError | OSError)

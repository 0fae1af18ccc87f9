"""Numbered schema migrations from sql/migrations, applied in order, each in its own transaction."""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from pathlib import Path

import psycopg2.extensions

from segflow.errors import MigrationError
from segflow.serving import bi, bi_catalog
from segflow.storage.db import Database, run_named, sql_dir


@dataclass(eq=False)
class MigrationFileMisnamed(MigrationError):
    """A file in sql/migrations whose name is not NNN_name.sql."""

    template = "migration file name {name!r} does not match NNN_name.sql"
    name: str


@dataclass(eq=False)
class MigrationVersionsRepeated(MigrationError):
    """Two migration files with one version number."""

    template = "two migration files share a version number: {versions}"
    versions: list[int]


@dataclass(eq=False)
class SqlFolderMismatch(MigrationError):
    """A folder of re-creatable SQL (views, functions) holds other files than segflow lists."""

    template = "sql/{folder} holds {found}, but segflow lists {listed}"
    folder: str
    found: list[str]
    listed: list[str]


@dataclass(eq=False)
class DatabaseNewer(MigrationError):
    """The database has a migration applied that this segflow does not have."""

    template = (
        "the database has migration {version:03d} applied, but this segflow only knows up to {newest:03d}: "
        "upgrade segflow"
    )
    version: int
    newest: int


@dataclass(eq=False)
class MigrationEdited(MigrationError):
    """A landed migration's file differs from what was applied."""

    template = (
        "migration {file} was edited after it was applied; landed migrations must not change (add a new one instead)"
    )
    file: str


log = logging.getLogger(__name__)

_FILE_PATTERN = re.compile(r"^(\d{3})_([a-z0-9_]+)\.sql$")
# Any constant works; it only has to be the same for every segflow process on a database.
_ADVISORY_LOCK_KEY = 0x5E6F10


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    path: Path

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.path.read_bytes()).hexdigest()


def available_migrations() -> list[Migration]:
    """The migration files, in version order."""
    found = []
    for path in sorted((sql_dir() / "migrations").glob("*.sql")):
        match = _FILE_PATTERN.match(path.name)
        if match is None:
            raise MigrationFileMisnamed(path.name)
        found.append(Migration(int(match.group(1)), match.group(2), path))
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise MigrationVersionsRepeated(versions)
    return found


def upgrade(db: Database, target: int | None = None) -> list[Migration]:
    """Apply every pending migration up to `target` (default: all); returns the ones applied now."""
    known = available_migrations()
    migrations = [m for m in known if target is None or m.version <= target]
    applied_now: list[Migration] = []
    conn = db.raw_connection()
    try:
        with conn, conn.cursor() as cur:
            run_named(cur, "queries/db/advisory_lock", {"key": _ADVISORY_LOCK_KEY})
            run_named(cur, "ledger")
        for migration in migrations:
            with conn, conn.cursor() as cur:
                # The lock serialises concurrent upgraders; the ledger is re-read under it.
                run_named(cur, "queries/db/advisory_lock", {"key": _ADVISORY_LOCK_KEY})
                ledger = {version: sha for version, sha in run_named(cur, "queries/schema/applied_migrations")}
                _check_ledger(ledger, known)
                if migration.version in ledger:
                    continue
                log.info("applying migration %03d_%s", migration.version, migration.name)
                cur.execute(migration.path.read_text(encoding="utf-8"))
                run_named(
                    cur,
                    "queries/schema/record_migration",
                    {"version": migration.version, "name": migration.name, "sha256": migration.sha256},
                )
                applied_now.append(migration)
        if target is None:
            with conn, conn.cursor() as cur:
                run_named(cur, "queries/db/advisory_lock", {"key": _ADVISORY_LOCK_KEY})
                _apply_views(cur)
    finally:
        conn.close()
    db.migrated = target is None
    return applied_now


# Views are applied in this order (a view may read one before it); every file in sql/views must be listed.
# bi_* are the views of schema segflow_bi, one per relation of segflow/serving/bi_catalog.py.
VIEW_ORDER = (
    "runs",
    "current_segments",
    "segment_history",
    "segment_summary",
    "bi_segment_summary",
    "bi_current_segments",
    "bi_segment_history",
    "bi_segment_transitions",
    "bi_run_calendar",
    "bi_runs",
    "bi_model_versions",
    "bi_model_segments",
    "bi_drift_reports",
)
# The ledger name under which the BI descriptions' fingerprint is recorded (beside the view files').
BI_DESCRIPTIONS = "bi_catalog"
# Functions (and the triggers that call them) are applied before the views; every file in sql/functions listed.
FUNCTION_ORDER = ("customer_partition", "capture_line_changes", "generator_uniform")


def view_files() -> list[Path]:
    """The view files, in the order they are applied."""
    return _listed_files("views", VIEW_ORDER)


def function_files() -> list[Path]:
    """The function files (functions and their triggers), in the order they are applied."""
    return _listed_files("functions", FUNCTION_ORDER)


def _listed_files(folder_name: str, order: tuple[str, ...]) -> list[Path]:
    folder = sql_dir() / folder_name
    found = {p.stem for p in folder.glob("*.sql")}
    if found != set(order):
        raise SqlFolderMismatch(folder_name, sorted(found), sorted(order))
    return [folder / f"{name}.sql" for name in order]


def _apply_views(cur: psycopg2.extensions.cursor) -> list[str]:
    """(Re)create every function and view whose file changed since it was last applied; their names. Views
    that did not change are left alone: replacing a view locks it against BI readers for a moment."""
    applied = dict(run_named(cur, "queries/schema/applied_views"))
    changed = []
    for path in function_files() + view_files():
        sha = hashlib.sha256(path.read_bytes()).hexdigest()
        if applied.get(path.stem) == sha:
            continue
        log.info("applying view %s", path.stem)
        cur.execute(path.read_text(encoding="utf-8"))
        run_named(cur, "queries/schema/record_view", {"name": path.stem, "sha256": sha})
        changed.append(path.stem)
    # A view created anew has no grants and no comments; a changed catalog changes only the comments.
    fingerprint = bi_catalog.fingerprint()
    if changed or applied.get(BI_DESCRIPTIONS) != fingerprint:
        bi_catalog.apply_descriptions(cur)
        bi.grant_bi_relations(cur)
        run_named(cur, "queries/schema/record_view", {"name": BI_DESCRIPTIONS, "sha256": fingerprint})
        changed.append(BI_DESCRIPTIONS)
    return changed


def ensure_migrated(db: Database) -> None:
    """Apply pending migrations once per Database object; a no-op when the schema is current."""
    if not db.migrated:
        upgrade(db)


def _check_ledger(ledger: dict[int, str], files: list[Migration]) -> None:
    by_version = {m.version: m for m in files}
    newest_file = max(by_version, default=0)
    for version, sha in sorted(ledger.items()):
        migration = by_version.get(version)
        if migration is None:
            raise DatabaseNewer(version, newest_file)
        if migration.sha256 != sha:
            raise MigrationEdited(migration.path.name)


def applied_versions(db: Database) -> list[int]:
    """Versions recorded in the ledger (empty for a database segflow has never touched)."""
    with db.transaction() as cur:
        exists = run_named(cur, "queries/schema/ledger_exists")[0][0]
        if not exists:
            return []
        return [version for version, _ in run_named(cur, "queries/schema/applied_migrations")]

"""One table per attempt for the per-customer rows (customer_features, segment_assignments: sql/migrations/016).

A stage writes an attempt's rows into the attempt's own table, created without indexes before its customer partitions
run (each partition deletes only its own customers' rows first, so a partition run again replaces them); the
stage's finish step builds the primary key and attaches the table as the attempt's partition of the parent, so
readers see the rows through segflow.<kind> from then on. Retention drops an attempt's tables whole.
Attempts from before the migration have no table of their own: their rows are written through the parent.

NOTE: "partition" here is a table partition (one per attempt); segflow.orchestration.partitions's are customer hash
partitions (one per worker). Every customer partition of an attempt writes into the same attempt table.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

import psycopg2.extensions
from psycopg2 import sql

from segflow.storage.db import SCHEMA, Database, run_composed_named, run_named

Kind = Literal["customer_features", "segment_assignments"]
KINDS: tuple[Kind, ...] = ("customer_features", "segment_assignments")
# The partitions the migration made of the rows from before it (dropped once no kept attempt is below its bound).
BEFORE_016 = {kind: f"{kind}_before_016" for kind in KINDS}
_CREATE_LOCK_KEY = 0x5E6F16  # any constant, the same in every segflow process


def table_name(kind: Kind, attempt_id: int) -> str:
    """The name (in schema segflow) of an attempt's own table of one kind."""
    return f"{kind}_attempt_{int(attempt_id)}"


def first_own_attempt(cur: psycopg2.extensions.cursor) -> int:
    """The first attempt id with tables of its own; older attempts write through the parent."""
    return int(run_named(cur, "queries/attempt_tables/first_own_attempt")[0][0])


def _state(cur: psycopg2.extensions.cursor, name: str) -> tuple[bool, bool]:
    present, attached = run_named(cur, "queries/attempt_tables/table_state", {"name": f"{SCHEMA}.{name}"})[0]
    return bool(present), bool(attached)


def _bounds(attempt_id: int) -> dict[str, int]:
    return {"attempt_id": attempt_id, "next_attempt": attempt_id + 1}


def prepare(db: Database, kind: Kind, attempt_id: int) -> str:
    """Make sure the attempt's table of this kind exists (committed, so every worker sees it); the table name its
    rows go to (the parent's for an attempt from before migration 016)."""
    with db.transaction() as cur:
        return create(cur, kind, attempt_id)


def attach(db: Database, kind: Kind, attempt_id: int) -> None:
    """Build the primary key of the attempt's table and attach it as the attempt's partition, then analyze it; a
    table already attached is only analyzed (a finish step run again), an attempt from before 016 analyzes the
    parent. With no customer partition written (nothing to attach), an empty table keeps readers simple."""
    with db.transaction() as cur:
        name = create(cur, kind, attempt_id)
        _attach(cur, kind, name, attempt_id)
    with db.transaction() as cur:
        run_composed_named(cur, "queries/attempt_tables/analyze_attempt_table", {}, table=sql.Identifier(SCHEMA, name))


def open_attached(cur: psycopg2.extensions.cursor, attempt_id: int) -> None:
    """Both tables of an attempt created and attached at once, on the caller's transaction, so rows can be written
    through the parents (a tool or a test writing row by row; a stage writes into the unattached table instead)."""
    for kind in KINDS:
        _attach(cur, kind, create(cur, kind, attempt_id), attempt_id)


def create(cur: psycopg2.extensions.cursor, kind: Kind, attempt_id: int) -> str:
    """`prepare` on the caller's transaction: the attempt's table, created unless it exists; the name."""
    if attempt_id < first_own_attempt(cur):
        return kind
    name = table_name(kind, attempt_id)
    # Customer partitions may start at once on several workers: one creates, the others find it.
    run_named(cur, "queries/db/advisory_lock", {"key": _CREATE_LOCK_KEY})
    run_composed_named(
        cur,
        "queries/attempt_tables/create_attempt_table",
        _bounds(attempt_id),
        table=sql.Identifier(SCHEMA, name),
        parent=sql.Identifier(SCHEMA, kind),
        check_name=sql.Identifier(f"{name}_attempt"),
    )
    return name


def _attach(cur: psycopg2.extensions.cursor, kind: Kind, name: str, attempt_id: int) -> None:
    if name == kind or _state(cur, name)[1]:
        return
    table = sql.Identifier(SCHEMA, name)
    run_composed_named(cur, "queries/attempt_tables/add_primary_key", {}, table=table)
    run_composed_named(
        cur,
        "queries/attempt_tables/attach_attempt_table",
        _bounds(attempt_id),
        table=table,
        parent=sql.Identifier(SCHEMA, kind),
    )


def drop(cur: psycopg2.extensions.cursor, attempt_ids: Iterable[int]) -> list[int]:
    """Drop the own tables (attached or not) of these attempts, on the caller's transaction; the attempts that had
    one. Attempts from before 016 keep their rows in the before-016 partitions (see drop_before_016)."""
    wanted = set(attempt_ids)
    dropped = []
    for attempt_id, kinds in run_named(cur, "queries/attempt_tables/attempt_tables"):
        if attempt_id not in wanted:
            continue
        for kind in kinds:
            run_composed_named(
                cur,
                "queries/attempt_tables/drop_attempt_table",
                {},
                table=sql.Identifier(SCHEMA, table_name(kind, attempt_id)),
            )
        dropped.append(attempt_id)
    return dropped


def attempts_with_tables(cur: psycopg2.extensions.cursor) -> list[int]:
    """Every attempt that has a table of its own, attached or not."""
    return [attempt_id for attempt_id, _ in run_named(cur, "queries/attempt_tables/attempt_tables")]


def drop_before_016(cur: psycopg2.extensions.cursor) -> list[int]:
    """Drop the before-016 partitions; the attempts whose rows were there."""
    attempts = [attempt_id for (attempt_id,) in run_named(cur, "queries/attempt_tables/legacy_attempts")]
    for name in BEFORE_016.values():
        run_composed_named(cur, "queries/attempt_tables/drop_attempt_table", {}, table=sql.Identifier(SCHEMA, name))
    return attempts

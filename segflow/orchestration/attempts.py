"""Run attempts that hold a lock while they live, and the clean-up of attempts whose process died.

An attempt is created and locked in one transaction on a connection of its own, which stays open until
the attempt ends. A `kill -9` of the process closes that connection, so PostgreSQL releases the lock:
an attempt still marked 'running' whose lock is free has no process left, and the next run (or
`segflow db status`) marks it 'abandoned' and removes its rows.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any

import psycopg2.extensions

from segflow.storage import attempt_tables
from segflow.storage.db import Database, run_named

log = logging.getLogger(__name__)

# First key of the two-key advisory lock an attempt holds; the second is the attempt id. Any constant
# works, as long as every segflow process uses the same one.
ATTEMPT_LOCK_CLASS = 0x5E6F

# Lock connections of the attempts this process runs, by attempt id.
_held: dict[int, psycopg2.extensions.connection] = {}


def start_attempt(db: Database, params: dict[str, Any]) -> tuple[int, int]:
    """Insert an attempt (queries/insert_run) and lock it for this process's lifetime; (attempt_id, run_id)."""
    conn = db.raw_connection()
    try:
        with conn, conn.cursor() as cur:
            attempt_id, run_id = run_named(cur, "queries/attempts/insert_run", params)[0]
            # Locked before the insert commits, so no other process ever sees it running and unlocked.
            run_named(
                cur, "queries/attempts/lock_attempt", {"lock_class": ATTEMPT_LOCK_CLASS, "attempt_id": attempt_id}
            )
    except BaseException:
        conn.close()
        raise
    _held[attempt_id] = conn
    return attempt_id, run_id


def release(attempt_id: int) -> None:
    """Let go of an attempt's lock (when it has been published or marked failed)."""
    conn = _held.pop(attempt_id, None)
    if conn is not None:
        with contextlib.suppress(psycopg2.Error):
            conn.close()


def holds(attempt_id: int) -> bool:
    """Whether this process runs the attempt."""
    return attempt_id in _held


def reap_abandoned(db: Database) -> list[int]:
    """Mark 'abandoned' every running attempt whose process is gone, removing its rows; their ids."""
    abandoned = []
    for attempt_id, as_of, started_at in db.run("queries/attempts/running_attempts"):
        if attempt_id in _held:
            continue
        with db.transaction() as cur:
            if not run_named(
                cur, "queries/attempts/attempt_lock_free", {"lock_class": ATTEMPT_LOCK_CLASS, "attempt_id": attempt_id}
            )[0][0]:
                continue  # another process runs it right now
            marked = run_named(
                cur,
                "queries/attempts/fail_run",
                {
                    "attempt_id": attempt_id,
                    "status": "abandoned",
                    "error": f"abandoned: the process running it (started {started_at:%Y-%m-%d %H:%M:%S %Z}) "
                    "ended without finishing; its rows were removed",
                },
            )
            attempt_tables.drop(cur, [marked_id for (marked_id,) in marked])
        if not marked:
            continue  # it finished (published or failed) between the listing and the lock check
        log.warning("attempt %s (as of %s) was abandoned by a process that died; marked abandoned", attempt_id, as_of)
        abandoned.append(attempt_id)
    return abandoned


def running_attempt_ids(db: Database) -> list[int]:
    """Attempts marked running (live ones, or dead ones not yet noticed), oldest first."""
    return [row[0] for row in db.run("queries/attempts/running_attempts")]

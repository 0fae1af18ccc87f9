"""The batches on record: listing every import, taking an imported batch back, and whether there are lines."""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

from segflow.data import aggregates
from segflow.errors import ImportRejected
from segflow.storage.db import Database, run_named

log = logging.getLogger(__name__)


@dataclasses.dataclass(eq=False)
class BatchNotRemovable(ImportRejected):
    """A batch that does not exist or is not imported (failed, removed) cannot be removed."""

    batch_id: int
    name: str | None = None
    status: str | None = None

    def __str__(self) -> str:
        if self.status is None:
            return f"batch {self.batch_id} does not exist"
        return f"batch {self.batch_id} ({self.name}) is {self.status}, not imported: nothing to remove"


def remove_batch(db: Database, batch_id: int) -> int:
    """Take an imported batch back in one transaction: its lines and rejects are deleted; lines deleted."""
    with db.transaction() as cur:
        rows = run_named(cur, "queries/ingest/batch_status", {"batch_id": batch_id})
        if not rows:
            raise BatchNotRemovable(batch_id)
        if rows[0][0] != "imported":
            raise BatchNotRemovable(batch_id, rows[0][1], rows[0][0])
        _marked, deleted = run_named(cur, "queries/ingest/remove_batch", {"batch_id": batch_id})[0]
        aggregates.fold_imported_lines(cur)
    log.info("removed batch %d: %d lines deleted", batch_id, deleted)
    return deleted


def list_batches(db: Database) -> list[dict[str, Any]]:
    """Every import, newest first: name, status, options, counts and times."""
    return db.records("queries/ingest/list_batches")


def has_generated_data(db: Database) -> bool:
    """Whether the transactions include generated (demo) lines."""
    return bool(db.run("queries/ingest/has_generated_data")[0][0])


def transactions_exist(db: Database) -> bool:
    """Whether segflow.transactions holds any line."""
    return bool(db.run("queries/ingest/transactions_exist")[0][0])

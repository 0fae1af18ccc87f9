"""Publish a run: one transaction replaces the run's earlier attempt, marks it published, switches what BI reads,
writes the BI summary and the run's segments into the history's ranges. The statements run in the order of
PUBLISH_STEPS."""

from __future__ import annotations

import time

from segflow.orchestration import attempts
from segflow.orchestration.runs import AttemptNotRunning
from segflow.settings import Settings
from segflow.storage.db import Database, run_named

PUBLISH_LOCK_KEY = 0x5E6F11  # any constant, the same in every segflow process
PUBLISH_STEPS = (
    "queries/publish/1_replace_same_day",
    "queries/publish/2_mark_run",
    "queries/publish/3_switch_pointer",
    "queries/publish/4_segment_summary",
    "queries/publish/5_segment_ranges",
)
# Run after step 5 only when it says a touched range may meet one of the same identity (never on a plain nightly).
MERGE_RANGES_STEP = "queries/history/merge_segment_ranges"


def publish(db: Database, settings: Settings, attempt_id: int) -> None:
    """Mark the run published and switch what BI reads to it, in one transaction."""
    started = time.perf_counter()
    with db.transaction() as cur:
        run_named(cur, "queries/db/advisory_lock", {"key": PUBLISH_LOCK_KEY})
        for step in PUBLISH_STEPS:
            rows = run_named(cur, step, {"attempt_id": attempt_id})
            if step == "queries/publish/2_mark_run" and not rows:
                raise AttemptNotRunning(attempt_id)
            if step == "queries/publish/5_segment_ranges" and rows[0][0]:
                run_named(cur, MERGE_RANGES_STEP, {"attempt_id": attempt_id})
        run_named(
            cur,
            "queries/runs/record_stage_seconds",
            {"attempt_id": attempt_id, "stage": "publish", "seconds": time.perf_counter() - started},
        )
    attempts.release(attempt_id)  # published: no longer an attempt a later run could abandon

"""What drift and the reports keep of a run: a fixed-size, seeded sample of its customers and exact counts per
segment (segflow.run_samples, segflow.run_segment_counts; migration 017).

Filled once per scoring of an attempt, from score.finish, in one transaction: the counts over ALL the attempt's
customers (exact shares, the inactive count among them) and the `drift_sample` customers (all of them when fewer)
with the smallest hash of (customer_id, seed), with their features and segment. A hash, not a random draw, so a
customer still there is in tomorrow's sample too unless new customers with smaller hashes push them out (a
bottom-k sample: it moves at its edge only). Drift's Evidently work, its feature figures, the segment page's
maps and the summary's medians read the sample; the sample and counts outlive the run's per-customer rows, so a
pruned run is still a 'previous' or 'training' reference. They are pruned with the run's report files
(segflow.monitoring.retention).
"""

from __future__ import annotations

import logging

from segflow.monitoring.drift_shares import DriftInputInvalid
from segflow.settings import Settings
from segflow.storage.db import Database, run_named

log = logging.getLogger(__name__)


def fill(db: Database, attempt_id: int, rows: int, seed: int) -> int:
    """Replace an attempt's counts and sample from its assignments and features; returns the customers sampled."""
    if rows < 1:
        raise DriftInputInvalid("a run's sample needs at least one customer", "rows", rows)
    params = {"attempt_id": attempt_id, "rows": rows, "seed": str(seed)}
    with db.transaction() as cur:
        run_named(cur, "queries/drift/fill_segment_counts", params)
        run_named(cur, "queries/drift/fill_run_sample", params)
        return cur.rowcount


def fill_for_run(db: Database, settings: Settings, attempt_id: int) -> int:
    """fill() with the settings' size (drift_sample) and seed."""
    return fill(db, attempt_id, settings.drift_sample, settings.seed)


def ensure(db: Database, settings: Settings, attempt_id: int) -> bool:
    """Fill an attempt's counts and sample when it has none but still has its rows (scored before migration 017,
    or rows written without the score stage); True when it has them now."""
    counted, has_rows = db.run("queries/drift/sample_state", {"attempt_id": attempt_id})[0]
    if counted:
        return True
    if not has_rows:
        return False
    fill_for_run(db, settings, attempt_id)
    return True


def ensure_all(db: Database, settings: Settings) -> int:
    """Fill every attempt that has rows but no sample yet (a database upgraded to 017); returns how many."""
    attempts = [attempt for (attempt,) in db.run("queries/drift/unsampled_attempts")]
    for attempt in attempts:
        fill_for_run(db, settings, attempt)
    return len(attempts)


def prune(db: Database, kept_runs: int) -> list[int]:
    """Drop the samples and counts of attempts outside the newest `kept_runs` published runs (those still running
    and those a model was trained in stay); returns those attempts. kept_runs 0 keeps all."""
    if kept_runs == 0:
        return []
    gone = [attempt for (attempt,) in db.run("queries/drift/prune_run_samples", {"kept_runs": kept_runs})]
    if gone:
        log.info("sample retention (%d runs): dropped the samples of %d attempts", kept_runs, len(gone))
    return gone

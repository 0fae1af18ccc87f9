"""Bring the aggregates current, then compute a run's features from them in the database, and its own R/F/M cut
points."""

from __future__ import annotations

import json
import time

from segflow.data import aggregates, rollups
from segflow.data import features as feature_store
from segflow.orchestration.partitions import Partition, partitions_of
from segflow.orchestration.runs import record_stage_seconds, run_info, timed
from segflow.settings import Settings
from segflow.storage import attempt_tables
from segflow.storage.db import Database


def fold(db: Database, settings: Settings, attempt_id: int, rebuild: bool = False) -> dict[str, object]:
    """Fold the lines that changed since the last fold into the aggregates (or rebuild them), then bring the
    per-customer rollups to the run's date, recorded in the run's row; what it did."""
    info = run_info(db, attempt_id)
    if not feature_store.FeatureSet(tuple(info.features)).uses_transactions:
        return {}
    with timed(db, attempt_id, "fold"):
        feature_store.check_source_table(db)
        done = aggregates.bring_current(db, settings, rebuild=rebuild)
        rolled = rollups.bring_to(db, info.as_of, info.lookback_days)
        figures = {**done.as_dict(), "rollups": rolled.as_dict()}
        db.run("queries/features/record_fold", {"attempt_id": attempt_id, "aggregates": json.dumps(figures)})
    return figures


def build(db: Database, settings: Settings, attempt_id: int) -> dict[str, int]:
    """Every partition of the run's features, then the whole run's figures (a runner without fan-out)."""
    started = time.perf_counter()
    for part in partitions_of(settings):
        build_partition(db, settings, attempt_id, part)
    return finish(db, settings, attempt_id, time.perf_counter() - started)


def build_partition(db: Database, settings: Settings, attempt_id: int, partition: Partition) -> dict[str, object]:
    """Fill (or refill: idempotent) the run's customer_features rows of one partition (queries/compute_rfm_features)
    in the attempt's own table, not attached yet; what it wrote and how long it took."""
    info = run_info(db, attempt_id)
    started = time.perf_counter()
    feature_store.compute_features(
        db,
        attempt_id,
        info.as_of,
        info.lookback_days,
        feature_store.FeatureSet(tuple(info.features)),
        partition,
        into=attempt_tables.prepare(db, "customer_features", attempt_id),
    )
    return {"partition": str(partition), "seconds": round(time.perf_counter() - started, 3)}


def finish(db: Database, settings: Settings, attempt_id: int, partitions_seconds: float) -> dict[str, int]:
    """After every partition: the attempt's table indexed and attached (readers see its rows from here on), the
    run's R/F/M cut points and population, and the features stage's seconds (the partitions' wall time plus this);
    known/active customers."""
    info = run_info(db, attempt_id)
    feature_set = feature_store.FeatureSet(tuple(info.features))
    started = time.perf_counter()
    attempt_tables.attach(db, "customer_features", attempt_id)
    cuts = feature_store.cut_points(db, attempt_id) if feature_set.uses_transactions else {}
    db.run(
        "queries/features/record_population",
        {
            "attempt_id": attempt_id,
            "rfm_cut_points": json.dumps(cuts),
            "uses_transactions": feature_set.uses_transactions,
        },
    )
    record_stage_seconds(db, attempt_id, "features", partitions_seconds + time.perf_counter() - started)
    known, active = db.run("queries/features/run_population", {"attempt_id": attempt_id})[0]
    return {"known": known, "active": active}

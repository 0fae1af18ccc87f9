"""Bring the aggregates current, then compute a run's features from them in the database, and its own R/F/M cut
points."""

from __future__ import annotations

import json

from segflow import aggregates
from segflow import features as feature_store
from segflow.db import Database
from segflow.runs import run_info, timed
from segflow.settings import Settings


def fold(db: Database, settings: Settings, attempt_id: int, rebuild: bool = False) -> dict[str, object]:
    """Fold the lines that changed since the last fold into the aggregates (or rebuild them), recorded in the
    run's row; what it did."""
    info = run_info(db, attempt_id)
    if not feature_store.FeatureSet(tuple(info.features)).uses_transactions:
        return {}
    with timed(db, attempt_id, "fold"):
        feature_store.check_source_table(db)
        done = aggregates.bring_current(db, settings, rebuild=rebuild)
        db.run("queries/features/record_fold", {"attempt_id": attempt_id, "aggregates": done.as_json()})
    return done.as_dict()


def build(db: Database, settings: Settings, attempt_id: int) -> dict[str, int]:
    """Fill the run's customer_features (queries/compute_rfm_features) and cut points; known/active customers."""
    info = run_info(db, attempt_id)
    feature_set = feature_store.FeatureSet(tuple(info.features))
    with timed(db, attempt_id, "features"):
        feature_store.compute_features(db, attempt_id, info.as_of, info.lookback_days, feature_set)
        cuts = feature_store.cut_points(db, attempt_id) if feature_set.uses_transactions else {}
        db.run(
            "queries/features/record_population",
            {
                "attempt_id": attempt_id,
                "rfm_cut_points": json.dumps(cuts),
                "uses_transactions": feature_set.uses_transactions,
            },
        )
    known, active = db.run("queries/features/run_population", {"attempt_id": attempt_id})[0]
    return {"known": known, "active": active}

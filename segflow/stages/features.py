"""Compute a run's features in the database, and its own R/F/M cut points."""

from __future__ import annotations

import json

from segflow import features as feature_store
from segflow.db import Database
from segflow.runs import run_info, timed
from segflow.settings import Settings


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

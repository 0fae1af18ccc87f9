"""Score a run's customers with its model and write their assignments back."""

from __future__ import annotations

import io
from typing import NamedTuple

import numpy as np
import pandas as pd

from segflow import features as feature_store
from segflow import registry
from segflow.db import Database, copy_in
from segflow.errors import SegflowError
from segflow.runs import run_info, timed
from segflow.segments import INACTIVE, UNSCORED
from segflow.settings import Settings


class Scored(NamedTuple):
    """How many customers the model scored (rule segments aside), and which model version."""

    customers: int
    model_version: int


def score(db: Database, settings: Settings, attempt_id: int) -> Scored:
    """Assign every customer of the run a segment with the run's model, streaming features out and assignments
    in by COPY (a rerun of the stage replaces them)."""
    info = run_info(db, attempt_id)
    if info.model_version is None:
        raise SegflowError(f"run attempt {attempt_id} has no model version; train first")
    with timed(db, attempt_id, "score"):
        model = registry.load(db, info.model_version)
        names = registry.segment_names(db, info.model_version)
        feature_set = feature_store.FeatureSet(tuple(model.features))
        # The model's cut points (else this run's own), so scores mean the same in every run it scores.
        cuts = registry.details(db, info.model_version)["rfm_cut_points"] or info.rfm_cut_points or {}
        db.run("queries/score/delete_run_assignments", {"attempt_id": attempt_id})
        label_keys = np.asarray(model.segment_keys)
        label_names = np.asarray([names[k][0] for k in model.segment_keys])
        label_actions = np.asarray([names[k][1] for k in model.segment_keys])
        scored = 0
        for chunk in feature_store.export_features(db, attempt_id, feature_set, chunk_rows=settings.score_chunk_rows):
            labels, distance, confidence = model.assign(chunk)
            frame = pd.DataFrame(
                {
                    "attempt_id": attempt_id,
                    "customer_id": chunk["customer_id"].to_numpy(),
                    "segment_key": label_keys[labels],
                    "segment_name": label_names[labels],
                    "action": label_actions[labels],
                    "model_version": info.model_version,
                    "distance": distance.round(6),
                    "confidence": confidence.round(6),
                }
            )
            if cuts:
                frame = frame.join(feature_store.rfm_scores(chunk, cuts).reset_index(drop=True))
            buffer = io.StringIO()
            frame.to_csv(buffer, sep="\t", header=False, index=False, na_rep="\\N")
            buffer.seek(0)
            with db.transaction() as cur:
                copy_in(cur, "segment_assignments", tuple(frame.columns), buffer)
            scored += len(frame)
        db.run_composed(
            "queries/score/assign_rule_segments",
            {
                "attempt_id": attempt_id,
                "model_version": info.model_version,
                "uses_transactions": feature_store.FeatureSet(tuple(info.features)).uses_transactions,
                "inactive_key": INACTIVE[0],
                "inactive_name": INACTIVE[1],
                "inactive_action": INACTIVE[2],
                "unscored_key": UNSCORED[0],
                "unscored_name": UNSCORED[1],
                "unscored_action": UNSCORED[2],
            },
            complete=feature_store.completeness(feature_set),
        )
        db.run("queries/score/analyze_run_rows")
    return Scored(scored, info.model_version)

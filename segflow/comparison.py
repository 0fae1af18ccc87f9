"""Like-for-like comparison of two runs scored by different model versions.

When a run's model differs from the earlier run's, the earlier run's customers are re-scored with the later
run's model from the features it stored, so drift and transitions measure customers moving, not a model
changing. Runs on different features cannot be compared that way and are not compared at all.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass

import pandas as pd

from segflow import features as feature_store
from segflow import registry
from segflow.db import Database, copy_in, run_named
from segflow.runs import run_info
from segflow.segments import INACTIVE, UNSCORED, name_members
from segflow.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Basis:
    """How an earlier run is compared with a later one.

    under_model: None when both were scored by the same model; else the later run's model version, which
    re-scored the earlier run's customers. comparable: False when the runs' features differ.
    """

    under_model: int | None
    comparable: bool
    note: str


def comparison_basis(db: Database, settings: Settings, earlier_attempt: int, later_attempt: int) -> Basis:
    """How to compare two attempts; re-scores the earlier one under the later one's model when they differ."""
    earlier_version, earlier_features = _model_and_features(db, earlier_attempt)
    later_version, _ = _model_and_features(db, later_attempt)
    if earlier_version == later_version or later_version is None:
        return Basis(None, True, "")
    model = registry.load(db, later_version)
    if set(model.features) != set(earlier_features):
        return Basis(
            None,
            False,
            f"the earlier run used features {earlier_features}, model v{later_version} "
            f"uses {model.features}: the runs are not compared",
        )
    rescore(db, settings, earlier_attempt, later_version)
    return Basis(
        later_version,
        True,
        f"the earlier run was scored by model v{earlier_version}; its customers are "
        f"compared as model v{later_version} scores them",
    )


def _model_and_features(db: Database, attempt_id: int) -> tuple[int | None, list[str]]:
    rows = db.run("queries/comparison/attempt_model_and_features", {"attempt_id": attempt_id})
    return rows[0][0], list(rows[0][1])


def rescore(db: Database, settings: Settings, attempt_id: int, version: int) -> int:
    """Write an attempt's customers as model `version` scores them (once; reused afterwards); rows written."""
    if db.run("queries/comparison/comparison_exists", {"attempt_id": attempt_id, "model_version": version})[0][0]:
        return 0
    model = registry.load(db, version)
    keys = pd.Series(model.segment_keys).to_numpy(dtype=object)
    names = registry.segment_names(db, version)
    # The model's cut points (else the attempt's own), as the score stage takes them.
    cuts = registry.rfm_cut_points(db, version) or run_info(db, attempt_id).rfm_cut_points or {}
    written = 0
    # One transaction: a reader finds all of an attempt's comparison rows or none.
    with db.transaction() as cur:
        for chunk in feature_store.export_features(
            db, attempt_id, feature_store.FeatureSet(tuple(model.features)), chunk_rows=settings.score_chunk_rows
        ):
            labels, _, _ = model.assign(chunk)
            frame = pd.DataFrame(
                {
                    "attempt_id": attempt_id,
                    "model_version": version,
                    "customer_id": chunk["customer_id"].to_numpy(),
                    # The names' rules as the score stage applies them: a move is a customer's own, not a rule's.
                    "segment_key": name_members(keys[labels], names, chunk, cuts).keys,
                }
            )
            buffer = io.StringIO()
            frame.to_csv(buffer, sep="\t", header=False, index=False)
            buffer.seek(0)
            copy_in(cur, "comparison_assignments", tuple(frame.columns), buffer)
            written += len(frame)
        run_named(
            cur,
            "queries/comparison/copy_rule_segments_to_comparison",
            {"attempt_id": attempt_id, "model_version": version, "rule_keys": [INACTIVE[0], UNSCORED[0]]},
        )
        written += cur.rowcount
        run_named(cur, "queries/comparison/analyze_comparison_assignments")
    log.info("re-scored attempt %s with model v%s for comparison (%s customers)", attempt_id, version, written)
    return written

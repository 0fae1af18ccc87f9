"""Like-for-like comparison of two runs scored by different model versions.

When a run's model differs from the earlier run's, the earlier run's customers are re-scored with the later
run's model from the features it stored, so drift and transitions measure customers moving, not a model
changing. Runs on different features cannot be compared that way and are not compared at all.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from segflow.data import features as feature_store
from segflow.modelling import registry
from segflow.modelling.scoring import Scorer, copy_assignments
from segflow.modelling.segments import INACTIVE, UNSCORED
from segflow.orchestration.runs import rows_dropped, run_info
from segflow.settings import Settings
from segflow.storage.db import Database, run_named

log = logging.getLogger(__name__)
# What a comparison keeps of an assignment row: the segment a customer would have had under the later run's model.
COMPARISON_COLUMNS = ("attempt_id", "model_version", "customer_id", "segment_key")


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
    """How to compare two attempts; re-scores the earlier one under the later one's model when they differ. Under
    one model the runs compare whatever retention dropped (segments come from segment_ranges, drift from each run's
    sample); re-scoring needs the earlier run's features, so without them (and no earlier re-scoring kept) the runs
    are not compared."""
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
    dropped = rows_dropped(db, earlier_attempt)
    if dropped is not None and not _rescored(db, earlier_attempt, later_version):
        return Basis(
            None, False, f"{dropped}; it cannot be re-scored with model v{later_version}: the runs are not compared"
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


def _rescored(db: Database, attempt_id: int, version: int) -> bool:
    """Whether the attempt's customers as model `version` scores them are already written."""
    return bool(
        db.run("queries/comparison/comparison_exists", {"attempt_id": attempt_id, "model_version": version})[0][0]
    )


def rescore(db: Database, settings: Settings, attempt_id: int, version: int) -> int:
    """Write an attempt's customers as model `version` scores them (once; reused afterwards); rows written."""
    if _rescored(db, attempt_id, version):
        return 0
    # Scored as the score stage scores (the model's cut points, else the attempt's own; the names' rules applied): a
    # move is a customer's own, not a rule's.
    scorer = Scorer.load(db, version, fallback_cut_points=run_info(db, attempt_id).rfm_cut_points)
    # One transaction: a reader finds all of an attempt's comparison rows or none.
    with db.transaction() as cur:
        chunks = feature_store.export_features(
            db, attempt_id, feature_store.FeatureSet(tuple(scorer.features)), chunk_rows=settings.score_chunk_rows
        )
        written = copy_assignments(cur, scorer, attempt_id, chunks, "comparison_assignments", COMPARISON_COLUMNS)
        run_named(
            cur,
            "queries/comparison/copy_rule_segments_to_comparison",
            {"attempt_id": attempt_id, "model_version": version, "rule_keys": [INACTIVE[0], UNSCORED[0]]},
        )
        written += cur.rowcount
        run_named(cur, "queries/comparison/analyze_comparison_assignments")
    log.info("re-scored attempt %s with model v%s for comparison (%s customers)", attempt_id, version, written)
    return written

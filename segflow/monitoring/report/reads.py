"""What the segment report reads from the database: samples of a run's customers, segment scores and attribute
means, the transitions into a run and its stored drift verdicts."""

from __future__ import annotations

from typing import Any

import pandas as pd
from psycopg2 import sql

from segflow.data.features import feature_value
from segflow.modelling import registry
from segflow.modelling.segments import RULE_SEGMENTS
from segflow.monitoring import run_sample
from segflow.monitoring.drift_references import attempt_sample, reports_for_run
from segflow.settings import Settings
from segflow.storage.db import Database, frame, run_composed_named

MAP_POINTS = 5_000  # customers on the map: enough to see the shapes, few enough for an SVG plot


def feature_sample(db: Database, settings: Settings, attempt_id: int, features: list[str], size: int) -> pd.DataFrame:
    """The first `size` clustered customers of an attempt's stored sample (segflow.monitoring.run_sample; filled now
    if the attempt has none): customer_id, segment_key and each feature."""
    run_sample.ensure(db, settings, attempt_id)
    columns = sql.SQL(", ").join(sql.SQL("{} as {}").format(feature_value(f), sql.Identifier(f)) for f in features)
    with db.transaction() as cur:
        rows = run_composed_named(
            cur,
            "queries/report/report_feature_sample",
            {"attempt_id": attempt_id, "limit": size},
            features=columns,
        )
        sample = frame(cur, rows).drop(columns="sample_hash")
    return sample.astype(dict.fromkeys(features, "float64"))


def map_sample(db: Database, settings: Settings, attempt_id: int) -> pd.DataFrame:
    """A deterministic sample of an attempt's clustered customers with their RFM features, for the map."""
    return attempt_sample(db, settings, attempt_id, MAP_POINTS, everyone=False)


def segment_scores(db: Database, attempt_id: int) -> pd.DataFrame:
    """Mean R, F and M score per segment of an attempt, indexed by segment key."""
    return pd.DataFrame(
        db.run("queries/report/report_segment_scores", {"attempt_id": attempt_id}),
        columns=["segment_key", "mean_r_score", "mean_f_score", "mean_m_score"],
    ).set_index("segment_key")


def other_attribute_means(db: Database, attempt_id: int, model_features: list[str]) -> pd.DataFrame:
    """Per segment (index) the mean of each numeric attribute loaded that the model does not cluster on."""
    long = db.run("queries/report/report_attribute_means", {"attempt_id": attempt_id})
    frame = pd.DataFrame(long, columns=["segment_key", "attribute", "mean"])
    others = frame[~frame["attribute"].isin(model_features)]
    return others.pivot(index="segment_key", columns="attribute", values="mean").astype(float)


def segment_actions(db: Database, version: int) -> dict[str, str]:
    """The suggested action per segment key: the rule segments' and model `version`'s own."""
    rules = {key: action for key, (_, action) in RULE_SEGMENTS.items()}
    return rules | {key: action for key, (_, action) in registry.segment_names(db, version).items()}


def transitions_into(db: Database, run_id: int) -> list[tuple[Any, ...]]:
    """Customers moving into a run from the published run before it (rows as queries/transitions_into_run)."""
    return db.run("queries/transitions/transitions_into_run", {"run_id": run_id})


def drift_reports_by_reference(db: Database, run_id: int) -> dict[str, tuple[Any, ...]]:
    """The run's stored drift reports by reference ('previous', 'training'): rows as reports_for_run gives them."""
    return {row[2]: row for row in reports_for_run(db, run_id)}

"""What the app's pages read and compute, as plain functions on the database (no Streamlit here, so every
page's data is testable and reusable)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from sklearn.decomposition import PCA

from segflow.modelling.segment_model import SegmentModel
from segflow.modelling.segments import RULE_SEGMENTS
from segflow.monitoring.drift_page import segment_label
from segflow.monitoring.drift_report import report_path
from segflow.monitoring.report import figures, reads
from segflow.orchestration import runs
from segflow.settings import Settings
from segflow.storage.db import Database

RULE_ACTIONS = {key: action for key, (_, action) in RULE_SEGMENTS.items()}
# Members' figures charted and filtered as numbers (the query's other columns are ids, names and 1-5 scores).
MEMBER_FEATURES = ["recency_days", "frequency", "monetary", "tenure_days", "distance", "confidence"]


def run_segments(db: Database, attempt_id: int) -> pd.DataFrame:
    """A published attempt's segments: name, action, customers, share, revenue and revenue share, mean R/F/M."""
    frame = db.frame("queries/ui/run_segments", {"attempt_id": attempt_id})
    frame["action"] = frame["action"].fillna(frame["segment_key"].map(RULE_ACTIONS)).fillna("")
    return frame


def segment_members(db: Database, segment_key: str, limit: int) -> pd.DataFrame:
    """Customers of a segment in the current run with their features, at most `limit` of them (by id)."""
    frame = db.frame("queries/ui/segment_members", {"segment_key": segment_key, "limit": limit})
    # Numeric columns arrive as Decimal from PostgreSQL numeric: floats filter and chart like numbers.
    for column in MEMBER_FEATURES:
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype(float)
    return frame


def within_ranges(frame: pd.DataFrame, ranges: dict[str, tuple[float, float]]) -> pd.DataFrame:
    """The rows whose value of each named column lies in its inclusive (low, high) range."""
    keep = pd.Series(True, index=frame.index)
    for column, (low, high) in ranges.items():
        keep &= frame[column].between(low, high)
    return frame[keep]


def drift_by_run(db: Database) -> pd.DataFrame:
    """Every published run, newest first, one row per drift reference (runs without reports: one empty row)."""
    return db.frame("queries/ui/drift_by_run")


def segment_shares_by_run(db: Database) -> pd.DataFrame:
    """Each published run's segment shares: run_id, as_of, segment_key, segment_name, share."""
    return db.frame("queries/ui/segment_shares_by_run")


def transitions_into(db: Database, run_id: int) -> pd.DataFrame:
    """Customers moving into a run from the published run before it, one row per (from, to) segment pair."""
    return db.frame("queries/transitions/transitions_into_run", {"run_id": run_id})


def report_file(settings: Settings, run_id: int, reference: str) -> Path | None:
    """The drift report HTML of a run against a reference, if it is on disk (old ones are pruned)."""
    path = report_path(settings, run_id, reference).resolve()
    return path if path.exists() else None


@dataclass(frozen=True)
class CustomerMap:
    """A run's customer map, and where a customer with given feature values lands on it."""

    figure: go.Figure
    place: Callable[[dict[str, float]], tuple[float, float]]


def customer_map(
    db: Database, settings: Settings, attempt_id: int, model: SegmentModel, table: pd.DataFrame
) -> CustomerMap | None:
    """The report's map of a sample of a published attempt's customers with the centroids (None when it cannot be
    drawn: too few customers). A model on customer attributes is drawn as the report draws it: on its two features
    in their own units, or on principal components when it has more."""
    labels = {k: segment_label(k, n) for k, n in zip(table["segment_key"], table["segment_name"], strict=True)}
    colours = figures.segment_colours(list(table["segment_key"]))
    if figures.uses_attributes(model):
        sample = reads.feature_sample(db, settings, attempt_id, model.features, reads.MAP_POINTS)
        figure = figures.attribute_map(model, sample, labels, colours)
        if figure is not None and len(model.features) == 2:
            x_feature, y_feature = model.features
            return CustomerMap(figure=figure, place=lambda values: (float(values[x_feature]), float(values[y_feature])))
    else:
        sample = reads.map_sample(db, settings, attempt_id)
        figure = figures.customer_map(model, sample, labels, colours)
    if figure is None:
        return None
    # The same fit as the report's map (full SVD on the same sample is deterministic), kept to place what-if points.
    z = model.to_model_space(sample.dropna(subset=model.features))
    pca = PCA(n_components=min(2, z.shape[1]), svd_solver="full").fit(z)

    def place(values: dict[str, float]) -> tuple[float, float]:
        point = pca.transform(model.to_model_space(pd.DataFrame([values])))
        return float(point[0, 0]), float(point[0, 1]) if point.shape[1] > 1 else 0.0

    return CustomerMap(figure=figure, place=place)


def with_point(customer_map: CustomerMap, values: dict[str, float], label: str) -> go.Figure:
    """A copy of the map with one customer's features marked as a large star."""
    x, y = customer_map.place(values)
    figure = go.Figure(customer_map.figure)
    figure.add_trace(
        go.Scatter(
            x=[x],
            y=[y],
            mode="markers+text",
            name=label,
            text=[label],
            textposition="bottom center",
            marker={"size": 24, "symbol": "star", "color": "#111", "line": {"width": 2, "color": "#ffd400"}},
            hovertemplate=label + "<extra></extra>",
        )
    )
    return figure


def model_feature_defaults(model: SegmentModel) -> dict[str, float]:
    """Each model feature's centroid mean in its own units: a sensible starting point for what-if inputs."""
    centroids = model.centroids_original_units()
    return {feature: float(np.round(centroids[feature].mean(), 2)) for feature in model.features}


def current_run(db: Database) -> dict | None:
    """The run BI reads now (as from runs.published_run), or None before the first published run."""
    try:
        return runs.published_run(db)
    except runs.UnknownRun:
        return None


def map_columns(frame: pd.DataFrame, mapping: dict[str, str]) -> pd.DataFrame:
    """The frame with a column per model feature, copied from the column the user mapped it to (their own
    columns are kept, so ids and the like travel into the scored file)."""
    missing = sorted({column for column in mapping.values() if column not in frame.columns})
    if missing:
        raise ValueError(f"the file has no column(s) {', '.join(missing)}")
    mapped = frame.copy()
    for feature, column in mapping.items():
        mapped[feature] = frame[column]
    return mapped

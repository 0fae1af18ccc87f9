"""The Evidently side of a drift report: the frame Evidently gets (columns named for a reader, per-segment
feature columns), the report run and saved as HTML, each drift column's score read back; and importing Evidently
early, in the background."""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

import pandas as pd

from segflow.monitoring import drift_page

log = logging.getLogger(__name__)

FEATURES = ("recency_days", "frequency", "monetary", "tenure_days", "avg_order_value")
PER_SEGMENT_FEATURES = ("recency_days", "frequency", "monetary")
PER_SEGMENT_MIN_SHARE = 0.10  # per-segment feature drift for segments at least this large
PER_SEGMENT_MIN_ROWS = 30


def import_evidently_in_background() -> threading.Thread:
    """Start importing Evidently on a daemon thread and return the thread.

    Importing Evidently is about 5 s of Python, paid by every night's first drift report. Started when the night
    starts, the import overlaps the stages that mostly wait on PostgreSQL; the drift stage's own import then
    finds the modules loaded, or waits on Python's import lock for the rest. A failed import here is only
    logged: the drift stage imports again and raises there.
    """

    def load() -> None:
        try:
            import evidently.metrics
            import evidently.presets  # noqa: F401
        except Exception:  # reported by the drift stage's own import
            log.debug("importing Evidently in the background failed", exc_info=True)

    thread = threading.Thread(target=load, name="segflow-import-evidently", daemon=True)
    thread.start()
    return thread


def with_segment_columns(frame: pd.DataFrame, segments: list[str]) -> pd.DataFrame:
    """Add '<segment>__<feature>' columns, the feature where the customer is in that segment, else empty."""
    out = frame.copy()
    for segment in segments:
        inside = out["segment_key"] == segment
        for feature in PER_SEGMENT_FEATURES:
            out[f"{segment}__{feature}"] = out[feature].where(inside)
    return out


def readable_frame(
    frame: pd.DataFrame, features: list[str], segments: list[str], labels: dict[str, str]
) -> tuple[pd.DataFrame, dict[str, str]]:
    """The frame Evidently gets: columns named for a reader ('recency (days)', 'S2 Loyal: recency (days)'),
    segment keys as labels ('S2 Loyal'); and the machine name of each readable column name."""
    out = with_segment_columns(frame, segments)
    machine = {drift_page.feature_label(f): f for f in features}
    machine |= {
        drift_page.segment_column_label(labels.get(s, s), f): f"{s}__{f}"
        for s in segments
        for f in PER_SEGMENT_FEATURES
        if f in features
    }
    machine[drift_page.SEGMENT_COLUMN] = "segment_key"
    out[drift_page.SEGMENT_COLUMN] = out["segment_key"].map(lambda k: labels.get(k, k))
    out = out.rename(columns={name: readable for readable, name in machine.items() if name != "segment_key"})
    return out[["customer_id", *machine]], machine


def evidently_report(
    current: pd.DataFrame,
    reference: pd.DataFrame,
    segments: list[str],
    html_path: Path,
    labels: dict[str, str] | None = None,
    stamp: dict[str, Any] | None = None,
) -> tuple[list[dict[str, Any]], Any]:
    """Run the Evidently report and save its HTML; each drift column's score, method and threshold (by machine
    name: 'segment_key', 'recency_days', 'S2__recency_days'), and the snapshot.

    labels: segment key -> 'S2 Loyal', the names the page shows (keys alone without them). stamp: Report.run's
    timestamp, tags, metadata and name for the workspace (segflow.monitoring.drift_workspace.snapshot_stamp).
    """
    from evidently import DataDefinition, Dataset, Report
    from evidently.metrics import UniqueValueCount, ValueDrift
    from evidently.presets import DataDriftPreset

    labels = labels or {}
    # Evidently refuses a drift column that is empty on either side (attribute-only models have no RFM).
    features = [f for f in FEATURES if current[f].notna().any() and reference[f].notna().any()]
    now, machine = readable_frame(current, features, segments, labels)
    then, _ = readable_frame(reference, features, segments, labels)
    readable_features = [drift_page.feature_label(f) for f in features]
    segment_columns = [c for c in machine if c not in readable_features and c != drift_page.SEGMENT_COLUMN]
    definition = DataDefinition(
        id_column="customer_id",
        numerical_columns=readable_features + segment_columns,
        categorical_columns=[drift_page.SEGMENT_COLUMN],
    )
    report = Report(
        [
            ValueDrift(column=drift_page.SEGMENT_COLUMN, method="psi"),
            ValueDrift(column=drift_page.SEGMENT_COLUMN, method="jensenshannon"),
            # Segment shares of the sample, for the workspace dashboard's shares over nights.
            UniqueValueCount(column=drift_page.SEGMENT_COLUMN),
            *([DataDriftPreset(columns=readable_features)] if readable_features else []),
            *[ValueDrift(column=c) for c in segment_columns],
        ]
    )
    snapshot = report.run(
        current_data=Dataset.from_pandas(now, data_definition=definition),
        reference_data=Dataset.from_pandas(then, data_definition=definition),
        **(stamp or {}),
    )
    drift_page.make_readable(snapshot)
    html_path.parent.mkdir(parents=True, exist_ok=True)
    snapshot.save_html(str(html_path))  # a pathlib.Path silently writes nothing in evidently 0.7
    columns = []
    for metric in snapshot.dict()["metrics"]:
        config = metric["config"]
        if not config.get("type", "").endswith(":ValueDrift"):
            continue
        score = float(metric["value"])
        threshold = float(config.get("threshold") or 0.0)
        method = config.get("method") or ""
        # p-value tests drift when the value is below the threshold, distances when at or above it.
        drifted = score < threshold if "p_value" in method or "test" in method.lower() else score >= threshold
        columns.append(
            {
                "column": machine.get(config["column"], config["column"]),
                "method": method,
                "threshold": threshold,
                "score": round(score, 6),
                "drifted": drifted,
            }
        )
    return columns, snapshot

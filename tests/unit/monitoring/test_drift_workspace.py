"""Where a run's drift snapshots land in the Evidently workspace: their id, date, tags and the dashboard's series."""

import uuid
from datetime import date, datetime

from segflow.monitoring import drift_workspace

PROJECT = uuid.UUID("01a22595-d775-7c25-9767-914a5f542b7e")


def test_a_rerun_gets_the_same_snapshot_id_and_each_reference_its_own():
    first = drift_workspace.snapshot_id(PROJECT, 4, "previous")

    assert drift_workspace.snapshot_id(PROJECT, 4, "previous") == first
    assert drift_workspace.snapshot_id(PROJECT, 4, "training") != first
    assert drift_workspace.snapshot_id(PROJECT, 5, "previous") != first


def test_a_snapshot_is_placed_on_its_as_of_night_and_tagged_with_its_reference():
    stamp = drift_workspace.snapshot_stamp(4, date(2026, 11, 22), "training")

    assert stamp == {
        "timestamp": datetime(2026, 11, 22, 0, 0),
        "tags": ["training"],
        "metadata": {"run_id": "4", "as_of": "2026-11-22", "reference": "training"},
        "name": "run 4 vs training",
    }


def test_the_dashboard_filters_each_panel_on_the_metric_and_labels_the_report_emits():
    panels = {p.title: p.values for p in drift_workspace.dashboard_panels()}

    psi = panels["Segment-share PSI against the previous run"][0]
    assert (psi.metric, psi.metric_labels, psi.tags) == (
        "evidently:metric_v2:ValueDrift",
        {"column": "segment", "method": "psi"},
        ["previous"],
    )
    drifted = panels["Share of features drifted against the training data"][0]
    assert (drifted.metric, drifted.metric_labels) == (
        "evidently:metric_v2:DriftedColumnsCount",
        {"value_type": "share"},
    )
    shares = panels["Segment shares of the drift sample"][0]
    assert shares.legend == "{{label}}" and shares.metric_labels == {"column": "segment", "value_type": "share"}

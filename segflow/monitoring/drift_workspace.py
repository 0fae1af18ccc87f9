"""Each run's drift snapshots in an Evidently workspace whose project dashboard shows drift over nights, so that
`evidently ui --workspace $SEGFLOW_HOME/evidently` is the morning review.

The snapshots are the ones the drift reports were built from (no second Evidently run). Each is stamped with its
run's as-of date, tagged with its reference ('previous' or 'training') and named 'run N vs REFERENCE': adding a
run again (a rerun of its date) replaces its snapshots instead of adding more.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from segflow.monitoring.drift_page import SEGMENT_COLUMN

if TYPE_CHECKING:
    from evidently.sdk.models import DashboardPanelPlot
    from evidently.ui.workspace import Project, Workspace

    from segflow.monitoring.drift_report import DriftResult

log = logging.getLogger(__name__)

PROJECT_NAME = "segflow drift"
TAB = "Drift over nights"
AGAINST = {"previous": "against the previous run", "training": "against the training data"}


def snapshot_name(run_id: int, reference: str) -> str:
    """'run 4 vs previous': one snapshot per run and reference."""
    return f"run {run_id} vs {reference}"


def snapshot_stamp(run_id: int, as_of: date, reference: str) -> dict[str, Any]:
    """The keywords of Evidently's Report.run that place a snapshot on the dashboard: at its as-of date (not when
    it was computed, so a backfill lands on its nights), tagged with its reference."""
    return {
        "timestamp": datetime(as_of.year, as_of.month, as_of.day),
        "tags": [reference],
        "metadata": {"run_id": str(run_id), "as_of": as_of.isoformat(), "reference": reference},
        "name": snapshot_name(run_id, reference),
    }


def dashboard_panels() -> list[DashboardPanelPlot]:
    """Segment-share PSI and the share of drifted features against each reference, and the segment shares."""
    from evidently.sdk.models import PanelMetric
    from evidently.sdk.panels import line_plot_panel

    panels = []
    for reference, against in AGAINST.items():
        panels.append(
            line_plot_panel(
                title=f"Segment-share PSI {against}",
                description="Evidently's PSI of the segment column on the drift sample (segflow's verdict uses the "
                "exact shares; both agree when the run has fewer customers than SEGFLOW_DRIFT_SAMPLE).",
                values=[
                    PanelMetric(
                        legend="PSI",
                        metric="ValueDrift",
                        metric_labels={"column": SEGMENT_COLUMN, "method": "psi"},
                        tags=[reference],
                    )
                ],
                size="half",
            )
        )
    for reference, against in AGAINST.items():
        panels.append(
            line_plot_panel(
                title=f"Share of features drifted {against}",
                description="Of recency, frequency, monetary, tenure and average order value.",
                values=[
                    PanelMetric(
                        legend="share drifted",
                        metric="DriftedColumnsCount",
                        metric_labels={"value_type": "share"},
                        tags=[reference],
                    )
                ],
                size="half",
            )
        )
    panels.append(
        line_plot_panel(
            title="Segment shares of the drift sample",
            description="Each population's share of all the run's customers in the drift sample: the segments and "
            "the rule segments ('inactive': no purchase in the lookback window). The exact shares are in "
            "segflow's drift reports (`segflow drift`).",
            values=[
                PanelMetric(
                    legend="{{label}}",
                    metric="UniqueValueCount",
                    metric_labels={"column": SEGMENT_COLUMN, "value_type": "share"},
                    tags=["training"],  # the run's own customers: the same in both references' snapshots
                )
            ],
            size="full",
        )
    )
    return panels


def project_id(path: Path) -> uuid.UUID:
    """The id of the workspace's segflow project, created (with its dashboard) when missing."""
    from evidently.ui.storage.local.base import LocalState

    state = LocalState(str(path))
    for found in state.list_projects() if path.exists() else []:
        if state.read_project(found).name == PROJECT_NAME:
            return found
    _, project = open_project(path)
    return project.id


def open_project(path: Path) -> tuple[Workspace, Project]:
    """The workspace at path and its segflow project, both created with the dashboard when missing.

    Opening a Workspace reads every snapshot in it: the nightly write goes through project_id instead.
    """
    from evidently.ui.workspace import Workspace

    workspace = Workspace.create(str(path))
    found = workspace.search_project(PROJECT_NAME)
    if found:
        return workspace, found[0]
    project = workspace.create_project(
        PROJECT_NAME, description="segflow's nightly drift reports: one snapshot per run and reference."
    )
    for panel in dashboard_panels():
        project.dashboard.add_panel(panel, tab=TAB)
    return workspace, project


def snapshot_id(project: uuid.UUID, run_id: int, reference: str) -> uuid.UUID:
    """The same id for the same run and reference, so that a rerun's snapshot overwrites the earlier one."""
    return uuid.uuid5(project, snapshot_name(run_id, reference))


def add_run_snapshots(path: Path, run_id: int, results: list[DriftResult]) -> int:
    """Add a run's drift snapshots to the workspace, replacing any it had; returns how many were added.

    Written as files by the workspace's own file layer (evidently.ui.storage.local, as Workspace.add_run does)
    under an id derived from the run and reference: Workspace.add_run would need the workspace opened, which
    reads every snapshot of every night, and a new random id per call, which a rerun would duplicate.
    """
    from evidently.ui.storage.local.base import LocalState

    snapshots = [r for r in results if r.snapshot is not None]
    if not snapshots:
        return 0
    project = project_id(path)
    state = LocalState(str(path))
    for result in snapshots:
        result.snapshot.set_name(snapshot_name(run_id, result.reference))
        model = result.snapshot.to_snapshot_model()
        state.write_snapshot(project, snapshot_id(project, run_id, result.reference), model)
    log.info("run %d: %d drift snapshot(s) in the Evidently workspace %s", run_id, len(snapshots), path)
    return len(snapshots)


def replace_snapshot(path: Path, run_id: int, reference: str, result: DriftResult | None) -> None:
    """A run's snapshot against one reference written again, or deleted when the run lost that report (its
    previous run, now another one, is not comparable)."""
    from evidently.ui.storage.local.base import LocalState

    if result is not None:
        add_run_snapshots(path, run_id, [result])
        return
    if not path.exists():
        return
    project = project_id(path)
    state = LocalState(str(path))
    stale = snapshot_id(project, run_id, reference)
    if stale in state.list_snapshots(project):
        state.delete_snapshot(project, stale)


def panel_series(path: Path, title: str) -> dict[str, list[float]]:
    """The values a dashboard panel draws, by series, oldest night first, as `evidently ui` computes them."""
    from evidently.ui.service.base import SeriesFilter
    from evidently.ui.service.storage.local.base import InMemoryDataStorage

    workspace, project = open_project(path)
    panel = next(p for p in workspace.get_dashboard(project.id).panels if p.title == title)
    filters = [
        SeriesFilter(tags=v.tags, metadata=v.metadata, metric=v.metric, metric_labels=v.metric_labels)
        for v in panel.values
    ]
    response = asyncio.run(InMemoryDataStorage(str(path)).get_data_series(project.id, filters, None, None))
    # One series per segment label in the shares panel; one series, named by its metric, elsewhere.
    return {
        s.params.get("label", s.metric_type.rsplit(":", 1)[-1]): [float(x) for x in s.values if x is not None]
        for s in response.series
    }

"""Watch a run: its drift check before publishing, and after publishing its transitions, drift reports (the
check's reused when the run kept its model) and their Evidently workspace snapshots, the drift event, its
segment page and report (and drift sample) retention.

Publishing a run between two others (a backfill, a rerun) also rebuilds the later neighbour's 'previous'
drift report, transitions page and segment page, so no page compares with a run that is no longer its
neighbour.
"""

from __future__ import annotations

import logging
import os
from datetime import date
from pathlib import Path
from typing import Any

from segflow.modelling import comparison
from segflow.monitoring import drift_report, retention, transitions
from segflow.monitoring import drift_workspace as segflow_drift_workspace
from segflow.monitoring.drift_report import DriftResult
from segflow.monitoring.report.page import build_attempt_report
from segflow.orchestration.runs import (
    is_current,
    neighbours,
    previous_published,
    run_info,
    run_summary,
    timed,
)
from segflow.settings import Settings
from segflow.storage.db import Database, run_named

log = logging.getLogger(__name__)

DRIFT_EVENT = "segflow.drift.detected"


def check_drift(db: Database, settings: Settings, attempt_id: int) -> list[DriftResult]:
    """Before publishing: the run, scored with the champion, against the champion's training data and the
    previous published run (HTML staged beside the published run's)."""
    info = run_info(db, attempt_id)
    run_id = run_summary(db, attempt_id)["run_id"]
    prev_run, prev_attempt = previous_published(db, attempt_id)
    with timed(db, attempt_id, "drift_check"):
        results = [
            drift_report.build_report(
                db,
                settings,
                attempt_id,
                run_id,
                "training",
                None,
                None,
                info.model_version,
                html_path=drift_report.staged_path(settings, run_id, "training", attempt_id),
            )
        ]
        if prev_attempt is not None:
            basis = comparison.comparison_basis(db, settings, prev_attempt, attempt_id)
            if basis.comparable:
                results.append(
                    drift_report.build_report(
                        db,
                        settings,
                        attempt_id,
                        run_id,
                        "previous",
                        prev_attempt,
                        prev_run,
                        info.model_version,
                        under_model=basis.under_model,
                        html_path=drift_report.staged_path(settings, run_id, "previous", attempt_id),
                    )
                )
    return [r for r in results if r is not None]


def record_transitions(db: Database, settings: Settings, attempt_id: int) -> int:
    """Customers per (from, to) segment between this published run and its neighbours; returns rows written.

    When two neighbours were scored by different models, the earlier one is re-scored with the later one's
    model first (segflow.modelling.comparison), so a move is a customer's, not the model's.
    """
    with timed(db, attempt_id, "transitions"):
        around = neighbours(db, attempt_id)
        pairs = [
            (
                from_run,
                from_attempt,
                to_run,
                to_attempt,
                comparison.comparison_basis(db, settings, from_attempt, to_attempt),
            )
            for from_run, from_attempt, to_run, to_attempt in (
                (around.prev_run, around.prev_attempt, around.run_id, attempt_id),
                (around.run_id, attempt_id, around.next_run, around.next_attempt),
            )
            if from_attempt is not None and to_attempt is not None
        ]
        written = 0
        with db.transaction() as cur:
            run_named(
                cur,
                "queries/transitions/delete_transitions_around",
                {"run_id": around.run_id, "prev_run": around.prev_run, "next_run": around.next_run},
            )
            for from_run, from_attempt, to_run, to_attempt, basis in pairs:
                if basis.comparable:
                    run_named(
                        cur,
                        "queries/transitions/insert_transitions",
                        {
                            "from_run": from_run,
                            "from_attempt": from_attempt,
                            "to_run": to_run,
                            "to_attempt": to_attempt,
                            "under_model": basis.under_model,
                        },
                    )
                    written += cur.rowcount
    return written


def drift_reports(
    db: Database, settings: Settings, attempt_id: int, checked: list[DriftResult] | None = None
) -> list[DriftResult]:
    """Drift of a published attempt against the previous published run and its model's training data.

    Reports of the drift check are reused when the run published with the model they were built with and
    against the same previous run; else they are built again. The next published run's 'previous' report (its
    Evidently workspace snapshot too) and transitions page are rebuilt against this run.
    """
    info = run_info(db, attempt_id)
    with timed(db, attempt_id, "drift"):
        around = neighbours(db, attempt_id)
        reusable = {
            r.reference: r
            for r in checked or []
            if r.scored_with == info.model_version and (r.reference == "training" or r.reference_run == around.prev_run)
        }
        results = []
        for reference in ("previous", "training"):
            result = reusable.get(reference)
            if result is not None and result.html_path is not None:
                final = drift_report.report_path(settings, around.run_id, reference)
                os.replace(result.html_path, final)
                result.html_path = final
            elif reference == "previous":
                result = _previous_report(db, settings, attempt_id, around.run_id, around.prev_attempt, around.prev_run)
            else:
                result = drift_report.build_report(
                    db, settings, attempt_id, around.run_id, "training", None, None, info.model_version
                )
            _store_or_forget(db, around.run_id, attempt_id, reference, result)
            if result is not None:
                results.append(result)
        _discard_staged(checked or [], reusable)
        _write_transitions_page(db, settings, around.run_id, info.as_of, around.prev_run)
        if around.next_run is not None and around.next_attempt is not None:
            result = _previous_report(db, settings, around.next_attempt, around.next_run, attempt_id, around.run_id)
            _store_or_forget(db, around.next_run, around.next_attempt, "previous", result)
            # The dashboard's point for that run follows its rebuilt report.
            workspace = settings.evidently_workspace_path
            segflow_drift_workspace.replace_snapshot(workspace, around.next_run, "previous", result)
            _write_transitions_page(
                db, settings, around.next_run, run_info(db, around.next_attempt).as_of, around.run_id
            )
    return results


def _previous_report(
    db: Database, settings: Settings, attempt_id: int, run_id: int, prev_attempt: int | None, prev_run: int | None
) -> DriftResult | None:
    """An attempt's drift report against the previous published run, like for like; None without one."""
    if prev_attempt is None:
        return None
    basis = comparison.comparison_basis(db, settings, prev_attempt, attempt_id)
    if not basis.comparable:
        log.info("run %s: no drift report against run %s: %s", run_id, prev_run, basis.note)
        return None
    version = run_info(db, attempt_id).model_version
    return drift_report.build_report(
        db, settings, attempt_id, run_id, "previous", prev_attempt, prev_run, version, under_model=basis.under_model
    )


def _store_or_forget(db: Database, run_id: int, attempt_id: int, reference: str, result: DriftResult | None) -> None:
    # Without a comparable reference any earlier report of the run against it is stale: it goes.
    if result is None:
        db.run("queries/drift/delete_drift_report", {"run_id": run_id, "reference": reference})
    else:
        drift_report.store(db, run_id, attempt_id, result)


def _discard_staged(checked: list[DriftResult], reused: dict[str, DriftResult]) -> None:
    for result in checked:
        if result.html_path is not None and reused.get(result.reference) is not result:
            result.html_path.unlink(missing_ok=True)


def _write_transitions_page(db: Database, settings: Settings, run_id: int, as_of: date, prev_run: int | None) -> None:
    rows = db.run("queries/transitions/transitions_into_run", {"run_id": run_id})
    note = (
        "No earlier published run: nothing to compare with."
        if prev_run is None
        else f"Run {prev_run}, the published run before this one, was scored on other features: not compared."
    )
    under_model = rows[0][7] if rows else None
    renames = db.run("queries/transitions/renamed_segments", {"version": under_model}) if under_model else []
    page = transitions.transitions_path(settings, run_id)
    page.parent.mkdir(parents=True, exist_ok=True)
    page.write_text(transitions.transitions_html(rows, run_id, str(as_of), note, renames), encoding="utf-8")


def drift_workspace(db: Database, settings: Settings, attempt_id: int, results: list[DriftResult]) -> int:
    """Add the run's drift snapshots to the Evidently workspace (replacing a rerun's); returns how many."""
    run_id = run_summary(db, attempt_id)["run_id"]
    with timed(db, attempt_id, "drift_workspace"):
        return segflow_drift_workspace.add_run_snapshots(settings.evidently_workspace_path, run_id, results)


def drift_event(results: list[DriftResult], run_id: int, as_of: date, current: bool = True) -> dict[str, Any] | None:
    """The Prefect event to emit when a run drifted (None when it did not): name, resource, payload.

    Only the run BI reads now raises it: a backfilled older date tells history, not what to do today.
    """
    drifted = [r for r in results if r.dataset_drift]
    if not drifted or not current:
        return None
    return {
        "event": DRIFT_EVENT,
        "resource": {"prefect.resource.id": f"segflow.run.{run_id}", "prefect.resource.name": f"segflow run {run_id}"},
        "payload": {
            "run_id": run_id,
            "as_of": as_of.isoformat(),
            "references": [
                {
                    "reference": r.reference,
                    "verdict": r.verdict_text(),
                    "inactive": None if r.inactive is None else r.inactive.text(),
                    "segment_psi": r.shares.psi,
                    "drift_share": r.drift_share,
                    "html_path": str(r.html_path),
                }
                for r in drifted
            ],
        },
    }


def drift_event_of_run(
    db: Database, settings: Settings, attempt_id: int, results: list[DriftResult]
) -> dict[str, Any] | None:
    """drift_event for a published attempt (its run, date and whether BI reads it now)."""
    summary = run_summary(db, attempt_id)
    return drift_event(results, summary["run_id"], summary["as_of"], current=is_current(db, attempt_id))


def segment_report(db: Database, settings: Settings, attempt_id: int) -> Path:
    """The run's segment page (after its drift reports: it links them); the next run's page is rebuilt too."""
    with timed(db, attempt_id, "report"):
        return build_attempt_report(db, settings, attempt_id)


def prune_reports(db: Database, settings: Settings) -> int:
    """Delete report files and drift samples beyond the retention setting and drop the per-customer rows of attempts
    retention does not keep (SEGFLOW_SCORED_RUNS_KEPT); returns how many files."""
    retention.prune_attempt_rows(db, settings)
    retention.prune_samples(db, settings)
    return len(retention.prune_reports(db, settings))

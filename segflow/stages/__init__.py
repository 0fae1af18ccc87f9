"""The nightly run's stages, in order. `nightly` is the one place that orders them: the Prefect flow
(flows/nightly.py) runs each stage as a task, `run_nightly` calls them directly (tests, benchmarks).

    prepare.begin → features.fold → prepare.check_source → features.build → decide.before_drift
      → [score.score with the champion → monitor.check_drift → decide.after_drift]   when drift decides
      → [train.train]                                                                when the decision trains
      → [score.score]                                                                unless already scored
      → publish.publish → monitor.record_transitions → monitor.drift_reports → monitor.drift_workspace
      → monitor.segment_report → monitor.prune_reports

A night that keeps its champion scores its customers once and runs Evidently once per reference: the drift
check's reports are the published ones.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Protocol, TypeVar

from segflow.db import Database
from segflow.drift import DriftResult, import_evidently_in_background
from segflow.settings import Settings
from segflow.stages import decide, monitor, prepare, publish, score, train
from segflow.stages.features import build as build_features
from segflow.stages.features import fold as fold_aggregates

T = TypeVar("T")


class StageRunner(Protocol):
    """Runs one stage, `stage(db, settings, *args)`, and returns its result."""

    def __call__(self, stage: Callable[..., T], *args: Any) -> T: ...


# Stages that only move data in and out of the database: safe to retry on I/O errors. Training, scoring and
# the drift check are computation and are never retried.
IO_STAGES = frozenset(
    {
        prepare.begin,
        fold_aggregates,
        prepare.check_source,
        build_features,
        publish.publish,
        monitor.record_transitions,
        prepare.fail,
    }
)
# Every stage, for runners that wrap them ahead of time (the flow makes one Prefect task of each).
ALL_STAGES = (
    prepare.begin,
    fold_aggregates,
    prepare.check_source,
    build_features,
    decide.before_drift,
    score.score,
    monitor.check_drift,
    decide.after_drift,
    train.train,
    publish.publish,
    prepare.fail,
    monitor.record_transitions,
    monitor.drift_reports,
    monitor.drift_workspace,
    monitor.segment_report,
    monitor.prune_reports,
)


@dataclass(frozen=True)
class Night:
    """What a night produced: the attempt, its drift results, and the segment page."""

    attempt_id: int
    drift: list[DriftResult]
    segment_report: Path


def nightly(
    run: StageRunner,
    as_of: date,
    retrain: str = "auto",
    features: list[str] | None = None,
    rebuild_aggregates: bool = False,
) -> Night:
    """Every stage of a nightly run in order; a failure before publishing marks the attempt failed."""
    import_evidently_in_background()
    attempt = run(prepare.begin, as_of, retrain, features)
    checked: list[DriftResult] = []
    try:
        run(fold_aggregates, attempt, rebuild_aggregates)
        run(prepare.check_source, attempt)
        run(build_features, attempt)
        decision = run(decide.before_drift, attempt)
        scored_with = None
        if decision.check_drift:
            scored_with = run(score.score, attempt).model_version  # with the champion
            checked = run(monitor.check_drift, attempt)
            decision = run(decide.after_drift, attempt, decision, checked)
        model = run(train.train, attempt, decision) if decision.train else None
        if scored_with is None or (model is not None and model != scored_with):
            run(score.score, attempt)
        run(publish.publish, attempt)
    except BaseException as exc:
        run(prepare.fail, attempt, str(exc))
        raise
    run(monitor.record_transitions, attempt)
    results = run(monitor.drift_reports, attempt, checked)
    run(monitor.drift_workspace, attempt, results)
    page = run(monitor.segment_report, attempt)  # after the drift reports: the page links them
    run(monitor.prune_reports)
    return Night(attempt, results, page)


def run_nightly(
    db: Database,
    settings: Settings,
    as_of: date,
    retrain: str = "auto",
    features: list[str] | None = None,
    rebuild_aggregates: bool = False,
) -> int:
    """The nightly without Prefect, stage after stage in this process; returns the attempt_id."""

    def direct(stage: Callable[..., T], *args: Any) -> T:
        return stage(db, settings, *args)

    return nightly(direct, as_of, retrain, features, rebuild_aggregates).attempt_id

"""The nightly run's stages, in order. `nightly` is the one place that orders them: the Prefect flow
(flows/nightly.py) runs each stage as a task, `run_nightly` calls them directly (tests, benchmarks).

    prepare.begin → prepare.check_freshness → features.fold → prepare.check_source
      → features.build_partition* → features.finish
      → decide.before_drift
      → [score.score_partition* → score.finish with the champion → monitor.check_drift → decide.after_drift]
                                                                                     when drift decides
      → [train.train]                                                                when the decision trains
      → [score.score_partition* → score.finish]                                      unless already scored
      → publish.publish → monitor.record_transitions → monitor.drift_reports → monitor.drift_workspace
      → monitor.segment_report → monitor.prune_reports

A night that keeps its champion scores its customers once and runs Evidently once per reference: the drift
check's reports are the published ones. Stages marked * run once per customer partition
(segflow.orchestration.partitions), through the runner's fan-out: one after another in this process, or at once on
Dask workers. Each partition's writes replace that partition's rows, so a partition run twice (a retry, a lost
worker) changes nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Protocol, TypeVar

from segflow.monitoring.drift_evidently import import_evidently_in_background
from segflow.monitoring.drift_report import DriftResult
from segflow.orchestration.partitions import WHOLE, Partition, partitions_of
from segflow.settings import Settings
from segflow.stages import decide, features, monitor, prepare, publish, score, train
from segflow.stages.features import fold as fold_aggregates
from segflow.storage.db import Database

T = TypeVar("T")


class StageRunner(Protocol):
    """Runs one stage, `stage(db, settings, *args)`, and returns its result."""

    def __call__(self, stage: Callable[..., T], *args: Any) -> T: ...


# Runs a partition stage, `stage(db, settings, attempt_id, partition)`, for every partition; waits for all and
# returns their results in partition order (raising if any partition failed).
FanOut = Callable[[Callable[..., object], int, Sequence[Partition]], list[object]]


def one_after_another(run: StageRunner) -> FanOut:
    """The fan-out of a runner without parallelism: each partition through `run`, in order."""

    def fan_out(stage: Callable[..., object], attempt_id: int, partitions: Sequence[Partition]) -> list[object]:
        return [run(stage, attempt_id, partition) for partition in partitions]

    return fan_out


# Stages that only move data in and out of the database: safe to retry on I/O errors. Training, scoring and
# the drift check are computation and are never retried.
IO_STAGES = frozenset(
    {
        prepare.begin,
        prepare.check_freshness,
        fold_aggregates,
        prepare.check_source,
        features.build_partition,
        features.finish,
        score.finish,
        publish.publish,
        monitor.record_transitions,
        prepare.fail,
    }
)
# Stages run once per customer partition, `stage(db, settings, attempt_id, partition)`, through a FanOut.
PARTITION_STAGES = (features.build_partition, score.score_partition)
# Every stage, for runners that wrap them ahead of time (the flow makes one Prefect task of each).
ALL_STAGES = (
    prepare.begin,
    prepare.check_freshness,
    fold_aggregates,
    prepare.check_source,
    features.finish,
    decide.before_drift,
    score.finish,
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
    feature_names: list[str] | None = None,
    rebuild_aggregates: bool = False,
    *,
    partitions: Sequence[Partition] = (WHOLE,),
    fan_out: FanOut | None = None,
    allow_stale_source: bool = False,
) -> Night:
    """Every stage of a nightly run in order; a failure before publishing marks the attempt failed. The
    per-customer stages run once per partition through `fan_out` (default: one after another through `run`).
    A source whose newest line is too old for the as-of date fails the night first, unless `allow_stale_source`."""
    import_evidently_in_background()
    spread = fan_out or one_after_another(run)

    def partitioned(stage: Callable[..., object], finish: Callable[..., T], attempt_id: int) -> T:
        started = time.perf_counter()
        spread(stage, attempt_id, partitions)
        return run(finish, attempt_id, time.perf_counter() - started)

    attempt = run(prepare.begin, as_of, retrain, feature_names)
    checked: list[DriftResult] = []
    try:
        run(prepare.check_freshness, attempt, allow_stale_source)
        run(fold_aggregates, attempt, rebuild_aggregates)
        run(prepare.check_source, attempt)
        partitioned(features.build_partition, features.finish, attempt)
        decision = run(decide.before_drift, attempt)
        scored_with = None
        if decision.check_drift:
            scored_with = partitioned(score.score_partition, score.finish, attempt).model_version  # the champion
            checked = run(monitor.check_drift, attempt)
            decision = run(decide.after_drift, attempt, decision, checked)
        model = run(train.train, attempt, decision) if decision.train else None
        if scored_with is None or (model is not None and model != scored_with):
            partitioned(score.score_partition, score.finish, attempt)
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
    allow_stale_source: bool = False,
) -> int:
    """The nightly without Prefect, stage after stage (partition after partition) in this process; returns the
    attempt_id."""

    def direct(stage: Callable[..., T], *args: Any) -> T:
        return stage(db, settings, *args)

    return nightly(
        direct,
        as_of,
        retrain,
        features,
        rebuild_aggregates,
        partitions=partitions_of(settings),
        allow_stale_source=allow_stale_source,
    ).attempt_id

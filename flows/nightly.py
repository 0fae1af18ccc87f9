"""The nightly segmentation flow: segflow.stages.nightly with each stage a Prefect task, then the run's
artifacts and its drift event."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator, Sequence
from datetime import date
from typing import Any, ParamSpec, TypedDict, TypeVar, cast

from prefect import Task, flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.events import emit_event
from prefect.runtime import flow_run

from segflow import stages
from segflow.monitoring import artifacts
from segflow.monitoring.drift_report import DriftResult
from segflow.monitoring.transitions import transitions_path
from segflow.orchestration import partitions, runs
from segflow.orchestration.partitions import Partition
from segflow.orchestration.run_guard import one_run_per_database
from segflow.orchestration.runs import RetrainMode
from segflow.orchestration.runtime import as_of_for, open_database, run_name
from segflow.settings import Settings
from segflow.storage.db import is_transient

T = TypeVar("T")
P = ParamSpec("P")
R = TypeVar("R")


def _transient(task: Task, task_run: Any, state: Any) -> bool:
    """Retry condition: only errors known to be transient (a lost connection), never data, settings or bugs."""
    try:
        state.result()
    except BaseException as exc:  # the state's own exception, classified below
        return is_transient(exc)
    return False


class RetryOptions(TypedDict, total=False):
    """The retry keywords of prefect.task, typed so that `task(..., **options)` is checked."""

    retries: int
    retry_delay_seconds: list[float]
    retry_condition_fn: Callable[[Task[..., Any], Any, Any], bool]


# Database round trips may hit a restarting server or a network blip; computation is never retried.
IO_RETRIES: RetryOptions = {"retries": 3, "retry_delay_seconds": [2, 10, 30], "retry_condition_fn": _transient}


def _stage_task(stage: Callable[..., object]) -> Task[..., object]:
    """A Prefect task, named module.stage, that runs a stage against the configured database."""
    name = f"{stage.__module__.rsplit('.', 1)[-1]}.{stage.__name__}"

    def run(*args: Any) -> object:
        settings, db = open_database()
        return stage(db, settings, *args)

    options: RetryOptions = IO_RETRIES if stage in stages.IO_STAGES else {}
    return task(name=name, cache_policy=NO_CACHE, **options)(run)


STAGE_TASKS: dict[Callable[..., object], Task[..., object]] = {stage: _stage_task(stage) for stage in stages.ALL_STAGES}


def _partition_task(stage: Callable[..., object]) -> Task[..., object]:
    """A Prefect task running a partition stage for one partition, named e.g. `score.score_partition 2/4`. It
    opens the database itself: on a Dask worker it runs in another process, perhaps on another machine."""
    name = f"{stage.__module__.rsplit('.', 1)[-1]}.{stage.__name__}"

    def run(attempt_id: int, partition: Partition) -> object:
        settings, db = open_database()
        return stage(db, settings, attempt_id, partition)

    options: RetryOptions = IO_RETRIES if stage in stages.IO_STAGES else {}
    return task(name=name, task_run_name=name + " {partition}", cache_policy=NO_CACHE, **options)(run)


PARTITION_TASKS: dict[Callable[..., object], Task[..., object]] = {
    stage: _partition_task(stage) for stage in stages.PARTITION_STAGES
}


def in_this_process(stage: Callable[..., object], attempt_id: int, parts: Sequence[Partition]) -> list[object]:
    """Partitions one after another in the flow's process, each its own task run."""
    return [PARTITION_TASKS[stage](attempt_id, part) for part in parts]


@contextlib.contextmanager
def partition_fan_out(settings: Settings) -> Iterator[stages.FanOut]:
    """Where the night's partitions run: in this process, or submitted at once to the Dask cluster of
    SEGFLOW_DASK_ADDRESS (a LocalCluster lives as long as the block). Every partition is waited for; the first
    failure is raised after all have ended, so no partition is still writing when the attempt is marked failed."""
    if not settings.dask_address:
        yield in_this_process
        return
    from segflow.orchestration.prefect_api import configured_api_url

    with partitions.dask_task_runner(settings, configured_api_url()) as runner:

        def on_dask(stage: Callable[..., object], attempt_id: int, parts: Sequence[Partition]) -> list[object]:
            futures = [
                runner.submit(PARTITION_TASKS[stage], {"attempt_id": attempt_id, "partition": part}) for part in parts
            ]
            for future in futures:
                future.wait()
            return [future.result() for future in futures]

        yield on_dask


def run_as_task(stage: Callable[..., T], *args: Any) -> T:
    """The flow's stage runner: each stage is its own task run; small results go to the run's log."""
    # The task runs `stage` itself, so its result has the stage's type (which a dict of tasks cannot carry).
    result = cast(T, STAGE_TASKS[stage](*args))
    if isinstance(result, dict | tuple | int) and not isinstance(result, bool):
        get_run_logger().info("%s: %s", STAGE_TASKS[stage].name, result)
    return result


@task(cache_policy=NO_CACHE, **IO_RETRIES)
def segment_table_artifact(attempt_id: int) -> str:
    """The run's segments as a markdown artifact."""
    _, db = open_database()
    summary = runs.run_summary(db, attempt_id)
    markdown = artifacts.segment_markdown(
        runs.segment_table(db, attempt_id), summary["as_of"], summary["model_version"]
    )
    create_markdown_artifact(
        key="segment-table",
        markdown=markdown,
        description=f"segflow run attempt {attempt_id}, as of {summary['as_of']}",
    )
    return markdown


@task(cache_policy=NO_CACHE)
def drift_artifact(attempt_id: int, results: list[DriftResult]) -> dict | None:
    """The drift verdicts as a markdown artifact; returns the drift event to emit, if the run drifted."""
    settings, db = open_database()
    summary = runs.run_summary(db, attempt_id)
    page = transitions_path(settings, summary["run_id"])
    create_markdown_artifact(
        key="drift-report",
        markdown=artifacts.drift_markdown(results, summary["as_of"], page),
        description=f"drift as of {summary['as_of']}",
    )
    return stages.monitor.drift_event_of_run(db, settings, attempt_id, results)


@task(cache_policy=NO_CACHE)
def emit_drift_event(event: dict) -> None:
    emit_event(**event)


def _run_name() -> str:
    parameters = flow_run.parameters
    day = as_of_for(flow_run.scheduled_start_time, parameters.get("as_of"))
    return run_name(day, parameters.get("retrain", "auto"), bool(parameters.get("rebuild_aggregates")))


def _one_run_per_database(flow_fn: Callable[P, R]) -> Callable[P, R]:
    """The flow's whole run within its time limit (SEGFLOW_FLOW_TIMEOUT_SECONDS, then TimedOut) and holding its
    database's run slot, so nightly, weekly-retrain and retrain-on-drift never run against one database at once."""

    # Defined here, not in segflow: Prefect resolves the flow's annotations in the wrapper's module globals.
    @functools.wraps(flow_fn)
    def guarded(*args: P.args, **kwargs: P.kwargs) -> R:
        with one_run_per_database():
            return flow_fn(*args, **kwargs)

    return guarded


@flow(name="nightly-segmentation", flow_run_name=_run_name, log_prints=False)
@_one_run_per_database
def nightly_segmentation(
    as_of: date | None = None,
    retrain: RetrainMode = "auto",
    features: list[str] | None = None,
    rebuild_aggregates: bool = False,
    allow_stale_source: bool = False,
) -> int:
    """Turn transaction lines into published, named customer segments as of a date; returns the attempt id.
    `rebuild_aggregates` recomputes the per-customer aggregates from every line first (weekly-retrain does).
    `allow_stale_source` runs a deliberate what-if on a source older than SEGFLOW_MAX_SOURCE_LAG_DAYS (scheduled
    nights leave it off: a stale source fails them, and the failure notification fires)."""
    day = as_of_for(flow_run.scheduled_start_time, as_of)
    settings = Settings()
    with partition_fan_out(settings) as fan_out:
        night = stages.nightly(
            run_as_task,
            day,
            retrain,
            features,
            rebuild_aggregates,
            partitions=partitions.partitions_of(settings),
            fan_out=fan_out,
            allow_stale_source=allow_stale_source,
        )
    segment_table_artifact(night.attempt_id)
    event = drift_artifact(night.attempt_id, night.drift)
    if event is not None:
        emit_drift_event(event)
    get_run_logger().info(
        "attempt %s published%s; segment report: %s",
        night.attempt_id,
        ", drift detected" if event else "",
        night.segment_report,
    )
    return night.attempt_id

"""The nightly segmentation flow: a table of contents of segflow.pipeline's stages."""

from __future__ import annotations

from datetime import date
from typing import Literal

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.events import emit_event
from prefect.runtime import flow_run

from segflow import pipeline, report, retention
from segflow.runtime import as_of_for, open_database


def _transient(task, task_run, state) -> bool:
    """Retry condition: only errors that may go away (I/O), never one about the data or settings."""
    try:
        state.result()
    except BaseException as exc:  # noqa: BLE001 - the state's own exception, classified below
        return pipeline.is_transient(exc)
    return False


# Database round trips may hit a restarting server or a network blip; computation is never retried.
IO_RETRIES = {"retries": 3, "retry_delay_seconds": [2, 10, 30], "retry_condition_fn": _transient}


@task(cache_policy=NO_CACHE, **IO_RETRIES)
def begin(as_of: date, retrain: str, features: list[str] | None) -> int:
    settings, db = open_database()
    return pipeline.begin_run(db, settings, as_of, retrain, features)


@task(cache_policy=NO_CACHE, **IO_RETRIES)
def check_source_and_quality(attempt_id: int) -> dict[str, int]:
    return pipeline.check_source(open_database()[1], attempt_id)


@task(cache_policy=NO_CACHE, **IO_RETRIES)
def compute_features(attempt_id: int) -> dict[str, int]:
    return pipeline.build_features(open_database()[1], attempt_id)


@task(cache_policy=NO_CACHE)
def train_if_needed(attempt_id: int) -> int:
    settings, db = open_database()
    return pipeline.train_if_needed(db, settings, attempt_id)


@task(cache_policy=NO_CACHE)
def score(attempt_id: int) -> int:
    settings, db = open_database()
    return pipeline.score(db, settings, attempt_id)


@task(cache_policy=NO_CACHE, **IO_RETRIES)
def publish(attempt_id: int) -> None:
    pipeline.publish(open_database()[1], attempt_id)


@task(cache_policy=NO_CACHE, **IO_RETRIES)
def record_transitions(attempt_id: int) -> int:
    settings, db = open_database()
    return pipeline.record_transitions(db, settings, attempt_id)


@task(cache_policy=NO_CACHE)
def drift_reports(attempt_id: int, as_of: date) -> dict | None:
    """Write the drift reports and their artifact; returns the drift event to emit, if the run drifted."""
    settings, db = open_database()
    results = pipeline.drift_reports(db, settings, attempt_id)
    run_id = pipeline.run_summary(db, attempt_id)["run_id"]
    page = pipeline.transitions_page(settings, run_id)
    create_markdown_artifact(key="drift-report", markdown=pipeline.drift_markdown(results, as_of, page),
                             description=f"drift as of {as_of}")
    return pipeline.drift_event(results, run_id, as_of, current=pipeline.is_current(db, attempt_id))


@task(cache_policy=NO_CACHE)
def segment_report(attempt_id: int) -> str:
    """Write the run's segment report (one offline HTML page); returns its path."""
    settings, db = open_database()
    return str(report.build_attempt_report(db, settings, attempt_id))


@task(cache_policy=NO_CACHE, **IO_RETRIES)
def prune_reports() -> int:
    """Delete report files beyond the retention setting; returns how many."""
    settings, db = open_database()
    return len(retention.prune_reports(db, settings))


@task(cache_policy=NO_CACHE)
def emit_drift_event(event: dict) -> None:
    emit_event(**event)


@task(cache_policy=NO_CACHE, **IO_RETRIES)
def segment_table_artifact(attempt_id: int, as_of: date, model_version: int) -> str:
    table = pipeline.segment_table(open_database()[1], attempt_id)
    markdown = pipeline.segment_markdown(table, as_of, model_version)
    create_markdown_artifact(key="segment-table", markdown=markdown,
                             description=f"segflow run attempt {attempt_id}, as of {as_of}")
    return markdown


@task(cache_policy=NO_CACHE)
def mark_failed(attempt_id: int, error: str) -> None:
    pipeline.fail(open_database()[1], attempt_id, error)


@flow(name="nightly-segmentation", log_prints=False)
def nightly_segmentation(
    as_of: date | None = None,
    retrain: Literal["auto", "always", "never"] = "auto",
    features: list[str] | None = None,
) -> int:
    """Turn transaction lines into published, named customer segments as of a date; returns the attempt id."""
    logger = get_run_logger()
    day = as_of_for(flow_run.scheduled_start_time, as_of)
    attempt_id = begin(day, retrain, features)
    logger.info("attempt %s: as of %s, retrain=%s", attempt_id, day, retrain)
    try:
        counts = check_source_and_quality(attempt_id)
        logger.info("data quality: %s", counts)
        population = compute_features(attempt_id)
        logger.info("customers: %s", population)
        version = train_if_needed(attempt_id)
        scored = score(attempt_id)
        logger.info("scored %s customers with model v%s", scored, version)
        publish(attempt_id)
    except BaseException as exc:
        mark_failed(attempt_id, f"{type(exc).__name__}: {exc}")
        raise
    record_transitions(attempt_id)
    segment_table_artifact(attempt_id, day, version)
    event = drift_reports(attempt_id, day)
    if event is not None:
        emit_drift_event(event)
    page = segment_report(attempt_id)  # after drift_reports: the page links to them
    prune_reports()
    logger.info("attempt %s published%s; segment report: %s", attempt_id, ", drift detected" if event else "", page)
    return attempt_id

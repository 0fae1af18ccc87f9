"""Reading runs: an attempt's facts, a published run, its segment table; timing a stage; as-of dates."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Literal, TypeGuard, get_args

import pandas as pd
from psycopg2 import sql

from segflow.data.features import feature_value
from segflow.errors import SegflowError
from segflow.modelling.segments import RULE_SEGMENTS
from segflow.storage.db import Database

RetrainMode = Literal["auto", "always", "never"]
RETRAIN_MODES: tuple[RetrainMode, ...] = get_args(RetrainMode)


def is_retrain_mode(value: str) -> TypeGuard[RetrainMode]:
    """Whether `value` is one of RETRAIN_MODES."""
    return value in RETRAIN_MODES


class UnknownRun(SegflowError):
    """No run (or attempt) with that id, or not in the state asked for."""


@dataclasses.dataclass(eq=False)
class UnknownAttempt(UnknownRun):
    """No run attempt with that id, or (published=False) one that is not published."""

    attempt_id: int
    exists: bool = False

    def __str__(self) -> str:
        state = "is not published" if self.exists else "does not exist"
        return f"run attempt {self.attempt_id} {state}"


@dataclasses.dataclass(eq=False)
class NoPublishedRun(UnknownRun):
    """Nothing is published yet."""

    template = "no run is published yet"


@dataclasses.dataclass(eq=False)
class RunRowsDropped(UnknownRun):
    """A run whose per-customer rows (features, assignments) retention dropped: its figures stay, its customers
    do not."""

    template = (
        "the per-customer rows of run {run_id} (as of {as_of}) were dropped by retention ({setting} keeps the "
        "newest runs); run that date again to rebuild them"
    )
    run_id: int
    as_of: date
    setting: str = "SEGFLOW_SCORED_RUNS_KEPT"


def rows_dropped(db: Database, attempt_id: int) -> RunRowsDropped | None:
    """The error to raise (or log) when retention dropped an attempt's per-customer rows, else None."""
    rows = db.run("queries/runs/attempt_rows_dropped", {"attempt_id": attempt_id})
    if rows and rows[0][0]:
        return RunRowsDropped(rows[0][1], rows[0][2])
    return None


@dataclasses.dataclass(eq=False)
class RunNotFound(UnknownRun):
    """A run id that is not in segflow.runs."""

    template = "run {run_id} does not exist (see segflow.runs)"
    run_id: int


@dataclasses.dataclass(eq=False)
class RunUnpublished(UnknownRun):
    """A run that exists but is not published (failed, running, withdrawn...)."""

    template = "run {run_id} (as of {as_of}) is {status}, not published"
    run_id: int
    as_of: date
    status: str


@dataclasses.dataclass(eq=False)
class NoModelVersion(SegflowError):
    """A run attempt reached scoring without a model version."""

    template = "run attempt {attempt_id} has no model version; train first"
    attempt_id: int


@dataclasses.dataclass(eq=False)
class AttemptNotRunning(SegflowError):
    """Publishing an attempt that is already published or failed."""

    template = "run attempt {attempt_id} is not running (already published or failed)"
    attempt_id: int


@dataclasses.dataclass(eq=False)
class BackfillRangeInvalid(SegflowError):
    """A backfill step other than day or week, or a last date before the first."""

    every: str
    first: date
    last: date

    def __str__(self) -> str:
        if self.every not in BACKFILL_STEPS:
            return f"the backfill step must be day or week, got {self.every!r}"
        return f"the last date {self.last} is before the first {self.first}"


BACKFILL_STEPS = ("day", "week")


@dataclass(frozen=True)
class RunInfo:
    """What an attempt was asked to do, and the model it uses once decided."""

    attempt_id: int
    as_of: date
    status: str
    retrain_mode: str
    features: list[str]
    lookback_days: int
    window_start: date
    model_version: int | None
    rfm_cut_points: dict | None


def run_info(db: Database, attempt_id: int) -> RunInfo:
    """The facts of an attempt."""
    rows = db.run("queries/runs/run_details", {"attempt_id": attempt_id})
    if not rows:
        raise UnknownAttempt(attempt_id)
    return RunInfo(*rows[0])


def run_summary(db: Database, attempt_id: int) -> dict[str, Any]:
    """as_of, model_version, retrained, customers_known, retrain_reason, run_id, outcome, batch_changes
    (imports added or removed since the last published run) and the names' rules' figures (members_moved,
    members_returned_all, name_contradictions; None before scoring) of an attempt."""
    return db.records("queries/runs/run_summary", {"attempt_id": attempt_id})[0]


@dataclass(frozen=True)
class Neighbours:
    """A published attempt's run and the published runs just before and after it by as-of date."""

    run_id: int
    prev_run: int | None
    prev_attempt: int | None
    next_run: int | None
    next_attempt: int | None


def neighbours(db: Database, attempt_id: int) -> Neighbours:
    """The published runs around a published attempt."""
    rows = db.run("queries/runs/published_neighbours", {"attempt_id": attempt_id})
    if not rows:
        raise UnknownAttempt(attempt_id, exists=True)
    return Neighbours(*rows[0])


def previous_published(db: Database, attempt_id: int) -> tuple[int | None, int | None]:
    """(run_id, attempt_id) of the published run just before an attempt's as-of date, or (None, None)."""
    rows = db.run("queries/runs/previous_published_attempt", {"attempt_id": attempt_id})
    return (rows[0][0], rows[0][1]) if rows else (None, None)


def is_current(db: Database, attempt_id: int) -> bool:
    """Whether BI reads this attempt now (a backfilled older date is published to the history only)."""
    rows = db.run("queries/runs/current_run_summary")
    return bool(rows) and rows[0][0] == attempt_id


def current_run(db: Database) -> tuple[int, int, date] | None:
    """(attempt_id, run_id, as_of) of the run BI reads now, if any."""
    rows = db.run("queries/runs/current_run_summary")
    return (rows[0][0], rows[0][1], rows[0][2]) if rows else None


def published_run(db: Database, run_id: int | None = None) -> dict[str, Any]:
    """A published run (default: the one BI reads now): run_id, as_of, attempt_id, model_version, ..."""
    rows = db.records("queries/runs/published_run", {"run_id": run_id})
    if rows:
        return rows[0]
    if run_id is None:
        raise NoPublishedRun()
    known = db.run("queries/runs/run_status", {"run_id": run_id})
    if not known:
        raise RunNotFound(run_id)
    raise RunUnpublished(run_id, known[0][0], known[0][1])


def names_line(info: dict[str, Any]) -> str | None:
    """The names' rules' figures of a run summary in words (None when the run has none: not scored, or rows from
    before they were counted)."""
    if info.get("members_moved") is None:
        return None
    return (
        f"names: {info['members_moved']:,} members moved to a segment whose name fits their own R/F/M scores, "
        f"{info['members_returned_all']:,} whose returns cancel their purchases named 'Returned everything'; "
        f"{info['name_contradictions']:,} carry a name their own scores contradict"
    )


def segment_table(db: Database, attempt_id: int) -> pd.DataFrame:
    """Per segment of a published attempt: key, name, customers, share of all its customers, mean recency,
    frequency, monetary, the segment's action and its share of the run's revenue (None without revenue)."""
    return db.frame(
        "queries/runs/run_segment_table",
        {
            "attempt_id": attempt_id,
            "rule_keys": list(RULE_SEGMENTS),
            "rule_actions": [action for _, action in RULE_SEGMENTS.values()],
        },
    )


def segment_feature_means(db: Database, attempt_id: int, features: Sequence[str]) -> pd.DataFrame:
    """Per segment of an attempt (index: segment key), the mean of each feature over its customers that have it."""
    means = sql.SQL(", ").join(sql.SQL("avg({}) as {}").format(feature_value(f), sql.Identifier(f)) for f in features)
    means_frame = db.frame("queries/runs/segment_feature_means", {"attempt_id": attempt_id}, means=means)
    return means_frame.set_index("segment_key").astype(float)


@contextmanager
def timed(db: Database, attempt_id: int, stage: str) -> Iterator[None]:
    """Record how many seconds a stage took in the attempt's stage_seconds."""
    started = time.perf_counter()
    yield
    record_stage_seconds(db, attempt_id, stage, time.perf_counter() - started)


def record_stage_seconds(db: Database, attempt_id: int, stage: str, seconds: float) -> None:
    """Record a stage's seconds in the attempt's stage_seconds (a rerun's figure replaces the earlier one)."""
    db.run("queries/runs/record_stage_seconds", {"attempt_id": attempt_id, "stage": stage, "seconds": seconds})


def backfill_dates(first: date, last: date, every: str) -> list[date]:
    """As-of dates from first to last (inclusive when it falls on the step), oldest first."""
    if every not in BACKFILL_STEPS or last < first:
        raise BackfillRangeInvalid(every, first, last)
    step = timedelta(days=1 if every == "day" else 7)
    return [first + i * step for i in range((last - first) // step + 1)]

"""Prepare a run: refuse what cannot succeed, start the attempt, check the source and its data quality; and
mark an attempt that did not finish as failed."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

from segflow.data import features as feature_store
from segflow.errors import SegflowError
from segflow.modelling import registry
from segflow.orchestration import attempts
from segflow.orchestration.runs import RETRAIN_MODES, run_info, timed
from segflow.settings import DEFAULT_SOURCE, Settings
from segflow.storage import attempt_tables
from segflow.storage.db import Database, run_named


class RunRefused(SegflowError):
    """A run request that cannot succeed (retrain mode, features, dates outside the data)."""


@dataclasses.dataclass(eq=False)
class UnknownRetrainMode(RunRefused):
    """The retrain mode is not one of RETRAIN_MODES."""

    template = "retrain must be one of {modes}, got {mode!r}"
    mode: str
    modes: str = ", ".join(RETRAIN_MODES)


@dataclasses.dataclass(eq=False)
class NoChampionToKeep(RunRefused):
    """retrain='never' asks to score with the champion, and there is none."""

    template = "retrain='never' but there is no champion model yet; run with retrain='auto' first"


@dataclasses.dataclass(eq=False)
class OutsideSourceWindow(RunRefused):
    """An as-of date whose lookback window holds none of the source's lines."""

    template = (
        "no purchase lines in the {lookback_days} days up to {as_of} ({setting}) in "
        "{source_table}: its lines run from {first} to {last}; pick an as-of date in between"
    )
    as_of: date
    lookback_days: int
    source_table: str
    first: date
    last: date
    setting: str = "SEGFLOW_LOOKBACK_DAYS"


@dataclasses.dataclass(eq=False)
class FutureAsOf(RunRefused):
    """An as-of date after today (UTC)."""

    template = "as-of date {as_of} is after today ({today}, UTC)"
    as_of: date
    today: date


@dataclasses.dataclass(eq=False)
class NoPurchaseLines(RunRefused):
    """A run's as-of date finds no purchase line in the source; first/last are the source's dates if it has any."""

    as_of: date
    source_table: str
    lines_total: int
    first: date | None
    last: date | None
    default_source: bool

    def hint(self) -> str:
        """What to do, for the library's own sentence."""
        if self.first is not None and self.last is not None:
            return f"its lines run from {self.first} to {self.last}: pick an as-of date in between"
        if self.default_source:
            return "load data first (import a file or generate data)"
        return "check SEGFLOW_SOURCE_TABLE"

    def __str__(self) -> str:
        return f"no purchase lines up to {self.as_of} in {self.source_table} ({self.lines_total:,} lines in all); " + (
            self.hint()
        )


@dataclasses.dataclass(eq=False)
class StaleSource(RunRefused):
    """The as-of date is more than SEGFLOW_MAX_SOURCE_LAG_DAYS after the newest line in the source: every
    customer's recency would jump by the gap, and the night would publish (and train on) a stale picture."""

    template = (
        "the source {source_table} is stale: its newest line is {newest_day}, {lag_days} days before the "
        "as-of date {as_of} ({setting} is {max_lag_days})"
    )
    source_table: str
    newest_day: date
    as_of: date
    max_lag_days: int
    setting: str = "SEGFLOW_MAX_SOURCE_LAG_DAYS"

    def facts(self) -> dict[str, Any]:
        return {**super().facts(), "lag_days": self.lag_days}

    @property
    def lag_days(self) -> int:
        return (self.as_of - self.newest_day).days


def refuse_stale_source(settings: Settings, as_of: date, newest_day: date | None) -> None:
    """Refuse an as-of date more than the allowed lag after the source's newest line. Past dates (backfills) pass:
    only "as-of minus newest line > lag" is stale; an empty source is left to check_source, which words it."""
    if newest_day is not None and (as_of - newest_day).days > settings.max_source_lag_days:
        raise StaleSource(settings.source_table, newest_day, as_of, settings.max_source_lag_days)


def preflight(
    db: Database,
    settings: Settings,
    retrain: str = "auto",
    features: list[str] | None = None,
    as_of_dates: list[date] | None = None,
    allow_stale_source: bool = False,
) -> None:
    """Refuse, before any run starts, a request that cannot succeed: retrain mode, features, source table,
    as-of dates with no purchase in their lookback window, and (unless allowed) as-of dates beyond the source's
    freshness lag."""
    feature_set = requested_features(db, settings, retrain, features)
    for day in as_of_dates or []:
        refuse_future(day)
    if not feature_set.uses_transactions:
        return
    feature_store.check_source_table(db)
    if not as_of_dates:
        return
    first, last = feature_store.source_date_range(db)
    if first is None or last is None:
        return  # check_source words an empty source with what to load
    for day in as_of_dates:
        window_start = day - timedelta(days=settings.lookback_days - 1)
        if day < first or window_start > last:
            raise OutsideSourceWindow(day, settings.lookback_days, settings.source_table, first, last)
        if not allow_stale_source:
            refuse_stale_source(settings, day, last)


def refuse_future(as_of: date) -> None:
    """A run dated after today would train on the future and, as the champion only moves forward, keep every
    later night from training: it is a mistake (a mistyped year), refused."""
    today = datetime.now(UTC).date()
    if as_of > today:
        raise FutureAsOf(as_of, today)


def requested_features(
    db: Database, settings: Settings, retrain: str, features: list[str] | None
) -> feature_store.FeatureSet:
    """The feature set a run request asks for, after checking its retrain mode."""
    if retrain not in RETRAIN_MODES:
        raise UnknownRetrainMode(retrain)
    return feature_store.resolve_features(db, features or settings.features)


def begin(
    db: Database, settings: Settings, as_of: date, retrain: str = "auto", features: list[str] | None = None
) -> int:
    """Validate the request and start an attempt at the as-of date's run (status 'running', locked by this
    process), after marking attempts whose process died as abandoned; returns attempt_id."""
    feature_set = requested_features(db, settings, retrain, features)
    refuse_future(as_of)
    if retrain == "never" and registry.champion(db) is None:
        raise NoChampionToKeep()
    attempts.reap_abandoned(db)
    attempt_id, _ = attempts.start_attempt(
        db,
        {
            "as_of": as_of,
            "retrain_mode": retrain,
            "features": list(feature_set.names),
            "lookback_days": settings.lookback_days,
            "source_table": settings.source_table,
        },
    )
    return attempt_id


def check_freshness(
    db: Database, settings: Settings, attempt_id: int, allow_stale_source: bool = False
) -> dict[str, object]:
    """Before anything is computed: the source's newest line, recorded in the run's row with whether the check
    was overridden; a stale source (StaleSource) fails the night unless `allow_stale_source`."""
    info = run_info(db, attempt_id)
    if not feature_store.FeatureSet(tuple(info.features)).uses_transactions:
        return {}
    with timed(db, attempt_id, "check_freshness"):
        feature_store.check_source_table(db)
        _, newest = feature_store.source_date_range(db)
        db.run(
            "queries/prepare/record_freshness",
            {"attempt_id": attempt_id, "newest_day": newest, "allowed": allow_stale_source},
        )
        if not allow_stale_source:
            refuse_stale_source(settings, info.as_of, newest)
    lag = None if newest is None else (info.as_of - newest).days
    return {"newest_line": str(newest), "lag_days": lag, "stale_source_allowed": allow_stale_source}


def check_source(db: Database, settings: Settings, attempt_id: int) -> dict[str, int]:
    """Count the lines each data-quality rule excludes, and the batches changed since the last published run,
    in the run's row."""
    info = run_info(db, attempt_id)
    with timed(db, attempt_id, "check_source"):
        if not feature_store.FeatureSet(tuple(info.features)).uses_transactions:
            return {}
        feature_store.check_source_table(db)
        counts = feature_store.data_quality_counts(db, info.as_of)
        db.run("queries/prepare/record_data_quality", {"attempt_id": attempt_id, **counts})
        if settings.source_table == DEFAULT_SOURCE:
            changes = [
                {"batch_id": b, "name": n, "lines": lines, "change": c}
                for b, n, lines, c in db.run("queries/prepare/batch_changes_since_last_run", {"attempt_id": attempt_id})
            ]
            db.run(
                "queries/prepare/record_batch_changes", {"attempt_id": attempt_id, "batch_changes": json.dumps(changes)}
            )
        if counts["purchase_lines"] == 0:
            first, last = feature_store.source_date_range(db)
            raise NoPurchaseLines(
                info.as_of,
                settings.source_table,
                counts["lines_total"],
                first,
                last,
                settings.source_table == DEFAULT_SOURCE,
            )
    return counts


def fail(db: Database, settings: Settings, attempt_id: int, error: BaseException | str) -> None:
    """Mark a run failed and drop its partial rows; the published run stays visible."""
    try:
        with db.transaction() as cur:
            marked = run_named(
                cur,
                "queries/attempts/fail_run",
                {"attempt_id": attempt_id, "status": "failed", "error": str(error)[:2000]},
            )
            attempt_tables.drop(cur, [marked_id for (marked_id,) in marked])
    finally:
        attempts.release(attempt_id)

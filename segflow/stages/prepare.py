"""Prepare a run: refuse what cannot succeed, start the attempt, check the source and its data quality; and
mark an attempt that did not finish as failed."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

from segflow import attempts, registry
from segflow import features as feature_store
from segflow.db import Database
from segflow.errors import SegflowError
from segflow.runs import RETRAIN_MODES, run_info, timed
from segflow.settings import DEFAULT_SOURCE, Settings


class RunRefused(SegflowError):
    """A run request that cannot succeed (retrain mode, features, dates outside the data)."""


class UnknownRetrainMode(RunRefused):
    """The retrain mode is not one of RETRAIN_MODES."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        super().__init__(f"retrain must be one of {', '.join(RETRAIN_MODES)}, got {mode!r}")


class StaleSource(RunRefused):
    """The as-of date is more than SEGFLOW_MAX_SOURCE_LAG_DAYS after the newest line in the source: every
    customer's recency would jump by the gap, and the night would publish (and train on) a stale picture."""

    def __init__(self, source_table: str, newest_day: date, as_of: date, max_lag_days: int) -> None:
        self.source_table, self.newest_day = source_table, newest_day
        self.as_of, self.max_lag_days = as_of, max_lag_days
        super().__init__(
            f"the source {source_table} is stale: its newest line is {newest_day}, {self.lag_days} days before the "
            f"as-of date {as_of} (SEGFLOW_MAX_SOURCE_LAG_DAYS is {max_lag_days})"
        )

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
            raise RunRefused(
                f"no purchase lines in the {settings.lookback_days} days up to {day} (SEGFLOW_LOOKBACK_DAYS) in "
                f"{settings.source_table}: its lines run from {first} to {last}; pick an as-of date in "
                "between"
            )
        if not allow_stale_source:
            refuse_stale_source(settings, day, last)


def refuse_future(as_of: date) -> None:
    """A run dated after today would train on the future and, as the champion only moves forward, keep every
    later night from training: it is a mistake (a mistyped year), refused."""
    today = datetime.now(UTC).date()
    if as_of > today:
        raise RunRefused(f"as-of date {as_of} is after today ({today}, UTC)")


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
        raise RunRefused("retrain='never' but there is no champion model yet; run with retrain='auto' first")
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
            if first is not None and last is not None:
                hint = f"its lines run from {first} to {last}: pick an as-of date in between"
            elif settings.source_table == DEFAULT_SOURCE:
                hint = "load data first (import a file or generate data)"
            else:
                hint = "check SEGFLOW_SOURCE_TABLE"
            raise SegflowError(
                f"no purchase lines up to {info.as_of} in {settings.source_table} "
                f"({counts['lines_total']:,} lines in all); {hint}"
            )
    return counts


def fail(db: Database, settings: Settings, attempt_id: int, error: BaseException | str) -> None:
    """Mark a run failed and drop its partial rows; the published run stays visible."""
    try:
        db.run("queries/attempts/fail_run", {"attempt_id": attempt_id, "status": "failed", "error": str(error)[:2000]})
    finally:
        attempts.release(attempt_id)

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from segflow.errors import DatabaseUnreachable, SegflowError
from segflow.orchestration.runs import backfill_dates
from segflow.orchestration.runtime import as_of_for
from segflow.storage.db import is_transient


def test_weekly_backfill_steps_seven_days_and_stops_at_the_last_date():
    assert backfill_dates(date(2010, 1, 3), date(2010, 1, 24), "week") == [
        date(2010, 1, 3),
        date(2010, 1, 10),
        date(2010, 1, 17),
        date(2010, 1, 24),
    ]
    assert backfill_dates(date(2010, 1, 3), date(2010, 1, 20), "week")[-1] == date(2010, 1, 17)


def test_daily_backfill_includes_both_ends():
    assert len(backfill_dates(date(2010, 2, 27), date(2010, 3, 2), "day")) == 4


@pytest.mark.parametrize(
    ("first", "last", "every", "message"),
    [
        (date(2010, 2, 1), date(2010, 1, 1), "day", "the last date 2010-01-01 is before the first 2010-02-01"),
        (date(2010, 1, 1), date(2010, 2, 1), "month", "the backfill step must be day or week, got 'month'"),
    ],
)
def test_bad_backfill_requests_name_the_problem(first, last, every, message):
    with pytest.raises(SegflowError, match=message):
        backfill_dates(first, last, every)


def test_as_of_is_the_requested_date_else_the_scheduled_date_in_utc():
    scheduled = datetime(2026, 3, 1, 1, 30, tzinfo=timezone(timedelta(hours=2)))  # still Feb 28 in UTC
    assert as_of_for(scheduled, date(2025, 1, 1)) == date(2025, 1, 1)
    assert as_of_for(scheduled, None) == date(2026, 2, 28)
    today = datetime.now(UTC).date()
    assert as_of_for(None, None) == today


def test_a_drift_event_is_made_only_when_a_report_drifted():
    from pathlib import Path

    from segflow.monitoring.drift_report import DriftResult
    from segflow.monitoring.drift_shares import share_drift
    from segflow.monitoring.verdict import DriftThresholds

    thresholds = DriftThresholds(segment_psi=0.2, feature_share=0.5, inactive_rise_points=5.0)
    from segflow.stages.monitor import DRIFT_EVENT, drift_event

    calm = DriftResult(
        "previous",
        0.0,
        share_drift({"S1": 0.5, "S2": 0.5}, {"S1": 0.5, "S2": 0.5}),
        thresholds,
        html_path=Path("/r/calm.html"),
    )
    shifted = DriftResult(
        "training",
        0.6,
        share_drift({"S1": 0.8, "S2": 0.2}, {"S1": 0.5, "S2": 0.5}),
        thresholds,
        html_path=Path("/r/shift.html"),
    )
    assert drift_event([calm], 4, date(2025, 1, 1)) is None
    event = drift_event([calm, shifted], 4, date(2025, 1, 1))
    assert event["event"] == DRIFT_EVENT and event["resource"]["prefect.resource.id"] == "segflow.run.4"
    assert [r["reference"] for r in event["payload"]["references"]] == ["training"]


@pytest.mark.parametrize(
    ("error", "transient"),
    [
        (DatabaseUnreachable("cannot reach PostgreSQL at db:5432/segflow"), True),
        (OSError("connection reset"), True),
        (SegflowError("source table shop.x (SEGFLOW_SOURCE_TABLE) does not exist"), False),
        (SegflowError("no purchase lines up to 2025-01-01"), False),
        (KeyError("recency_days"), False),  # a bug is not retried
        (ValueError("bad value"), False),
    ],
)
def test_only_io_errors_are_worth_a_retry(error, transient):
    assert is_transient(error) is transient

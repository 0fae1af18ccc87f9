from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from segflow.errors import SegflowError
from segflow.pipeline import backfill_dates
from segflow.runtime import as_of_for


def test_weekly_backfill_steps_seven_days_and_stops_at_the_last_date():
    assert backfill_dates(date(2010, 1, 3), date(2010, 1, 24), "week") == [
        date(2010, 1, 3), date(2010, 1, 10), date(2010, 1, 17), date(2010, 1, 24)]
    assert backfill_dates(date(2010, 1, 3), date(2010, 1, 20), "week")[-1] == date(2010, 1, 17)


def test_daily_backfill_includes_both_ends():
    assert len(backfill_dates(date(2010, 2, 27), date(2010, 3, 2), "day")) == 4


@pytest.mark.parametrize(("first", "last", "every", "message"), [
    (date(2010, 2, 1), date(2010, 1, 1), "day", "--to 2010-01-01 is before --from 2010-02-01"),
    (date(2010, 1, 1), date(2010, 2, 1), "month", "--every must be day or week, got 'month'"),
])
def test_bad_backfill_requests_name_the_problem(first, last, every, message):
    with pytest.raises(SegflowError, match=message):
        backfill_dates(first, last, every)


def test_as_of_is_the_requested_date_else_the_scheduled_date_in_utc():
    scheduled = datetime(2026, 3, 1, 1, 30, tzinfo=timezone(timedelta(hours=2)))  # still Feb 28 in UTC
    assert as_of_for(scheduled, date(2025, 1, 1)) == date(2025, 1, 1)
    assert as_of_for(scheduled, None) == date(2026, 2, 28)
    today = datetime.now(UTC).date()
    assert as_of_for(None, None) == today

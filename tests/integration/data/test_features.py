"""RFM features and data-quality counts computed in PostgreSQL, against hand-computed values.

As of 2024-03-31 with a 30-day lookback, the window is 2024-03-02 00:00 UTC .. 2024-04-01 00:00 UTC.
A: purchases A1 (2*5 + 1*3, the duplicate once) and A2 (4*2.5) in the window -> frequency 2,
   monetary 23, last on 03-25 (recency 6), first ever 01-15 (tenure 76, 2024 is a leap year),
   order value 11.5, returned 5 of 23.
B: last purchase 02-01, outside the window -> inactive, tenure 59 (29 days of February).
C: N1 (4.5) and N3 (2.0; 01:00+02:00 is still 03-31 in UTC) -> recency 0, frequency 2, monetary 6.5,
   tenure 0, order value 3.25, returned 4.5 of 6.5.
D: only a cancellation -> known but inactive, no tenure.
"""

from datetime import date

import pytest
from support.data import insert_lines, make_rfm_lines

from segflow.data.features import FeatureSet, compute_features, cut_points
from segflow.stages import features as stage_features
from segflow.stages import prepare

AS_OF = date(2024, 3, 31)


@pytest.fixture
def attempt_id(db, settings):
    insert_lines(db, make_rfm_lines())
    settings = settings.model_copy(update={"lookback_days": 30})
    attempt = prepare.begin(db, settings, AS_OF)
    stage_features.fold(db, settings, attempt)
    return attempt


def test_rfm_features_equal_hand_computed_values(db, attempt_id, fetch):
    compute_features(db, attempt_id, AS_OF, 30, FeatureSet(("recency_days", "frequency", "monetary")))
    rows = fetch(
        db,
        "select customer_id, recency_days, frequency, monetary::float, tenure_days,"
        " avg_order_value::float, return_rate::float from segflow.customer_features"
        " where attempt_id = %s order by customer_id",
        (attempt_id,),
    )
    assert rows[0][:6] == ("A", 6, 2, 23.0, 76, 11.5)
    assert rows[0][6] == pytest.approx(5 / 23)
    assert rows[1] == ("B", None, None, None, 59, None, None)
    assert rows[2][:6] == ("C", 0, 2, 6.5, 0, 3.25)
    assert rows[2][6] == pytest.approx(4.5 / 6.5)
    assert rows[3] == ("D", None, None, None, None, None, None)


def test_data_quality_counts_each_rule(db, attempt_id, fetch):
    counts = prepare.check_source(db, db.settings, attempt_id)
    assert counts == {
        "lines_total": 14,
        "purchase_lines": 7,
        "excluded_after_as_of": 1,
        "excluded_unknown_customer": 1,
        "excluded_cancellation_or_return": 3,
        "excluded_non_positive_price": 1,
        "excluded_duplicate": 1,
    }
    stored = fetch(
        db,
        "select excluded_duplicate, excluded_after_as_of, purchase_lines from segflow.run_attempts"
        " where attempt_id = %s",
        (attempt_id,),
    )
    assert stored == [(1, 1, 7)]


def test_population_and_cut_points_are_stored_with_the_run(db, attempt_id, fetch):
    population = stage_features.build(db, db.settings, attempt_id)
    assert population == {"known": 4, "active": 2}
    # Two active customers (recency 0 and 6, monetary 6.5 and 23): quintiles interpolate between them.
    cuts = cut_points(db, attempt_id)
    assert cuts["recency"] == pytest.approx([1.2, 2.4, 3.6, 4.8])
    assert cuts["frequency"] == [2.0, 2.0, 2.0, 2.0]
    assert cuts["monetary"] == pytest.approx([9.8, 13.1, 16.4, 19.7])
    stored = fetch(
        db,
        "select customers_inactive, rfm_cut_points -> 'monetary' from segflow.run_attempts where attempt_id = %s",
        (attempt_id,),
    )
    assert stored[0][0] == 2 and stored[0][1] == pytest.approx([9.8, 13.1, 16.4, 19.7])

"""The per-customer rollups of the lookback window: moved day by day, after every way lines arrive, change or go,
the features read from them equal a full recompute from every line; a past date, a rebuild or another lookback
reads the window or builds them anew."""

from datetime import date, timedelta

import pytest
from psycopg2 import sql
from support.data import insert_lines, make_rfm_lines

from segflow.data import aggregates, features, rollups
from segflow.data.aggregates_check import check_against_lines
from segflow.data.ingest.load import import_transactions
from segflow.orchestration.partitions import Partition
from segflow.storage.db import run_named

AS_OF = date(2024, 3, 31)


@pytest.fixture
def folded(db, settings):
    """The hand-built lines of test_features.py folded, with a 30-day lookback."""
    insert_lines(db, make_rfm_lines())
    aggregates.bring_current(db, settings)
    return settings.model_copy(update={"lookback_days": 30})


def read_from_rollups_exactly(db, settings, day):
    """The rollups describe the day, and the features from them equal the full recompute from the lines."""
    with db.transaction() as cur:
        assert rollups.usable(cur, day, settings.lookback_days), day
    check = check_against_lines(db, settings, day)
    assert check.exact, (day, check.differing_customers, check.example_customers)
    return check


def state(fetch, db):
    return fetch(db, "select as_of, lookback_days from segflow.customer_window_rollup_state")


def stale(fetch, db):
    return [c for (c,) in fetch(db, "select customer_id from segflow.customer_window_rollup_stale order by 1")]


def test_built_once_then_rolled_day_by_day_equal_a_full_recompute_every_day(db, folded, fetch):
    first = date(2024, 1, 15)
    assert rollups.bring_to(db, first, 30) == rollups.Roll("built", customers=1, reason="no rollups yet")  # A0
    read_from_rollups_exactly(db, folded, first)
    day = first
    while day < date(2024, 5, 5):  # every line enters the 30-day window, and leaves it again
        day += timedelta(days=3)  # three days a roll: each day enters and leaves inside some roll's range
        assert rollups.bring_to(db, day, 30).action in ("rolled", "current")
        read_from_rollups_exactly(db, folded, day)
    assert state(fetch, db) == [(date(2024, 5, 5), 30)]
    assert fetch(db, "select count(*) from segflow.customer_window_rollups") == [(0,)]  # the window is empty


def test_a_roll_recomputes_the_customers_of_the_days_entering_and_leaving(db, folded):
    rollups.bring_to(db, date(2024, 3, 9), 30)
    # 03-10 enters (A1: customer A); 02-09 leaves (nobody bought that day).
    assert rollups.bring_to(db, date(2024, 3, 10), 30) == rollups.Roll(
        "rolled", customers=1, from_as_of=date(2024, 3, 9)
    )
    # 03-02 enters (nobody); 02-01 leaves (B1: customer B).
    rollups.bring_to(db, date(2024, 3, 1), 30)  # earlier than the rollups: kept
    rollups.bring_to(db, date(2024, 3, 11), 30)
    assert rollups.bring_to(db, date(2024, 3, 11), 30) == rollups.Roll("current")


def test_late_duplicate_returned_updated_and_deleted_lines_are_marked_by_the_fold_and_rolled(db, folded, fetch):
    rollups.bring_to(db, AS_OF, 30)
    insert_lines(
        db,
        [
            ("L1", "S1", "D", 2, 4.00, "2024-03-05T08:00:00Z", "B", "UK"),  # late: B becomes active in the window
            ("A1", "S2", "D", 1, 3.00, "2024-03-10T10:00:00Z", "A", "UK"),  # a third copy of a duplicate
            ("CB9", "S1", "D", -1, 4.00, "2024-03-06T08:00:00Z", "B", "UK"),  # cancels part of the late order
            ("E1", "S1", "D", 1, 9.00, "2024-03-30T08:00:00Z", "E", "UK"),  # a new customer
        ],
    )
    with db.transaction() as cur:
        cur.execute("update segflow.transactions set unit_price = 12 where invoice_id = 'N1'")  # C reprices
        cur.execute("delete from segflow.transactions where invoice_id = 'CD1'")  # D's only line goes
    # Not folded yet: the aggregates and the rollups are both behind, and nothing is marked.
    assert stale(fetch, db) == []
    aggregates.bring_current(db, folded)
    assert stale(fetch, db) == ["A", "B", "C", "D", "E"]
    with db.transaction() as cur:
        assert not rollups.usable(cur, AS_OF, 30)  # the night's features would read the window instead
    assert check_against_lines(db, folded, AS_OF).exact
    assert rollups.bring_to(db, AS_OF, 30) == rollups.Roll("rolled", customers=5, from_as_of=AS_OF)
    assert stale(fetch, db) == []
    check = read_from_rollups_exactly(db, folded, AS_OF)
    assert check.customers == 4  # D is no longer known
    rollups.bring_to(db, AS_OF + timedelta(days=1), 30)
    read_from_rollups_exactly(db, folded, AS_OF + timedelta(days=1))


def test_an_import_folds_and_marks_its_customers(db, folded, write_csv, fetch):
    rollups.bring_to(db, AS_OF, 30)
    rows = [
        ["R1", "S1", "D", "2", "2024-03-20 10:00:00", "3.00", "A", "UK"],
        ["R1", "S1", "D", "2", "2024-03-20 10:00:00", "3.00", "A", "UK"],  # a duplicate in the file
        ["CR2", "S9", "D", "-1", "2024-03-21 10:00:00", "7.00", "B", "UK"],
    ]
    import_transactions(db, write_csv(rows, name="march.csv"))
    assert stale(fetch, db) == ["A", "B"]
    rollups.bring_to(db, AS_OF, 30)
    read_from_rollups_exactly(db, folded, AS_OF)


def test_the_features_read_the_rollups_when_they_describe_the_date(db, folded, fetch):
    rollups.bring_to(db, AS_OF, 30)
    with db.transaction() as cur:
        cur.execute("update segflow.customer_window_rollups set frequency = 99 where customer_id = 'A'")
    check = check_against_lines(db, folded, AS_OF)
    assert (check.differing_customers, check.example_customers) == (1, ["A"])
    # Another date, or another lookback, reads the window: exact.
    assert check_against_lines(db, folded, AS_OF - timedelta(days=1)).exact
    assert check_against_lines(db, folded.model_copy(update={"lookback_days": 31}), AS_OF).exact


def test_a_past_date_keeps_them_a_rebuild_discards_them_and_a_new_lookback_or_a_long_gap_builds(db, folded, fetch):
    rollups.bring_to(db, AS_OF, 30)
    past = date(2024, 2, 15)
    assert rollups.bring_to(db, past, 30) == rollups.Roll(
        "kept", from_as_of=AS_OF, reason="the run is for an earlier date than the rollups"
    )
    assert state(fetch, db) == [(AS_OF, 30)]
    assert check_against_lines(db, folded, past).exact  # from the window

    assert rollups.bring_to(db, AS_OF, 45).reason == "the lookback changed from 30 days"
    read_from_rollups_exactly(db, folded.model_copy(update={"lookback_days": 45}), AS_OF)
    later = AS_OF + timedelta(days=rollups.ROLL_AT_MOST_DAYS + 1)
    assert rollups.bring_to(db, later, 45).reason == f"more than {rollups.ROLL_AT_MOST_DAYS} days since {AS_OF}"

    aggregates.bring_current(db, folded, rebuild=True)
    assert state(fetch, db) == []
    assert fetch(db, "select count(*) from segflow.customer_window_rollups") == [(0,)]
    assert rollups.bring_to(db, AS_OF, 30).reason == "no rollups yet"
    read_from_rollups_exactly(db, folded, AS_OF)


def test_each_partition_reads_its_own_customers_rollups(db, settings, fetch):
    from segflow.data.generate import GeneratorSpec, generate_transactions

    generate_transactions(db, GeneratorSpec(customers=300, days=60, seed=3, start=date(2024, 2, 1)))
    aggregates.bring_current(db, settings)
    day = date(2024, 3, 20)
    rollups.bring_to(db, day - timedelta(days=1), settings.lookback_days)
    rollups.bring_to(db, day, settings.lookback_days)
    with db.transaction() as cur:
        assert rollups.usable(cur, day, settings.lookback_days)
        run_named(cur, "queries/aggregates/create_feature_comparison")
        for index in range(3):
            features.insert_rfm_features(
                cur,
                settings,
                sql.Identifier("features_from_aggregates"),
                0,
                day,
                settings.lookback_days,
                partition=Partition(index, 3),
            )
        features.insert_rfm_features(
            cur, settings, sql.Identifier("features_from_lines"), 0, day, settings.lookback_days, from_lines=True
        )
        customers, differing, _ = run_named(cur, "queries/aggregates/feature_differences")[0]
    known = fetch(db, "select count(*) from segflow.customer_firsts where first_line_day <= %s", (day,))[0][0]
    assert (customers, differing) == (known, 0)
    assert known > 200


def test_the_fold_stage_rolls_them_to_the_runs_date_and_records_it(db, folded, fetch):
    from segflow.stages import features as feature_stage
    from segflow.stages import prepare

    attempt = prepare.begin(db, folded, AS_OF, "always", None)
    done = feature_stage.fold(db, folded, attempt)
    assert done["rollups"] == {"action": "built", "customers": 3, "reason": "no rollups yet"}  # A, C, D
    assert fetch(
        db, "select aggregates -> 'rollups' ->> 'action' from segflow.run_attempts where attempt_id = %s", (attempt,)
    ) == [("built",)]
    feature_stage.build_partition(db, folded, attempt, Partition(0, 1))
    feature_stage.finish(db, folded, attempt, 0.0)  # attaches the attempt's own table (migration 016)
    assert fetch(
        db, "select customer_id, frequency from segflow.customer_features where attempt_id = %s order by 1", (attempt,)
    ) == [("A", 2), ("B", None), ("C", 2), ("D", None)]  # N1, N3

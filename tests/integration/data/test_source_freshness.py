"""Source freshness: a night dated more than SEGFLOW_MAX_SOURCE_LAG_DAYS after the source's newest line fails before
anything is computed, publishes nothing and trains nothing; past dates pass; an explicit override runs anyway."""

from datetime import date

import pytest
from support.cli import segflow
from support.data import insert_lines, make_rfm_lines

from segflow.data.generate import GeneratorSpec, generate_transactions
from segflow.stages import features as stage_features
from segflow.stages import prepare, run_nightly
from segflow.stages.prepare import StaleSource

# Each test runs whole nights in process (seconds each): `pytest -m "not slow"` leaves them to the full run.
pytestmark = pytest.mark.slow

SPEC = GeneratorSpec(customers=400, days=120, seed=5, start=date(2024, 1, 1))
NEWEST = date(2024, 4, 29)  # the last generated day
# make_rfm_lines' newest line is 2024-04-01T00:00:00Z (customer A's, after its own as-of date).
RFM_NEWEST = date(2024, 4, 1)


def stale_message(newest: date, as_of: date, lag: int = 3, source: str = "segflow.transactions") -> str:
    return (
        f"the source {source} is stale: its newest line is {newest}, {(as_of - newest).days} days before the "
        f"as-of date {as_of} (SEGFLOW_MAX_SOURCE_LAG_DAYS is {lag})"
    )


def test_a_stale_night_fails_before_computing_and_leaves_bi_and_the_registry_as_they_were(db, settings, fetch):
    generate_transactions(db, SPEC)
    backfill = date(2024, 4, 20)  # before the newest line: a past date always passes
    published = run_nightly(db, settings, backfill)
    customers = fetch(db, "select count(*) from segflow.current_segments")[0][0]
    assert customers == fetch(db, "select customers_known from segflow.runs where attempt_id = %s", (published,))[0][0]
    assert customers > 300

    stale_day = date(2024, 7, 21)  # 83 days after the newest line
    with pytest.raises(StaleSource) as refused:
        run_nightly(db, settings, stale_day)
    assert str(refused.value) == stale_message(NEWEST, stale_day)
    assert str(refused.value) == (
        "the source segflow.transactions is stale: its newest line is 2024-04-29, 83 days before the as-of date "
        "2024-07-21 (SEGFLOW_MAX_SOURCE_LAG_DAYS is 3)"
    )
    assert (refused.value.newest_day, refused.value.as_of, refused.value.max_lag_days) == (NEWEST, stale_day, 3)

    # The attempt is failed with the one-line error; it computed nothing (no fold, no features, no decision).
    assert fetch(
        db,
        "select status, error, source_newest_day, stale_source_allowed, lines_total, customers_known, model_version,"
        " stage_seconds ? 'fold' from segflow.runs where as_of = %s",
        (stale_day,),
    ) == [("failed", stale_message(NEWEST, stale_day), NEWEST, False, None, None, None, False)]
    # BI still reads the backfilled run, whole; no model was trained for the stale night.
    assert fetch(db, "select distinct as_of from segflow.current_segments") == [(backfill,)]
    assert fetch(db, "select count(*) from segflow.current_segments") == [(customers,)]
    assert fetch(db, "select attempt_id from segflow.current_run") == [(published,)]
    assert fetch(db, "select version, status from segflow.model_versions") == [(1, "champion")]


def test_the_override_publishes_a_stale_night_and_says_so(db, settings, fetch):
    generate_transactions(db, SPEC)
    what_if = date(2024, 6, 1)
    attempt = run_nightly(db, settings, what_if, retrain="auto", allow_stale_source=True)
    assert fetch(
        db, "select status, source_newest_day, stale_source_allowed from segflow.runs where attempt_id = %s", (attempt,)
    ) == [("published", NEWEST, True)]
    assert fetch(db, "select distinct as_of from segflow.current_segments") == [(what_if,)]


@pytest.mark.parametrize("source", ["own", "external"])
def test_the_lag_boundary_lag_days_pass_and_one_more_fails(db, settings, fetch, source):
    if source == "own":
        insert_lines(db, make_rfm_lines())
        name = "segflow.transactions"
    else:
        with db.transaction() as cur:
            cur.execute(
                "create schema shop; create table shop.lines as select * from segflow.transactions with no data"
            )
        db.settings = settings = settings.model_copy(update={"source_table": "shop.lines"})
        with db.transaction() as cur:
            cur.executemany(
                "insert into shop.lines (invoice_id, stock_code, description, quantity, unit_price, invoiced_at,"
                " customer_id, country) values (%s, %s, %s, %s, %s, %s, %s, %s)",
                make_rfm_lines(),
            )
        name = "shop.lines"
    # Before the night: the CLI's preflight.
    prepare.preflight(db, settings, as_of_dates=[date(2024, 3, 1), RFM_NEWEST, date(2024, 4, 4)])
    with pytest.raises(StaleSource) as refused:
        prepare.preflight(db, settings, as_of_dates=[date(2024, 3, 31), date(2024, 4, 5)])
    assert str(refused.value) == stale_message(RFM_NEWEST, date(2024, 4, 5), source=name)
    prepare.preflight(db, settings, as_of_dates=[date(2024, 4, 5)], allow_stale_source=True)

    # In the night: the stage before the fold (the own table's aggregates are not folded yet: the lines decide).
    passing = prepare.begin(db, settings, date(2024, 4, 4))
    assert prepare.check_freshness(db, settings, passing) == {
        "newest_line": "2024-04-01",
        "lag_days": 3,
        "stale_source_allowed": False,
    }
    stage_features.fold(db, settings, passing)  # the aggregates now follow the source: they answer the same
    prepare.fail(db, settings, passing, "done")
    failing = prepare.begin(db, settings, date(2024, 4, 5))
    with pytest.raises(StaleSource, match=r"its newest line is 2024-04-01, 4 days before the as-of date 2024-04-05"):
        prepare.check_freshness(db, settings, failing)
    prepare.fail(db, settings, failing, "stale")
    assert fetch(db, "select as_of, source_newest_day from segflow.run_attempts order by attempt_id") == [
        (date(2024, 4, 4), RFM_NEWEST),
        (date(2024, 4, 5), RFM_NEWEST),
    ]
    # A larger lag lets the same date through.
    relaxed = settings.model_copy(update={"max_source_lag_days": 4})
    prepare.preflight(db, relaxed, as_of_dates=[date(2024, 4, 5)])


def test_the_command_refuses_a_stale_date_in_one_line_before_a_flow_run_starts(db, db_url, tmp_path):
    insert_lines(db, make_rfm_lines())
    env = {"SEGFLOW_DATABASE_URL": db_url, "SEGFLOW_HOME": str(tmp_path)}
    result = segflow("run", "--as-of", "2024-06-23", env=env)
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "error: the source segflow.transactions is stale: its newest line is 2024-04-01, 83 days before the as-of "
        "date 2024-06-23 (SEGFLOW_MAX_SOURCE_LAG_DAYS is 3); load the missing days first, or pass "
        "--allow-stale-source to run this date anyway (a deliberate what-if)"
    )
    backfill = segflow("backfill", "--from", "2024-03-25", "--to", "2024-04-08", "--every", "week", env=env)
    assert backfill.returncode == 1
    assert "its newest line is 2024-04-01, 7 days before the as-of date 2024-04-08" in backfill.stderr
    assert not (tmp_path / "prefect").exists()  # refused before the embedded Prefect server was started

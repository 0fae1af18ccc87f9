"""One table per attempt for the per-customer rows (sql/migrations/016): written without indexes by every customer
partition, attached by the stage's finish step, dropped whole by retention; rows from before the migration kept."""

from datetime import date

import pytest
from support.databases import database_for_test, filled_template

from segflow.data.generate import GeneratorSpec, generate_transactions
from segflow.modelling import comparison
from segflow.monitoring import drift_report, retention
from segflow.monitoring.report import page
from segflow.orchestration.partitions import Partition
from segflow.orchestration.runs import RunRowsDropped
from segflow.stages import decide, features, prepare, run_nightly, score
from segflow.storage import attempt_tables, migrations

SPEC = GeneratorSpec(customers=300, days=120, seed=5, start=date(2024, 1, 1))
AS_OF = date(2024, 4, 29)  # the last generated day
HALVES = [Partition(0, 2), Partition(1, 2)]


@pytest.fixture(scope="module")
def night_template(server_url, template_database, tmp_path_factory):
    """SPEC's lines and their published night of AS_OF (a champion to score with), made once for the module."""
    home = tmp_path_factory.mktemp("night") / "home"

    def fill(db, settings):
        generate_transactions(db, SPEC)
        run_nightly(db, settings, AS_OF)

    yield from filled_template(server_url, template_database, home, fill)


@pytest.fixture
def db_url(request, server_url, template_database, home):
    yield from database_for_test(request, server_url, template_database, home, {"night": "night_template"})


@pytest.fixture
def night(db):
    return db


def table_state(fetch, db, kind, attempt):
    """(exists, attached as a partition, has an index) of the attempt's own table."""
    name = f"segflow.{attempt_tables.table_name(kind, attempt)}"
    return fetch(
        db,
        "select to_regclass(%s) is not null,"
        " coalesce((select relispartition from pg_class where oid = to_regclass(%s)), false),"
        " exists (select from pg_index where indrelid = to_regclass(%s))",
        (name, name, name),
    )[0]


def own_rows(fetch, db, kind, attempt):
    """(rows, distinct customers, customer partitions of 2 present) in the attempt's own table."""
    return fetch(
        db,
        f"select count(*), count(distinct customer_id), array_agg(distinct segflow.customer_partition(customer_id, 2))"
        f" from segflow.{attempt_tables.table_name(kind, attempt)}",
    )[0]


def through_parent(fetch, db, kind, attempt):
    return fetch(db, f"select count(*) from segflow.{kind} where attempt_id = %s", (attempt,))[0][0]


def test_a_customer_partition_run_again_replaces_its_rows_in_the_unattached_table(db, night, settings, fetch):
    known = fetch(db, "select count(*) from segflow.current_segments")[0][0]
    attempt = prepare.begin(db, settings, AS_OF, "never", None)
    features.fold(db, settings, attempt)

    features.build_partition(db, settings, attempt, HALVES[0])
    first = own_rows(fetch, db, "customer_features", attempt)
    assert table_state(fetch, db, "customer_features", attempt) == (True, False, False)
    assert first[2] == [0] and 0 < first[0] == first[1] < known
    assert through_parent(fetch, db, "customer_features", attempt) == 0  # not attached: readers see nothing yet

    features.build_partition(db, settings, attempt, HALVES[0])  # a retry of the same partition
    assert own_rows(fetch, db, "customer_features", attempt) == first

    features.build_partition(db, settings, attempt, HALVES[1])
    features.finish(db, settings, attempt, 0.0)
    assert table_state(fetch, db, "customer_features", attempt) == (True, True, True)
    assert through_parent(fetch, db, "customer_features", attempt) == known

    features.build_partition(db, settings, attempt, HALVES[1])  # after the attach: rows replaced in the partition
    features.finish(db, settings, attempt, 0.0)  # a finish run again only analyzes
    assert through_parent(fetch, db, "customer_features", attempt) == known
    assert own_rows(fetch, db, "customer_features", attempt)[:2] == (known, known)


def test_a_retry_after_a_crash_between_the_copy_and_the_attach_scores_every_customer_once(db, night, settings, fetch):
    known = fetch(db, "select count(*) from segflow.current_segments")[0][0]
    attempt = prepare.begin(db, settings, AS_OF, "never", None)
    features.fold(db, settings, attempt)
    for part in HALVES:
        features.build_partition(db, settings, attempt, part)
    features.finish(db, settings, attempt, 0.0)
    decide.before_drift(db, settings, attempt)
    for part in HALVES:
        score.score_partition(db, settings, attempt, part)
    # The process dies here: every row COPYed, the table neither indexed nor attached.
    assert table_state(fetch, db, "segment_assignments", attempt) == (True, False, False)
    assert own_rows(fetch, db, "segment_assignments", attempt)[:2] == (known, known)
    assert through_parent(fetch, db, "segment_assignments", attempt) == 0

    # The retry runs the stage again: each partition replaces its rows, the finish attaches once.
    for part in HALVES:
        score.score_partition(db, settings, attempt, part)
    scored = score.finish(db, settings, attempt, 0.0)
    assert table_state(fetch, db, "segment_assignments", attempt) == (True, True, True)
    assert fetch(
        db,
        "select count(*), count(distinct customer_id), count(distance) from segflow.segment_assignments"
        " where attempt_id = %s",
        (attempt,),
    ) == [(known, known, scored.customers)]


def test_a_failed_attempt_loses_its_tables_attached_or_not(db, night, settings, fetch):
    attempt = prepare.begin(db, settings, AS_OF, "never", None)
    features.fold(db, settings, attempt)
    for part in HALVES:
        features.build_partition(db, settings, attempt, part)
    features.finish(db, settings, attempt, 0.0)
    decide.before_drift(db, settings, attempt)
    score.score_partition(db, settings, attempt, HALVES[0])
    prepare.fail(db, settings, attempt, "stopped by the test")
    assert table_state(fetch, db, "customer_features", attempt) == (False, False, False)
    assert table_state(fetch, db, "segment_assignments", attempt) == (False, False, False)
    assert fetch(db, "select status from segflow.run_attempts where attempt_id = %s", (attempt,)) == [("failed",)]


def _attempt(cur, as_of, status, attached=True, customers=("c1", "c2")):
    """A run attempt with features and assignments for `customers` (its tables attached, or only created)."""
    cur.execute("insert into segflow.run_keys (as_of) values (%s) on conflict (as_of) do nothing", (as_of,))
    cur.execute(
        "insert into segflow.run_attempts (run_id, as_of, status, features, lookback_days, window_start)"
        " select run_id, as_of, %s, array['recency_days'], 365, as_of - 365 from segflow.run_keys where as_of = %s"
        " returning attempt_id",
        (status, as_of),
    )
    attempt = cur.fetchone()[0]
    if attached:
        attempt_tables.open_attached(cur, attempt)
        features_table, assignments_table = "segflow.customer_features", "segflow.segment_assignments"
    else:
        for kind in attempt_tables.KINDS:
            attempt_tables.create(cur, kind, attempt)
        features_table = f"segflow.{attempt_tables.table_name('customer_features', attempt)}"
        assignments_table = f"segflow.{attempt_tables.table_name('segment_assignments', attempt)}"
    for customer in customers:
        cur.execute(f"insert into {features_table} (attempt_id, customer_id) values (%s, %s)", (attempt, customer))
        cur.execute(
            f"insert into {assignments_table} (attempt_id, customer_id, segment_key, segment_name, action)"
            " values (%s, %s, 'S1', 'Champions', 'act')",
            (attempt, customer),
        )
    return attempt


def test_retention_keeps_the_current_run_the_newest_published_and_unfinished_attempts(db, settings, fetch):
    with db.transaction() as cur:
        # BI reads January 5th: later dates were published after it and then withdrawn, or published while a
        # withdraw had moved the pointer back (what matters: the current run is not among the newest by as-of).
        current = _attempt(cur, date(2026, 1, 5), "published")
        oldest = _attempt(cur, date(2026, 1, 1), "published")
        replaced = _attempt(cur, date(2026, 1, 10), "replaced")
        newer = _attempt(cur, date(2026, 1, 10), "published")
        withdrawn = _attempt(cur, date(2026, 1, 15), "withdrawn")
        newest = _attempt(cur, date(2026, 1, 20), "published")
        failed = _attempt(cur, date(2026, 1, 25), "failed", attached=False)  # a crash left its tables behind
        running = _attempt(cur, date(2026, 1, 25), "running", attached=False)  # another process writes it now
        cur.execute("insert into segflow.current_run (attempt_id) values (%s)", (current,))

    keep_all = settings.model_copy(update={"scored_runs_kept": 0})
    assert retention.prune_attempt_rows(db, keep_all) == [replaced, failed]

    keep_two = settings.model_copy(update={"scored_runs_kept": 2})
    assert retention.prune_attempt_rows(db, keep_two) == [oldest, withdrawn]
    assert fetch(db, "select distinct attempt_id from segflow.segment_assignments order by 1") == [
        (current,),
        (newer,),
        (newest,),
    ]
    with db.transaction() as cur:
        assert attempt_tables.attempts_with_tables(cur) == [current, newer, newest, running]
    assert fetch(db, "select attempt_id from segflow.run_attempts where rows_dropped_at is not null order by 1") == [
        (oldest,),
        (replaced,),
        (withdrawn,),
        (failed,),
    ]
    # The run BI reads keeps its rows (its segments come from segment_ranges, which publish writes: not here).
    assert fetch(db, "select count(*) from segflow.customer_features where attempt_id = %s", (current,)) == [(2,)]
    assert retention.prune_attempt_rows(db, keep_two) == []  # nothing more to drop

    # Readers of a dropped run say so: the segment page refuses; a drift report against it needs its sample (none
    # here: rows written by hand), and under one model its transitions come from segment_ranges.
    (oldest_run,) = fetch(db, "select run_id from segflow.run_attempts where attempt_id = %s", (oldest,))[0]
    with pytest.raises(RunRowsDropped) as refused:
        page.build_segment_report(db, settings, oldest_run)
    assert str(refused.value) == (
        f"the per-customer rows of run {oldest_run} (as of 2026-01-01) were dropped by retention "
        "(SEGFLOW_SCORED_RUNS_KEPT keeps the newest runs); run that date again to rebuild them"
    )
    assert drift_report.build_report(db, settings, current, 1, "previous", oldest, oldest_run, None) is None
    basis = comparison.comparison_basis(db, settings, oldest, current)
    assert (basis.comparable, basis.under_model, basis.note) == (True, None, "")


def test_migration_016_keeps_the_rows_written_before_it_readable_without_copying_them(blank_db, fetch):
    migrations.upgrade(blank_db, target=14)
    with blank_db.transaction() as cur:
        cur.execute("insert into segflow.run_keys (as_of) values ('2026-01-01'), ('2026-01-02')")
        cur.execute(
            "insert into segflow.run_attempts (run_id, as_of, status, features, lookback_days, window_start)"
            " select run_id, as_of, 'published', array['recency_days'], 365, as_of - 365 from segflow.run_keys"
            " order by as_of returning attempt_id"
        )
        before = [row[0] for row in cur.fetchall()]
        for attempt in before:
            cur.execute(
                "insert into segflow.customer_features (attempt_id, customer_id, recency_days)"
                " select %s, 'c' || i, i from generate_series(1, 3) as i",
                (attempt,),
            )
            cur.execute(
                "insert into segflow.segment_assignments (attempt_id, customer_id, segment_key, segment_name, action)"
                " select %s, 'c' || i, 'S1', 'Champions', 'act' from generate_series(1, 3) as i",
                (attempt,),
            )
        cur.execute("insert into segflow.current_run (attempt_id) values (%s)", (before[1],))
    migrations.upgrade(blank_db)

    kinds = (
        "select relname, relkind from pg_class where relname in ('customer_features', 'segment_assignments') order by 1"
    )
    assert fetch(blank_db, kinds) == [("customer_features", "p"), ("segment_assignments", "p")]
    assert fetch(
        blank_db, "select count(*) from segflow.segment_assignments_before_016 where attempt_id = any(%s)", (before,)
    ) == [(6,)]
    assert fetch(blank_db, "select customer_id, recency_days from segflow.current_segments order by 1") == [
        ("c1", 1),
        ("c2", 2),
        ("c3", 3),
    ]
    assert fetch(blank_db, "select first_own_attempt from segflow.per_attempt_tables") == [(before[1] + 1,)]

    with blank_db.transaction() as cur:  # an attempt after the migration has tables of its own
        later = _attempt(cur, date(2026, 1, 3), "published")
        cur.execute("update segflow.current_run set attempt_id = %s", (later,))
    assert fetch(blank_db, "select count(*) from segflow.segment_assignments_before_016") == [(6,)]
    assert fetch(blank_db, "select count(*) from segflow.segment_assignments where attempt_id = %s", (later,)) == [(2,)]

    # Once no kept attempt is older than the migration, its partitions go whole.
    keep_one = blank_db.settings.model_copy(update={"scored_runs_kept": 1})
    assert retention.prune_attempt_rows(blank_db, keep_one) == before
    gone = (
        "select to_regclass('segflow.segment_assignments_before_016'),"
        " to_regclass('segflow.customer_features_before_016')"
    )
    assert fetch(blank_db, gone) == [(None, None)]
    assert fetch(blank_db, "select count(*) from segflow.segment_assignments where attempt_id = %s", (later,)) == [(2,)]

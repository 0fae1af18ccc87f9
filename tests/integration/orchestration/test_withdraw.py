"""Taking a published run back: the attempt is kept and marked withdrawn, BI returns to the previous run, the
promotion it made is undone, what compared with it goes; refused where it cannot be done; the date runs again."""

import re
from datetime import date

import pytest
from support.cli import segflow_in_process
from support.databases import database_for_test, filled_template

from segflow.data.generate import GeneratorSpec, generate_transactions
from segflow.orchestration import withdrawal
from segflow.stages import run_nightly

# Each test runs whole nights in process (seconds each): `pytest -m "not slow"` leaves them to the full run.
pytestmark = pytest.mark.slow

SPEC = GeneratorSpec(customers=400, days=120, seed=5, start=date(2024, 1, 1))
D1, D2, D3 = date(2024, 4, 15), date(2024, 4, 22), date(2024, 4, 29)  # D3: the last generated day


@pytest.fixture(scope="module")
def generated_template(server_url, template_database, tmp_path_factory):
    """A migrated database holding SPEC's lines, generated once for the module."""
    home = tmp_path_factory.mktemp("generated") / "home"
    yield from filled_template(server_url, template_database, home, lambda db, _: generate_transactions(db, SPEC))


@pytest.fixture(scope="module")
def first_night_template(server_url, generated_template, tmp_path_factory):
    """SPEC's lines and the published night of D1 (run 1, model v1), run once for the module."""
    home = tmp_path_factory.mktemp("night") / "home"
    yield from filled_template(server_url, generated_template, home, lambda db, settings: run_nightly(db, settings, D1))


@pytest.fixture
def db_url(request, server_url, template_database, home):
    """A test gets a clone of the snapshot it asks for (`generated`, `first_night`), else an empty migrated one."""
    templates = {"generated": "generated_template", "first_night": "first_night_template"}
    yield from database_for_test(request, server_url, template_database, home, templates)


@pytest.fixture
def generated(db):
    """The test's database with SPEC's lines (a clone of `generated_template`)."""
    return db


@pytest.fixture
def first_night(db):
    """The test's database after the night of D1 (a clone of `first_night_template`)."""
    return db


def known_customers(fetch, db, as_of):
    """Customers with a line on or before the as-of date, counted from the lines themselves."""
    return fetch(
        db,
        "select count(distinct customer_id) from segflow.transactions"
        " where customer_id is not null and invoiced_at < %s::date + 1",
        (as_of,),
    )[0][0]


def test_withdrawing_runs_moves_bi_back_keeps_their_rows_and_the_date_runs_again(first_night, settings, fetch):
    db = first_night
    # Withdrawn runs keep their per-customer rows when every run does (0); the default (2) drops them like any run
    # past retention, and BI never shows a withdrawn run either way.
    settings = settings.model_copy(update={"scored_runs_kept": 0})
    first = fetch(db, "select attempt_id from segflow.runs where as_of = %s", (D1,))[0][0]
    middle = run_nightly(db, settings, D2, retrain="never")
    last = run_nightly(db, settings, D3, retrain="never")
    runs = dict(fetch(db, "select as_of, run_id from segflow.runs"))
    rows_of = {
        a: fetch(db, "select count(*) from segflow.segment_assignments where attempt_id = %s", (a,))[0][0]
        for a in (first, middle, last)
    }
    assert rows_of[first] == known_customers(fetch, db, D1)

    # A run in the middle: BI stays on the newest; the newest now follows the first.
    done = withdrawal.withdraw(db, settings, D2, "  the 2024-04-22 export was cut short ")
    assert (done.reason, done.was_current, done.current_as_of, done.next_as_of) == (
        "the 2024-04-22 export was cut short",
        False,
        D3,
        D3,
    )
    assert (done.retired_version, done.restored_version, done.mlflow_aliases) == (None, None, None)
    assert done.drift_reports_deleted == [runs[D3]]  # the newest run's report against the withdrawn one
    assert fetch(db, "select attempt_id from segflow.current_run") == [(last,)]
    pairs = fetch(db, "select distinct from_run, to_run from segflow.segment_transitions order by 1, 2")
    assert pairs == [(runs[D1], runs[D3])]  # D1→D2 and D2→D3 went; D1→D3 was rebuilt
    assert done.transitions_rebuilt == fetch(db, "select count(*) from segflow.segment_transitions")[0][0] > 0
    assert done.transitions_deleted > 0

    # The current run: BI returns to the first run, whole.
    into_last = fetch(db, "select count(*) from segflow.segment_transitions where to_run = %s", (runs[D3],))[0][0]
    cli = segflow_in_process(
        "withdraw",
        str(D3),
        "--reason",
        "duplicate lines",
        env={"SEGFLOW_DATABASE_URL": db.url, "SEGFLOW_HOME": str(settings.home)},
    )
    assert cli.exit_code == 0, cli.output
    assert cli.stdout.splitlines() == [
        f"withdrew the run as of {D3} (run {runs[D3]}, attempt {last}): duplicate lines",
        f"BI now reads the run as of {D1}",
        f"removed {into_last} transition rows into and out of it",
        f"to publish the date again: segflow run --as-of {D3}",
    ]
    assert fetch(db, "select attempt_id from segflow.current_run") == [(first,)]
    assert fetch(db, "select count(*), min(as_of), max(as_of) from segflow.current_segments") == [
        (known_customers(fetch, db, D1), D1, D1)
    ]
    assert fetch(db, "select count(*) from segflow.segment_transitions") == [(0,)]

    # History kept and marked: segflow.runs shows them withdrawn with their reasons; their rows are still there.
    assert fetch(
        db, "select as_of, status, withdrawn_reason, withdrawn_at is not null from segflow.runs order by as_of"
    ) == [
        (D1, "published", None, False),
        (D2, "withdrawn", "the 2024-04-22 export was cut short", True),
        (D3, "withdrawn", "duplicate lines", True),
    ]
    for attempt in (middle, last):
        assert fetch(db, "select count(*) from segflow.segment_assignments where attempt_id = %s", (attempt,)) == [
            (rows_of[attempt],)
        ]
    # ... but no history view counts them as published runs.
    assert fetch(db, "select distinct as_of from segflow.segment_history") == [(D1,)]
    assert fetch(db, "select distinct as_of from segflow.segment_summary") == [(D1,)]

    with pytest.raises(
        withdrawal.AlreadyWithdrawn,
        match=re.escape(f"the run as of {D3} was already withdrawn on ") + r"\d{4}-\d\d-\d\d \d\d:\d\d \w+ "
        r"\(duplicate lines\)$",
    ):
        withdrawal.withdraw(db, settings, D3, "again")

    # Running the date again publishes it as any night; the withdrawn attempt stays withdrawn beside it.
    again = run_nightly(db, settings, D3, retrain="never")
    assert fetch(db, "select status, withdrawn_reason from segflow.runs where as_of = %s", (D3,)) == [
        ("published", None)
    ]
    assert fetch(db, "select attempt_id, status from segflow.run_attempts where as_of = %s order by 1", (D3,)) == [
        (last, "withdrawn"),
        (again, "published"),
    ]
    assert fetch(db, "select count(*), min(as_of) from segflow.current_segments") == [
        (known_customers(fetch, db, D3), D3)
    ]
    assert fetch(db, "select distinct from_run, to_run from segflow.segment_transitions") == [(runs[D1], runs[D3])]


def test_withdrawing_a_run_that_promoted_a_challenger_restores_the_previous_champion(first_night, settings, fetch):
    db = first_night
    v1_keys = fetch(db, "select segment_key from segflow.model_segments where model_version = 1 order by 1")
    # Another clustering of the same customers, forced through the k range; the gate is opened wide.
    wide_open = settings.model_copy(
        update={"min_clusters": 2, "max_clusters": 2, "challenger_margin": 10.0, "challenger_min_ari": -1.0}
    )
    promoting = run_nightly(db, wide_open, D2, retrain="always")
    assert fetch(db, "select outcome from segflow.runs where attempt_id = %s", (promoting,)) == [
        ("trained challenger v2 and promoted it over v1",)
    ]
    assert fetch(db, "select version, status from segflow.model_versions order by 1") == [
        (1, "retired"),
        (2, "champion"),
    ]
    run_nightly(db, settings, D3, retrain="never")  # scored with v2

    with pytest.raises(withdrawal.PromotionInUse) as refused:
        withdrawal.withdraw(db, settings, D2, "bad challenger")
    assert str(refused.value) == (
        f"the run as of {D2} promoted model v2, and the published run as of {D3} was scored with it: withdraw the "
        f"run as of {D3} first"
    )
    assert fetch(db, "select count(*) from segflow.run_attempts where status = 'withdrawn'") == [(0,)]

    withdrawal.withdraw(db, settings, D3, "scored with the bad challenger")
    done = withdrawal.withdraw(db, settings, D2, "bad challenger")
    assert (done.retired_version, done.restored_version, done.current_as_of) == (2, 1, D1)
    assert fetch(db, "select version, status, promoted_at is null from segflow.model_versions order by 1") == [
        (1, "champion", False),
        (2, "retired", True),
    ]
    assert fetch(db, "select segment_key from segflow.segment_keys where status = 'active' order by 1") == v1_keys
    assert fetch(db, "select distinct as_of, model_version from segflow.current_segments") == [(D1, 1)]

    # The next night scores with the restored champion.
    again = run_nightly(db, settings, D3, retrain="never")
    assert fetch(db, "select model_version, status from segflow.runs where attempt_id = %s", (again,)) == [
        (1, "published")
    ]


def test_what_cannot_be_withdrawn_is_refused_and_nothing_changes(generated, settings, fetch):
    db = generated
    only = run_nightly(db, settings, D2)
    with pytest.raises(withdrawal.UnknownRunDate, match=r"^there is no run as of 2024-04-01$"):
        withdrawal.withdraw(db, settings, date(2024, 4, 1), "typo")
    with pytest.raises(
        withdrawal.NothingToReturnTo,
        match=r"^the run as of 2024-04-22 is the one BI reads and there is no published run of an earlier date to "
        r"return to$",
    ):
        withdrawal.withdraw(db, settings, D2, "only run")
    with pytest.raises(withdrawal.MissingReason, match=r"^a withdrawal needs a reason \(it is kept with the run\)$"):
        withdrawal.withdraw(db, settings, D2, "  ")
    stale = settings.model_copy(update={"max_source_lag_days": 0})
    with pytest.raises(Exception, match="is stale"):
        run_nightly(db, stale, date(2024, 4, 30))  # a failed night
    with pytest.raises(
        withdrawal.RunNotPublished,
        match=r"^the run as of 2024-04-30 is not published \(its latest attempt is failed\)$",
    ):
        withdrawal.withdraw(db, settings, date(2024, 4, 30), "never published")
    assert fetch(db, "select attempt_id from segflow.current_run") == [(only,)]
    assert fetch(db, "select status from segflow.run_attempts order by attempt_id") == [("published",), ("failed",)]

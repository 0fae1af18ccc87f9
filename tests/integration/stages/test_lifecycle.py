"""A run's life over months: the champion only moves forward, retraining is bounded, comparisons are like for
like across a model change, backfills rebuild their neighbour, killed runs are cleaned up, old reports go."""

import os
import select
import signal
import subprocess
import sys
import textwrap
import time
from datetime import date, timedelta

import pytest
from support.databases import database_for_test, filled_template

from segflow.data.generate import GeneratorSpec, generate_transactions
from segflow.modelling import registry
from segflow.modelling.segments import RULE_SEGMENTS
from segflow.monitoring import retention
from segflow.monitoring.report import page
from segflow.orchestration import attempts
from segflow.stages import run_nightly

# Each test runs whole nights in process (seconds each): `pytest -m "not slow"` leaves them to the full run.
pytestmark = pytest.mark.slow

SPEC = GeneratorSpec(customers=1_500, days=200, seed=11, start=date(2024, 1, 1))
LAST_DAY = date(2024, 7, 18)  # the last generated day
RULE_KEYS = {*RULE_SEGMENTS, "new_customer"}  # rule segments, and customers new to the later run


@pytest.fixture(scope="module")
def generated_template(server_url, template_database, tmp_path_factory):
    """A migrated database holding SPEC's lines, generated once for the module."""
    home = tmp_path_factory.mktemp("generated") / "home"
    yield from filled_template(server_url, template_database, home, lambda db, _: generate_transactions(db, SPEC))


@pytest.fixture
def db_url(request, server_url, template_database, home):
    """A test that asks for `generated` gets a clone of `generated_template`; the others an empty migrated one."""
    yield from database_for_test(request, server_url, template_database, home, {"generated": "generated_template"})


@pytest.fixture
def generated(db):
    """The test's database with SPEC's lines (a clone of `generated_template`)."""
    return db


def run_row(fetch, db, attempt_id):
    columns = ("run_id", "as_of", "status", "retrained", "retrain_reason", "model_version", "outcome")
    row = fetch(db, f"select {', '.join(columns)} from segflow.runs where attempt_id = %s", (attempt_id,))[0]
    return dict(zip(columns, row, strict=True))


def model_statuses(fetch, db):
    return fetch(db, "select version, status from segflow.model_versions order by version")


# --- The champion only moves forward ---------------------------------------------------------------------


def test_an_older_date_scores_with_the_champion_and_a_requested_retrain_stays_a_candidate(generated, settings, fetch):
    db = generated
    first = run_nightly(db, settings, LAST_DAY)
    today_run = run_row(fetch, db, first)["run_id"]
    assert model_statuses(fetch, db) == [(1, "champion")]
    v1_keys = {k for (k,) in fetch(db, "select segment_key from segflow.model_segments where model_version = 1")}

    older = run_nightly(db, settings, date(2024, 6, 1))
    row = run_row(fetch, db, older)
    assert (row["status"], row["model_version"], row["retrained"], row["outcome"]) == (
        "published",
        1,
        False,
        "scored with champion v1",
    )
    assert row["retrain_reason"] == (
        "as of 2024-06-01 is before champion v1's training date 2024-07-18: scored with the champion, nothing trained"
    )
    assert model_statuses(fetch, db) == [(1, "champion")]
    assert fetch(
        db, "select distinct model_version from segflow.segment_assignments where attempt_id = %s", (older,)
    ) == [(1,)]

    requested = run_nightly(db, settings, date(2024, 6, 15), retrain="always")
    row = run_row(fetch, db, requested)
    assert (row["status"], row["model_version"], row["retrained"]) == ("published", 1, True)
    assert row["outcome"] == "trained v2, kept as a candidate; scored with v1"
    assert row["retrain_reason"] == (
        "retraining was requested; as of 2024-06-15 is before champion v1's training "
        "date 2024-07-18: the new model stays a candidate"
    )
    assert model_statuses(fetch, db) == [(1, "champion"), (2, "candidate")]
    assert registry.champion(db) == 1
    # A candidate is never challenged: no gate measurements are stored with it.
    assert fetch(db, "select challenge from segflow.model_versions where version = 2") == [(None,)]
    assert fetch(
        db, "select distinct model_version from segflow.segment_assignments where attempt_id = %s", (requested,)
    ) == [(1,)]

    # BI still reads the newest date's run.
    assert fetch(db, "select distinct run_id, as_of, model_version from segflow.current_segments") == [
        (today_run, LAST_DAY, 1)
    ]
    # Only the champion's keys are active: the candidate's keys were not recorded as segments in use.
    assert fetch(db, "select segment_key from segflow.segment_keys where status = 'active' order by 1") == [
        (k,) for k in sorted(v1_keys)
    ]
    assert fetch(db, "select count(*) from segflow.segment_keys where first_version = 2 or last_version = 2") == [(0,)]


# --- Bounded retraining ----------------------------------------------------------------------------------


def test_a_losing_challenger_resets_the_age_clock_and_starts_a_cool_down(generated, settings, fetch):
    db = generated
    d0 = date(2024, 7, 1)
    # k=2 clusters these customers worse than the champion, and a zero margin lets nothing worse through.
    strict = settings.model_copy(
        update={"min_clusters": 2, "max_clusters": 2, "challenger_margin": 0.0, "max_age_days": 3}
    )
    assert strict.retrain_cooldown_days == 14
    run_nightly(db, settings, d0)
    assert model_statuses(fetch, db) == [(1, "champion")]

    lost = run_row(fetch, db, run_nightly(db, strict, d0 + timedelta(days=7)))
    assert (lost["retrained"], lost["model_version"], lost["outcome"]) == (
        True,
        1,
        "trained challenger v2, which lost; scored with champion v1",
    )
    assert lost["retrain_reason"].startswith(
        "champion v1 was trained 7 days before this run (max 3); challenger v2 not promoted: silhouette "
    )
    assert model_statuses(fetch, db) == [(1, "champion"), (2, "candidate")]
    (challenge,) = fetch(db, "select challenge from segflow.model_versions where version = 2")[0]
    assert set(challenge) == {
        "challenger",
        "champion",
        "silhouette",
        "champion_silhouette",
        "adjusted_rand_index",
        "margin",
        "min_ari",
        "promoted",
        "verdict",
    }
    assert (challenge["challenger"], challenge["champion"], challenge["promoted"]) == (2, 1, False)
    assert (challenge["margin"], challenge["min_ari"]) == (0.0, strict.challenger_min_ari)
    assert challenge["silhouette"] < challenge["champion_silhouette"]
    assert -1 <= challenge["adjusted_rand_index"] <= 1
    assert challenge["verdict"].startswith("challenger v2 not promoted: ")
    assert challenge["verdict"] in lost["retrain_reason"]
    # The JSON column holds what the policy measured, not a string of it.
    assert fetch(db, "select jsonb_typeof(challenge) from segflow.model_versions where version = 2") == [("object",)]

    cooling = run_row(fetch, db, run_nightly(db, strict, d0 + timedelta(days=8)))
    assert (cooling["retrained"], cooling["model_version"], cooling["outcome"]) == (False, 1, "scored with champion v1")
    assert "cool-down" in cooling["retrain_reason"]
    assert cooling["retrain_reason"].startswith("champion v1 kept: a challenger was trained 1 ")
    assert cooling["retrain_reason"].endswith("(cool-down 14 days); drift not checked")
    assert fetch(db, "select count(*) from segflow.model_versions") == [(2,)]

    aged = run_row(fetch, db, run_nightly(db, strict, d0 + timedelta(days=11)))
    assert aged["retrained"] is True
    assert aged["retrain_reason"].startswith(
        "the last challenger was trained 4 days before this run (max 3); challenger v3 "
    )
    assert fetch(db, "select count(*) from segflow.model_versions") == [(3,)]
    assert fetch(db, "select as_of from segflow.model_versions order by version") == [
        (d0,),
        (d0 + timedelta(days=7),),
        (d0 + timedelta(days=11),),
    ]


# --- Like-for-like comparison across a model change --------------------------------------------------------


def test_after_a_model_change_the_earlier_run_is_compared_as_the_new_model_scores_it(generated, settings, fetch):
    db = generated
    d1, d2 = date(2024, 7, 10), date(2024, 7, 11)
    first = run_nightly(db, settings, d1)
    # Another clustering of the same customers, forced through the k range; the gate is opened wide.
    other = settings.model_copy(
        update={"min_clusters": 2, "max_clusters": 2, "challenger_margin": 10.0, "challenger_min_ari": -1.0}
    )
    second = run_nightly(db, other, d2, retrain="always")
    run1, run2 = run_row(fetch, db, first), run_row(fetch, db, second)
    assert (run1["model_version"], run2["model_version"]) == (1, 2)
    assert model_statuses(fetch, db) == [(1, "retired"), (2, "champion")]
    assert fetch(db, "select k from segflow.model_versions where version = 2") == [(2,)]
    v2_keys = {k for (k,) in fetch(db, "select segment_key from segflow.model_segments where model_version = 2")}
    assert len(v2_keys) == 2

    rows = fetch(
        db,
        "select from_segment_key, to_segment_key, customers, compared_under_model"
        " from segflow.segment_transitions where from_run = %s and to_run = %s",
        (run1["run_id"], run2["run_id"]),
    )
    assert rows and {r[3] for r in rows} == {2}
    assert {r[0] for r in rows} <= v2_keys | RULE_KEYS
    in_both = sum(r[2] for r in rows if r[0] != "new_customer" and r[1] != "gone")
    stayed = sum(r[2] for r in rows if r[0] == r[1])
    assert in_both > 1_000
    assert stayed >= 0.9 * in_both, (stayed, in_both)
    assert (
        sum(r[2] for r in rows if r[1] != "gone")
        == fetch(db, "select count(*) from segflow.segment_assignments where attempt_id = %s", (second,))[0][0]
    )

    report = fetch(
        db,
        "select reference_run, compared_under_model, segment_psi, dataset_drift"
        " from segflow.drift_reports where run_id = %s and reference = 'previous'",
        (run2["run_id"],),
    )
    assert len(report) == 1
    reference_run, under_model, psi, drifted = report[0]
    assert (reference_run, under_model, drifted) == (run1["run_id"], 2, False)
    assert psi < 0.05, psi

    run1_rows = fetch(db, "select count(*) from segflow.segment_assignments where attempt_id = %s", (first,))[0][0]
    assert fetch(
        db,
        "select count(*), count(distinct customer_id) from segflow.comparison_assignments"
        " where attempt_id = %s and model_version = 2",
        (first,),
    ) == [(run1_rows, run1_rows)]
    assert fetch(
        db,
        "select count(*) from segflow.comparison_assignments where not (attempt_id = %s and model_version = 2)",
        (first,),
    ) == [(0,)]


# --- A backfill between two runs rebuilds the later neighbour ---------------------------------------------


def test_a_backfill_between_two_runs_becomes_the_later_runs_reference(generated, settings, fetch):
    db = generated
    d1, d2, d3 = date(2024, 7, 4), date(2024, 7, 11), date(2024, 7, 18)
    r1 = run_row(fetch, db, run_nightly(db, settings, d1))["run_id"]
    r3 = run_row(fetch, db, run_nightly(db, settings, d3))["run_id"]
    assert fetch(
        db, "select reference_run from segflow.drift_reports where run_id = %s and reference = 'previous'", (r3,)
    ) == [(r1,)]

    r2 = run_row(fetch, db, run_nightly(db, settings, d2))["run_id"]

    assert fetch(
        db, "select reference_run from segflow.drift_reports where run_id = %s and reference = 'previous'", (r3,)
    ) == [(r2,)]
    assert fetch(
        db, "select reference_run from segflow.drift_reports where run_id = %s and reference = 'previous'", (r2,)
    ) == [(r1,)]
    pairs = {(a, b) for a, b in fetch(db, "select from_run, to_run from segflow.segment_transitions")}
    assert pairs == {(r1, r2), (r2, r3)}
    page = (settings.report_path / "drift" / f"run-{r3}-transitions.html").read_text(encoding="utf-8")
    assert f"in run {r2} (rows)" in page
    assert f"in run {r1} (rows)" not in page


# --- Killed runs -------------------------------------------------------------------------------------------

CHILD = textwrap.dedent("""
    import time
    from datetime import date

    from segflow.orchestration import attempts
    from segflow.storage import attempt_tables
    from segflow.storage.db import Database
    from segflow.settings import Settings

    db = Database(Settings(_env_file=None))
    db.migrated = True
    attempt_id, _ = attempts.start_attempt(db, {
        "as_of": date(2024, 7, 18), "retrain_mode": "auto", "features": ["recency_days", "frequency", "monetary"],
        "lookback_days": 365, "source_table": "segflow.transactions"})
    with db.transaction() as cur:
        attempt_tables.open_attached(cur, attempt_id)
        cur.execute("insert into segflow.customer_features (attempt_id, customer_id, recency_days, frequency,"
                    " monetary) values (%s, 'c1', 3, 2, 10.5), (%s, 'c2', 40, 1, 4.0)", (attempt_id, attempt_id))
    print(attempt_id, flush=True)
    time.sleep(600)
""")


def read_line(process: subprocess.Popen, timeout: float) -> str:
    ready, _, _ = select.select([process.stdout], [], [], timeout)
    if not ready:
        raise AssertionError(f"the child printed nothing in {timeout} s")
    return process.stdout.readline()


def test_a_killed_runs_attempt_is_marked_abandoned_and_its_rows_removed(generated, settings, fetch, tmp_path):
    db = generated
    env = {
        **os.environ,
        "SEGFLOW_DATABASE_URL": settings.database_url.get_secret_value(),
        "SEGFLOW_HOME": str(settings.home),
    }
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD], env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        line = read_line(child, 60)
        assert line.strip().isdigit(), (line, child.poll(), child.stderr.read() if child.poll() is not None else "")
        attempt_id = int(line)
        status = "select status, error from segflow.run_attempts where attempt_id = %s"

        # Alive: its lock is held, nothing is reaped.
        assert attempts.reap_abandoned(db) == []
        assert fetch(db, status, (attempt_id,)) == [("running", None)]
        assert fetch(db, "select count(*) from segflow.customer_features where attempt_id = %s", (attempt_id,)) == [
            (2,)
        ]

        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
        reaped: list[int] = []
        deadline = time.monotonic() + 15
        while not reaped and time.monotonic() < deadline:
            reaped = attempts.reap_abandoned(db)
            if not reaped:
                time.sleep(0.2)  # the server notices the closed connection a moment later
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(timeout=30)
        child.stdout.close()
        child.stderr.close()

    assert reaped == [attempt_id]
    ((state, error),) = fetch(db, status, (attempt_id,))
    assert state == "abandoned"
    assert error.startswith("abandoned:")
    for table in ("customer_features", "segment_assignments", "comparison_assignments"):
        assert fetch(db, f"select count(*) from segflow.{table} where attempt_id = %s", (attempt_id,)) == [(0,)]
    assert attempts.reap_abandoned(db) == []  # once is enough

    # The next run at the same date works as usual.
    attempt = run_nightly(db, settings, date(2024, 7, 18))
    assert run_row(fetch, db, attempt)["status"] == "published"
    assert fetch(db, "select attempt_id, status from segflow.run_attempts order by attempt_id") == [
        (attempt_id, "abandoned"),
        (attempt, "published"),
    ]
    assert fetch(db, "select count(*) from segflow.current_segments") == [(1_500,)]


# --- Report retention ------------------------------------------------------------------------------------


def files_by_run(settings) -> dict[int, set[str]]:
    """The report files on disk (segments/ and drift/) by run id, as 'folder/name'."""
    found: dict[int, set[str]] = {}
    for folder in ("segments", "drift"):
        directory = settings.report_path / folder
        for path in directory.iterdir() if directory.is_dir() else ():
            found.setdefault(int(path.name.split("-")[1].split(".")[0]), set()).add(f"{folder}/{path.name}")
    return found


def test_report_files_of_all_but_the_newest_runs_are_deleted_and_their_rows_kept(generated, settings, fetch):
    db = generated
    # Report files only: every run's per-customer rows stay (SEGFLOW_SCORED_RUNS_KEPT, test_attempt_tables).
    keep_all = settings.model_copy(update={"report_retention_runs": 0, "scored_runs_kept": 0})
    keep_two = settings.model_copy(update={"report_retention_runs": 2, "scored_runs_kept": 0})
    runs = {}
    for day in (date(2024, 7, 4), date(2024, 7, 18), date(2024, 7, 11)):
        runs[day] = run_row(fetch, db, run_nightly(db, keep_all, day))["run_id"]
    oldest, middle, newest = runs[date(2024, 7, 4)], runs[date(2024, 7, 11)], runs[date(2024, 7, 18)]
    for run_id in (oldest, newest):
        page.build_segment_report(db, keep_all, run_id)

    files = files_by_run(settings)
    assert files == {  # 0 keeps everything, run_nightly's own pruning included
        oldest: {
            f"segments/run-{oldest}.html",
            f"drift/run-{oldest}-vs-training.html",
            f"drift/run-{oldest}-transitions.html",
        },
        middle: {
            f"segments/run-{middle}.html",
            f"drift/run-{middle}-vs-training.html",
            f"drift/run-{middle}-vs-previous.html",
            f"drift/run-{middle}-transitions.html",
        },
        newest: {
            f"segments/run-{newest}.html",
            f"drift/run-{newest}-vs-training.html",
            f"drift/run-{newest}-vs-previous.html",
            f"drift/run-{newest}-transitions.html",
        },
    }
    assert retention.prune_reports(db, keep_all) == []
    assert files_by_run(settings) == files

    # The two newest by as-of date stay, though the 2024-07-11 run was published last.
    deleted = retention.prune_reports(db, keep_two)
    assert sorted(f"{p.parent.name}/{p.name}" for p in deleted) == sorted(files[oldest])
    assert files_by_run(settings) == {middle: files[middle], newest: files[newest]}
    assert retention.prune_reports(db, keep_two) == []

    # run_nightly prunes at its end: a backfill before all of them leaves no file of its own, and the files
    # it rebuilt for its later neighbour (the oldest run until now) go as well.
    backfill = run_row(fetch, db, run_nightly(db, keep_two, date(2024, 6, 27)))["run_id"]
    assert files_by_run(settings) == {middle: files[middle], newest: files[newest]}

    # The rows the files were built from are kept for every run.
    reports = fetch(db, "select run_id, reference from segflow.drift_reports order by run_id, reference")
    assert {run for run, _ in reports} == {oldest, middle, newest, backfill}
    assert (oldest, "previous") in reports and (oldest, "training") in reports

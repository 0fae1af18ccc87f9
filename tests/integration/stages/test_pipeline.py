"""The nightly pipeline's stages against a real PostgreSQL, on a few thousand generated customers."""

from datetime import date, timedelta
from pathlib import Path

import pytest
from support.databases import database_for_test, filled_template

from segflow.data.generate import GeneratorSpec, generate_transactions
from segflow.errors import SegflowError
from segflow.modelling import registry
from segflow.modelling.registry import ModelIntegrityError
from segflow.stages import prepare, publish, run_nightly

# Each test runs whole nights in process (seconds each): `pytest -m "not slow"` leaves them to the full run.
pytestmark = pytest.mark.slow

SPEC = GeneratorSpec(customers=1_500, days=200, seed=11, start=date(2024, 1, 1))
AS_OF = date(2024, 7, 18)  # the last generated day
CONTRACT = [
    "customer_id",
    "segment_key",
    "segment_name",
    "action",
    "model_version",
    "run_id",
    "as_of",
    "recency_days",
    "frequency",
    "monetary",
    "tenure_days",
    "r_score",
    "f_score",
    "m_score",
    "distance",
    "confidence",
    "cluster_key",
]


@pytest.fixture(scope="module")
def generated_template(server_url, template_database, tmp_path_factory):
    """A migrated database holding SPEC's lines, generated once for the module."""
    home = tmp_path_factory.mktemp("generated") / "home"
    yield from filled_template(server_url, template_database, home, lambda db, _: generate_transactions(db, SPEC))


@pytest.fixture(scope="module")
def first_night_template(server_url, template_database, tmp_path_factory):
    """SPEC's lines and the published night of AS_OF (model v1, its reports), run once for the module."""

    def generate_and_run(db, settings):
        generate_transactions(db, SPEC)
        run_nightly(db, settings, AS_OF)

    yield from filled_template(
        server_url, template_database, tmp_path_factory.mktemp("night") / "home", generate_and_run
    )


@pytest.fixture
def db_url(request, server_url, template_database, home):
    """A test gets a clone of the template of the fixture it asks for (`generated`, `first_night`), else an empty
    migrated database."""
    templates = {"generated": "generated_template", "first_night": "first_night_template"}
    yield from database_for_test(request, server_url, template_database, home, templates)


@pytest.fixture
def first_night(db):
    """The test's database after the night of AS_OF (attempt 1, model v1): a clone of `first_night_template`."""
    return db


@pytest.fixture
def generated(db):
    """The test's database with SPEC's lines (a clone of `generated_template`)."""
    return db


def current_segments(fetch, db):
    return fetch(db, "select * from segflow.current_segments order by customer_id")


def test_a_run_publishes_named_segments_for_every_known_customer(first_night, fetch):
    db = first_night
    [(attempt,)] = fetch(db, "select attempt_id from segflow.run_attempts")
    rows = current_segments(fetch, db)
    known = fetch(
        db,
        "select count(distinct customer_id) from segflow.transactions where customer_id is not null"
        " and invoiced_at < %s",
        (AS_OF + timedelta(days=1),),
    )[0][0]
    assert len(rows) == known == 1_500
    columns = fetch(
        db,
        "select column_name from information_schema.columns where table_schema = 'segflow'"
        " and table_name = 'current_segments' order by ordinal_position",
    )
    assert [c[0] for c in columns] == CONTRACT
    run = fetch(
        db,
        "select status, retrained, retrain_reason, model_version, stage_seconds, excluded_duplicate"
        " from segflow.runs where attempt_id = %s",
        (attempt,),
    )[0]
    assert run[:4] == ("published", True, "no champion model yet", 1)
    assert {"features", "score", "publish", "train", "check_source"} <= set(run[4])
    assert run[5] > 0  # the generator writes exact duplicates
    names = fetch(db, "select name from segflow.model_segments where model_version = 1")
    assert len(names) == len({n[0] for n in names}) >= 3


def test_champions_have_the_best_recency_frequency_and_monetary(first_night, fetch):
    segments = fetch(
        first_night,
        "select name, mean_r_score, mean_f_score, mean_m_score from segflow.model_segments where model_version = 1",
    )
    champions = [s for s in segments if s[0] == "Champions"]
    for _, r, f, m in champions:
        assert r == max(s[1] for s in segments) and f == max(s[2] for s in segments)
        assert m == max(s[3] for s in segments)


def test_rerunning_a_date_replaces_its_rows_and_leaves_other_runs_alone(generated, settings, fetch):
    db = generated
    earlier = run_nightly(db, settings, AS_OF - timedelta(days=7))
    run_nightly(db, settings, AS_OF)
    before = current_segments(fetch, db)
    earlier_rows = fetch(
        db,
        "select customer_id, segment_key, distance from segflow.segment_assignments"
        " where attempt_id = %s order by customer_id",
        (earlier,),
    )

    run_nightly(db, settings, AS_OF)

    assert current_segments(fetch, db) == before  # same run_id, same segments, same numbers
    counts = fetch(
        db,
        "select a.as_of, count(*) from segflow.segment_assignments s join segflow.run_attempts a"
        " using (attempt_id) group by a.as_of order by a.as_of",
    )
    known_a_week_earlier = fetch(
        db,
        "select count(distinct customer_id) from segflow.transactions where invoiced_at < %s",
        (AS_OF - timedelta(days=6),),
    )[0][0]
    assert known_a_week_earlier < 1_500  # new customers kept arriving
    assert counts == [(AS_OF - timedelta(days=7), known_a_week_earlier), (AS_OF, 1_500)]
    assert (
        fetch(
            db,
            "select customer_id, segment_key, distance from segflow.segment_assignments"
            " where attempt_id = %s order by customer_id",
            (earlier,),
        )
        == earlier_rows
    )
    attempts = fetch(db, "select as_of, status from segflow.run_attempts order by attempt_id")
    assert attempts == [(AS_OF - timedelta(days=7), "published"), (AS_OF, "replaced"), (AS_OF, "published")]
    assert fetch(db, "select count(*) from segflow.runs")[0][0] == 2


def test_a_failure_during_publish_leaves_the_previous_run_visible(generated, settings, fetch, monkeypatch):
    db = generated
    run_nightly(db, settings, AS_OF - timedelta(days=7))
    before = current_segments(fetch, db)

    original = publish.run_named

    def explode_on_pointer_switch(cur, name, params=None):
        if name == "queries/publish/3_switch_pointer":
            raise RuntimeError("injected failure while publishing")
        return original(cur, name, params)

    monkeypatch.setattr(publish, "run_named", explode_on_pointer_switch)
    with pytest.raises(RuntimeError, match="injected failure"):
        run_nightly(db, settings, AS_OF)

    assert current_segments(fetch, db) == before
    failed = fetch(db, "select status, error from segflow.run_attempts where as_of = %s", (AS_OF,))
    assert failed == [("failed", "injected failure while publishing")]
    assert (
        fetch(
            db,
            "select count(*) from segflow.segment_assignments s join segflow.run_attempts a"
            " using (attempt_id) where a.status = 'failed'",
        )[0][0]
        == 0
    )


def test_a_changed_artifact_byte_is_refused(first_night, settings):
    path = Path(registry.details(first_night, 1)["artifact_path"])
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(ModelIntegrityError, match=r"has sha256 .* but the registry recorded .*refusing to load"):
        registry.load(first_night, 1)
    with pytest.raises(ModelIntegrityError):
        run_nightly(first_night, settings, AS_OF, retrain="never")


def test_never_without_a_champion_is_refused_before_anything_runs(generated, settings, fetch):
    with pytest.raises(SegflowError, match="no champion model yet"):
        run_nightly(generated, settings, AS_OF, retrain="never")
    assert fetch(generated, "select count(*) from segflow.run_attempts")[0][0] == 0


def test_an_unknown_feature_is_refused_naming_it(generated, settings):
    with pytest.raises(SegflowError, match="unknown feature\\(s\\) loyalty_points"):
        run_nightly(generated, settings, AS_OF, features=["recency_days", "loyalty_points"])


def test_promote_switches_the_champion(first_night, settings, fetch):
    run_nightly(first_night, settings, AS_OF, retrain="always")
    assert registry.champion(first_night) == 2
    registry.promote(first_night, 1)
    assert fetch(first_night, "select version, status from segflow.model_versions order by version") == [
        (1, "champion"),
        (2, "retired"),
    ]
    with pytest.raises(registry.UnknownModelVersion, match="model version 7 does not exist"):
        registry.promote(first_night, 7)


def test_retraining_on_identical_data_keeps_every_customers_key(first_night, settings, fetch):
    keys = "select customer_id, segment_key, segment_name from segflow.current_segments order by customer_id"
    before = fetch(first_night, keys)
    second = run_nightly(first_night, settings, AS_OF, retrain="always")
    assert fetch(first_night, keys) == before
    assert fetch(first_night, "select model_version from segflow.run_attempts where attempt_id = %s", (second,)) == [
        (2,)
    ]
    versions = fetch(
        first_night,
        "select model_version, segment_key, name from segflow.model_segments order by segment_key, model_version",
    )
    assert [(k, n) for v, k, n in versions if v == 1] == [(k, n) for v, k, n in versions if v == 2]
    assert {s for (s,) in fetch(first_night, "select distinct status from segflow.segment_keys")} == {"active"}


def test_a_new_model_with_other_segments_gets_new_keys_and_retires_vanished_ones(first_night, settings, fetch):
    old_keys = {k for (k,) in fetch(first_night, "select segment_key from segflow.model_segments")}
    # Another clustering of the same customers: fewer segments is forced through the k range, and the
    # challenger gate is opened wide (any silhouette, any re-segmentation) so that the new model becomes
    # champion whatever it scores.
    other = settings.model_copy(
        update={"min_clusters": 2, "max_clusters": 2, "challenger_margin": 10.0, "challenger_min_ari": -1.0}
    )
    run_nightly(first_night, other, AS_OF, retrain="always")
    new_keys = {
        k for (k,) in fetch(first_night, "select segment_key from segflow.model_segments where model_version = 2")
    }
    assert len(new_keys) == 2
    numbers = [int(k[1:]) for k in new_keys - old_keys]
    assert all(n > max(int(k[1:]) for k in old_keys) for n in numbers)  # keys are never reused
    statuses = dict(fetch(first_night, "select segment_key, status from segflow.segment_keys"))
    assert {k for k, s in statuses.items() if s == "active"} == new_keys
    assert {k for k, s in statuses.items() if s == "retired"} == old_keys - new_keys


def test_transitions_link_consecutive_published_runs(generated, settings, fetch):
    db = generated
    week_before = AS_OF - timedelta(days=7)
    run_nightly(db, settings, week_before)
    run_nightly(db, settings, AS_OF)
    rows = fetch(
        db,
        "select from_run, to_run, from_segment_key, to_segment_key, customers"
        " from segflow.segment_transitions order by 3, 4",
    )
    assert {(r[0], r[1]) for r in rows} == {(1, 2)}
    assert sum(r[4] for r in rows) == 1_500
    known_before = fetch(
        db,
        "select count(distinct customer_id) from segflow.transactions where invoiced_at < %s",
        (week_before + timedelta(days=1),),
    )[0][0]
    assert sum(r[4] for r in rows if r[2] == "new_customer") == 1_500 - known_before
    stayed = fetch(
        db,
        "select count(*) from segflow.segment_assignments a join segflow.segment_assignments b"
        " using (customer_id) join segflow.run_attempts ra on ra.attempt_id = a.attempt_id"
        " join segflow.run_attempts rb on rb.attempt_id = b.attempt_id"
        " where ra.run_id = 1 and rb.run_id = 2 and ra.status = 'published'"
        " and rb.status = 'published' and a.segment_key = b.segment_key",
    )[0][0]
    assert sum(r[4] for r in rows if r[2] == r[3]) == stayed

    # A run for a date in between takes its place in the chain: 1 -> 3 -> 2.
    run_nightly(db, settings, AS_OF - timedelta(days=3))
    pairs = {(r[0], r[1]) for r in fetch(db, "select from_run, to_run from segflow.segment_transitions")}
    assert pairs == {(1, 3), (3, 2)}


def test_a_worse_challenger_is_not_promoted_and_the_run_says_why(first_night, settings, fetch):
    worse = settings.model_copy(update={"min_clusters": 2, "max_clusters": 2, "challenger_margin": 0.0})
    attempt = run_nightly(first_night, worse, AS_OF, retrain="always")
    retrained, reason, version = fetch(
        first_night,
        "select retrained, retrain_reason, model_version from segflow.runs where attempt_id = %s",
        (attempt,),
    )[0]
    assert retrained is True and version == 1
    assert "retraining was requested" in reason and "challenger v2 not promoted: silhouette" in reason
    assert registry.champion(first_night) == 1


def test_an_old_champion_is_retrained(generated, settings, fetch):
    run_nightly(generated, settings, AS_OF - timedelta(days=7))
    strict = settings.model_copy(update={"max_age_days": 3})
    attempt = run_nightly(generated, strict, AS_OF)
    retrained, reason = fetch(
        generated, "select retrained, retrain_reason from segflow.runs where attempt_id = %s", (attempt,)
    )[0]
    assert retrained is True
    assert reason.startswith("champion v1 was trained 7 days before this run (max 3); challenger v2")


def test_an_as_of_date_before_the_data_says_which_dates_have_data(db, settings, fetch):
    generate_transactions(db, GeneratorSpec(customers=50, days=10, seed=2, start=date(2025, 3, 1)))
    first, last = fetch(db, "select min(invoiced_at)::date, max(invoiced_at)::date from segflow.transactions")[0]
    with pytest.raises(
        SegflowError,
        match=rf"^no purchase lines up to 2025-02-01 in segflow.transactions \([0-9,]+ "
        rf"lines in all\); its lines run from {first} to {last}: pick an as-of",
    ):
        run_nightly(db, settings, date(2025, 2, 1))


def test_preflight_refuses_what_cannot_succeed_before_a_run_starts(db, settings, fetch):
    with pytest.raises(SegflowError, match=r"^retrain must be one of auto, always, never, got 'sometimes'$"):
        prepare.preflight(db, settings, "sometimes")
    with pytest.raises(SegflowError, match="unknown feature\\(s\\) loyalty"):
        prepare.preflight(db, settings, "auto", ["recency_days", "loyalty"])
    db.settings = settings.model_copy(update={"source_table": "shop.nope"})
    with pytest.raises(SegflowError, match=r"source table shop\.nope \(SEGFLOW_SOURCE_TABLE\) does not exist"):
        prepare.preflight(db, db.settings)
    assert fetch(db, "select count(*) from segflow.run_attempts") == [(0,)]


def test_an_as_of_date_after_today_is_refused_before_and_at_the_start_of_a_run(db, settings, fetch):
    from datetime import UTC, datetime

    today = datetime.now(UTC).date()
    tomorrow = today + timedelta(days=1)
    with pytest.raises(SegflowError, match=rf"^as-of date {tomorrow} is after today \({today}, UTC\)$"):
        prepare.preflight(db, settings, "auto", None, [tomorrow])
    with pytest.raises(SegflowError, match=rf"^as-of date {tomorrow} is after today"):
        prepare.begin(db, settings, tomorrow)
    assert fetch(db, "select count(*) from segflow.run_attempts") == [(0,)]

"""The nightly split into customer partitions, against a real PostgreSQL: the same published segments as one
partition, each partition writing only its own customers, and a partition run twice changing nothing."""

from datetime import date
from pathlib import Path

import pytest
from support.databases import Snapshot, database_for_test, filled_template, fresh_database, settings_for

from segflow.data.generate import GeneratorSpec, generate_transactions
from segflow.orchestration.partitions import Partition
from segflow.stages import decide, features, prepare, run_nightly, score
from segflow.storage import attempt_tables
from segflow.storage.db import Database

# Each test runs whole nights in process (seconds each): `pytest -m "not slow"` leaves them to the full run.
pytestmark = pytest.mark.slow

SPEC = GeneratorSpec(customers=1_200, days=200, seed=23, start=date(2024, 1, 1))
AS_OF = date(2024, 7, 18)


@pytest.fixture(scope="module")
def generated_template(server_url, template_database, tmp_path_factory):
    """A migrated database holding SPEC's lines, generated once for the module."""
    home = tmp_path_factory.mktemp("generated") / "home"
    yield from filled_template(server_url, template_database, home, lambda db, _: generate_transactions(db, SPEC))


@pytest.fixture(scope="module")
def first_night_template(server_url, generated_template, tmp_path_factory):
    """SPEC's lines and the published night of AS_OF in one partition (model v1), run once for the module."""
    home = tmp_path_factory.mktemp("night") / "home"
    yield from filled_template(
        server_url, generated_template, home, lambda db, settings: run_nightly(db, settings, AS_OF)
    )


@pytest.fixture
def db_url(request, server_url, template_database, home):
    """A test that asks for `first_night` gets a clone of `first_night_template`; the others an empty migrated one."""
    yield from database_for_test(request, server_url, template_database, home, {"first_night": "first_night_template"})


@pytest.fixture
def first_night(db):
    """The test's database after the night of AS_OF in one partition (a clone of `first_night_template`)."""
    return db


@pytest.fixture
def twin(server_url: str, generated_template: Snapshot, tmp_path: Path) -> Database:
    """A second database with the same generated lines as `first_night` (a clone of `generated_template`)."""
    urls = fresh_database(server_url, generated_template.database)
    database = Database(settings_for(next(urls), tmp_path / "twin-home"))
    database.migrated = True
    yield database
    next(urls, None)


def test_the_partition_of_a_customer_is_its_hash_range(db, fetch) -> None:
    # Equal ranges of hashtext's int4 values (Citus's shard ranges), computed here from hashtext itself.
    rows = fetch(
        db,
        "select id, hashtext(id), segflow.customer_partition(id, 7), segflow.customer_partition(id, 1)"
        " from (select i::text as id from generate_series(1, 2000) as i) as ids",
    )
    for _, hashed, partition, whole in rows:
        assert partition == ((hashed + 2**31) * 7) >> 32
        assert whole == 0
    assert {partition for _, _, partition, _ in rows} == set(range(7))


def test_five_partitions_publish_byte_identical_segments_to_one(
    db, first_night, twin, settings, tmp_path, fetch
) -> None:
    run_nightly(twin, settings_for(twin.url, tmp_path / "twin-home").model_copy(update={"partitions": 5}), AS_OF)

    one, five = (fetch(d, "select * from segflow.current_segments order by customer_id") for d in (db, twin))
    assert len(one) == len(five) == 1_200
    assert one == five
    as_text = "select md5(string_agg(s::text, E'\\n' order by customer_id)) from segflow.current_segments as s"
    assert fetch(db, as_text) == fetch(twin, as_text)  # what BI reads, byte for byte
    features_of = (
        "select customer_id, recency_days, frequency, monetary, tenure_days, avg_order_value, return_rate"
        " from segflow.customer_features order by customer_id"
    )
    assert fetch(db, features_of) == fetch(twin, features_of)
    stage_seconds = fetch(twin, "select stage_seconds from segflow.run_attempts")[0][0]
    assert {"features", "score", "publish"} <= set(stage_seconds)


def test_a_partition_writes_only_its_customers_and_rerunning_it_changes_nothing(
    db, first_night, settings, fetch
) -> None:
    # first_night: a champion to score with
    attempt = prepare.begin(db, settings, AS_OF, "never", None)
    features.fold(db, settings, attempt)
    third = Partition(2, 4)

    features.build_partition(db, settings, attempt, third)
    own_table = f"segflow.{attempt_tables.table_name('customer_features', attempt)}"  # attached by features.finish
    partitions_written = fetch(
        db,
        f"select distinct segflow.customer_partition(customer_id, 4) from {own_table} where attempt_id = %s",
        (attempt,),
    )
    assert partitions_written == [(2,)]
    written = fetch(db, f"select count(*) from {own_table} where attempt_id = %s", (attempt,))[0][0]
    assert 0 < written < 1_200

    for _ in range(2):  # a retry, or a worker lost after writing: the same rows, not twice as many
        for part in [Partition(i, 4) for i in range(4)]:
            features.build_partition(db, settings, attempt, part)
        features.finish(db, settings, attempt, 0.0)
        decide.before_drift(db, settings, attempt)  # "never": the champion scores
        for part in [Partition(i, 4) for i in range(4)]:
            score.score_partition(db, settings, attempt, part)
        scored = score.finish(db, settings, attempt, 0.0)
        counts = fetch(
            db,
            "select count(*), count(distinct customer_id) from segflow.segment_assignments where attempt_id = %s",
            (attempt,),
        )
        assert counts == [(1_200, 1_200)]
        assert fetch(db, "select count(*) from segflow.customer_features where attempt_id = %s", (attempt,)) == [
            (1_200,)
        ]
    assert (
        scored.customers
        == fetch(
            db,
            "select count(*) from segflow.segment_assignments where attempt_id = %s and distance is not null",
            (attempt,),
        )[0][0]
    )

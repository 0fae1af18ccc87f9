"""Synthetic lines generated set-based inside a real PostgreSQL."""

from datetime import date

import pandas as pd
import pytest

from segflow.data import aggregates
from segflow.data import generate_in_database as generator
from segflow.data.generate import GeneratorSpec, InvalidSpec, iter_chunks
from segflow.data.generate_in_database import content_key, generate_in_database

TINY = GeneratorSpec(customers=40, days=30, seed=1, start=date(2025, 3, 1))
# What TINY gives with SQL_GENERATOR_VERSION 1. Another figure means other lines for the same spec: bump the version
# (homes keyed by the old content key would otherwise look generated).
TINY_LINES = 126
TINY_QUANTITY = 820


def _batch_lines(fetch, db, batch_id):
    return fetch(
        db, "select count(*), sum(quantity)::bigint from segflow.transactions where batch_id = %s", (batch_id,)
    )[0]


LINES = (
    "select invoice_id, stock_code, description, quantity, unit_price, invoiced_at, customer_id, country "
    "from segflow.transactions where batch_id = %s order by 1, 2, 3, 4, 5, 6, 7, 8"
)


def test_a_tiny_spec_writes_exactly_its_lines_and_records_them_as_a_batch(db, fetch):
    result = generate_in_database(db, TINY, parts=1)
    assert (result.lines, result.already_generated) == (TINY_LINES, False)
    assert _batch_lines(fetch, db, result.batch_id) == (TINY_LINES, TINY_QUANTITY)
    batch = fetch(
        db,
        "select source_kind, layout, content_sha256, lines_loaded, status from segflow.import_batches "
        "where batch_id = %s",
        (result.batch_id,),
    )[0]
    assert batch == ("generator", "generator-sql-v1", content_key(TINY), TINY_LINES, "imported")
    customers = fetch(db, "select count(distinct customer_id) from segflow.transactions")[0][0]
    assert customers == 40


def test_the_same_spec_twice_adds_nothing(db, fetch):
    first = generate_in_database(db, TINY)
    second = generate_in_database(db, TINY)
    assert second.already_generated and second.batch_id == first.batch_id and second.lines == first.lines
    assert fetch(db, "select count(*) from segflow.transactions")[0][0] == first.lines


def test_two_seeds_give_other_lines(db, fetch):
    first = generate_in_database(db, TINY)
    other = generate_in_database(db, GeneratorSpec(customers=40, days=30, seed=2, start=date(2025, 3, 1)))
    assert other.batch_id != first.batch_id

    def shape(batch_id):  # what a line is, without the ids that carry the seed
        return fetch(
            db,
            "select array_agg(quantity::int order by quantity, unit_price, invoiced_at), count(*) "
            "from segflow.transactions where batch_id = %s",
            (batch_id,),
        )[0]

    assert shape(first.batch_id) != shape(other.batch_id)


def test_one_time_buyers_place_exactly_one_order_each(db, fetch):
    spec = GeneratorSpec(customers=300, days=60, seed=5, start=date(2025, 1, 1), archetypes=("one_time",))
    generate_in_database(db, spec)
    orders = fetch(
        db,
        "select count(distinct customer_id), count(distinct invoice_id), count(distinct (customer_id, invoice_id)) "
        "from segflow.transactions where customer_id is not null and invoice_id not like 'C%%'",
    )[0]
    assert orders == (300, 300, 300)


def test_lines_and_spend_per_customer_are_close_to_segflow_generate(db, fetch):
    spec = GeneratorSpec(customers=3_000, days=365, seed=8, start=date(2025, 1, 1))
    expected = pd.concat(iter_chunks(spec), ignore_index=True)
    expected = expected[expected["customer_id"].notna()]
    generate_in_database(db, spec)
    lines, spend = fetch(
        db,
        "select count(*)::float / count(distinct customer_id), sum(quantity * unit_price)::float "
        "/ count(distinct customer_id) from segflow.transactions where customer_id is not null",
    )[0]
    python_lines = len(expected) / 3_000
    python_spend = float((expected["quantity"] * expected["unit_price"]).sum()) / 3_000
    assert abs(lines / python_lines - 1) < 0.05
    assert abs(spend / python_spend - 1) < 0.10


def test_three_parts_write_the_same_lines_as_one(db, fetch):
    one = generate_in_database(db, TINY, parts=1)
    lines_of_one = fetch(db, LINES, (one.batch_id,))
    with db.transaction() as cur:
        cur.execute("delete from segflow.transactions")
        cur.execute("update segflow.import_batches set status = 'removed'")
    three = generate_in_database(db, TINY, parts=3)
    assert (three.chunks, three.lines, three.already_generated) == (3, TINY_LINES, False)
    assert fetch(db, LINES, (three.batch_id,)) == lines_of_one
    assert fetch(db, "select status from segflow.import_batches where batch_id = %s", (three.batch_id,)) == [
        ("imported",)
    ]


def test_a_failed_part_takes_back_every_parts_lines_and_a_rerun_generates_them(db, fetch, monkeypatch):
    real_run_named = generator.run_named

    def second_part_fails(cur, name, params=None):
        if name.endswith("insert_generated_lines") and params["first_customer"] > 0:
            raise RuntimeError("disk full")
        return real_run_named(cur, name, params)

    monkeypatch.setattr(generator, "run_named", second_part_fails)
    with pytest.raises(RuntimeError, match="disk full"):
        generate_in_database(db, TINY, parts=2)
    assert fetch(db, "select count(*) from segflow.transactions")[0][0] == 0
    assert fetch(db, "select status, error from segflow.import_batches") == [
        ("failed", "a part failed: RuntimeError: disk full")
    ]
    monkeypatch.setattr(generator, "run_named", real_run_named)
    rerun = generate_in_database(db, TINY, parts=2)
    assert (rerun.lines, rerun.already_generated) == (TINY_LINES, False)
    assert fetch(db, "select count(*) from segflow.transactions")[0][0] == TINY_LINES


def test_lines_an_interrupted_generation_left_are_taken_back_by_the_next(db, fetch):
    with db.transaction() as cur:
        cur.execute(
            "insert into segflow.import_batches (source_kind, source_name, content_sha256, layout, status) "
            "values ('generator', 'died', %s, 'generator-sql-v1', 'importing') returning batch_id",
            (content_key(TINY),),
        )
        died = cur.fetchone()[0]
        cur.execute(
            "insert into segflow.transactions (invoice_id, quantity, unit_price, invoiced_at, batch_id) "
            "values ('X1', 1, 1, '2025-03-02', %s)",
            (died,),
        )
    result = generate_in_database(db, TINY, parts=2)
    assert fetch(db, "select status, error from segflow.import_batches where batch_id = %s", (died,)) == [
        ("failed", "interrupted before it finished")
    ]
    assert fetch(db, "select count(*), count(*) filter (where batch_id = %s) from segflow.transactions", (died,)) == [
        (TINY_LINES, 0)
    ]
    assert result.lines == TINY_LINES


def test_parts_must_be_at_least_one(db):
    with pytest.raises(InvalidSpec) as raised:
        generate_in_database(db, TINY, parts=0)
    assert (raised.value.field, raised.value.value) == ("parts", 0)


def test_the_aggregates_equal_a_rebuild_after_a_fresh_and_a_second_generation(db, fetch, settings):
    totals = "select * from segflow.invoice_day_totals order by 1, 2, 3"
    generate_in_database(db, TINY, parts=2)  # an empty table: written without change capture, then rebuilt
    assert fetch(db, "select count(*) from segflow.changed_line_keys")[0][0] == 0
    generate_in_database(db, GeneratorSpec(customers=40, days=30, seed=2, start=date(2025, 3, 5)), parts=2)
    assert fetch(db, "select needs_rebuild from segflow.aggregate_state") == [(False,)]
    folded = fetch(db, totals)
    aggregates.bring_current(db, settings, rebuild=True)
    assert len(folded) > 2 * 40 and fetch(db, totals) == folded

"""Generated transactions written into a real PostgreSQL."""

from datetime import date

import pandas as pd

from segflow.data.generate import GeneratorSpec, generate_transactions, iter_chunks

SPEC = GeneratorSpec(customers=1_500, days=120, seed=3, start=date(2024, 9, 1))


def test_generated_lines_land_exactly_as_generated(db, fetch):
    expected = pd.concat(iter_chunks(SPEC), ignore_index=True)
    result = generate_transactions(db, SPEC)
    assert result.lines == len(expected)
    stored = fetch(
        db,
        "select count(*), count(distinct customer_id), count(*) filter (where customer_id is null),"
        " sum(quantity * unit_price)::float from segflow.transactions",
    )[0]
    assert stored[0] == len(expected)
    assert stored[1] == 1_500
    assert stored[2] == expected["customer_id"].isna().sum()
    assert abs(stored[3] - float((expected["quantity"] * expected["unit_price"]).sum())) < 0.01


def test_generating_the_same_spec_twice_adds_nothing(db, fetch):
    first = generate_transactions(db, SPEC)
    second = generate_transactions(db, SPEC)
    assert second.already_generated and second.batch_id == first.batch_id
    assert fetch(db, "select count(*) from segflow.transactions")[0][0] == first.lines


def test_another_seed_adds_a_second_batch(db, fetch):
    generate_transactions(db, SPEC)
    other = GeneratorSpec(customers=200, days=120, seed=4, start=date(2024, 9, 1))
    generate_transactions(db, other)
    assert (
        fetch(
            db,
            "select count(*), count(distinct customer_id) from segflow.import_batches "
            "join segflow.transactions using (batch_id)",
        )[0][1]
        == 1_700
    )

"""Customer attribute files, and runs that cluster on attributes alone."""

import csv
from datetime import date

import pytest
from support.data import make_mall_customers

from segflow.attributes import load_customer_attributes, snake_case
from segflow.errors import ImportRejected
from segflow.stages import run_nightly


def write_mall_file(path, header=("CustomerID", "Gender", "Annual Income", "Spending Score")):
    mall = make_mall_customers()
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for i, row in enumerate(mall.itertuples(index=False), start=1):
            writer.writerow(
                [f"M{i:03d}", "Female" if i % 2 else "Male", f"{row.annual_income:.1f}", f"{row.spending_score:.1f}"]
            )
    return path


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Annual Income (k$)", "annual_income_k"),
        ("Spending Score (1-100)", "spending_score_1_100"),
        ("spendingScore", "spending_score"),
        ("  Customer ID ", "customer_id"),
    ],
)
def test_column_names_become_snake_case(raw, expected):
    assert snake_case(raw) == expected


def test_mall_like_attributes_alone_give_five_segments(db, settings, fetch, tmp_path):
    result = load_customer_attributes(db, write_mall_file(tmp_path / "mall.csv"))
    assert result.customers == 200 and result.columns == ["gender", "annual_income", "spending_score"]
    attempt = run_nightly(db, settings, date(2024, 1, 31), features=["annual_income", "spending_score"])
    model = fetch(db, "select k, features from segflow.model_versions")
    assert model == [(5, ["annual_income", "spending_score"])]
    assert fetch(db, "select count(*) from segflow.current_segments")[0][0] == 200
    names = fetch(db, "select name from segflow.model_segments order by name")
    assert [n for (n,) in names] == [
        "Average income, average spending",
        "High income, high spending",
        "High income, low spending",
        "Low income, high spending",
        "Low income, low spending",
    ]
    assert fetch(db, "select lines_total from segflow.run_attempts where attempt_id = %s", (attempt,)) == [(None,)]


def test_reloading_replaces_those_customers_attributes(db, fetch, tmp_path):
    first = tmp_path / "a.csv"
    first.write_text("customer_id,tier,score\n1,gold,10\n2,silver,20\n")
    load_customer_attributes(db, first)
    second = tmp_path / "b.csv"
    second.write_text("customer_id,score\n2,25\n")
    load_customer_attributes(db, second)
    assert fetch(db, "select customer_id, attributes from segflow.customer_attributes order by 1") == [
        ("1", {"tier": "gold", "score": 10.0}),
        ("2", {"score": 25.0}),
    ]


def test_duplicate_customer_ids_are_refused_naming_the_lines(db, fetch, tmp_path):
    path = tmp_path / "dup.csv"
    path.write_text("id,score\n7,1\n8,2\n7,3\n")
    with pytest.raises(ImportRejected, match="customer id '7' appears on lines 2 and 4"):
        load_customer_attributes(db, path)
    assert fetch(db, "select count(*) from segflow.customer_attributes")[0][0] == 0


def test_missing_id_column_asks_for_id_option(db, tmp_path):
    path = tmp_path / "noid.csv"
    path.write_text("name,score\na,1\n")
    with pytest.raises(ImportRejected, match="no customer id column .*; name the id column"):
        load_customer_attributes(db, path)
    assert load_customer_attributes(db, path, id_column="name").customers == 1

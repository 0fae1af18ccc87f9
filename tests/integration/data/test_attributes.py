"""Customer attribute files, and runs that cluster on attributes alone."""

import csv
import html
import re
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from support.cli import segflow, segflow_in_process
from support.customers import write_mall_shaped_csv
from support.data import make_mall_customers
from support.databases import fresh_database, settings_for

from segflow.data.attribute_names import INCOME_SPENDING_ACTIONS
from segflow.data.attributes import load_customer_attributes, snake_case
from segflow.errors import ImportRejected, NonNumericFeature
from segflow.stages import run_nightly
from segflow.storage.db import Database


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
    with pytest.raises(ImportRejected, match=r"no customer id column .*; name the id column"):
        load_customer_attributes(db, path)
    assert load_customer_attributes(db, path, id_column="name").customers == 1


@pytest.fixture(scope="module")
def mall_run(server_url, template_database, tmp_path_factory):
    """A Mall-shaped customers file loaded with `segflow load-customers` and run 1 on income and spending."""
    urls = fresh_database(server_url, template_database)
    url = next(urls)
    folder = tmp_path_factory.mktemp("mall")
    settings = settings_for(url, folder / "home")
    env = {"SEGFLOW_DATABASE_URL": url, "SEGFLOW_HOME": str(settings.home)}
    customers = write_mall_shaped_csv(folder / "Mall_Customers.csv")
    loaded = segflow_in_process("load-customers", str(folder / "Mall_Customers.csv"), env=env)
    assert loaded.exit_code == 0, loaded.output
    # Attributes alone need no transactions: the population is every customer with attributes.
    run_nightly(Database(settings), settings, date(2024, 1, 31), features=["annual_income_k", "spending_score_1_100"])
    yield Database(settings), env, customers
    next(urls, None)  # drops the database


def test_a_text_attribute_is_refused_before_the_run_starts_naming_the_column(mall_run):
    db, env, _ = mall_run
    with pytest.raises(NonNumericFeature) as refused:
        run_nightly(db, db.settings, date(2024, 2, 1), features=["age", "gender"])
    assert (refused.value.feature, refused.value.non_numeric, refused.value.customers) == ("gender", 200, 200)
    assert refused.value.example in ("Female", "Male")
    # As a user runs it: one line naming the column, what it holds and what to do; no traceback, no run recorded.
    result = segflow("run", "--as-of", "2024-02-01", "--features", "age,gender", env=env)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert "feature 'gender' is not numeric: 200 of its 200 values are text" in result.stderr
    assert "leave gender out of the features, or load it encoded as numbers" in result.stderr
    with db.transaction() as cur:
        cur.execute("select count(*) from segflow.run_attempts where as_of = '2024-02-01'")
        assert cur.fetchone()[0] == 0


def _segments_of(db):
    with db.transaction() as cur:
        cur.execute("select customer_id, segment_key, segment_name, action from segflow.current_segments")
        return pd.DataFrame(cur.fetchall(), columns=["CustomerID", "segment_key", "segment_name", "action"])


def test_mall_shaped_customers_get_the_five_groups_by_name_with_fitting_actions(mall_run):
    db, _, customers = mall_run
    segments = _segments_of(db).merge(customers, on="CustomerID")
    # Every customer lands in the segment named after the group it was drawn from.
    assert (segments["segment_name"] == segments["group"].str.capitalize()).all()
    assert set(segments["segment_name"]) == {
        "High income, high spending",
        "High income, low spending",
        "Average income, average spending",
        "Low income, high spending",
        "Low income, low spending",
    }
    actions = segments.groupby("segment_name")["action"].first()
    assert actions["High income, low spending"] == INCOME_SPENDING_ACTIONS[("high", "low")]
    assert actions["Low income, high spending"] == INCOME_SPENDING_ACTIONS[("low", "high")]
    assert actions.is_unique


def test_the_report_of_an_attribute_run_has_the_scatter_and_the_profile_of_attribute_means(mall_run):
    db, env, customers = mall_run
    result = segflow_in_process("report", env=env)
    assert result.exit_code == 0, result.output
    text = Path(result.stdout.strip().splitlines()[-1]).read_text()

    assert "Customers by income and spending, in their own units; diamonds are the segment centroids" in text
    assert "The map is not available" not in text and "No R/F/M scores" not in text
    segments = _segments_of(db).merge(customers, on="CustomerID")
    profile = text.split('<table class="attribute-profile">', 1)[1].split("</table>", 1)[0]
    for (key, name), group in segments.groupby(["segment_key", "segment_name"]):
        row = profile.split(f"<tr><th>{key} {name}</th>", 1)[1].split("</tr>", 1)[0]
        cells = re.findall(r"<td[^>]*>([^<]*)</td>", row)
        expected = [
            f"{len(group):,}",
            f"{len(group) / len(segments):.1%}",
            f"{group['Annual Income (k$)'].mean():,.1f}",
            f"{group['Spending Score (1-100)'].mean():,.1f}",
            f"{group['Age'].mean():,.1f}",  # loaded, not clustered on
            html.escape(group["action"].iloc[0]),
        ]
        assert cells == expected, name


def test_customer_shows_the_attributes_the_model_uses(mall_run):
    db, env, customers = mall_run
    one = customers.iloc[0]
    name = _segments_of(db).set_index("CustomerID").loc[one["CustomerID"], "segment_name"]

    result = segflow_in_process("customer", one["CustomerID"], env=env)

    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert f"{one['CustomerID']}: {name} (" in lines[0]
    cells = {tuple(c.strip() for c in line.split("│")[1:-1]) for line in lines if line.startswith("│")}
    assert ("income", "annual_income_k", str(one["Annual Income (k$)"])) in cells
    assert ("spending", "spending_score_1_100", str(one["Spending Score (1-100)"])) in cells
    assert ("age", "age", str(one["Age"])) in cells and ("gender", "gender", one["Gender"]) in cells
    assert "recency" not in result.stdout and "monetary" not in result.stdout


def test_segments_of_an_attribute_run_show_feature_means_not_blank_rfm(mall_run):
    db, env, customers = mall_run
    result = segflow_in_process("segments", env=env)

    assert result.exit_code == 0, result.output
    assert "mean income" in result.stdout and "mean spending" in result.stdout and "recency" not in result.stdout
    segments = _segments_of(db).merge(customers, on="CustomerID")
    group = segments[segments["segment_name"] == "Low income, high spending"]
    line = next(line for line in result.stdout.splitlines() if "Low income, high spending" in line)
    cells = [c.strip() for c in line.split("│")[1:-1]]
    assert cells[2:] == [
        f"{len(group):,}",
        f"{len(group) / len(segments):.1%}",
        f"{group['Annual Income (k$)'].mean():,.1f}",
        f"{group['Spending Score (1-100)'].mean():,.1f}",
    ]

"""`segflow score-file`: a transactions file gives the features a run gives on the same lines, then segments."""

import csv
from datetime import date

import pytest
from support.cli import segflow
from support.data import ONLINE_RETAIL_II_HEADER, make_rfm_lines

from segflow.data.generate import GeneratorSpec, generate_transactions
from segflow.serving.score_file import transactions_to_features
from segflow.stages import run_nightly

SPEC = GeneratorSpec(customers=400, days=120, seed=5, start=date(2024, 1, 1))
LAST_DAY = date(2024, 4, 29)


def _as_online_retail_ii(rows, path):
    """Lines (segflow's column order) written as an Online Retail II export, times naive UTC."""
    with path.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(ONLINE_RETAIL_II_HEADER)
        for invoice, stock, description, quantity, price, at, customer, country in rows:
            writer.writerow([invoice, stock, description, quantity, at, price, customer or "", country])
    return path


def test_a_transactions_file_gives_the_hand_computed_features(db, tmp_path):
    # make_rfm_lines covers every rule (duplicates, cancellations, zero prices, time zones); these values are the
    # ones tests/integration/data/test_features.py computed by hand for a run on the same lines.
    path = _as_online_retail_ii(make_rfm_lines(), tmp_path / "lines.csv")
    with transactions_to_features(db, path, as_of=date(2024, 3, 31), lookback_days=30) as found:
        rows = list(csv.reader(found.features_csv))
    assert (found.lines_read, found.rejected, found.customers, found.inactive) == (14, {}, 2, 2)
    assert rows[0] == [
        "customer_id",
        "recency_days",
        "frequency",
        "monetary",
        "tenure_days",
        "avg_order_value",
        "return_rate",
    ]
    assert [(c, int(r), int(f), float(m), int(t)) for c, r, f, m, t, *_ in rows[1:]] == [
        ("A", 6, 2, 23.0, 76),
        ("C", 0, 2, 6.5, 0),
    ]


def test_the_default_as_of_is_the_files_last_day(db, tmp_path):
    path = _as_online_retail_ii(make_rfm_lines()[:4], tmp_path / "lines.csv")
    with transactions_to_features(db, path) as found:
        assert found.as_of == date(2024, 3, 25)


@pytest.fixture
def champion(db, settings):
    generate_transactions(db, SPEC)
    run_nightly(db, settings, LAST_DAY)
    return db


@pytest.mark.slow  # its champion fixture runs a whole night first
def test_score_file_of_transactions_gives_each_customer_the_segment_of_the_run(champion, db_url, tmp_path, fetch):
    lines = fetch(
        champion,
        "select invoice_id, stock_code, description, quantity, unit_price, "
        "to_char(invoiced_at at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS.US'), customer_id, country "
        "from segflow.transactions order by invoiced_at",
    )
    path = _as_online_retail_ii(lines, tmp_path / "lines.csv")
    env = {"SEGFLOW_DATABASE_URL": db_url, "SEGFLOW_HOME": str(tmp_path / "home")}
    out = tmp_path / "scored.csv"
    done = segflow(
        "score-file", str(path), "-o", str(out), "--transactions", "--as-of", str(LAST_DAY), env=env, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    published = fetch(
        champion,
        "select customer_id, recency_days, frequency, monetary::float, segment_key from segflow.current_segments "
        "where distance is not null order by customer_id",  # every customer the model scored, renamed ones too
    )
    with out.open() as scored:
        got = [
            (
                r["customer_id"],
                int(float(r["recency_days"])),
                int(float(r["frequency"])),
                float(r["monetary"]),
                r["segment_key"],
            )
            for r in csv.DictReader(scored)
        ]
    assert got == published
    assert f"{len(published):,} of {len(published):,} rows scored with model v1, 0 not scored" in done.stdout

    features = tmp_path / "features.csv"
    features.write_text("client,recency_days,frequency,spend\nk1,3,12,4000\nk2,1,abc,5\n")
    mapped = segflow("score-file", str(features), "-o", str(out), "--map", "monetary=spend", env=env, cwd=tmp_path)
    assert mapped.returncode == 0, mapped.stderr
    assert "row 2: frequency: 'abc' is not a number" in mapped.stderr
    assert "1 of 2 rows scored with model v1, 1 not scored" in mapped.stdout
    assert (tmp_path / "scored.errors.csv").exists()

    lacking = segflow("score-file", str(features), "-o", str(out), env=env, cwd=tmp_path)
    assert lacking.returncode == 1
    assert "features.csv lacks column(s) the model needs" in lacking.stderr
    assert "(pass --map monetary=COLUMN)" in lacking.stderr

    features.write_text("client,recency_days,frequency,monetary\nk2,1,abc,5\n")
    nothing = segflow("score-file", str(features), "-o", str(out), env=env, cwd=tmp_path)
    assert nothing.returncode == 1 and "0 of 1 rows scored" in nothing.stdout

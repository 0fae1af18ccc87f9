"""`segflow segments`, `customer` and `score` on two published runs: what they print, in this process; their
one-line errors, as a user gets them from a real process."""

import json
import re
from datetime import date

import pytest
from support.cli import segflow, segflow_in_process
from support.databases import fresh_database, settings_for

from segflow.data.generate import GeneratorSpec, generate_transactions
from segflow.stages import run_nightly
from segflow.storage.db import Database


@pytest.fixture(scope="module")
def published(server_url, template_database, tmp_path_factory):
    """A database with generated customers and two published runs (as of 2025-04-23 and 2025-04-30)."""
    urls = fresh_database(server_url, template_database)
    url = next(urls)
    settings = settings_for(url, tmp_path_factory.mktemp("home"))
    db = Database(settings)
    generate_transactions(db, GeneratorSpec(customers=1_200, days=120, seed=3, start=date(2025, 1, 1)))
    run_nightly(db, settings, date(2025, 4, 23))
    run_nightly(db, settings, date(2025, 4, 30))
    yield db, {"SEGFLOW_DATABASE_URL": url, "SEGFLOW_HOME": str(settings.home)}
    next(urls, None)  # drops the database


def _one(db: Database, query: str) -> tuple:
    with db.transaction() as cur:
        cur.execute(query)
        return cur.fetchone()


def test_segments_shows_the_current_run_and_any_published_run(published):
    db, env = published
    now = segflow_in_process("segments", env=env)
    assert now.exit_code == 0, now.output
    assert "segments of run 2, as of 2025-04-30 (model v1)" in now.stdout
    size, name = _one(db, "select count(*), min(segment_name) from segflow.current_segments where segment_key = 'S1'")
    # The key column is as wide as the longest key (a rule segment's, e.g. 'returned_all').
    assert re.search(rf"S1 +│ {re.escape(name)}", now.stdout) and f"{size:,}" in now.stdout
    earlier = segflow_in_process("segments", "--run", "1", env=env)
    assert "segments of run 1, as of 2025-04-23 (model v1)" in earlier.stdout


def test_segments_of_an_unknown_run_is_one_line(published):
    result = segflow("segments", "--run", "99", env=published[1])
    assert result.returncode == 1
    assert result.stderr.strip() == "error: run 99 does not exist (see segflow.runs)"


def test_customer_shows_features_segment_and_history(published):
    db, env = published
    customer, name, key, monetary = _one(
        db,
        "select customer_id, segment_name, segment_key, monetary from segflow.current_segments "
        "where segment_key like 'S%' order by monetary desc, customer_id limit 1",
    )
    result = segflow_in_process("customer", customer, env=env)
    assert result.exit_code == 0, result.output
    assert f"{customer}: {name} ({key}) in run 2, as of 2025-04-30, model v1" in result.stdout
    assert f"{monetary:,.2f}" in result.stdout
    history = [line for line in result.stdout.splitlines() if line.startswith("│ 2025-04-")]
    assert [line.split("│")[1].strip() for line in history] == ["2025-04-23", "2025-04-30"]


def test_an_unknown_customer_is_one_line(published):
    result = segflow("customer", "nobody-42", env=published[1])
    assert result.returncode == 1
    assert result.stderr.strip() == "error: unknown customer 'nobody-42': no published run has segmented them"


def test_score_json_agrees_with_the_segment_the_run_gave_a_real_customer(published):
    db, env = published
    recency, frequency, monetary, key, name, distance, confidence = _one(
        db,
        "select recency_days, frequency, monetary, segment_key, segment_name, distance, confidence "
        "from segflow.current_segments where segment_key like 'S%' order by customer_id limit 1",
    )
    result = segflow_in_process(
        "score",
        "--recency",
        str(recency),
        "--frequency",
        str(frequency),
        "--monetary",
        str(monetary),
        "--json",
        env=env,
    )
    assert result.exit_code == 0, result.output
    answer = json.loads(result.stdout)
    assert (answer["segment_key"], answer["segment_name"], answer["model_version"]) == (key, name, 1)
    assert answer["distance"] == pytest.approx(distance, abs=1e-5)
    assert answer["confidence"] == pytest.approx(confidence, abs=1e-5)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("--recency", "3", "--frequency", "2"),
            "error: model v1 clusters on recency_days, frequency, monetary; missing monetary (give --monetary)",
        ),
        (
            ("--recency", "3", "--frequency", "0", "--monetary", "10"),
            "error: frequency must be at least 1 invoice, got 0 (customers without a purchase in the window are "
            "'inactive', not clustered)",
        ),
        (("--recency", "-1", "--frequency", "2", "--monetary", "10"), "error: recency must be 0 or more days, got -1"),
        (
            ("--recency", "3", "--frequency", "2", "--monetary", "10", "--model", "7"),
            "error: model version 7 does not exist (see: segflow models list)",
        ),
        (("--recency", "3", "--feature", "tenure"), "error: --feature 'tenure' is not of the form NAME=NUMBER"),
    ],
)
def test_score_errors_are_one_line(published, args, message):
    result = segflow("score", *args, env=published[1])
    assert result.returncode == 1
    assert result.stderr.strip() == message


def test_score_without_a_champion_says_so(db_url, tmp_path):
    result = segflow(
        "score",
        "--recency",
        "3",
        "--frequency",
        "2",
        "--monetary",
        "10",
        env={"SEGFLOW_DATABASE_URL": db_url, "SEGFLOW_HOME": str(tmp_path)},
    )
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "error: there is no champion model yet; run `segflow run` (or `segflow demo`) first"
    )


def test_a_bad_date_is_one_line(db_url):
    result = segflow("run", "--as-of", "2025-02-30", env={"SEGFLOW_DATABASE_URL": db_url})
    assert result.returncode == 1
    assert result.stderr.strip() == "error: --as-of '2025-02-30' is not a date of the form YYYY-MM-DD"


@pytest.mark.parametrize(
    ("args", "extra_env", "message"),
    [
        (
            ("run", "--as-of", "2025-05-01"),
            {"SEGFLOW_SOURCE_TABLE": "shop.nope"},
            "error: source table shop.nope (SEGFLOW_SOURCE_TABLE) does not exist or is not visible",
        ),
        (
            ("run", "--features", "recency_days,loyalty"),
            {},
            "error: unknown feature(s) loyalty; RFM features are recency_days, frequency, monetary, tenure_days, "
            "avg_order_value, return_rate; no customer attributes are loaded (segflow load-customers)",
        ),
        (
            ("backfill", "--from", "2025-05-01", "--to", "2025-05-08", "--retrain", "sometimes"),
            {},
            "error: --retrain must be one of auto, always, never, got 'sometimes'",
        ),
    ],
)
def test_a_run_that_cannot_succeed_is_refused_in_one_line_before_prefect_starts(
    db_url, tmp_path, args, extra_env, message
):
    result = segflow(*args, env={"SEGFLOW_DATABASE_URL": db_url, "SEGFLOW_HOME": str(tmp_path), **extra_env})
    assert result.returncode == 1
    assert result.stderr.strip() == message  # no Prefect log lines, no traceback

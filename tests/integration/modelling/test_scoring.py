"""Scoring with a registered model: what-if and Scorer agree, and a file's bad rows do not stop its good ones."""

from datetime import date

import pandas as pd
import pytest
from support.databases import database_for_test, filled_template

from segflow.data.generate import GeneratorSpec, generate_transactions
from segflow.errors import NoChampion
from segflow.modelling import registry
from segflow.modelling.scoring import Scorer
from segflow.serving.customers import what_if
from segflow.stages import run_nightly

SPEC = GeneratorSpec(customers=400, days=120, seed=5, start=date(2024, 1, 1))
LAST_DAY = date(2024, 4, 29)


@pytest.fixture(scope="module")
def champion_template(server_url, template_database, tmp_path_factory):
    """SPEC's lines and a published run of LAST_DAY with its champion (v1), run once for the module."""

    def generate_and_run(db, settings):
        generate_transactions(db, SPEC)
        run_nightly(db, settings, LAST_DAY)

    home = tmp_path_factory.mktemp("champion") / "home"
    yield from filled_template(server_url, template_database, home, generate_and_run)


@pytest.fixture
def db_url(request, server_url, template_database, home):
    """A test that asks for `champion` gets a clone of `champion_template`; the others an empty migrated one."""
    yield from database_for_test(request, server_url, template_database, home, {"champion": "champion_template"})


@pytest.fixture
def champion(db):
    """The database with a champion (v1) and a published run of LAST_DAY (a clone of `champion_template`)."""
    return db


def test_no_champion_is_an_error_of_its_own(db):
    with pytest.raises(NoChampion):
        Scorer.load(db)


def test_what_if_and_the_scorer_agree_and_bad_rows_are_reported(champion, fetch):
    scorer = Scorer.load(champion)
    assert scorer.version == registry.champion(champion) == 1
    customers = [
        {"customer_id": "x1", "recency_days": 3.0, "frequency": 12.0, "monetary": 4000.0},
        {"customer_id": "x2", "recency_days": 200.0, "frequency": 1.0, "monetary": 15.0},
        {"customer_id": "x3", "recency_days": 40.0, "frequency": 3.0, "monetary": 300.0},
    ]
    bad = {"customer_id": "bad", "recency_days": 1, "frequency": 0.5, "monetary": 1}
    frame = pd.DataFrame([customers[0], bad, *customers[1:]])
    batch = scorer.score(frame)
    assert [e.row for e in batch.errors] == [2] and batch.errors[0].column == "frequency"
    assert batch.rows["customer_id"].tolist() == ["x1", "x2", "x3"]
    names = dict(fetch(champion, "select segment_key, name from segflow.model_segments where model_version = 1"))
    for customer, (_, scored) in zip(customers, batch.rows.iterrows(), strict=True):
        alone = what_if(champion, {k: v for k, v in customer.items() if k != "customer_id"})
        assert (alone.segment_key, alone.segment_name, alone.action, alone.distance, alone.confidence) == (
            scored["segment_key"],
            scored["segment_name"],
            scored["action"],
            scored["distance"],
            scored["confidence"],
        )
        assert names[alone.segment_key] == alone.segment_name


def test_customers_scored_again_get_the_segments_the_run_published(champion, fetch):
    published = fetch(
        champion,
        "select customer_id, recency_days, frequency, monetary, segment_key, distance, confidence "
        "from segflow.current_segments where model_version = 1 and segment_key ~ '^S[0-9]+$' order by customer_id",
    )
    frame = pd.DataFrame(published, columns=["customer_id", "recency_days", "frequency", "monetary", "key", "d", "c"])
    frame[["recency_days", "frequency", "monetary"]] = frame[["recency_days", "frequency", "monetary"]].astype(float)
    batch = Scorer.load(champion).score(frame.drop(columns=["key", "d", "c"]))
    assert batch.errors == []
    assert batch.rows["segment_key"].tolist() == frame["key"].tolist()
    assert batch.rows["distance"].round(4).tolist() == frame["d"].astype(float).round(4).tolist()
    assert batch.errors == [] and len(batch.rows) == len(published) > 300

"""The segment report of a published run: one page that works offline, with every chart drawn."""

import html
import re
from datetime import date, timedelta

import pandas as pd
import pytest
from support.browser import png_ink_share, render_in_chromium
from support.data import make_mall_customers

from segflow.data.attributes import load_customer_attributes
from segflow.data.generate import GeneratorSpec, generate_transactions
from segflow.errors import SegflowError
from segflow.modelling.selection import select_model
from segflow.monitoring.report import figures, page
from segflow.stages import run_nightly

START = date(2024, 1, 1)
AS_OF = START + timedelta(days=149)


@pytest.fixture
def two_runs(db, settings):
    """Runs 1 and 2, a week apart, on the same generated customers (so run 2 has transitions)."""
    generate_transactions(db, GeneratorSpec(customers=2_000, days=200, seed=21, start=START))
    first = run_nightly(db, settings, AS_OF)
    second = run_nightly(db, settings, AS_OF + timedelta(days=7))
    return first, second


@pytest.mark.slow
def test_the_report_is_one_offline_page_with_every_part(db, settings, fetch, two_runs, monkeypatch):
    monkeypatch.setenv("SEGFLOW_DATABASE_URL", db.url)
    monkeypatch.setenv("SEGFLOW_HOME", str(settings.home))
    from flows.nightly import STAGE_TASKS
    from segflow.stages import monitor

    path = STAGE_TASKS[monitor.segment_report].fn(two_runs[1])  # the flow's task, without Prefect

    assert str(path) == str(settings.report_path.resolve() / "segments" / "run-2.html")
    text = page.segment_report_path(settings, 2).read_text()
    assert not re.search(r"<script[^>]*\ssrc=", text), "the page must not load scripts from anywhere"
    assert text.count("* plotly.js v") == 1, "plotly.js is embedded exactly once"
    assert "Segments of run 2, as of 2024-06-05" in text
    names = [
        r[0]
        for r in fetch(
            db, "select distinct segment_name from segflow.segment_assignments where attempt_id = %s", (two_runs[1],)
        )
    ]
    assert names and all(html.escape(name) in text for name in names)
    algorithm, k = fetch(db, "select algorithm, k from segflow.model_versions where version = 1")[0]
    assert f"<strong>Chosen: {algorithm} with k={k}</strong>" in text
    assert "within-cluster sum of squares (elbow)" in text
    assert '<a href="../drift/run-2-vs-previous.html">drift against the previous run (run 1)</a>' in text
    assert '<a href="../drift/run-2-vs-training.html">drift against the training data of model v1</a>' in text
    assert "Customers per segment in run 1 (rows) and in this run (columns)" in text
    assert "The map is not available" not in text

    shot = page.segment_report_path(settings, 2).with_suffix(".png")
    if not render_in_chromium(page.segment_report_path(settings, 2), shot, height=4200):
        pytest.skip("chromium is not installed (Debian package 'chromium'; .ci/run installs it)")
    # Measured here: a blank page 0.0002; this page with plotly.js cut out (text and tables, no charts)
    # 0.014; this page 0.027.
    assert png_ink_share(shot) > 0.02


@pytest.mark.slow
def test_the_first_run_has_no_transitions_and_no_previous_drift(db, settings):
    generate_transactions(db, GeneratorSpec(customers=600, days=120, seed=3, start=START))
    run_nightly(db, settings, START + timedelta(days=119))

    text = page.build_segment_report(db, settings).read_text()

    assert "No earlier published run: nothing to compare with." in text
    assert "vs-previous" not in text and "run-1-vs-training.html" in text


def test_an_unknown_or_unpublished_run_is_an_error_naming_it(db, settings):
    with pytest.raises(SegflowError, match="no run is published yet"):
        page.build_segment_report(db, settings)
    with pytest.raises(SegflowError, match=r"^run 99 does not exist"):
        page.build_segment_report(db, settings, 99)
    with pytest.raises(SegflowError, match="no purchase lines"):
        run_nightly(db, settings, AS_OF)
    with pytest.raises(SegflowError, match=rf"^run 1 \(as of {AS_OF}\) is failed, not published"):
        page.build_segment_report(db, settings, 1)


def test_the_map_draws_customers_and_centroids_or_steps_aside_without_the_features():
    customers = make_mall_customers()
    model = select_model(customers, ["annual_income", "spending_score"]).model
    model.segment_keys = [f"S{i + 1}" for i in range(model.k)]
    labels = {key: key for key in model.segment_keys}
    sample = customers.assign(
        customer_id=[f"c{i}" for i in range(len(customers))],
        segment_key=pd.Series(model.segment_keys).to_numpy()[model.assign(customers)[0]],
    )

    figure = figures.customer_map(model, sample, labels, figures.segment_colours(model.segment_keys))

    assert [t.name for t in figure.data] == [*model.segment_keys, "centroids"]
    assert sum(len(t.x) for t in figure.data[:-1]) == 200 and len(figure.data[-1].x) == 5
    rfm_only = sample.drop(columns=["annual_income"]).assign(recency_days=1.0)
    assert figures.customer_map(model, rfm_only, labels, figures.segment_colours(model.segment_keys)) is None


def test_transitions_run_from_s1_upwards_with_new_customers_last():
    rows = [
        (1, 2, "new_customer", "new_customer", "S2", "Loyal", 5, None),
        (1, 2, "S10", "Lost", "S10", "Lost", 7, None),
        (1, 2, "S2", "Loyal", "S10", "Lost", 3, None),
        (1, 2, "S2", "Loyal", "S2", "Loyal", 1, None),
    ]

    heatmap = figures.transitions_figure(rows).data[0]

    assert list(heatmap.y) == ["S2 Loyal", "S10 Lost", "new_customer"]
    assert list(heatmap.x) == ["S2 Loyal", "S10 Lost"]
    assert heatmap.text.tolist() == [[1, 3], [0, 7], [5, 0]]
    assert heatmap.z.tolist() == [[0.25, 0.75], [0.0, 1.0], [1.0, 0.0]]


def test_an_attribute_only_run_gets_its_own_map_and_profile_and_no_rfm_scores(db, settings, fetch, tmp_path):
    mall = make_mall_customers()
    lines = [f"M{i:03d},{row.annual_income:.1f},{row.spending_score:.1f}" for i, row in enumerate(mall.itertuples())]
    (tmp_path / "mall.csv").write_text("customer_id,annual_income,spending_score\n" + "\n".join(lines) + "\n")
    load_customer_attributes(db, tmp_path / "mall.csv")
    run_nightly(db, settings, date(2024, 1, 31), features=["annual_income", "spending_score"])

    text = page.build_segment_report(db, settings, 1).read_text()

    assert "Customers by income and spending, in their own units" in text
    assert text.count("<h2>4. Segment profiles</h2>") == 1 and '<table class="attribute-profile">' in text
    assert "The map is not available" not in text and "No R/F/M scores" not in text
    algorithm, k = fetch(db, "select algorithm, k from segflow.model_versions where version = 1")[0]
    assert k == 5 and f"<strong>Chosen: {algorithm} with k=5</strong>" in text


def _mall_model_and_sample(features):
    customers = make_mall_customers().assign(age=lambda f: 20 + f["spending_score"] / 4)
    model = select_model(customers, features).model
    model.segment_keys = [f"S{i + 1}" for i in range(model.k)]
    sample = customers.assign(
        customer_id=[f"c{i}" for i in range(len(customers))],
        segment_key=pd.Series(model.segment_keys).to_numpy()[model.assign(customers)[0]],
    )
    return model, sample, {key: key for key in model.segment_keys}


def test_the_attribute_map_of_two_features_is_in_their_own_units_with_centroids():
    model, sample, labels = _mall_model_and_sample(["annual_income", "spending_score"])

    figure = figures.attribute_map(model, sample, labels, figures.segment_colours(model.segment_keys))

    assert [t.name for t in figure.data] == [*model.segment_keys, "centroids"]
    assert sorted(x for t in figure.data[:-1] for x in t.x) == sorted(sample["annual_income"])
    centres = model.centroids_original_units()
    assert list(figure.data[-1].x) == list(centres["annual_income"])
    assert list(figure.data[-1].text) == model.segment_keys
    assert figure.layout.xaxis.title.text == "Income (annual_income)"
    assert figure.layout.yaxis.title.text == "Spending (spending_score)"


def test_the_attribute_map_of_more_features_is_a_pca_projection_and_says_so():
    model, sample, labels = _mall_model_and_sample(["annual_income", "spending_score", "age"])

    figure = figures.attribute_map(model, sample, labels, figures.segment_colours(model.segment_keys))

    assert figure.layout.title.text == (
        "Customers on the first two principal components of model space (PCA of income, spending, age)"
    )
    assert figure.layout.xaxis.title.text.startswith("first principal component")

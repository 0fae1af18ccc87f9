"""The app of `segflow ui`, page by page, on a real database with two published runs (Streamlit's AppTest runs
each page's script headless, widgets and all)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest
from support import devtools
from support.browser import png_ink_share
from support.customers import write_mall_shaped_csv
from support.databases import fresh_database, settings_for

from segflow.data.attributes import load_customer_attributes
from segflow.data.generate import GeneratorSpec, generate_transactions
from segflow.modelling import registry
from segflow.serving.customers import what_if
from segflow.settings import Settings
from segflow.stages import run_nightly
from segflow.storage.db import Database
from segflow.ui import data

START = date(2024, 1, 1)
AS_OF = START + timedelta(days=149)
APP = Path(__file__).resolve().parents[3] / "segflow" / "ui" / "app.py"


@pytest.fixture(scope="module")
def published(server_url: str, template_database: str, tmp_path_factory) -> Iterator[tuple[Settings, Database]]:
    """A database with runs 1 and 2, a week apart, on the same generated customers (run 2 has moves and drift)."""
    urls = fresh_database(server_url, template_database)
    settings = settings_for(next(urls), tmp_path_factory.mktemp("ui") / "home")
    db = Database(settings)
    db.migrated = True
    generate_transactions(db, GeneratorSpec(customers=1_500, days=200, seed=5, start=START))
    run_nightly(db, settings, AS_OF)
    run_nightly(db, settings, AS_OF + timedelta(days=7))
    yield settings, db
    next(urls, None)  # drops the database


@pytest.fixture
def app_env(published, monkeypatch) -> tuple[Settings, Database]:
    """The app's settings come from the environment, as `segflow ui` passes them; caches start empty because
    every test module's database numbers its model versions from 1."""
    settings, db = published
    monkeypatch.setenv("SEGFLOW_DATABASE_URL", db.url)
    monkeypatch.setenv("SEGFLOW_HOME", str(settings.home))
    st.cache_resource.clear()
    st.cache_data.clear()
    return settings, db


def page(name: str) -> AppTest:
    at = AppTest.from_string(f"from segflow.ui.screens.{name} import render\nrender()", default_timeout=120)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def segment_names(db: Database, fetch, run_id: int = 2) -> list[str]:
    return [
        r[0]
        for r in fetch(
            db,
            "select segment_name from segflow.segment_summary where run_id = %s order by segment_key",
            (run_id,),
        )
    ]


def test_the_entry_page_lists_every_page_and_opens_the_overview(app_env):
    at = AppTest.from_file(str(APP), default_timeout=120)
    at.run()

    assert not at.exception, [e.value for e in at.exception]
    assert [t.value for t in at.title] == ["Overview"]


def test_overview_shows_the_run_its_segments_with_revenue_share_and_actions_and_the_map(app_env, fetch):
    _settings, db = app_env
    at = page("overview")

    metrics = {m.label: m.value for m in at.metric}
    assert metrics["as of"] == str(AS_OF + timedelta(days=7))
    assert metrics["model"] == "v1"
    table = at.dataframe[0].value
    assert sorted(table["segment_name"]) == sorted(segment_names(db, fetch))
    assert table["revenue_share"].sum() == pytest.approx(1.0)
    expected = dict(fetch(db, "select segment_key, action from segflow.model_segments where model_version = 1"))
    clustered = table[table["segment_key"].isin(expected)]
    assert len(clustered) and dict(zip(clustered["segment_key"], clustered["action"], strict=True)) == expected
    figure = at.get("plotly_chart")[0].proto.spec
    assert '"centroids"' in figure and "principal component" in figure


def test_segment_members_filter_by_feature_ranges(app_env, fetch):
    _settings, db = app_env
    at = page("members")
    key = at.selectbox(key="segment").value
    expected = fetch(db, "select count(*) from segflow.current_segments where segment_key = %s", (key,))[0][0]
    assert len(at.dataframe[0].value) == expected

    low, _high = at.slider(key="range_frequency").value
    at.slider(key="range_frequency").set_value((low, low)).run()

    kept = fetch(
        db,
        "select count(*) from segflow.current_segments where segment_key = %s and frequency between %s and %s",
        (key, low, low),
    )[0][0]
    shown = at.dataframe[0].value
    assert len(shown) == kept < expected
    assert (shown["frequency"] == low).all()
    assert f"**{kept:,}** of {expected:,} customers match." in [m.value for m in at.markdown]
    assert at.get("download_button")[0].proto.label == "Download these customers as CSV"


def test_customer_page_shows_a_customers_segment_features_and_history(app_env, fetch):
    _settings, db = app_env
    customer, name, key, frequency = fetch(
        db, "select customer_id, segment_name, segment_key, frequency from segflow.current_segments limit 1"
    )[0]
    at = page("customer")
    at.text_input(key="customer_id").input(customer).run()

    assert next(s.value for s in at.subheader) == f"{name} ({key})"
    features = at.dataframe[0].value
    assert (
        features.set_index("feature").loc["frequency (invoices in the look-back window)", "value"] == f"{frequency:,}"
    )
    history = at.dataframe[1].value
    assert list(history["run_id"]) == [1, 2]

    at.text_input(key="customer_id").input("nobody-42").run()
    # The library's message quotes the id, so the app shows it escaped (Markdown renders it as typed).
    assert [e.value for e in at.error] == [r"unknown customer \'nobody\-42\'\: no published run has segmented them"]


def test_what_if_scores_the_inputs_and_marks_them_on_the_map(app_env):
    _settings, db = app_env
    at = page("what_if")
    values = {"recency_days": 3.0, "frequency": 12.0, "monetary": 2500.0}
    for feature, value in values.items():
        at.number_input(key=f"value_{feature}").set_value(value)
    at.button[0].click().run()  # the form's submit button

    expected = what_if(db, values)
    assert at.subheader[0].value == f"{expected.segment_name} ({expected.segment_key})"
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["distance to its centroid"] == f"{expected.distance:.3f}"
    assert metrics["confidence"] == f"{expected.confidence:.2f}"
    assert '"what-if"' in at.get("plotly_chart")[0].proto.spec


def test_a_customer_on_a_centroid_is_drawn_on_that_centroids_diamond(app_env):
    settings, db = app_env
    model = registry.load(db, 1)
    run = data.current_run(db)
    assert run is not None
    customer_map = data.customer_map(db, settings, run["attempt_id"], model, data.run_segments(db, run["attempt_id"]))
    assert customer_map is not None
    centroid = model.centroids_original_units().iloc[2].to_dict()

    figure = data.with_point(customer_map, centroid, "what-if")

    diamonds, star = figure.data[-2], figure.data[-1]
    assert diamonds.name == "centroids" and star.name == "what-if"
    assert (star.x[0], star.y[0]) == (pytest.approx(diamonds.x[2]), pytest.approx(diamonds.y[2]))


def test_batch_scoring_maps_columns_scores_and_names_each_bad_row(app_env):
    _settings, db = app_env
    csv = b"id,days_since,orders,spend\na,3,12,2500\nb,200,1,40\nc,10,abc,100\nd,30,2,300\n"
    at = page("batch")
    at.file_uploader(key="upload").set_value(("customers.csv", csv, "text/csv")).run()
    for feature, column in (("recency_days", "days_since"), ("frequency", "orders"), ("monetary", "spend")):
        at.selectbox(key=f"map_{feature}").set_value(column).run()
    at.button(key="score").click().run()

    assert not at.exception, [e.value for e in at.exception]
    assert [s.value for s in at.success] == ["Scored 3 of 4 rows with model v1."]
    assert at.error[0].value == "1 row(s) could not be scored:"
    problems = at.dataframe[0].value
    assert list(problems["row"]) == [3] and "frequency" in problems["problem"][0] and "abc" in problems["problem"][0]
    scored = at.dataframe[1].value
    assert list(scored["id"]) == ["a", "b", "d"]
    assert (
        scored.loc[0, "segment_key"] == what_if(db, {"recency_days": 3, "frequency": 12, "monetary": 2500}).segment_key
    )
    assert at.get("download_button")[0].proto.label == "Download the scored CSV"


def test_drift_page_shows_shares_verdicts_reports_and_moves(app_env, fetch):
    _settings, db = app_env
    at = page("drift")

    verdicts = at.dataframe[0].value
    stored = fetch(
        db, "select run_id, reference, dataset_drift from segflow.drift_reports order by run_id desc, reference"
    )
    assert stored, "the runs made drift reports"
    reported = verdicts[verdicts["verdict"] != "no report"]
    assert list(zip(reported["run"], reported["reference"], reported["verdict"], strict=True)) == [
        (run, reference, "drifted" if drifted else "no drift") for run, reference, drifted in stored
    ]
    assert all(Path(path).is_file() for path in reported["report"])
    assert "drift_report" in [s.key for s in at.selectbox]
    charts = [c.proto.spec for c in at.get("plotly_chart")]
    assert any(all(name in spec for name in segment_names(db, fetch)) for spec in charts), "shares per run"
    moved = fetch(
        db,
        "select sum(customers) from segflow.segment_transitions where to_run = 2 "
        "and from_segment_key <> to_segment_key",
    )[0][0]
    assert any(m.value.startswith(f"{moved:,} of ") for m in at.markdown)


@pytest.mark.slow
@pytest.mark.skipif(devtools.chromium() is None, reason="headless Chromium is not installed")
def test_segflow_ui_serves_the_app_that_a_browser_renders(app_env, fetch, tmp_path):
    settings, db = app_env
    port = devtools.free_port()
    environment = {k: v for k, v in os.environ.items() if not k.startswith("SEGFLOW_")} | {
        "SEGFLOW_DATABASE_URL": db.url,
        "SEGFLOW_HOME": str(settings.home),
        "SEGFLOW_UI_PORT": str(port),
    }
    customer, name = fetch(db, "select customer_id, segment_name from segflow.current_segments limit 1")[0]
    process = subprocess.Popen(
        [sys.executable, "-m", "segflow", "ui"],
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == f"segflow ui: http://127.0.0.1:{port}  (Ctrl+C stops it)"
        with devtools.browser(1400, 1400) as browser:
            text = browser.open(f"http://127.0.0.1:{port}/", segment_names(db, fetch))
            assert "Customer map" in text and "centroids" in text  # the table is drawn on a canvas: no text
            browser.screenshot(tmp_path / "overview.png")
            assert png_ink_share(tmp_path / "overview.png") > 0.02, "the screenshot shows a drawn page"
            text = browser.open(f"http://127.0.0.1:{port}/customer?customer={customer}", ["Segment history"])
            assert name in text
    finally:
        process.terminate()  # as a service manager stops it: the Streamlit server it started goes too
        process.wait(timeout=30)
    with pytest.raises(ConnectionRefusedError):  # nothing is left listening
        socket.create_connection(("127.0.0.1", port), timeout=5).close()


def test_models_page_shows_curves_and_promotes_only_after_confirmation(app_env, fetch):
    # Last in the module: it trains another version and changes the champion of the shared database.
    settings, db = app_env
    run_nightly(db, settings, AS_OF + timedelta(days=7), retrain="always")  # a second version
    challenger = next(v["version"] for v in registry.list_versions(db) if v["status"] != "champion")
    champion = registry.champion(db)
    at = page("models")
    assert "within-cluster sum of squares (elbow)" in at.get("plotly_chart")[0].proto.spec

    at.selectbox(key="model_version").set_value(challenger).run()
    assert at.button(key="promote").disabled, "no promotion without the confirmation"
    assert registry.champion(db) == champion

    at.checkbox(key="confirm_promote").check().run()
    at.button(key="promote").click().run()

    assert registry.champion(db) == challenger
    assert at.success[0].value == f"Model v{challenger} is now the champion."
    listing = at.dataframe[0].value
    assert listing.set_index("version").loc[challenger, "status"] == "champion"


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("overview", "No run is published yet. Run `segflow run` (or `segflow demo`), then reload this page."),
        ("members", "No run is published yet. Run `segflow run` (or `segflow demo`), then reload this page."),
        ("what_if", "No run is published yet. Run `segflow run` (or `segflow demo`), then reload this page."),
        ("batch", "No champion model yet. Run `segflow run` (or `segflow demo`), then reload this page."),
        ("drift", "No run is published yet. Run `segflow run` (or `segflow demo`), then reload this page."),
        ("models", "No model versions yet. Run `segflow run` (or `segflow demo`), then reload this page."),
    ],
)
def test_before_the_first_run_every_page_says_what_to_do(db, settings, monkeypatch, name, message):
    monkeypatch.setenv("SEGFLOW_DATABASE_URL", db.url)
    monkeypatch.setenv("SEGFLOW_HOME", str(settings.home))
    st.cache_resource.clear()

    at = page(name)

    assert [i.value for i in at.info] == [message]


def test_an_attribute_run_is_mapped_by_its_two_features_and_its_customers_show_their_attributes(
    server_url, template_database, tmp_path, monkeypatch, fetch
):
    urls = fresh_database(server_url, template_database)
    settings = settings_for(next(urls), tmp_path / "home")
    db = Database(settings)
    db.migrated = True
    try:
        write_mall_shaped_csv(tmp_path / "mall.csv")
        load_customer_attributes(db, tmp_path / "mall.csv")
        run_nightly(db, settings, AS_OF, features=["annual_income_k", "spending_score_1_100"])
        monkeypatch.setenv("SEGFLOW_DATABASE_URL", db.url)
        monkeypatch.setenv("SEGFLOW_HOME", str(settings.home))
        st.cache_resource.clear()
        st.cache_data.clear()

        at = page("overview")
        assert not [i.value for i in at.info if "map is not available" in i.value]
        run = data.current_run(db)
        model = registry.load(db, run["model_version"])
        table = data.run_segments(db, run["attempt_id"])
        customer_map = data.customer_map(db, settings, run["attempt_id"], model, table)
        assert customer_map is not None
        assert customer_map.figure.layout.xaxis.title.text == "Income (annual_income_k)"
        assert customer_map.place({"annual_income_k": 87.5, "spending_score_1_100": 12.0}) == (87.5, 12.0)
        drawn = sum(len(trace.x) for trace in customer_map.figure.data[:-1])
        assert drawn == 200  # every Mall-shaped customer, in their own units

        someone, income, gender = fetch(
            db,
            "select customer_id, (attributes->>'annual_income_k')::numeric, attributes->>'gender' "
            "from segflow.customer_attributes order by customer_id limit 1",
        )[0]
        at = AppTest.from_string("from segflow.ui.screens.customer import render\nrender()", default_timeout=120)
        at.query_params["customer"] = someone
        at.run()
        shown = dict(at.dataframe[0].value.itertuples(index=False))
        assert shown["income (annual_income_k)"] == f"{float(income):,.3f}"  # jsonb numbers arrive as floats
        assert shown["gender (gender, not clustered on)"] == gender
    finally:
        next(urls, None)


HOSTILE_MARKDOWN = "[click](http://evil.example) ![x](http://evil.example/i.png) **bold** :red[red] $x$"


def test_a_customer_id_from_the_url_is_shown_as_typed_not_as_markdown(app_env):
    at = AppTest.from_string("from segflow.ui.screens.customer import render\nrender()", default_timeout=120)
    at.query_params["customer"] = HOSTILE_MARKDOWN
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    (shown,) = [e.value for e in at.error]
    # Every punctuation character escaped: no link, image, emphasis, colour or LaTeX can form.
    assert shown == (
        r"unknown customer \'\[click\]\(http\:\/\/evil\.example\) \!\[x\]\(http\:\/\/evil\.example\/i\.png\) "
        r"\*\*bold\*\* \:red\[red\] \$x\$\'\: no published run has segmented them"
    )


def test_batch_scoring_escapes_file_and_column_names_and_refuses_a_file_over_the_upload_limit(app_env, monkeypatch):
    at = page("batch")
    at.file_uploader(key="upload").set_value(("[x](http://e.example).csv", b"**id**,recency_days\na,1\n", "text/csv"))
    at.run()
    assert [w.value for w in at.markdown if "bytes, columns" in w.value] == [
        r"\[x\]\(http\:\/\/e\.example\)\.csv: 24 bytes, columns \*\*id\*\*\, recency\_days"
    ]

    monkeypatch.setenv("SEGFLOW_UI_MAX_UPLOAD_MB", "1")
    st.cache_resource.clear()  # the settings are read once per process
    at = page("batch")
    big = b"id,recency_days,frequency,monetary\n" + b"a,1,1,1\n" * 140_000  # 1,120,035 bytes: 1.1 MB
    at.file_uploader(key="upload").set_value(("big.csv", big, "text/csv")).run()
    assert [e.value for e in at.error] == [
        r"big\.csv is 1.1 MB; this page takes at most 1 MB (`SEGFLOW_UI_MAX_UPLOAD_MB`)."
    ]
    assert not at.dataframe


def test_batch_scoring_refuses_a_header_too_wide_or_a_line_too_long_in_one_sentence(app_env, monkeypatch):
    monkeypatch.setenv("SEGFLOW_UPLOAD_MAX_COLUMNS", "3")
    monkeypatch.setenv("SEGFLOW_UPLOAD_MAX_LINE_BYTES", "40")
    st.cache_resource.clear()  # the settings are read once per process
    wide = b"id,recency_days,frequency,monetary\na,1,1,1\n"
    at = page("batch")
    at.file_uploader(key="upload").set_value(("wide.csv", wide, "text/csv")).run()
    assert [e.value for e in at.error] == [
        r"wide\.csv\: the header has 4 columns\, more than the limit of 3 \(SEGFLOW\_UPLOAD\_MAX\_COLUMNS\)"
    ]
    monkeypatch.setenv("SEGFLOW_UPLOAD_MAX_COLUMNS", "10")
    st.cache_resource.clear()
    at = page("batch")
    long_row = b"recency_days,frequency,monetary\n1,1,1\n1,1," + b"9" * 60 + b"\n"
    at.file_uploader(key="upload").set_value(("long.csv", long_row, "text/csv")).run()
    at.button(key="score").click().run()
    assert [e.value for e in at.error] == [
        r"long\.csv\: line 3 is longer than the limit of 40 bytes \(SEGFLOW\_UPLOAD\_MAX\_LINE\_BYTES\)"
    ]
    assert not at.success and not at.dataframe

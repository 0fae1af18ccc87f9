"""Drift reports on generated data: a quiet week raises nothing, a wave of one-time buyers does."""

import html
from datetime import date, timedelta
from pathlib import Path

import pytest
from support.browser import png_ink_share, render_in_chromium
from support.databases import database_for_test, filled_template

from segflow.data.generate import GeneratorSpec, generate_transactions
from segflow.modelling.segments import RULE_SEGMENTS
from segflow.stages import run_nightly

pytestmark = pytest.mark.slow

START = date(2024, 1, 1)
AS_OF = START + timedelta(days=149)


@pytest.fixture(scope="module")
def first_night_template(server_url, template_database, tmp_path_factory):
    """3,000 generated customers and the published night of AS_OF (run 1, model v1), made once for the module."""

    def generate_and_run(db, settings):
        generate_transactions(db, GeneratorSpec(customers=3_000, days=200, seed=21, start=START))
        run_nightly(db, settings, AS_OF)

    home = tmp_path_factory.mktemp("first-night") / "home"
    yield from filled_template(server_url, template_database, home, generate_and_run)


@pytest.fixture(scope="module")
def quiet_week_template(server_url, first_night_template, tmp_path_factory):
    """The first night and, a quiet week later, run 2 on the same customers: built on `first_night_template`."""
    home = tmp_path_factory.mktemp("quiet-week") / "home"
    yield from filled_template(
        server_url,
        first_night_template,
        home,
        lambda db, settings: run_nightly(db, settings, AS_OF + timedelta(days=7)),
    )


@pytest.fixture
def db_url(request, server_url, template_database, home):
    """A test gets a clone of the snapshot it asks for (`first_night`, `quiet_week`)."""
    templates = {"first_night": "first_night_template", "quiet_week": "quiet_week_template"}
    yield from database_for_test(request, server_url, template_database, home, templates)


@pytest.fixture
def first_night(db):
    """The test's database after the night of AS_OF (a clone of `first_night_template`)."""
    return db


@pytest.fixture
def quiet_week(db):
    """The test's database after the nights of AS_OF and a week later (a clone of `quiet_week_template`)."""
    return db


def reports(fetch, db, run_id):
    return {
        r[0]: r
        for r in fetch(
            db,
            "select reference, dataset_drift, drift_share, segment_psi, html_path,"
            " details from segflow.drift_reports where run_id = %s",
            (run_id,),
        )
    }


def test_a_quiet_week_raises_no_drift(quiet_week, settings, fetch):
    history = quiet_week
    found = reports(fetch, history, 2)
    assert set(found) == {"previous", "training"}
    previous = found["previous"]
    assert previous[1] is False and previous[3] < 0.05, previous[:4]
    assert found["training"][1] is False
    retrained, reason = fetch(history, "select retrained, retrain_reason from segflow.runs where run_id = 2")[0]
    assert retrained is False and reason == "champion v1 is current: 7 days old, no drift"
    html = Path(previous[4])
    assert html.name == "run-2-vs-previous.html" and html.stat().st_size > 100_000
    details = previous[5]
    assert {c["column"] for c in details["columns"]} >= {"segment_key", "recency_days", "monetary"}
    assert all({"score", "method", "threshold"} <= set(c) for c in details["columns"])
    assert abs(sum(s["share_now"] for s in details["segments"]) - 1) < 1e-9


def test_the_drift_page_opens_with_a_header_naming_run_reference_verdict_and_segments(quiet_week, settings, fetch):
    history = quiet_week
    previous = reports(fetch, history, 2)["previous"]
    names = {key: name for key, (name, _) in RULE_SEGMENTS.items()} | dict(
        fetch(history, "select segment_key, name from segflow.model_segments where model_version = 1")
    )
    text = Path(previous[4]).read_text()

    header = text[text.index('<div id="segflow-drift-header">') : text.index("</div>", text.index("segflow-drift"))]
    assert text.index("segflow-drift-header") < text.index('<div id="root_')  # before Evidently's report
    assert "<h1>Drift of run 2 (as of 2024-06-05) against the previous run</h1>" in header
    assert "run 2, as of 2024-06-05, model v1</td>" in header
    assert "run 1, as of 2024-05-29 (the published run before this one).</td>" in header
    # Every customer bought within the 365-day lookback: nobody inactive, said first, then the PSI.
    assert (
        '<span class="quiet">no drift</span>: <b>inactive 0.0 % → 0.0 %</b> (0.0 pp, below the threshold 5 pp, '
        "SEGFLOW_DRIFT_INACTIVE_RISE); segment-share PSI <b>"
    ) in header
    assert "(below the threshold 0.2, SEGFLOW_DRIFT_PSI_THRESHOLD)" in header
    for row in previous[5]["segments"]:
        key, name = row["segment_key"], names[row["segment_key"]]
        # A model's segment by key and name ('S2 Loyal'); a rule segment ('cant_lose_them') by its name alone.
        label = html.escape(name if key in RULE_SEGMENTS else f"{key} {name}")
        assert f"<tr><th>{label}</th><td>{row['share_then']:.1%}</td><td>{row['share_now']:.1%}</td>" in header
    # Evidently's part: segment keys carry their names, per-segment columns are named, no row-order plots.
    assert "Index binned" not in text
    assert "segment_key" not in text.replace(header, "")
    per_segment = [c["column"] for c in previous[5]["columns"] if "__" in c["column"]]
    assert per_segment, "a 3,000-customer run has segments large enough for per-segment columns"
    key, feature = per_segment[0].split("__")
    label = f"{key} {names[key]}: " + {"recency_days": "recency (days)", "frequency": "frequency (orders)"}.get(
        feature, "monetary (revenue)"
    )
    assert f"Drift in column '{label}'" in text


def test_a_wave_of_one_time_buyers_is_flagged_and_shows_in_transitions(first_night, settings, fetch):
    history = first_night
    wave = GeneratorSpec(customers=2_500, days=7, seed=99, start=AS_OF + timedelta(days=1), archetypes=("one_time",))
    generate_transactions(history, wave)
    run_nightly(history, settings, AS_OF + timedelta(days=7))
    previous = reports(fetch, history, 2)["previous"]
    assert previous[1] is True
    assert previous[3] >= settings.drift_psi_threshold
    retrained, reason = fetch(history, "select retrained, retrain_reason from segflow.runs where run_id = 2")[0]
    assert retrained is True
    assert reason.startswith("drift against training: segment PSI") and "challenger v2" in reason
    new = fetch(
        history,
        "select sum(customers) from segflow.segment_transitions"
        " where from_run = 1 and to_run = 2 and from_segment_key = 'new_customer'",
    )[0][0]
    assert new >= 2_500

    page = (Path(previous[4]).parent / "run-2-transitions.html").read_text()
    assert "Segment transitions into run 2" in page and "new_customer" in page

    html = Path(previous[4])
    text = html.read_text()
    assert "Drift in column 'segment'" in text and "PSI" in text
    shot = html.with_suffix(".png")
    if not render_in_chromium(html, shot):
        pytest.skip("chromium is not installed (Debian package 'chromium'; .ci/run installs it)")
    assert shot.stat().st_size > 30_000
    # A blank page measures about 0.0002 here, this report about 0.012.
    assert png_ink_share(shot) > 0.003

"""Drift over the whole population, on hand-built customers: a third of them going inactive between two runs is a
verdict that names inactive, with shares of ALL customers and PSI over every population computed by hand; the
training reference counts its run's inactive customers; customers new since the reference are counted exactly.

Three groups of 30 customers, far apart in RFM so that k=3 finds exactly them (30-day lookback):
A buys 6 times (100+ each) in every window, B twice (about 20), C once (about 5) in the first window only.
"""

import math
from datetime import date, timedelta
from pathlib import Path

import pytest
from support.data import insert_lines
from support.databases import database_for_test, filled_template
from typer.testing import CliRunner

from segflow.monitoring import drift_report, drift_workspace
from segflow.stages import run_nightly

# Four nightly runs with their Evidently reports (two of them once for the module, in its snapshots).
pytestmark = pytest.mark.slow

D1, D2, D3 = date(2025, 3, 31), date(2025, 4, 30), date(2025, 5, 30)
A_DAYS, B_DAYS, C_DAYS = (1, 5, 9, 13, 17, 21), (10, 20), (25,)
THIRD = 1 / 3
EPS = 1e-4  # segflow.monitoring.drift_shares' floor for a share of 0


def _lines(customer: str, as_of: date, days_before: tuple[int, ...], price: float) -> list[tuple]:
    return [
        (f"{customer}-{as_of}-{d}", "S", "D", 1, price, f"{as_of - timedelta(days=d)}T12:00:00Z", customer, "UK")
        for d in days_before
    ]


def _window(as_of: date, groups: str, new_a: int = 0) -> list[tuple]:
    rows = []
    for i in range(30):
        if "A" in groups:
            rows += _lines(f"a{i:02d}", as_of, A_DAYS, 100 + i)
        if "B" in groups:
            rows += _lines(f"b{i:02d}", as_of, B_DAYS, 20 + i / 10)
        if "C" in groups:
            rows += _lines(f"c{i:02d}", as_of, C_DAYS, 5 + i / 20)
    for i in range(new_a):
        rows += _lines(f"n{i:02d}", as_of, A_DAYS, 100 + i)
    return rows


def _for_three_groups(settings):
    return settings.model_copy(update={"lookback_days": 30, "min_clusters": 3, "max_clusters": 3})


@pytest.fixture(scope="module")
def first_night_template(server_url, template_database, tmp_path_factory):
    """The lines of both windows (A, B, C, then A, B) and the published night of D1 (run 1, model v1), once."""

    def insert_and_run(db, settings):
        insert_lines(db, _window(D1, "ABC") + _window(D2, "AB"))
        run_nightly(db, _for_three_groups(settings), D1)

    home = tmp_path_factory.mktemp("first-night") / "home"
    yield from filled_template(server_url, template_database, home, insert_and_run)


@pytest.fixture(scope="module")
def second_night_template(server_url, first_night_template, tmp_path_factory):
    """`first_night_template` and the night of D2 scored with model v1 (run 2: C has gone inactive), once."""
    home = tmp_path_factory.mktemp("second-night") / "home"
    yield from filled_template(
        server_url,
        first_night_template,
        home,
        lambda db, settings: run_nightly(db, _for_three_groups(settings), D2, retrain="never"),
    )


@pytest.fixture
def db_url(request, server_url, template_database, home):
    """A test gets a clone of the snapshot it asks for (`first_night`, `second_night`)."""
    templates = {"first_night": "first_night_template", "second_night": "second_night_template"}
    yield from database_for_test(request, server_url, template_database, home, templates)


@pytest.fixture
def first_night(db):
    """The test's database after the night of D1 (a clone of `first_night_template`)."""
    return db


@pytest.fixture
def second_night(db):
    """The test's database after the nights of D1 and D2 (a clone of `second_night_template`)."""
    return db


@pytest.fixture
def three_groups(settings):
    """The test's settings for three groups: a 30-day lookback and k=3."""
    return _for_three_groups(settings)


def _reports(fetch, db, run_id):
    rows = fetch(
        db,
        "select reference, dataset_drift, segment_psi, segment_js, details, html_path from segflow.drift_reports"
        " where run_id = %s",
        (run_id,),
    )
    return {r[0]: r for r in rows}


def _key_of(fetch, db, run_id, customer):
    return fetch(
        db,
        # The history view: exact for a run whose per-customer rows retention dropped (segment_ranges).
        "select segment_key from segflow_bi.segment_history where run_id = %s and customer_id = %s",
        (run_id, customer),
    )[0][0]


def _term(now: float, then: float) -> float:
    now, then = max(now, EPS), max(then, EPS)
    return (now - then) * math.log(now / then)


def test_a_third_going_inactive_is_a_verdict_naming_inactive_with_exact_shares(db, second_night, three_groups, fetch):
    settings = three_groups
    attempt = fetch(db, "select attempt_id from segflow.runs where run_id = 2")[0][0]
    sa, sb, sc = (_key_of(fetch, db, 1, c) for c in ("a00", "b00", "c00"))
    assert len({sa, sb, sc}) == 3 and _key_of(fetch, db, 2, "c00") == "inactive"
    names = dict(fetch(db, "select segment_key, name from segflow.model_segments where model_version = 1"))

    found = _reports(fetch, db, 2)
    # By hand: then A, B, C a third each; now A, B a third each and inactive a third. Two terms of a third
    # against the floor: 2 * (1/3 - 1e-4) * ln((1/3) / 1e-4) = 5.406196.
    expected_psi = 2 * (THIRD - EPS) * math.log(THIRD / EPS)
    assert expected_psi == pytest.approx(5.406196, abs=1e-6)
    for reference in ("previous", "training"):
        _, drifted, psi, js, details, _ = found[reference]
        assert drifted is True
        assert psi == pytest.approx(expected_psi, abs=1e-6)
        assert js == pytest.approx(math.sqrt(THIRD), abs=1e-6)  # m = 1/3, 1/3, 1/6, 1/6: each KL is 1/3 bit
        then = {s["segment_key"]: s["share_then"] for s in details["segments"]}
        now = {s["segment_key"]: s["share_now"] for s in details["segments"]}
        assert then == pytest.approx({sa: THIRD, sb: THIRD, sc: THIRD, "inactive": 0.0})
        assert now == pytest.approx({sa: THIRD, sb: THIRD, sc: 0.0, "inactive": THIRD})
        assert details["inactive"]["text"] == "inactive 0.0 % → 33.3 %"
        assert details["inactive"]["risen"] is True and details["inactive"]["threshold_points"] == 5.0
        assert details["verdict"].startswith("inactive 0.0 % → 33.3 %, segment PSI 5.406, ")
        assert (details["customers_now"], details["customers_then"], details["new_since_reference"]) == (90, 90, 0)
    # The training reference is run 1's whole population (the run model v1 was trained in), not its snapshot.
    basis = "all 90 customers of run 1 (as of 2025-03-31), the run it was trained in"
    assert found["training"][4]["reference_basis"] == basis

    page = Path(found["previous"][5]).read_text()
    header = page[page.index('<div id="segflow-drift-header">') : page.index("</div>", page.index("segflow-drift"))]
    verdict = header[header.index("<th>verdict</th>") :]
    assert verdict.index("inactive 0.0 % → 33.3 %") < verdict.index("segment-share PSI")  # named first
    assert "(+33.3 pp, at or above the threshold 5 pp, SEGFLOW_DRIFT_INACTIVE_RISE)" in verdict
    assert "<h3>Segments: share of all customers</h3>" in header
    assert "<tr><th>inactive</th><td>0.0%</td><td>33.3%</td><td>+33.3 pp</td><td>2.7031</td></tr>" in header
    assert "90 now, 90 in the reference; 0 new since the reference (0.0 % of now)" in header
    # The Evidently workspace's shares panel counts inactive customers too (the run's whole sample: 90 customers).
    shares = drift_workspace.panel_series(settings.evidently_workspace_path, "Segment shares of the drift sample")
    assert shares["inactive"] == pytest.approx([THIRD])  # run 1 had none: no point
    assert shares[f"{sc} {names[sc]}"] == pytest.approx([THIRD, 0.0])  # none left in C's segment
    assert shares[f"{sa} {names[sa]}"] == pytest.approx([THIRD, THIRD])
    segment_page = (settings.report_path / "segments" / "run-2.html").read_text()
    assert "<strong>drifted</strong>, inactive 0.0 % → 33.3 %, segment PSI 5.406, " in segment_page

    # Without the training run's per-customer rows (pruned, or a same-day rerun's replaced attempt) its kept counts
    # and sample (segflow.run_samples) still make it the reference: the same figures.
    fetch(db, "delete from segflow.segment_assignments where attempt_id = 1 returning attempt_id")
    fetch(db, "delete from segflow.customer_features where attempt_id = 1 returning attempt_id")
    result = drift_report.build_report(db, settings, attempt, 2, "training", None, None, 1)
    assert result is not None and result.reference_basis == basis
    assert result.shares.psi == pytest.approx(expected_psi, abs=1e-6)
    assert result.columns == found["training"][4]["columns"]  # Evidently compared the same kept sample
    # Without its sample and counts either (a database pruned before they were kept), the run's counts and the
    # model's shares say the same: 90 customers, none inactive, the model's thirds scaled to all of them.
    fetch(db, "delete from segflow.run_samples where attempt_id = 1 returning attempt_id")
    fetch(db, "delete from segflow.run_segment_counts where attempt_id = 1 returning attempt_id")
    result = drift_report.build_report(db, settings, attempt, 2, "training", None, None, 1)
    assert result is not None and result.inactive is not None and result.inactive.text() == "inactive 0.0 % → 33.3 %"
    assert result.shares.psi == pytest.approx(expected_psi, abs=1e-6)
    assert result.reference_basis == (
        "the 90 customers of run 1 (as of 2025-03-31), the run it was trained in: 0 inactive, the model's segment "
        "shares scaled to the rest"
    )

    # A model with no training run on record cannot say how many of its population were inactive: the run is
    # compared over the model's own segments (A and B, half each now, against a third each), no inactive verdict.
    fetch(db, "update segflow.model_versions set trained_in_attempt = null where version = 1 returning version")
    result = drift_report.build_report(db, settings, attempt, 2, "training", None, None, 1)
    assert result is not None and result.inactive is None
    assert result.reference_basis.startswith("model v1 has no training run on record")
    assert {r["segment_key"] for r in result.shares.rows} == {sa, sb, sc}
    assert result.shares.psi == pytest.approx(2 * _term(0.5, THIRD) + _term(0.0, THIRD), abs=1e-6)  # 2.838253


def test_the_cli_and_the_app_name_inactive_and_new_customers(db, second_night, three_groups, fetch, monkeypatch):
    settings = three_groups
    insert_lines(db, _window(D3, "AB", new_a=15))
    run_nightly(db, settings, D3, retrain="never")
    sa, _sb = (_key_of(fetch, db, 1, c) for c in ("a00", "b00"))
    assert _key_of(fetch, db, 3, "n00") == sa

    found = _reports(fetch, db, 3)
    previous, training = found["previous"][4], found["training"][4]
    # Against run 2: A 30 -> 45, B 30 -> 30, inactive 30 -> 30 of 90 -> 105 customers; 15 new, none inactive more.
    expected = _term(45 / 105, THIRD) + _term(30 / 105, THIRD) + _term(30 / 105, THIRD)
    assert expected == pytest.approx(0.038616, abs=1e-6)
    assert found["previous"][2] == pytest.approx(expected, abs=1e-6)
    assert previous["inactive"]["text"] == "inactive 33.3 % → 28.6 %" and previous["inactive"]["risen"] is False
    assert found["previous"][1] is False
    assert (previous["customers_now"], previous["customers_then"], previous["new_since_reference"]) == (105, 90, 15)
    # Against the training run (run 1: 90 customers, none inactive): the rise is a verdict; the 15 are new too.
    assert training["inactive"]["text"] == "inactive 0.0 % → 28.6 %" and found["training"][1] is True
    assert (training["customers_then"], training["new_since_reference"]) == (90, 15)

    monkeypatch.setenv("SEGFLOW_DATABASE_URL", settings.database_url.get_secret_value())
    monkeypatch.setenv("SEGFLOW_HOME", str(settings.home))
    from segflow.cli import app

    shown = CliRunner().invoke(app, ["drift", "--run", "3"])
    assert shown.exit_code == 0, shown.output
    out = shown.output
    assert "drift of run 3 (as of 2025-05-30), shares of all customers" in out
    assert "training (model v1): drifted: inactive 0.0 % → 28.6 %, segment PSI " in out
    assert "previous (run 2): no drift: segment PSI 0.039, " in out  # tenure moved with the 15 new customers
    table = {line.split("│")[1].strip(): line for line in out.splitlines() if line.count("│") > 5}
    assert "│ 0.0 % → 28.6 %" in table["training (model v1)"]
    assert "│ 33.3 % → 28.6 %" in table["previous (run 2)"]
    assert "15 (14.3 % of now)" in table["previous (run 2)"]

    from segflow.ui import data
    from segflow.ui.screens.drift import _verdicts

    verdicts = _verdicts(data.drift_by_run(db), settings)
    run3 = verdicts[verdicts["run"] == 3].set_index("reference")
    assert run3.loc["training", "verdict"] == "drifted: inactive 0.0 % → 28.6 %"
    assert run3.loc["previous", "verdict"] == "no drift"
    assert run3.loc["previous", "inactive"] == "inactive 33.3 % → 28.6 %"
    assert run3.loc["previous", "new since the reference"] == "15 (14.3 % of now)"


def test_a_drifting_inactive_share_trains_a_challenger_and_says_why(db, first_night, three_groups, fetch):
    settings = three_groups
    run_nightly(db, settings, D2)

    retrained, reason = fetch(db, "select retrained, retrain_reason from segflow.runs where run_id = 2")[0]
    assert retrained is True
    assert reason.startswith("drift against training: inactive 0.0 % → 33.3 %, segment PSI 5.406, ")
    assert "; drift against previous: inactive 0.0 % → 33.3 %, segment PSI 5.406, " in reason
    # Whichever model scored run 2 in the end, run 1 compared like for like keeps its (no) inactive customers.
    previous = _reports(fetch, db, 2)["previous"][4]
    assert previous["inactive"]["text"] == "inactive 0.0 % → 33.3 %"

"""The Evidently workspace of drift snapshots: one per run and reference, replaced by a rerun, and a dashboard whose
panels draw PSI, drifted-feature share and segment shares over nights (computed as `evidently ui` computes them)."""

from datetime import date, timedelta

import pytest
from support.databases import database_for_test, filled_template

from segflow.data.generate import GeneratorSpec, generate_transactions
from segflow.modelling.segments import RULE_SEGMENTS
from segflow.monitoring import drift_workspace
from segflow.stages import run_nightly

pytestmark = pytest.mark.slow

START = date(2024, 1, 1)
NIGHTS = [START + timedelta(days=149 + 7 * week) for week in range(3)]


@pytest.fixture(scope="module")
def three_nights_template(server_url, template_database, tmp_path_factory):
    """Generated lines and the three published NIGHTS with their snapshots in the workspace, run once for the module."""

    def generate_and_run(db, settings):
        generate_transactions(db, GeneratorSpec(customers=1_500, days=180, seed=5, start=START))
        for night in NIGHTS:
            run_nightly(db, settings, night)

    home = tmp_path_factory.mktemp("three-nights") / "home"
    yield from filled_template(server_url, template_database, home, generate_and_run)


@pytest.fixture
def db_url(request, server_url, template_database, home):
    """A test that asks for `three_nights` gets a clone of its template (database and home folder)."""
    yield from database_for_test(
        request, server_url, template_database, home, {"three_nights": "three_nights_template"}
    )


@pytest.fixture
def three_nights(db):
    """The test's database after the three NIGHTS (a clone of `three_nights_template`)."""
    return db


def _stored(settings):
    workspace, project = drift_workspace.open_project(settings.evidently_workspace_path)
    return sorted(workspace.get_run(project.id, s).name for s in workspace.list_runs(project.id))


def _evidently_psi(fetch, db, reference):
    rows = fetch(
        db,
        "select d.run_id, d.details from segflow.drift_reports as d inner join segflow.run_keys as r using (run_id)"
        " where d.reference = %s order by r.as_of",
        (reference,),
    )
    return [
        next(c["score"] for c in d["columns"] if c["column"] == "segment_key" and c["method"] == "psi") for _, d in rows
    ]


def test_each_run_adds_its_snapshots_and_a_rerun_replaces_them(three_nights, settings):
    expected = sorted(
        ["run 1 vs training", "run 2 vs previous", "run 2 vs training", "run 3 vs previous", "run 3 vs training"]
    )
    assert settings.evidently_workspace_path == settings.home / "evidently"
    assert _stored(settings) == expected

    run_nightly(three_nights, settings, NIGHTS[-1])

    assert _stored(settings) == expected


def test_the_dashboard_draws_psi_drifted_share_and_segment_shares_over_nights(three_nights, settings, fetch):
    path = settings.evidently_workspace_path

    psi_training = drift_workspace.panel_series(path, "Segment-share PSI against the training data")
    psi_previous = drift_workspace.panel_series(path, "Segment-share PSI against the previous run")
    drifted = drift_workspace.panel_series(path, "Share of features drifted against the training data")
    shares = drift_workspace.panel_series(path, "Segment shares of the drift sample")

    assert list(psi_training) == ["ValueDrift"]
    assert psi_training["ValueDrift"] == pytest.approx(_evidently_psi(fetch, three_nights, "training"), abs=1e-6)
    assert psi_previous["ValueDrift"] == pytest.approx(_evidently_psi(fetch, three_nights, "previous"), abs=1e-6)
    stored_share = [
        r[0]
        for r in fetch(
            three_nights, "select drift_share from segflow.drift_reports where reference = 'training' order by run_id"
        )
    ]
    assert drifted["DriftedColumnsCount"] == pytest.approx(stored_share, abs=1e-4)
    names = fetch(three_nights, "select segment_key || ' ' || name from segflow.model_segments where model_version = 1")
    # Every model segment, and members the names' rules moved to a rule segment (segflow.modelling.segments) under
    # its own.
    rules = {name for name, _ in RULE_SEGMENTS.values()}  # labelled by name alone
    assert set(shares) >= {n for (n,) in names} and set(shares) - {n for (n,) in names} <= rules
    assert all(len(v) == 3 for v in shares.values())
    for night in range(3):
        assert sum(v[night] for v in shares.values()) == pytest.approx(1.0)


def test_a_night_published_between_two_others_rebuilds_the_later_ones_point(three_nights, settings, fetch):
    path = settings.evidently_workspace_path
    before = drift_workspace.panel_series(path, "Segment-share PSI against the previous run")["ValueDrift"]

    run_nightly(three_nights, settings, NIGHTS[0] + timedelta(days=3))  # run 4, between runs 1 and 2

    after = drift_workspace.panel_series(path, "Segment-share PSI against the previous run")["ValueDrift"]
    assert len(after) == 3 and after[1] != before[0]  # run 2 is now compared with run 4, not run 1
    assert after == pytest.approx(_evidently_psi(fetch, three_nights, "previous"), abs=1e-6)

"""A run's segment table (`segflow segments`, the table after a run, the segment report): each segment's action and
its share of the run's revenue, on hand-built runs whose shares are computed by hand."""

import json
from datetime import date

import pytest
from support.cli import segflow_in_process

from segflow.modelling.segments import INACTIVE, UNSCORED
from segflow.monitoring.drift_page import segment_label
from segflow.monitoring.report import sections
from segflow.orchestration import runs
from segflow.stages import publish
from segflow.storage import attempt_tables

# (customer, segment key, segment name, monetary). Revenue 500 + 300 + 150 + 0 + 50 = 1,000.
RUN = [
    ("c1", "S1", "Champions", 500),
    ("c2", "S1", "Champions", 300),
    ("c3", "S2", "At risk", 150),
    ("c4", "inactive", "inactive", None),
    ("c5", "unscored", "unscored", 50),
]
ACTIONS = {"S1": "Reward them: early access.", "S2": "Win them back before they lapse."}


def _model(cur) -> None:
    cur.execute(
        "insert into segflow.model_versions (version, algorithm, params, k, features, log_features, as_of, "
        "train_window_end, sample_size, seed, rfm_cut_points, metrics, candidates, selection_rule, gates, "
        "library_versions, artifact_path, artifact_sha256) values (1, 'kmeans', '{}', 2, array['monetary'], "
        "array[]::text[], '2026-01-01', '2026-01-01', 5, 0, '{}', '{}', '[]', 'rule', '{}', '{}', 'x', 'x')"
    )
    for key, name in (("S1", "Champions"), ("S2", "At risk")):
        cur.execute(
            "insert into segflow.model_segments (model_version, segment_key, name, action, size, share, centroid, "
            "profile) values (1, %s, %s, %s, 1, 0.5, '[]', '{}')",
            (key, name, ACTIONS[key]),
        )


def _published_run(db, rows, as_of=date(2026, 1, 1)) -> int:
    with db.transaction() as cur:
        cur.execute("insert into segflow.run_keys (as_of) values (%s) returning run_id", (as_of,))
        run_id = cur.fetchone()[0]
        cur.execute(
            "insert into segflow.run_attempts (run_id, as_of, status, features, lookback_days, window_start, "
            "model_version) values (%s, %s, 'running', array['monetary'], 365, %s, 1) returning attempt_id",
            (run_id, as_of, as_of),
        )
        attempt = cur.fetchone()[0]
        attempt_tables.open_attached(cur, attempt)  # rows written one by one through the parents
        for customer, key, name, monetary in rows:
            cur.execute(
                "insert into segflow.customer_features (attempt_id, customer_id, monetary) values (%s, %s, %s)",
                (attempt, customer, monetary),
            )
            action = {INACTIVE[0]: INACTIVE[2], UNSCORED[0]: UNSCORED[2]}.get(key, ACTIONS.get(key))
            cur.execute(
                "insert into segflow.segment_assignments (attempt_id, customer_id, segment_key, segment_name, action, "
                "model_version) values (%s, %s, %s, %s, %s, 1)",
                (attempt, customer, key, name, action),
            )
    publish.publish(db, db.settings, attempt)
    return attempt


@pytest.fixture
def run(db):
    with db.transaction() as cur:
        _model(cur)
    return _published_run(db, RUN)


def test_each_segment_has_its_action_and_its_share_of_the_runs_revenue(db, run):
    table = runs.segment_table(db, run)

    assert list(table["segment_key"]) == ["S1", "S2", "inactive", "unscored"]
    assert list(table["action"]) == [ACTIONS["S1"], ACTIONS["S2"], INACTIVE[2], UNSCORED[2]]
    # 800 / 1000, 150 / 1000, nothing, 50 / 1000: unscored customers' revenue counts, so the column adds up to 1.
    assert list(table["revenue_share"]) == [0.8, 0.15, 0.0, 0.05]
    assert list(table["share"]) == [0.4, 0.2, 0.2, 0.2]


def test_a_run_without_revenue_has_no_revenue_share(db):
    with db.transaction() as cur:
        _model(cur)
    attempt = _published_run(db, [("c1", "S1", "Champions", None), ("c2", "S2", "At risk", None)])

    table = runs.segment_table(db, attempt)

    assert table["revenue_share"].isna().all()
    assert list(table["action"]) == [ACTIONS["S1"], ACTIONS["S2"]]


def test_segments_prints_revenue_share_and_action(db, run, settings):
    env = {"SEGFLOW_DATABASE_URL": db.url, "SEGFLOW_HOME": str(settings.home)}

    result = segflow_in_process("segments", env=env)

    assert result.exit_code == 0, result.output
    assert "revenue share" in result.stdout and "action" in result.stdout
    s1 = next(line for line in result.stdout.splitlines() if "│ Champions" in line)
    assert "40.0%" in s1 and "80.0%" in s1 and "Reward them:" in s1
    assert ACTIONS["S1"] in " ".join(result.stdout.replace("│", " ").split())  # rich wraps long actions
    unscored = next(line for line in result.stdout.splitlines() if line.startswith("│ unscored"))
    assert "5.0%" in unscored


def test_the_segment_report_shows_revenue_share_and_action(db, run, settings):
    table = runs.segment_table(db, run)
    labels = {k: segment_label(k, n) for k, n in zip(table["segment_key"], table["segment_name"], strict=True)}

    text = sections.actions_section(table, labels).after

    assert (
        "<tr><th>S1 Champions</th><td>2</td><td>40.0%</td><td>80.0%</td>"
        f'<td class="action">{ACTIONS["S1"]}</td></tr>' in text
    )
    assert "<tr><th>unscored</th><td>1</td><td>20.0%</td><td>5.0%</td>" in text
    assert json.dumps(None) not in text

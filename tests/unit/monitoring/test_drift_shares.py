"""Segment-share drift by hand."""

import math

import pandas as pd
import pytest

from segflow.monitoring.drift_evidently import with_segment_columns
from segflow.monitoring.drift_shares import share_drift
from segflow.monitoring.verdict import DriftThresholds

# The default thresholds (SEGFLOW_DRIFT_PSI_THRESHOLD, _SHARE_THRESHOLD, _INACTIVE_RISE).
THRESHOLDS = DriftThresholds(segment_psi=0.2, feature_share=0.5, inactive_rise_points=5.0)


def test_psi_and_jensen_shannon_from_shares():
    result = share_drift({"S1": 0.5, "S2": 0.5}, {"S1": 0.25, "S2": 0.75})
    expected_psi = (0.5 - 0.25) * math.log(0.5 / 0.25) + (0.5 - 0.75) * math.log(0.5 / 0.75)
    assert result.psi == pytest.approx(expected_psi, abs=1e-6)  # 0.2747
    assert [r["segment_key"] for r in result.rows] == ["S1", "S2"]
    assert result.rows[0]["share_then"] == 0.25
    assert 0 < result.jensen_shannon < 1


def test_identical_shares_do_not_drift_and_new_segments_count():
    assert share_drift({"S1": 0.4, "S2": 0.6}, {"S1": 0.4, "S2": 0.6}).psi == 0
    assert share_drift({"S1": 0.4, "S2": 0.5, "S9": 0.1}, {"S1": 0.4, "S2": 0.6}).psi > 0.5


def test_per_segment_columns_hold_values_only_inside_the_segment():
    frame = pd.DataFrame(
        {"segment_key": ["S1", "S2"], "recency_days": [3.0, 9.0], "frequency": [1.0, 2.0], "monetary": [10.0, 20.0]}
    )
    out = with_segment_columns(frame, ["S2"])
    assert out["S2__recency_days"].isna().tolist() == [True, False]
    assert out.loc[1, "S2__monetary"] == 20.0


def test_the_transitions_page_is_a_matrix_with_names_and_row_totals():
    from segflow.monitoring.transitions import transitions_html

    rows = [
        (1, 2, "S1", "Champions", "S1", "Champions", 90, None),
        (1, 2, "S1", "Champions", "S2", "At risk", 10, None),
        (1, 2, "new_customer", "new_customer", "S2", "At risk", 5, None),
    ]
    page = transitions_html(rows, 2, "2025-01-08")
    assert "<th>S1 Champions</th>" in page and "<th>new_customer</th>" in page
    assert "<td>100</td></tr>" in page  # the S1 row's total
    assert "rgba(200, 30, 30, 0.765)" in page  # 90 of 100 stayed: 0.85 * 0.9


def test_the_transitions_page_lists_keys_in_key_order_on_both_axes_and_says_when_the_model_changed():
    from segflow.monitoring.transitions import transitions_html

    # First seen in the order S1, S2, S4, S3, S10 (as SQL sorts text): the page must not keep that order.
    rows = [
        (1, 2, "S1", "A", "S1", "A", 4, 7),
        (1, 2, "S2", "B", "S4", "D", 3, 7),
        (1, 2, "S4", "D", "S3", "C", 2, 7),
        (1, 2, "S3", "C", "S10", "E", 1, 7),
        (1, 2, "new_customer", "new_customer", "S2", "B", 5, 7),
        (1, 2, "S10", "E", "gone", "gone", 6, 7),
        (1, 2, "inactive", "inactive", "S1", "A", 8, 7),
    ]
    page = transitions_html(rows, 2, "2025-01-08")
    header = page[page.index("<tr><th>from") : page.index("</tr>", page.index("<tr><th>from"))]
    assert [h.split("<")[0] for h in header.split("<th>")[2:]] == [
        "S1 A",
        "S2 B",
        "S3 C",
        "S4 D",
        "S10 E",
        "gone",
        "total",
    ]
    row_heads = [line.split("</th>")[0] for line in page.split("<tr><th>")[2:]]
    assert row_heads == ["S1 A", "S2 B", "S3 C", "S4 D", "S10 E", "inactive", "new_customer"]
    assert "run 1's customers are shown as model v7 (this run's) scores them" in page


def test_a_run_without_a_comparable_neighbour_says_why():
    from segflow.monitoring.transitions import transitions_html

    page = transitions_html(
        [], 5, "2025-01-08", "Run 4, the published run before this one, was scored on other features: not compared."
    )
    assert "Run 4, the published run before this one, was scored on other features" in page


def test_inactive_is_a_population_of_its_own_in_psi_and_jensen_shannon():
    # Then: two segments, half each, nobody inactive. Now: a third of everyone went inactive, out of S2.
    result = share_drift({"S1": 0.5, "S2": 1 / 6, "inactive": 1 / 3}, {"S1": 0.5, "S2": 0.5})

    # By hand: S1 0; S2 (1/6 - 1/2) ln(1/3) = 0.366204; inactive (1/3 - 1e-4) ln((1/3) / 1e-4) = 2.703098.
    assert [r["segment_key"] for r in result.rows] == ["S1", "S2", "inactive"]
    assert [r["psi"] for r in result.rows] == pytest.approx([0.0, 0.366204, 2.703098], abs=1e-6)
    assert result.psi == pytest.approx(3.069302, abs=1e-6)
    assert result.rows[2] == {"segment_key": "inactive", "share_now": 1 / 3, "share_then": 0.0, "psi": 2.703098}
    # m = (1/2, 1/3, 1/6): KL(p || m) = 1/6 log2(1/2) + 1/3 log2(2) = 1/6 bit, KL(q || m) = 1/2 log2(3/2).
    expected_js = math.sqrt((1 / 6 + 0.5 * math.log2(1.5)) / 2)
    assert result.jensen_shannon == pytest.approx(expected_js, abs=1e-6)  # 0.479139


def test_unscored_and_any_other_key_count_like_inactive_and_keys_sort_numbers_first():
    result = share_drift({"S10": 0.2, "S2": 0.5, "unscored": 0.1, "inactive": 0.2}, {"S2": 0.6, "S10": 0.4})

    assert [r["segment_key"] for r in result.rows] == ["S2", "S10", "inactive", "unscored"]
    assert sum(r["share_now"] for r in result.rows) == pytest.approx(1.0)


def test_the_inactive_shift_is_a_verdict_at_the_threshold_in_share_points():
    from segflow.monitoring.drift_shares import inactive_shift
    from segflow.monitoring.verdict import inactive_risen

    risen = inactive_shift({"S1": 0.4, "inactive": 0.596}, {"S1": 0.997, "inactive": 0.003})
    assert risen.text() == "inactive 0.3 % → 59.6 %"
    assert risen.rise_points == pytest.approx(59.3) and inactive_risen(risen, 5.0)

    # 5 points exactly: at the threshold
    assert inactive_risen(inactive_shift({"inactive": 0.07}, {"inactive": 0.02}), 5.0)
    assert not inactive_risen(inactive_shift({"inactive": 0.069}, {"inactive": 0.02}), 5.0)
    fallen = inactive_shift({"S1": 1.0}, {"S1": 0.9, "inactive": 0.1})  # no key now: 0 %
    assert fallen.text() == "inactive 10.0 % → 0.0 %" and fallen.rise_points == -10.0
    assert not inactive_risen(fallen, 5.0)


def test_the_verdict_text_names_a_risen_inactive_share_first():
    from segflow.monitoring.drift_report import DriftResult
    from segflow.monitoring.drift_shares import InactiveShift

    shares = share_drift({"S1": 2 / 3, "inactive": 1 / 3}, {"S1": 1.0})
    risen = DriftResult("previous", 0.2, shares, THRESHOLDS, inactive=InactiveShift(0.0, 1 / 3))
    assert risen.dataset_drift
    assert risen.verdict_text() == f"inactive 0.0 % → 33.3 %, segment PSI {shares.psi:.3f}, 20% of features drifted"
    assert risen.details()["inactive"]["text"] == "inactive 0.0 % → 33.3 %"
    quiet = DriftResult("previous", 0.0, shares, THRESHOLDS, inactive=InactiveShift(0.30, 0.32))
    assert quiet.verdict_text() == f"segment PSI {shares.psi:.3f}, 0% of features drifted"


def test_training_shares_count_the_training_runs_inactive_customers():
    from segflow.monitoring.drift_shares import scaled_training_shares

    # 1,000 customers, 200 inactive: the model's segments (of the 800 clustered) share the other 80 %.
    shares = scaled_training_shares({"S1": 0.25, "S2": 0.75}, known=1_000, inactive=200)
    assert shares == pytest.approx({"S1": 0.2, "S2": 0.6, "inactive": 0.2})
    assert scaled_training_shares({"S1": 0.5, "S2": 0.5}, known=10, inactive=0) == {"S1": 0.5, "S2": 0.5}


@pytest.mark.parametrize(
    ("known", "inactive", "named"),
    [(0, 0, "customers_known=0"), (10, 11, "got 11"), (10, -1, "got -1")],
)
def test_training_shares_refuse_counts_that_are_not_a_population(known, inactive, named):
    from segflow.errors import SegflowError
    from segflow.monitoring.drift_shares import scaled_training_shares

    with pytest.raises(SegflowError, match=named):
        scaled_training_shares({"S1": 1.0}, known=known, inactive=inactive)


def test_new_customers_are_counted_apart_and_not_put_into_psi():
    from segflow.monitoring.drift_shares import Populations

    populations = Populations(customers_now=105, customers_then=90, new_since_reference=15)
    assert populations.new_text() == "15 new since the reference (14.3 % of now)"
    assert populations.new_cell() == "15 (14.3 % of now)"
    unknown = Populations(customers_now=105, customers_then=None, new_since_reference=None)
    assert unknown.new_text().startswith("new since the reference: not known")
    assert unknown.new_cell() == ""


def test_a_training_snapshot_gets_inactive_rows_in_the_training_runs_proportion():
    from segflow.monitoring.drift_references import with_inactive_rows

    snapshot = pd.DataFrame({"customer_id": ["a", "b", "c"], "segment_key": ["S1", "S1", "S2"], "frequency": 1.0})
    padded = with_inactive_rows(snapshot, 0.25)  # 3 clustered rows are 75 %: one inactive row
    assert padded["segment_key"].tolist() == ["S1", "S1", "S2", "inactive"]
    assert padded["frequency"].isna().tolist() == [False, False, False, True]
    assert with_inactive_rows(snapshot, 0.0) is snapshot


def test_over_keys_renormalises_the_models_own_segments():
    from segflow.monitoring.drift_shares import over_keys

    assert over_keys({"S1": 0.3, "S2": 0.3, "inactive": 0.4}, {"S1", "S2"}) == pytest.approx({"S1": 0.5, "S2": 0.5})
    assert over_keys({"inactive": 1.0}, {"S1"}) == {}

"""Segment-share drift by hand."""

import math

import pandas as pd
import pytest

from segflow.drift import share_drift, with_segment_columns


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
    from segflow.drift import transitions_html

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
    from segflow.drift import transitions_html

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
    from segflow.drift import transitions_html

    page = transitions_html(
        [], 5, "2025-01-08", "Run 4, the published run before this one, was scored on other features: not compared."
    )
    assert "Run 4, the published run before this one, was scored on other features" in page

"""The header of a drift page, by hand: the run, the reference, the verdict against the thresholds, the segments by
name with their shares, and the mean features per segment; and where it goes in Evidently's page."""

import pandas as pd

from segflow.monitoring import drift_page
from segflow.monitoring.drift_page import DriftHeader, SegmentShare
from segflow.monitoring.drift_shares import InactiveShift
from segflow.monitoring.verdict import DriftThresholds, drift_verdict

LABELS = {"S1": "S1 Champions", "S2": "S2 Loyal"}
THRESHOLDS = DriftThresholds(segment_psi=0.2, feature_share=0.5, inactive_rise_points=5.0)


def _header(**changes) -> DriftHeader:
    now = pd.DataFrame({"segment_key": ["S1", "S2", "S2"], "recency_days": [2.0, 10.0, 20.0]})
    then = pd.DataFrame({"segment_key": ["S1", "S1", "S2"], "recency_days": [4.0, 6.0, 30.0]})
    facts = {
        "run_id": 7,
        "as_of": "2026-11-28",
        "model_version": 3,
        "reference": "previous",
        "reference_text": "run 6, as of 2026-11-21 (the published run before this one)",
        "verdict": drift_verdict(0.231049, 0.5, None, THRESHOLDS),
        "psi": 0.231049,
        "psi_threshold": 0.2,
        "drifted_features": ["recency_days"],
        "features": ["recency_days", "monetary"],
        "drift_share": 0.5,
        "share_threshold": 0.5,
        "shares": [SegmentShare("S1 Champions", 0.25, 0.5, 0.173287), SegmentShare("S2 Loyal", 0.75, 0.5, 0.101366)],
        "means": drift_page.segment_means(now, then, ["recency_days"], LABELS),
    }
    return DriftHeader(**(facts | changes))


def test_the_header_names_run_reference_verdict_and_segments_with_their_shares():
    text = drift_page.header_html(_header())

    assert "<h1" in text and "Drift of run 7 (as of 2026-11-28) against the previous run</h1>" in text
    assert "run 7, as of 2026-11-28, model v3</td>" in text
    assert "run 6, as of 2026-11-21 (the published run before this one).</td>" in text
    assert ">DRIFTED</span>: segment-share PSI <b>0.231</b> (at or above the threshold 0.2, " in text
    assert "<b>1 of 2</b> features drifted (50%: recency (days); at or above the threshold 50%, " in text
    assert "<tr><th>S1 Champions</th><td>25.0%</td><td>50.0%</td><td>+25.0 pp</td><td>0.1733</td></tr>" in text
    assert "<tr><th>S2 Loyal</th><td>75.0%</td><td>50.0%</td><td>-25.0 pp</td><td>0.1014</td></tr>" in text


def test_the_means_are_per_segment_then_over_everyone_in_each_sample():
    means = _header().means

    assert [m.label for m in means] == ["S1 Champions", "S2 Loyal", "all customers in the sample"]
    assert [(m.customers_then, m.customers_now) for m in means] == [(2, 1), (1, 2), (3, 3)]
    expected = [(5.0, 2.0), (30.0, 15.0), (40 / 3, 32 / 3)]
    assert [(m.then["recency_days"], m.now["recency_days"]) for m in means] == expected
    text = drift_page.header_html(_header())
    assert "<tr><th>S2 Loyal</th><td>1</td><td>2</td><td>30.0</td><td>15.0</td><td>–</td><td>–</td></tr>" in text
    everyone = "<tr><th>all customers in the sample</th><td>3</td><td>3</td><td>13.3</td><td>10.7</td>"
    everyone += "<td>–</td><td>–</td></tr>"
    assert everyone in text


def test_a_quiet_night_against_training_says_no_drift_and_below_both_thresholds():
    header = _header(
        verdict=drift_verdict(0.01, 0.0, None, THRESHOLDS),
        psi=0.01,
        drift_share=0.0,
        drifted_features=[],
        reference="training",
        reference_text="the training snapshot of model v3 (trained on data as of 2026-11-01)",
    )

    text = drift_page.header_html(header)

    assert "against the training data</h1>" in text
    assert ">no drift</span>: segment-share PSI <b>0.010</b> (below the threshold 0.2" in text
    assert "<b>0 of 2</b> features drifted (0%: none; below the threshold 50%" in text


def test_the_header_opens_the_body_of_evidentlys_page_and_titles_it():
    page = "<html><head><meta charset='utf-8'></head><body><div id='root'></div></body></html>"

    out = drift_page.with_header(page, _header())

    assert out.startswith("<html><head>\n<title>Drift of run 7 (as of 2026-11-28) against the previous run</title>")
    assert out.index(f'<div id="{drift_page.HEADER_ID}"') < out.index("<div id='root'>")


def test_per_segment_columns_are_named_for_a_reader():
    assert drift_page.segment_column_label("S2 Loyal", "recency_days") == "S2 Loyal: recency (days)"
    assert drift_page.feature_label("annual_income") == "annual_income"


def test_a_risen_inactive_share_is_named_first_in_the_verdict_and_inactive_is_a_row_of_all_customers():
    header = _header(
        psi=5.406196,
        verdict=drift_verdict(5.406196, 0.5, InactiveShift(0.0, 1 / 3), THRESHOLDS),
        shares=[
            SegmentShare("S1 Champions", 1 / 3, 1 / 3, 0.0),
            SegmentShare("S2 Loyal", 2 / 3, 1 / 3, 0.231049),
            SegmentShare("inactive", 0.0, 1 / 3, 2.703098),
        ],
        inactive=drift_page.InactiveVerdict("inactive 0.0 % → 33.3 %", 100 / 3, 5.0),
        customers_now=90,
        customers_then=84,
        new_since_reference="6 new since the reference (6.7 % of now)",
    )

    text = drift_page.header_html(header)

    verdict = text[text.index("<th>verdict</th>") :]
    assert verdict.startswith(
        '<th>verdict</th><td class="text"><span class="drifted">DRIFTED</span>: <b class="drifted">inactive 0.0 % '
        "→ 33.3 %</b> (+33.3 pp, at or above the threshold 5 pp, SEGFLOW_DRIFT_INACTIVE_RISE); segment-share PSI "
        "<b>5.406</b>"
    )
    assert "<h3>Segments: share of all customers</h3>" in text
    assert "<tr><th>inactive</th><td>0.0%</td><td>33.3%</td><td>+33.3 pp</td><td>2.7031</td></tr>" in text
    customers = '<tr><th>customers</th><td class="text">90 now, 84 in the reference; 6 new since the reference '
    assert customers + "(6.7 % of now)</td></tr>" in text


def test_an_inactive_share_below_the_threshold_is_reported_but_not_in_red():
    header = _header(
        inactive=drift_page.InactiveVerdict("inactive 33.3 % → 28.6 %", -4.761905, 5.0),
        verdict=drift_verdict(0.231049, 0.5, InactiveShift(1 / 3, 2 / 7), THRESHOLDS),
    )

    text = drift_page.header_html(header)

    assert "<b>inactive 33.3 % → 28.6 %</b> (-4.8 pp, below the threshold 5 pp, SEGFLOW_DRIFT_INACTIVE_RISE); " in text

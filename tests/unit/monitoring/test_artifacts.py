"""The Prefect artifact of the drift verdicts: the inactive share and the new customers beside PSI, by hand."""

from datetime import date
from pathlib import Path

from segflow.monitoring.artifacts import drift_markdown
from segflow.monitoring.drift_report import DriftResult
from segflow.monitoring.drift_shares import InactiveShift, Populations, share_drift
from segflow.monitoring.verdict import DriftThresholds

THRESHOLDS = DriftThresholds(segment_psi=0.2, feature_share=0.5, inactive_rise_points=5.0)


def test_the_drift_artifact_names_a_risen_inactive_share_first_and_counts_new_customers():
    shares = share_drift({"S1": 2 / 3, "inactive": 1 / 3}, {"S1": 1.0})
    result = DriftResult(
        "training",
        0.0,
        shares,
        THRESHOLDS,
        html_path=Path("/r/run-2-vs-training.html"),
        inactive=InactiveShift(0.0, 1 / 3),
        populations=Populations(customers_now=90, customers_then=90, new_since_reference=0),
    )

    text = drift_markdown([result], date(2025, 4, 30))

    # PSI by hand: (2/3 - 1) ln(2/3) + (1/3 - 1e-4) ln((1/3) / 1e-4) = 0.135155 + 2.703098.
    row = (
        "| training | yes: inactive 0.0 % → 33.3 %, segment PSI 2.838, 0% of features drifted "
        "| inactive 0.0 % → 33.3 % | 2.838 | 0% | 0 (0.0 % of now) | file:///r/run-2-vs-training.html |"
    )
    assert row in text.splitlines()


def test_a_model_without_a_training_run_says_inactive_was_not_compared():
    result = DriftResult(
        "training", 0.0, share_drift({"S1": 1.0}, {"S1": 1.0}), THRESHOLDS, html_path=Path("/r/x.html")
    )

    text = drift_markdown([result], date(2025, 4, 30))

    assert "| training | no | not compared | 0.000 | 0% |  | file:///r/x.html |" in text.splitlines()

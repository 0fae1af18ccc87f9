"""The drift verdict by hand: which rule fires at its threshold, the inactive rise named first, one line of text."""

import pytest

from segflow.monitoring.drift_shares import InactiveShift
from segflow.monitoring.verdict import DriftThresholds, drift_verdict, figures_text, stored_verdict_text, verdict_word
from segflow.settings import Settings

THRESHOLDS = DriftThresholds(segment_psi=0.2, feature_share=0.5, inactive_rise_points=5.0)


def test_a_quiet_run_has_no_reason_and_reports_its_figures():
    verdict = drift_verdict(0.199999, 0.4, InactiveShift(0.02, 0.069), THRESHOLDS)

    assert not verdict.drifted and verdict.reasons == () and verdict.word == "no drift"
    assert verdict.text == "segment PSI 0.200, 40% of features drifted"


@pytest.mark.parametrize(
    ("psi", "share", "inactive", "reasons"),
    [
        (0.2, 0.0, None, ("segment PSI",)),  # at the threshold is drift
        (0.0, 0.5, None, ("drifted features",)),
        (0.0, 0.0, InactiveShift(0.02, 0.07), ("inactive share",)),  # 5 points exactly
        (3.1, 1.0, InactiveShift(0.0, 1 / 3), ("inactive share", "segment PSI", "drifted features")),
    ],
)
def test_each_rule_makes_a_drift_at_its_threshold(psi, share, inactive, reasons):
    verdict = drift_verdict(psi, share, inactive, THRESHOLDS)

    assert verdict.drifted and verdict.reasons == reasons and verdict.word == "drifted"


def test_a_risen_inactive_share_is_named_first_and_a_fallen_one_not_at_all():
    risen = drift_verdict(5.406196, 0.0, InactiveShift(0.0, 1 / 3), THRESHOLDS)
    fallen = drift_verdict(0.3, 0.0, InactiveShift(1 / 3, 2 / 7), THRESHOLDS)

    assert risen.text == "inactive 0.0 % → 33.3 %, segment PSI 5.406, 0% of features drifted"
    assert fallen.drifted and not fallen.inactive_risen
    assert fallen.text == "segment PSI 0.300, 0% of features drifted"


def test_no_inactive_comparison_is_never_an_inactive_verdict():
    verdict = drift_verdict(0.0, 0.0, None, DriftThresholds(0.2, 0.5, inactive_rise_points=-100.0))

    assert not verdict.drifted and not verdict.inactive_risen


def test_the_thresholds_come_from_the_settings_and_stored_verdicts_read_back():
    settings = Settings(drift_psi_threshold=0.3, drift_share_threshold=0.4, drift_inactive_rise=7.5)

    assert DriftThresholds.from_settings(settings) == DriftThresholds(0.3, 0.4, 7.5)
    assert verdict_word(True) == "drifted" and verdict_word(False) == "no drift"
    assert figures_text(0.4624, 1 / 3) == "segment PSI 0.462, 33% of features drifted"
    assert stored_verdict_text({"verdict": "segment PSI 0.462, 33% of features drifted"}) == figures_text(0.4624, 1 / 3)
    assert stored_verdict_text({"segments": []}) is None  # stored before the verdict was kept

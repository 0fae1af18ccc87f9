"""Whether a run drifted against a reference, why, and the one line that says so: one pure function.

A run has drifted when the share of inactive customers rose by the inactive threshold (share points) or more (a
verdict of its own, named first: "inactive 0.3 % → 59.6 %"), when the segment-share PSI reaches its threshold, or
when the share of drifted features reaches its threshold. Every surface takes the verdict from `drift_verdict`:
the drift stage (and so the decision to retrain), the drift page's header, the Prefect artifact and event; the
CLI, the app and the segment report read what it stored in segflow.drift_reports (dataset_drift, and in details
'verdict' and the inactive share's 'risen'). So "drifted" means one thing everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from segflow.monitoring.drift_shares import InactiveShift
from segflow.settings import Settings

DRIFTED, NO_DRIFT = "drifted", "no drift"


@dataclass(frozen=True)
class DriftThresholds:
    """Where drift starts: segment-share PSI, share of drifted features, rise of the inactive share (points)."""

    segment_psi: float
    feature_share: float
    inactive_rise_points: float

    @classmethod
    def from_settings(cls, settings: Settings) -> DriftThresholds:
        """SEGFLOW_DRIFT_PSI_THRESHOLD, SEGFLOW_DRIFT_SHARE_THRESHOLD and SEGFLOW_DRIFT_INACTIVE_RISE."""
        return cls(settings.drift_psi_threshold, settings.drift_share_threshold, settings.drift_inactive_rise)


@dataclass(frozen=True)
class DriftVerdict:
    """Whether a run drifted, which rules said so, and the one-line text every surface prints."""

    drifted: bool
    inactive_risen: bool
    psi_reached: bool
    features_reached: bool
    text: str  # 'inactive 0.0 % → 33.3 %, segment PSI 0.462, 0% of features drifted'

    @property
    def reasons(self) -> tuple[str, ...]:
        """The rules that made the drift, the inactive rise first: ('inactive share', 'segment PSI', ...)."""
        fired = (
            ("inactive share", self.inactive_risen),
            ("segment PSI", self.psi_reached),
            ("drifted features", self.features_reached),
        )
        return tuple(name for name, hit in fired if hit)

    @property
    def word(self) -> str:
        """'drifted' or 'no drift'."""
        return verdict_word(self.drifted)


def verdict_word(drifted: bool) -> str:
    """'drifted' or 'no drift': how every surface names a (stored) verdict."""
    return DRIFTED if drifted else NO_DRIFT


def figures_text(segment_psi: float, drift_share: float) -> str:
    """'segment PSI 0.462, 0% of features drifted': the figures every verdict reports."""
    return f"segment PSI {segment_psi:.3f}, {drift_share:.0%} of features drifted"


def inactive_risen(shift: InactiveShift, threshold_points: float) -> bool:
    """Whether the inactive share rose by `threshold_points` share points or more."""
    return shift.rise_points >= threshold_points


def drift_verdict(
    segment_psi: float, drift_share: float, inactive: InactiveShift | None, thresholds: DriftThresholds
) -> DriftVerdict:
    """The verdict from the figures: inactive None when the reference cannot say (a model with no training run)."""
    risen = inactive is not None and inactive_risen(inactive, thresholds.inactive_rise_points)
    psi_reached = segment_psi >= thresholds.segment_psi
    features_reached = drift_share >= thresholds.feature_share
    figures = figures_text(segment_psi, drift_share)
    text = f"{inactive.text()}, {figures}" if risen and inactive is not None else figures
    return DriftVerdict(risen or psi_reached or features_reached, risen, psi_reached, features_reached, text)


def stored_verdict_text(details: dict[str, Any]) -> str | None:
    """The verdict line `drift_verdict` stored in a drift report's details (None for reports stored before it was
    kept)."""
    text = details.get("verdict")
    return None if text is None else str(text)

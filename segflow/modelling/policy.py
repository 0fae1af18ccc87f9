"""The retraining policy: when a run trains a model, and when a trained model becomes champion.

Pure decisions from facts the pipeline reads (no database here), so every rule has a direct test:

- No champion yet, or a champion on other features: train a model; it becomes champion unless the run is
  dated before the champion's training date.
- The champion only moves forward: a run dated before the champion's training date scores with the
  champion and trains nothing unless retraining was asked for, and what it trains never becomes champion
  on its own (it stays a candidate that can be promoted by hand).
- Age: a challenger is trained when the last training on these features (the champion's or a challenger's
  that lost) was more than `max_age_days` before the run, so a losing challenger resets the clock.
- Drift: checked unless a challenger lost within the last `retrain_cooldown_days` (the same drift would
  only train the same loser again); a drifted run trains a challenger.
- The gate: a challenger wins when its silhouette beats the champion's by the margin, or is within the
  margin and it segments the run's customers alike (adjusted Rand index at least `min_ari`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class Champion:
    """What the policy needs to know about the current champion."""

    version: int
    as_of: date
    features: tuple[str, ...]


@dataclass(frozen=True)
class TrainingDecision:
    """Whether a run trains; if so whether the model must beat the champion, whether it may become champion
    at all, and why. `check_drift`: nothing else decided, the drift check decides."""

    train: bool
    gated: bool
    may_promote: bool
    check_drift: bool
    reasons: tuple[str, ...]


def decide_training(
    mode: str,
    as_of: date,
    features: tuple[str, ...],
    champion: Champion | None,
    last_training: date | None,
    max_age_days: int,
    cooldown_days: int,
) -> TrainingDecision:
    """What a run does about its model, before any drift check (mode: auto, always or never).

    last_training: the latest training as-of date on these features at or before the run (champion or
    challenger); None when there is none.
    """
    if champion is None:
        return TrainingDecision(True, False, True, False, ("no champion model yet",))
    if mode == "never":
        return TrainingDecision(False, False, False, False, (f"retrain='never': champion v{champion.version} kept",))
    older = as_of < champion.as_of
    before = f"as of {as_of} is before champion v{champion.version}'s training date {champion.as_of}"
    if champion.features != features:
        reasons = [f"champion v{champion.version} uses features {list(champion.features)}, this run {list(features)}"]
        if older:
            reasons.append(f"{before}: the new model stays a candidate")
        return TrainingDecision(True, False, not older, False, tuple(reasons))
    if older:
        if mode == "always":
            return TrainingDecision(
                True, False, False, False, ("retraining was requested", f"{before}: the new model stays a candidate")
            )
        return TrainingDecision(False, False, False, False, (f"{before}: scored with the champion, nothing trained",))
    reasons = ["retraining was requested"] if mode == "always" else []
    since = last_training if last_training is not None and last_training >= champion.as_of else champion.as_of
    age = (as_of - since).days
    if age > max_age_days:
        trained = (
            f"champion v{champion.version} was trained"
            if since == champion.as_of
            else "the last challenger was trained"
        )
        reasons.append(f"{trained} {_days(age)} before this run (max {max_age_days})")
    if reasons:
        return TrainingDecision(True, True, True, False, tuple(reasons))
    if age < cooldown_days and since != champion.as_of:
        return TrainingDecision(
            False,
            False,
            False,
            False,
            (
                f"champion v{champion.version} kept: a challenger was trained {_days(age)} ago "
                f"(cool-down {cooldown_days} days); drift not checked",
            ),
        )
    # The champion's own age, always: the age clock (`age`) may run from a later challenger that lost.
    current = f"champion v{champion.version} is current: {_days((as_of - champion.as_of).days)} old"
    if since != champion.as_of:
        current += f"; the last challenger was trained {_days(age)} before this run"
    return TrainingDecision(False, True, True, True, (current,))


def _days(count: int) -> str:
    return "1 day" if count == 1 else f"{count} days"


@dataclass(frozen=True)
class Challenge:
    """The gate between a challenger and the champion, measured on the same customers."""

    challenger: int
    champion: int
    silhouette: float
    champion_silhouette: float
    adjusted_rand_index: float
    margin: float
    min_ari: float

    @property
    def promoted(self) -> bool:
        if self.silhouette >= self.champion_silhouette + self.margin:
            return True
        return self.silhouette >= self.champion_silhouette - self.margin and self.adjusted_rand_index >= self.min_ari

    @property
    def verdict(self) -> str:
        """One sentence a reader of segflow.runs understands."""
        measured = (
            f"silhouette {self.silhouette} vs champion {self.champion_silhouette}, "
            f"adjusted Rand index {self.adjusted_rand_index} with the champion's segments"
        )
        if self.silhouette >= self.champion_silhouette + self.margin:
            why = f"better by at least the margin {self.margin}"
        elif self.silhouette < self.champion_silhouette - self.margin:
            why = f"lower by more than the margin {self.margin}"
        elif self.adjusted_rand_index >= self.min_ari:
            why = f"as good within the margin {self.margin} and segments alike (ARI >= {self.min_ari})"
        else:
            why = f"re-segments the customers (ARI < {self.min_ari}) without being better by the margin {self.margin}"
        verdict = "promoted" if self.promoted else "not promoted"
        return f"challenger v{self.challenger} {verdict}: {measured}; {why}"

    def as_dict(self) -> dict[str, object]:
        return {
            "challenger": self.challenger,
            "champion": self.champion,
            "silhouette": self.silhouette,
            "champion_silhouette": self.champion_silhouette,
            "adjusted_rand_index": self.adjusted_rand_index,
            "margin": self.margin,
            "min_ari": self.min_ari,
            "promoted": self.promoted,
            "verdict": self.verdict,
        }

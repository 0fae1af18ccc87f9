"""One customer at a time: their segment now and over time, and what-if scoring with a model."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from segflow.data import features as feature_store
from segflow.errors import SegflowError
from segflow.modelling.scoring import Scorer, value_problem
from segflow.storage.db import Database, records_named, run_named


@dataclass(frozen=True)
class CustomerView:
    """A customer's row in current_segments (None if not in the current run) and their rows in segment_history, with
    the columns of queries/customers/customer_current_segment and customer_segment_history; the current model's
    features with the customer's values in that run, and the other attributes loaded for them."""

    customer_id: str
    current: dict[str, Any] | None
    history: list[dict[str, Any]]
    model_features: dict[str, Any] = field(default_factory=dict)
    other_attributes: dict[str, Any] = field(default_factory=dict)

    @property
    def uses_attributes(self) -> bool:
        """Whether the current model clusters on loaded customer attributes (not only on RFM features)."""
        return any(name not in feature_store.RFM_FEATURES for name in self.model_features)


@dataclass(frozen=True)
class Prediction:
    """What segment a customer with these features would get from a model version."""

    segment_key: str
    segment_name: str
    distance: float
    confidence: float
    model_version: int
    action: str
    features: dict[str, float]
    scores: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "segment_key": self.segment_key,
            "segment_name": self.segment_name,
            "distance": self.distance,
            "confidence": self.confidence,
            "model_version": self.model_version,
            "action": self.action,
            "features": self.features,
            **self.scores,
        }


@dataclasses.dataclass(eq=False)
class UnknownCustomer(SegflowError):
    """No published run has segmented this customer."""

    template = "unknown customer {customer_id!r}: no published run has segmented them"
    customer_id: str


@dataclasses.dataclass(eq=False)
class FeatureValueInvalid(SegflowError):
    """A what-if feature value that cannot be scored (not finite, too large, below the feature's bound)."""

    template = "{problem}"
    feature: str
    value: float
    problem: str  # the scoring rule's sentence, naming the feature and the value


def customer_view(db: Database, customer_id: str, model_features: bool = True) -> CustomerView:
    """The customer's current segment and features, and one row per published run they appear in.

    model_features=False leaves out the values of the features the model uses (attributes included): they come
    from segflow's own tables, which the read-only BI login (`segflow api`) may not read."""
    with db.transaction() as cur:  # one snapshot: a publish in between cannot split them
        current = records_named(cur, "queries/customers/customer_current_segment", {"customer_id": customer_id})
        history = records_named(cur, "queries/customers/customer_segment_history", {"customer_id": customer_id})
        features = (
            run_named(cur, "queries/customers/customer_model_features", {"customer_id": customer_id})
            if model_features
            else []
        )
    if not current and not history:
        raise UnknownCustomer(customer_id)
    used: dict[str, Any] = {}
    other_attributes: dict[str, Any] = {}
    if features:
        names, attributes, columns = features[0]
        values = attributes | columns  # a name that is an RFM feature means the column (features.FeatureSet)
        used = {name: values.get(name) for name in names}
        other_attributes = {name: value for name, value in attributes.items() if name not in used}
    return CustomerView(
        customer_id=customer_id,
        current=current[0] if current else None,
        history=history,
        model_features=used,
        other_attributes=other_attributes,
    )


def what_if(db: Database, values: dict[str, float], version: int | None = None) -> Prediction:
    """The segment a customer with these feature values would get (default model: the champion)."""
    _check_values(values)
    scorer = Scorer.load(db, version)  # NoChampion, or UnknownModelVersion for a version that does not exist
    scorer.check_columns(list(values))
    given = {name: float(values[name]) for name in scorer.input_columns(list(values))}
    scored = scorer.score(pd.DataFrame([given])).rows.iloc[0]
    return Prediction(
        segment_key=scored["segment_key"],
        segment_name=scored["segment_name"],
        distance=float(scored["distance"]),
        confidence=float(scored["confidence"]),
        model_version=scorer.version,
        action=scored["action"],
        features={f: float(values[f]) for f in scorer.features},
        scores=_rfm_scores(scorer.cut_points, values),
    )


def _check_values(values: dict[str, float]) -> None:
    for name, value in values.items():
        problem = value_problem(name, value)
        if problem is not None:
            raise FeatureValueInvalid(name, value, problem)


def _rfm_scores(cuts: dict[str, list[float]], values: dict[str, float]) -> dict[str, int]:
    """R/F/M scores 1-5 with the model's own cut points (the Scorer loaded them), when all three values are given."""
    if not cuts or not all(f in values for f in feature_store.SCORED_FEATURES):
        return {}
    frame = pd.DataFrame([{f: float(values[f]) for f in feature_store.SCORED_FEATURES}])
    scores = feature_store.rfm_scores(frame, cuts).iloc[0]
    return {column: int(scores[column]) for column in scores.index}

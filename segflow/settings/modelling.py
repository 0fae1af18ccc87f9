"""How a model is trained, chosen, kept or replaced: features, the candidates and their gates, scoring, and the
retraining policy (age, champion/challenger)."""

from __future__ import annotations

import json
from typing import Annotated

from pydantic import BaseModel, Field, field_validator
from pydantic_settings import NoDecode

from segflow.modelling.algorithms import ALGORITHMS, DEFAULT_ALGORITHMS, SPECTRAL_SAMPLE


class ModellingSettings(BaseModel):
    """Features, model selection, scoring and retraining."""

    features: list[str] = Field(
        default=["recency_days", "frequency", "monetary"],
        description="Features the model clusters on: RFM features and/or customer attribute columns.",
    )
    max_train_customers: int = Field(
        default=200_000, ge=100, description="Customers in the deterministic training sample, at most."
    )
    silhouette_sample: int = Field(default=20_000, ge=100, description="Customers used to compute silhouette.")
    min_segment_share: float = Field(
        default=0.03, gt=0, lt=0.5, description="Smallest segment share a model may have; below it is degenerate."
    )
    min_clusters: int = Field(default=3, ge=2, description="Fewest segments a candidate may have.")
    max_clusters: int = Field(default=8, ge=2, le=12, description="Most segments a candidate may have.")
    algorithms: Annotated[list[str], NoDecode] = Field(
        default=list(DEFAULT_ALGORITHMS),
        description="Clustering algorithms whose candidates compete, comma-separated or a JSON list: "
        f"{', '.join(ALGORITHMS)}. spectral is off by default (it fits on spectral_sample customers).",
    )
    spectral_sample: int = Field(
        default=SPECTRAL_SAMPLE,
        ge=100,
        le=5_000,
        description="Customers spectral clustering is fitted on: it builds an n x n affinity matrix (5,000 is "
        "200 MB), so it is bounded; every customer is then assigned to the nearest centroid.",
    )
    pca_components: float = Field(
        default=0,
        ge=0,
        description="PCA after standardising, in model space: 0 off; a whole number of components (at most the "
        "number of features); or a share of variance to keep, e.g. 0.95.",
    )
    score_chunk_rows: int = Field(default=100_000, ge=1_000, description="Customers scored per chunk.")
    seed: int = Field(default=42, ge=0, description="Seed for sampling and model fitting.")
    max_age_days: int = Field(
        default=30,
        ge=1,
        description="Train a challenger when the last training (champion or challenger) is more than this many "
        "days before the run.",
    )
    challenger_margin: float = Field(
        default=0.02,
        ge=0,
        description="Silhouette margin of the champion/challenger gate: a challenger that scores this much more "
        "than the champion wins; one within the margin wins only if it segments alike (challenger_min_ari).",
    )
    challenger_min_ari: float = Field(
        default=0.5,
        ge=-1,
        le=1,
        description="Adjusted Rand index with the champion's segments that a challenger within the silhouette "
        "margin needs to win: a model that re-segments customers must be clearly better.",
    )
    retrain_cooldown_days: int = Field(
        default=14,
        ge=0,
        description="After a challenger loses, drift is not checked (and trains nothing) for this many days.",
    )

    @field_validator("algorithms", mode="before")
    @classmethod
    def _algorithms_as_list(cls, value: object) -> object:
        # From the environment it is text: "kmeans,spectral" or a JSON list like the other list settings.
        if isinstance(value, str):
            text = value.strip()
            return json.loads(text) if text.startswith("[") else [a.strip() for a in text.split(",") if a.strip()]
        return value

    @field_validator("algorithms", mode="after")
    @classmethod
    def _algorithms_are_known(cls, value: list[str]) -> list[str]:
        unknown = [a for a in value if a not in ALGORITHMS]
        if unknown or not value:
            problem = f"unknown {', '.join(map(repr, unknown))}" if unknown else "none chosen"
            raise ValueError(f"{problem}; choose among {', '.join(ALGORITHMS)}")
        return value

    @field_validator("pca_components", mode="after")
    @classmethod
    def _pca_is_a_count_or_a_share(cls, value: float) -> float:
        if value >= 1 and value != int(value):
            raise ValueError(f"must be 0 (off), a whole number of components, or a share below 1; got {value:g}")
        return value

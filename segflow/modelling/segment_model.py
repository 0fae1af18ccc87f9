"""The fitted segmentation model: model space (log1p, scaling, optional PCA), its centroids, and how it assigns
customers; what a model version's artifact holds.

The classes here are pickled into every artifact by their module path: moving or renaming one makes earlier
artifacts unloadable, which is why `load_artifact` also knows the path they were saved under before.
"""

from __future__ import annotations

import sys
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.decomposition import PCA
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from segflow.errors import SegflowError, joined

# Where these classes lived when the artifacts of segflow before its domain packages were saved.
LEGACY_ARTIFACT_MODULE = "segflow.model"


class TrainingRefused(SegflowError):
    """A model cannot be trained or used on the data or options given."""


@dataclass(eq=False)
class FeaturesLacking(TrainingRefused):
    """The data given to a model, or its training sample, lacks features the model uses."""

    missing: list[str]
    training: bool = False

    def __str__(self) -> str:
        if self.training:
            return f"the training sample lacks feature(s) {joined(self.missing)}"
        return f"the model needs feature(s) {joined(self.missing)}, which the data lacks"


class LogSkewed(BaseEstimator, TransformerMixin):
    """log1p on the given columns (long-tailed, non-negative features); the rest pass through."""

    def __init__(self, columns: tuple[int, ...] = ()) -> None:
        self.columns = columns

    def fit(self, X: np.ndarray, y: Any = None) -> LogSkewed:  # X: sklearn's naming
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        out = np.array(X, dtype=float, copy=True)
        if self.columns:
            idx = list(self.columns)
            out[:, idx] = np.log1p(np.clip(out[:, idx], 0, None))
        return out

    def inverse_transform(self, X: np.ndarray) -> np.ndarray:
        out = np.array(X, dtype=float, copy=True)
        if self.columns:
            idx = list(self.columns)
            out[:, idx] = np.expm1(out[:, idx])
        return out


def nearest_centroid(z: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    """Index of the nearest centroid for each row of model-space data z."""
    return ((z[:, None, :] - centroids[None, :, :]) ** 2).sum(axis=2).argmin(axis=1)


class _NearestCentroid(BaseEstimator):
    """The clustering step for algorithms without predict: nearest centroid in model space."""

    def __init__(self, centroids: np.ndarray | None = None) -> None:
        self.centroids = centroids

    def fit(self, X: np.ndarray, y: Any = None) -> _NearestCentroid:
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        if self.centroids is None:  # None only as sklearn's default for clone(); select_model always sets it
            raise ValueError("_NearestCentroid has no centroids to assign customers to")
        return nearest_centroid(X, self.centroids)


def choose_log_features(frame: pd.DataFrame, features: list[str]) -> list[str]:
    """Features to log1p: non-negative with skewness above 1 (long right tail)."""
    chosen = []
    for name in features:
        column = frame[name].astype(float)
        if column.min() >= 0 and column.skew() > 1:
            chosen.append(name)
    return chosen


def preprocessor(features: list[str], log_features: list[str], pca_components: float = 0, seed: int = 42) -> Pipeline:
    """The unfitted steps into model space: log1p on log_features, standard scaling, then PCA when asked for."""
    columns = tuple(features.index(f) for f in log_features)
    steps: list[tuple[str, Any]] = [("log", LogSkewed(columns)), ("scale", StandardScaler())]
    if pca_components > 0:
        # A whole number is a count of components; below 1, the share of variance to keep.
        n_components: float = int(pca_components) if pca_components >= 1 else pca_components
        steps.append(("pca", PCA(n_components=n_components, svd_solver="full", random_state=seed)))
    return Pipeline(steps)


@dataclass
class SegmentModel:
    """A fitted segmentation: preprocessing, clusterer, centroids, and segment keys per cluster."""

    features: list[str]
    log_features: list[str]
    pipeline: Pipeline
    algorithm: str
    params: dict[str, Any]
    centroids: np.ndarray  # model space, one row per cluster label 0..k-1
    segment_keys: list[str] = field(default_factory=list)  # label -> segment key

    @property
    def k(self) -> int:
        return len(self.centroids)

    @property
    def pca(self) -> PCA | None:
        """The PCA step of model space, when the model has one."""
        return self.pipeline.named_steps.get("pca")

    def pca_summary(self) -> dict[str, Any] | None:
        """The PCA step as stored with the model version: setting, components kept, variance each explains."""
        if self.pca is None:
            return None
        ratios = [round(float(r), 5) for r in self.pca.explained_variance_ratio_]
        return {
            "n_components": self.pca.n_components,
            "components": int(self.pca.n_components_),
            "explained_variance_ratio": ratios,
            "explained_variance": round(sum(ratios), 5),
        }

    def standardised_centroids(self) -> np.ndarray:
        """Each cluster's centroid per feature in standardised units (before any PCA), one column per feature."""
        # With PCA, model space has components, not features: names and profiles need the features back.
        return self.centroids if self.pca is None else self.pca.inverse_transform(self.centroids)

    def to_model_space(self, frame: pd.DataFrame) -> np.ndarray:
        """Features of customers in model space (log1p where chosen, then standardised, then any PCA)."""
        missing = [f for f in self.features if f not in frame.columns]
        if missing:
            raise FeaturesLacking(missing)
        return self.pipeline[:-1].transform(frame[self.features].to_numpy(dtype=float))

    def assign(self, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(cluster label, distance to its centroid, confidence) per customer."""
        z = self.to_model_space(frame)
        distances = np.sqrt(((z[:, None, :] - self.centroids[None, :, :]) ** 2).sum(axis=2))
        if self.algorithm == "gaussian_mixture":
            probabilities = self.pipeline[-1].predict_proba(z)
            labels = probabilities.argmax(axis=1)
            confidence = probabilities.max(axis=1)
        else:
            order = np.argsort(distances, axis=1)
            labels = order[:, 0]
            nearest = np.take_along_axis(distances, order[:, :1], axis=1)[:, 0]
            second = np.take_along_axis(distances, order[:, 1:2], axis=1)[:, 0]
            # Margin between the nearest and second-nearest centroid: 0 on a border, 1 on a centroid.
            confidence = np.where(second > 0, (second - nearest) / second, 1.0)
        distance = distances[np.arange(len(z)), labels]
        return labels, distance, confidence

    def centroids_original_units(self) -> pd.DataFrame:
        """Each cluster's centroid mapped back through scaling and log1p, in the features' own units."""
        scaler: StandardScaler = self.pipeline.named_steps["scale"]
        logged: LogSkewed = self.pipeline.named_steps["log"]
        raw = logged.inverse_transform(scaler.inverse_transform(self.standardised_centroids()))
        return pd.DataFrame(raw, columns=self.features)


def load_artifact(path: Path) -> SegmentModel:
    """The model a joblib artifact holds, also one saved while these classes lived in segflow.model."""
    try:
        return joblib.load(path)
    except ModuleNotFoundError as missing:
        if missing.name != LEGACY_ARTIFACT_MODULE:
            raise
    # Unpickling finds a class by importing its module and reading the name from it: under the old path, a module
    # holding the three pickled classes is all it needs.
    if sys.modules.get(LEGACY_ARTIFACT_MODULE) is None:
        legacy = types.ModuleType(LEGACY_ARTIFACT_MODULE, "Classes of artifacts saved before segflow.model was split.")
        for pickled in (SegmentModel, LogSkewed, _NearestCentroid):
            setattr(legacy, pickled.__name__, pickled)
        sys.modules[LEGACY_ARTIFACT_MODULE] = legacy
    return joblib.load(path)

"""How the model is chosen: which algorithm and how many segments (k), by quality gates and a tie-break.

Pure computation: frames in, fitted models and metrics out. The rule, in full (model space is in
segflow/modelling/segment_model.py, the candidates are fitted in segflow/modelling/candidates.py):

1. Features with a long right tail (non-negative, skewness > 1 in the training sample) are log1p-
   transformed; then every feature is standardised. This is "model space".
   Optionally (`pca_components`) a PCA follows the scaler: model space is then its components.
2. Candidates (the `algorithms` that compete, all by default but spectral): KMeans for k in
   [min_clusters, max_clusters] (plus MiniBatchKMeans when the sample is large), GaussianMixture for
   the same k, Agglomerative (Ward) on a subsample, spectral clustering on a smaller subsample, and
   DBSCAN with eps from the nearest-neighbour distances. Algorithms without `predict` assign customers
   to the nearest centroid of their clusters in model space.
3. Every candidate is scored on the same evaluation sample (at most `silhouette_sample` customers):
   Davies-Bouldin and Calinski-Harabasz on all of it, silhouette (quadratic in cost) first on 4,000
   customers to screen, then on the whole evaluation sample for the four best that pass the gates;
   segment shares and the within-cluster sum of squares (WCSS, for the elbow curve) come from the
   whole training sample.
4. Gates: k within [min_clusters, max_clusters] and the smallest segment at least `min_segment_share`
   of customers. A solution that isolates a few dozen big spenders scores a high silhouette but fails
   the share gate: it is useless to marketing.
5. Among the finalists (candidates that pass, best screened silhouette), the highest silhouette
   wins; candidates within 0.01 of it are compared by Davies-Bouldin (lower is better), then by
   fewer segments.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn import config_context
from sklearn.metrics import calinski_harabasz_score, davies_bouldin_score, silhouette_score
from sklearn.pipeline import Pipeline

from segflow.errors import ConfigError, joined
from segflow.modelling.algorithms import ALGORITHMS, DEFAULT_ALGORITHMS, SPECTRAL_SAMPLE
from segflow.modelling.candidates import Candidate, fit_candidates, labels_of
from segflow.modelling.segment_model import (
    FeaturesLacking,
    SegmentModel,
    TrainingRefused,
    _NearestCentroid,
    choose_log_features,
    preprocessor,
)

SILHOUETTE_TIE = 0.01
SCREEN_SAMPLE = 4_000  # silhouette for screening every candidate
SILHOUETTE_BLOCK_MB = 64  # memory per block of pairwise distances while computing silhouette
FINALISTS = 4  # candidates whose silhouette is then computed on the full evaluation sample
SELECTION_RULE = (
    "gates: k in range and smallest segment share >= min_segment_share; "
    "then highest silhouette, near-ties (<= 0.01) by lower Davies-Bouldin, then fewer segments"
)


@dataclass(eq=False)
class NoCandidatePassed(TrainingRefused):
    """Every candidate failed a quality gate; `reasons` holds the first six as (algorithm, k, why)."""

    reasons: list[tuple[str, int, str | None]]

    def __str__(self) -> str:
        listed = "; ".join(f"{algorithm} k={k}: {why}" for algorithm, k, why in self.reasons)
        return f"no candidate model passed the quality gates ({listed})"


@dataclass(eq=False)
class UnknownAlgorithms(ConfigError):
    """Algorithms asked for that segflow does not know, or none at all."""

    given: list[str]
    unknown: list[str]
    known: list[str]

    def __str__(self) -> str:
        what = "unknown " + joined(self.unknown) if self.unknown else "none chosen"
        return f"algorithms {self.given}: {what}; choose among {joined(self.known)}"


@dataclass(eq=False)
class PcaComponentsInvalid(ConfigError):
    """pca_components is neither a whole number up to the feature count nor a share of variance below 1."""

    template = (
        "pca_components {value:g} must be a whole number of components at most the number of "
        "features ({features}), or a share of variance below 1"
    )
    value: float
    features: int


@dataclass(eq=False)
class TooFewCustomers(TrainingRefused):
    """The training sample is smaller than the model needs."""

    template = "only {customers} customers to train on; at least {needed} needed"
    customers: int
    needed: int


@dataclass(eq=False)
class ClusterRangeInvalid(ConfigError):
    """min_clusters above max_clusters."""

    template = "min_clusters {min_clusters} is above max_clusters {max_clusters}"
    min_clusters: int
    max_clusters: int


def evaluate(candidates: list[Candidate], z: np.ndarray, eval_size: int, k_range: range, min_share: float) -> None:
    """Fill each candidate's metrics and gate verdict (in place).

    Silhouette costs O(n^2): every candidate is screened on SCREEN_SAMPLE customers, and the
    FINALISTS best screened candidates that pass the gates get it on the full evaluation sample.
    """
    z_eval = z[:eval_size]
    screen = min(SCREEN_SAMPLE, eval_size)
    labels_eval_of: dict[int, np.ndarray] = {}
    for c in candidates:
        if c.rejected_because:
            continue
        labels_all = labels_of(c, z)
        centroids = c.fitted_centroids()
        shares = np.bincount(labels_all, minlength=len(centroids)) / len(labels_all)
        labels_eval = labels_all[:eval_size]
        c.metrics["min_share"] = round(float(shares.min()), 5)
        # On the whole training sample, like the shares, so the elbow curve compares k on the same customers.
        c.metrics["wcss"] = round(float(((z - centroids[labels_all]) ** 2).sum()), 3)
        if len(set(labels_eval[:screen])) < 2:
            c.rejected_because = "fewer than two segments on the evaluation sample"
            continue
        labels_eval_of[id(c)] = labels_eval
        c.metrics["silhouette"] = round(bounded_silhouette(z_eval[:screen], labels_eval[:screen]), 5)
        c.metrics["silhouette_sample"] = screen
        c.metrics["davies_bouldin"] = round(float(davies_bouldin_score(z_eval, labels_eval)), 5)
        c.metrics["calinski_harabasz"] = round(float(calinski_harabasz_score(z_eval, labels_eval)), 3)
        if c.k not in k_range:
            c.rejected_because = f"k={c.k} outside {k_range.start}..{k_range.stop - 1}"
        elif shares.min() < min_share:
            c.rejected_because = (
                f"smallest segment is {shares.min():.1%} of customers, below the {min_share:.0%} minimum"
            )
        else:
            c.passed = True
    if eval_size > screen:
        finalists = sorted((c for c in candidates if c.passed), key=lambda c: -c.metrics["silhouette"])[:FINALISTS]
        for c in finalists:
            c.metrics["silhouette"] = round(bounded_silhouette(z_eval, labels_eval_of[id(c)]), 5)
            c.metrics["silhouette_sample"] = eval_size
            c.metrics["finalist"] = True


def bounded_silhouette(z: np.ndarray, labels: np.ndarray) -> float:
    """sklearn's silhouette score, computed in small blocks of pairwise distances."""
    # sklearn computes the pairwise distances in blocks of `working_memory` MB (1 GB by default): at 20,000
    # customers that one block was most of training's 1.3 GB peak. Smaller blocks give the same score.
    with config_context(working_memory=SILHOUETTE_BLOCK_MB):
        return float(silhouette_score(z, labels))


def select(candidates: list[Candidate]) -> Candidate:
    """The winner among candidates that passed the gates (see the module docstring)."""
    passed = [c for c in candidates if c.passed]
    finalists = [c for c in passed if c.metrics.get("finalist")]
    passed = finalists or passed
    if not passed:
        raise NoCandidatePassed([(c.algorithm, c.k, c.rejected_because) for c in candidates[:6]])
    best = max(c.metrics["silhouette"] for c in passed)
    near = [c for c in passed if c.metrics["silhouette"] >= best - SILHOUETTE_TIE]
    return min(near, key=lambda c: (c.metrics["davies_bouldin"], c.k))


@dataclass
class Selection:
    """The outcome of model selection: the model, the winner's metrics, and every candidate's."""

    model: SegmentModel
    chosen: Candidate
    candidates: list[Candidate]
    gates: dict[str, Any] = field(default_factory=dict)


def select_model(
    sample: pd.DataFrame,
    features: list[str],
    *,
    min_clusters: int = 3,
    max_clusters: int = 8,
    min_share: float = 0.03,
    silhouette_sample: int = 20_000,
    seed: int = 42,
    algorithms: tuple[str, ...] | list[str] = DEFAULT_ALGORITHMS,
    spectral_sample: int = SPECTRAL_SAMPLE,
    pca_components: float = 0,
) -> Selection:
    """Fit all candidates on the sample, gate them, and return the chosen model.

    pca_components: 0 for no PCA, a whole number of components, or a share of variance to keep (0 < x < 1).
    """
    missing = [f for f in features if f not in sample.columns]
    if missing:
        raise FeaturesLacking(missing, training=True)
    unknown = [a for a in algorithms if a not in ALGORITHMS]
    if unknown or not algorithms:
        raise UnknownAlgorithms(list(algorithms), unknown, list(ALGORITHMS))
    if pca_components >= 1 and (pca_components != int(pca_components) or pca_components > len(features)):
        raise PcaComponentsInvalid(pca_components, len(features))
    if len(sample) < max(20, min_clusters * 5):
        raise TooFewCustomers(len(sample), max(20, min_clusters * 5))
    if min_clusters > max_clusters:
        raise ClusterRangeInvalid(min_clusters, max_clusters)
    log_features = choose_log_features(sample, features)
    pre = preprocessor(features, log_features, pca_components, seed)
    z = pre.fit_transform(sample[features].to_numpy(dtype=float))
    k_range = range(min_clusters, max_clusters + 1)
    candidates = fit_candidates(z, k_range, seed, tuple(algorithms), spectral_sample)
    evaluate(candidates, z, min(silhouette_sample, len(z)), k_range, min_share)
    chosen = select(candidates)
    final_step = chosen.estimator if chosen.estimator is not None else _NearestCentroid(chosen.centroids)
    pipeline = Pipeline([*pre.steps, ("cluster", final_step)])
    model = SegmentModel(
        features=list(features),
        log_features=log_features,
        pipeline=pipeline,
        algorithm=chosen.algorithm,
        params=chosen.params,
        centroids=np.asarray(chosen.centroids),
    )
    if "pca" in pre.named_steps:
        # With the model version's params, so the registry records how model space was made.
        model.params = {**chosen.params, "pca": model.pca_summary()}
    gates = {
        "min_segment_share": min_share,
        "min_clusters": min_clusters,
        "max_clusters": max_clusters,
        "candidates": len(candidates),
        "passed": sum(c.passed for c in candidates),
        "chosen_min_share": chosen.metrics["min_share"],
        "algorithms": list(algorithms),
    }
    return Selection(model=model, chosen=chosen, candidates=candidates, gates=gates)

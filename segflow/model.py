"""Model selection: candidate clusterings of customers, quality gates, and the chosen model.

Pure computation: frames in, fitted models and metrics out. The rule, in full:

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

import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn import config_context
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.cluster import DBSCAN, AgglomerativeClustering, KMeans, MiniBatchKMeans
from sklearn.decomposition import PCA
from sklearn.manifold import spectral_embedding
from sklearn.metrics import calinski_harabasz_score, davies_bouldin_score, silhouette_score
from sklearn.metrics.pairwise import rbf_kernel
from sklearn.mixture import GaussianMixture
from sklearn.neighbors import NearestNeighbors
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from segflow.algorithms import ALGORITHMS, DEFAULT_ALGORITHMS, SPECTRAL_SAMPLE
from segflow.errors import ConfigError, SegflowError, joined

log = logging.getLogger(__name__)

MINIBATCH_FROM = 50_000  # sample size above which MiniBatchKMeans joins the candidates
GMM_SAMPLE = 50_000
WARD_SAMPLE = 5_000  # Ward needs memory quadratic in the sample
DBSCAN_SAMPLE = 10_000
SPECTRAL_GAMMA = 1.0  # rbf affinity exp(-gamma * squared distance), in standardised units
SPECTRAL_STREAM = 6  # spawns spectral's subsample generator from the seed
SILHOUETTE_TIE = 0.01
SCREEN_SAMPLE = 4_000  # silhouette for screening every candidate
SILHOUETTE_BLOCK_MB = 64  # memory per block of pairwise distances while computing silhouette
FINALISTS = 4  # candidates whose silhouette is then computed on the full evaluation sample
SELECTION_RULE = (
    "gates: k in range and smallest segment share >= min_segment_share; "
    "then highest silhouette, near-ties (<= 0.01) by lower Davies-Bouldin, then fewer segments"
)


class TrainingRefused(SegflowError):
    """A model cannot be trained or used on the data or options given."""


@dataclass(eq=False)
class NoCentroids(TrainingRefused):
    """A rejected candidate has no centroids to assign customers to."""

    template = "candidate {algorithm} k={k} has no centroids ({rejected_because})"
    algorithm: str
    k: int
    rejected_because: str | None


@dataclass(eq=False)
class FeaturesLacking(TrainingRefused):
    """The data given to a model, or its training sample, lacks features the model uses."""

    missing: list[str]
    training: bool = False

    def __str__(self) -> str:
        if self.training:
            return f"the training sample lacks feature(s) {joined(self.missing)}"
        return f"the model needs feature(s) {joined(self.missing)}, which the data lacks"


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


@dataclass
class Candidate:
    """One fitted clustering and how it scored."""

    algorithm: str
    k: int
    params: dict[str, Any]
    metrics: dict[str, float] = field(default_factory=dict)
    passed: bool = False
    rejected_because: str | None = None
    estimator: Any = None
    centroids: np.ndarray | None = None  # model space

    def summary(self) -> dict[str, Any]:
        return {
            "algorithm": self.algorithm,
            "k": self.k,
            "params": self.params,
            "metrics": self.metrics,
            "passed": self.passed,
            "rejected_because": self.rejected_because,
        }

    def fitted_centroids(self) -> np.ndarray:
        """The centroids in model space, which every candidate fitted without an early rejection has."""
        if self.centroids is None:
            raise NoCentroids(self.algorithm, self.k, self.rejected_because)
        return self.centroids


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


def choose_log_features(frame: pd.DataFrame, features: list[str]) -> list[str]:
    """Features to log1p: non-negative with skewness above 1 (long right tail)."""
    chosen = []
    for name in features:
        column = frame[name].astype(float)
        if column.min() >= 0 and column.skew() > 1:
            chosen.append(name)
    return chosen


def _preprocessor(features: list[str], log_features: list[str], pca_components: float = 0, seed: int = 42) -> Pipeline:
    columns = tuple(features.index(f) for f in log_features)
    steps: list[tuple[str, Any]] = [("log", LogSkewed(columns)), ("scale", StandardScaler())]
    if pca_components > 0:
        # A whole number is a count of components; below 1, the share of variance to keep.
        n_components: float = int(pca_components) if pca_components >= 1 else pca_components
        steps.append(("pca", PCA(n_components=n_components, svd_solver="full", random_state=seed)))
    return Pipeline(steps)


def _centroids(z: np.ndarray, labels: np.ndarray) -> np.ndarray:
    return np.vstack([z[labels == label].mean(axis=0) for label in sorted(set(labels) - {-1})])


def _nearest(z: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    return ((z[:, None, :] - centroids[None, :, :]) ** 2).sum(axis=2).argmin(axis=1)


def _subsample(n: int, size: int, rng: np.random.Generator) -> np.ndarray:
    return np.sort(rng.choice(n, size=size, replace=False)) if n > size else np.arange(n)


def fit_candidates(
    z: np.ndarray,
    k_range: range,
    seed: int,
    algorithms: tuple[str, ...] = DEFAULT_ALGORITHMS,
    spectral_sample: int = SPECTRAL_SAMPLE,
) -> list[Candidate]:
    """Fit every candidate clustering of the chosen algorithms on model-space data z; each gets centroids
    in model space."""
    rng = np.random.default_rng(seed)
    n = len(z)
    candidates: list[Candidate] = []
    for k in k_range:
        if k >= n:
            break
        if "kmeans" in algorithms:
            km = KMeans(n_clusters=k, n_init=4, random_state=seed).fit(z)
            candidates.append(
                Candidate("kmeans", k, {"n_clusters": k, "n_init": 4}, estimator=km, centroids=km.cluster_centers_)
            )
        if n > MINIBATCH_FROM and "minibatch_kmeans" in algorithms:
            mb = MiniBatchKMeans(n_clusters=k, batch_size=4096, n_init=3, random_state=seed).fit(z)
            candidates.append(
                Candidate(
                    "minibatch_kmeans",
                    k,
                    {"n_clusters": k, "batch_size": 4096},
                    estimator=mb,
                    centroids=mb.cluster_centers_,
                )
            )
        gmm_idx = _subsample(n, GMM_SAMPLE, rng)
        if "gaussian_mixture" in algorithms:
            gmm = GaussianMixture(n_components=k, covariance_type="full", random_state=seed).fit(z[gmm_idx])
            candidates.append(
                Candidate(
                    "gaussian_mixture",
                    k,
                    {"n_components": k, "covariance_type": "full"},
                    estimator=gmm,
                    centroids=gmm.means_,
                )
            )
        ward_idx = _subsample(n, WARD_SAMPLE, rng)
        if "agglomerative_ward" in algorithms:
            ward_labels = AgglomerativeClustering(n_clusters=k, linkage="ward").fit_predict(z[ward_idx])
            candidates.append(
                Candidate(
                    "agglomerative_ward",
                    k,
                    {"n_clusters": k, "fit_sample": len(ward_idx)},
                    centroids=_centroids(z[ward_idx], ward_labels),
                )
            )
    if "spectral" in algorithms:
        candidates.extend(_spectral_candidates(z, k_range, seed, spectral_sample))
    if "dbscan" in algorithms:
        candidates.extend(_dbscan_candidates(z, rng))
    return candidates


def _spectral_candidates(z: np.ndarray, k_range: range, seed: int, sample_size: int) -> list[Candidate]:
    """SpectralClustering's own steps (rbf affinity, spectral embedding, k-means on it) on a subsample.

    The affinity is a dense n x n matrix: 2,000 customers are 32 MB, 20,000 would be 3.2 GB, hence the
    subsample. SpectralClustering per k recomputes the affinity and its eigenvectors (40 s for k = 3..8 at
    2,000 customers here); the embedding's first k eigenvectors are the same for every k, so they are
    computed once, for the largest k, and each k only runs k-means on its first k columns (about 3 s).
    """
    # Its own random stream: turning spectral on or off leaves the other algorithms' subsamples as they were.
    idx = _subsample(len(z), sample_size, np.random.default_rng([seed, SPECTRAL_STREAM]))
    sample = z[idx]
    ks = [k for k in k_range if k < len(sample)]
    if not ks:
        return []
    affinity = rbf_kernel(sample, gamma=SPECTRAL_GAMMA)
    embedding = spectral_embedding(affinity, n_components=max(ks), random_state=seed, drop_first=False)
    candidates = []
    for k in ks:
        labels = KMeans(n_clusters=k, n_init=10, random_state=seed).fit_predict(embedding[:, :k])
        params = {"n_clusters": k, "affinity": "rbf", "gamma": SPECTRAL_GAMMA, "fit_sample": len(sample)}
        candidates.append(Candidate("spectral", k, params, centroids=_centroids(sample, labels)))
    return candidates


def _dbscan_candidates(z: np.ndarray, rng: np.random.Generator) -> list[Candidate]:
    idx = _subsample(len(z), DBSCAN_SAMPLE, rng)
    sample = z[idx]
    if len(sample) < 20:
        return []
    min_samples = max(5, len(sample) // 200)
    distances, _ = NearestNeighbors(n_neighbors=min_samples).fit(sample).kneighbors(sample)
    eps = float(np.quantile(distances[:, -1], 0.9))
    if eps <= 0:  # most customers share one point: DBSCAN needs a positive radius
        return [
            Candidate(
                "dbscan",
                0,
                {"eps": 0.0, "min_samples": min_samples, "fit_sample": len(sample)},
                rejected_because="most customers are identical (neighbour distance 0)",
            )
        ]
    labels = DBSCAN(eps=eps, min_samples=min_samples).fit_predict(sample)
    clusters = len(set(labels) - {-1})
    params = {
        "eps": round(eps, 4),
        "min_samples": min_samples,
        "fit_sample": len(sample),
        "noise_share": round(float((labels == -1).mean()), 4),
    }
    if clusters < 2:
        return [Candidate("dbscan", clusters, params, rejected_because=f"found {clusters} cluster(s)")]
    return [Candidate("dbscan", clusters, params, centroids=_centroids(sample, labels))]


def labels_of(candidate: Candidate, z: np.ndarray) -> np.ndarray:
    """Cluster label of each row: the estimator's predict where it has one, else nearest centroid."""
    if candidate.algorithm == "gaussian_mixture" or candidate.algorithm.endswith("kmeans"):
        return candidate.estimator.predict(z)
    return _nearest(z, candidate.fitted_centroids())


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
    pre = _preprocessor(features, log_features, pca_components, seed)
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


class _NearestCentroid(BaseEstimator):
    """The clustering step for algorithms without predict: nearest centroid in model space."""

    def __init__(self, centroids: np.ndarray | None = None) -> None:
        self.centroids = centroids

    def fit(self, X: np.ndarray, y: Any = None) -> _NearestCentroid:
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        if self.centroids is None:  # None only as sklearn's default for clone(); select_model always sets it
            raise ValueError("_NearestCentroid has no centroids to assign customers to")
        return _nearest(X, self.centroids)

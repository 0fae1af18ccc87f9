"""Candidate clusterings: every algorithm chosen, fitted for every k on model-space data, each with its centroids.

How a winner is chosen among them is in segflow/modelling/selection.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn.cluster import DBSCAN, AgglomerativeClustering, KMeans, MiniBatchKMeans
from sklearn.manifold import spectral_embedding
from sklearn.metrics.pairwise import rbf_kernel
from sklearn.mixture import GaussianMixture
from sklearn.neighbors import NearestNeighbors

from segflow.modelling.algorithms import DEFAULT_ALGORITHMS, SPECTRAL_SAMPLE
from segflow.modelling.segment_model import TrainingRefused, nearest_centroid

MINIBATCH_FROM = 50_000  # sample size above which MiniBatchKMeans joins the candidates
GMM_SAMPLE = 50_000
WARD_SAMPLE = 5_000  # Ward needs memory quadratic in the sample
DBSCAN_SAMPLE = 10_000
SPECTRAL_GAMMA = 1.0  # rbf affinity exp(-gamma * squared distance), in standardised units
SPECTRAL_STREAM = 6  # spawns spectral's subsample generator from the seed


@dataclass(eq=False)
class NoCentroids(TrainingRefused):
    """A rejected candidate has no centroids to assign customers to."""

    template = "candidate {algorithm} k={k} has no centroids ({rejected_because})"
    algorithm: str
    k: int
    rejected_because: str | None


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


def _centroids(z: np.ndarray, labels: np.ndarray) -> np.ndarray:
    return np.vstack([z[labels == label].mean(axis=0) for label in sorted(set(labels) - {-1})])


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
    return nearest_centroid(z, candidate.fitted_centroids())

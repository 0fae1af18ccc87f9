"""The clustering algorithms model selection can fit, by the names the registry records.

Apart from segflow.modelling.candidates so that settings can check SEGFLOW_ALGORITHMS without importing
scikit-learn."""

ALGORITHMS = ("kmeans", "minibatch_kmeans", "gaussian_mixture", "agglomerative_ward", "dbscan", "spectral")
# Spectral is left out by default: see docs/modelling.md ("Modelling options") for what it costs.
DEFAULT_ALGORITHMS = ("kmeans", "minibatch_kmeans", "gaussian_mixture", "agglomerative_ward", "dbscan")
SPECTRAL_SAMPLE = 2_000  # customers spectral clustering is fitted on: it needs an n x n affinity matrix

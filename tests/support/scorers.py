"""A Scorer on a hand-built model, for tests that score without a database."""

import numpy as np
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from segflow.modelling.scoring import Scorer
from segflow.modelling.segment_model import LogSkewed, SegmentModel, _NearestCentroid

FEATURES = ["recency_days", "frequency", "monetary"]
CENTROIDS = np.array([[0.0, 1.0, 0.0], [10.0, 1.0, 100.0]])


def hand_built_scorer() -> Scorer:
    """Version 7, segments S1 'Loyal' at (0, 1, 0) and S2 'Big spenders' at (10, 1, 100).

    Scaling fitted on -1 and 1 has mean 0 and standard deviation 1: model space is the features themselves, so every
    distance is plain Euclidean arithmetic."""
    scale = StandardScaler().fit(np.array([[-1.0] * 3, [1.0] * 3]))
    pipeline = Pipeline([("log", LogSkewed(())), ("scale", scale), ("cluster", _NearestCentroid(CENTROIDS))])
    model = SegmentModel(FEATURES, [], pipeline, "kmeans", {}, CENTROIDS, segment_keys=["S1", "S2"])
    return Scorer(7, model, {"S1": ("Loyal", "Thank them"), "S2": ("Big spenders", "Upsell")})

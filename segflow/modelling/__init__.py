"""Modelling: candidate algorithms and how one is chosen, segment names and keys, the model registry, scoring
customers with a model (one path for the nightly, the comparison and the API), and the MLflow mirror."""

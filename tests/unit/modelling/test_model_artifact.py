"""A model version's artifact loads back, also one saved while the model's classes lived in segflow.model."""

import sys
import types

import joblib
import numpy as np
from support.data import make_mall_customers

from segflow.modelling.segment_model import (
    LEGACY_ARTIFACT_MODULE,
    LogSkewed,
    SegmentModel,
    _NearestCentroid,
    load_artifact,
)
from segflow.modelling.selection import select_model

FEATURES = ["annual_income", "spending_score"]


def _ward_model() -> SegmentModel:
    # Ward has no predict: its pipeline ends in _NearestCentroid, so all three pickled segflow classes are in it.
    return select_model(make_mall_customers(), FEATURES, algorithms=["agglomerative_ward"]).model


def test_an_artifact_loads_back_and_assigns_customers_as_the_model_did(tmp_path):
    model = _ward_model()
    joblib.dump(model, tmp_path / "model.joblib")
    loaded = load_artifact(tmp_path / "model.joblib")
    data = make_mall_customers()
    assert isinstance(loaded.pipeline[-1], _NearestCentroid)
    for expected, got in zip(model.assign(data), loaded.assign(data), strict=True):
        np.testing.assert_array_equal(expected, got)


def test_an_artifact_saved_before_segflow_model_was_split_still_loads(tmp_path, monkeypatch):
    model = _ward_model()
    path = tmp_path / "segflow-model-v1.joblib"
    legacy = types.ModuleType(LEGACY_ARTIFACT_MODULE)
    monkeypatch.setitem(sys.modules, LEGACY_ARTIFACT_MODULE, legacy)  # undone last: segflow.model absent again
    with monkeypatch.context() as before_the_split:
        for pickled in (SegmentModel, LogSkewed, _NearestCentroid):
            before_the_split.setattr(legacy, pickled.__name__, pickled, raising=False)
            before_the_split.setattr(pickled, "__module__", LEGACY_ARTIFACT_MODULE)
        joblib.dump(model, path)
    # None: importing segflow.model fails, as in an install without the module (whatever else is on the path).
    monkeypatch.setitem(sys.modules, LEGACY_ARTIFACT_MODULE, None)
    saved = path.read_bytes()
    assert b"segflow.model" in saved and b"segflow.modelling" not in saved

    loaded = load_artifact(path)

    assert type(loaded) is SegmentModel and isinstance(loaded.pipeline[-1], _NearestCentroid)
    assert type(loaded.pipeline.named_steps["log"]) is LogSkewed
    labels, distance, confidence = loaded.assign(make_mall_customers())
    expected = model.assign(make_mall_customers())
    np.testing.assert_array_equal(labels, expected[0])
    np.testing.assert_allclose(distance, expected[1])
    np.testing.assert_allclose(confidence, expected[2])

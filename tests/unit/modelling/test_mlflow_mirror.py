"""The MLflow mirror's pure parts: what each alias names, a version's params, metrics and tags, the settings, and
that nothing imports mlflow unless a tracking URI is set."""

import os
import subprocess
import sys

import pytest
from pydantic import ValidationError

from segflow.modelling import mlflow_mirror
from segflow.settings import Settings

DETAILS = {
    "version": 4,
    "status": "candidate",
    "created_at": "2026-11-28T02:00:05.250000+00:00",
    "algorithm": "gaussian_mixture",
    "params": {"covariance_type": "full", "n_init": 3, "pca": {"n_components": 0.95, "components": 2}},
    "k": 5,
    "features": ["recency_days", "frequency", "monetary"],
    "log_features": ["frequency", "monetary"],
    "as_of": "2026-11-27",
    "train_window_start": "2025-11-28",
    "train_window_end": "2026-11-27",
    "sample_size": 12000,
    "seed": 42,
    "rfm_cut_points": {"recency_days": [10.0, 30.0]},
    "metrics": {"silhouette": 0.41, "davies_bouldin": 0.83, "min_share": 0.05, "converged": True, "note": "x"},
    "selection_rule": "highest silhouette",
    "gates": {"min_clusters": 3, "max_clusters": 8, "passed": 11, "algorithms": ["kmeans", "gaussian_mixture"]},
    "candidates": [],
    "library_versions": {"segflow": "0.1.0", "scikit-learn": "1.9.1"},
    "artifact_path": "/models/segflow-model-v4.joblib",
    "artifact_sha256": "ab" * 32,
    "trained_in_attempt": 17,
    "challenge": {"challenger": 4, "champion": 3, "silhouette": 0.41, "adjusted_rand_index": 0.7, "promoted": False},
    "segments": [],
}


@pytest.mark.parametrize(
    ("statuses", "expected"),
    [
        ({}, {"champion": None, "challenger": None}),
        ({1: "champion"}, {"champion": 1, "challenger": None}),
        # The newest candidate after the champion; a candidate older than the champion challenges nothing.
        (
            {1: "retired", 2: "candidate", 3: "champion", 4: "candidate", 5: "candidate"},
            {"champion": 3, "challenger": 5},
        ),
        ({1: "candidate", 2: "champion"}, {"champion": 2, "challenger": None}),
        ({1: "candidate", 2: "candidate"}, {"champion": None, "challenger": 2}),
    ],
)
def test_the_aliases_name_the_champion_and_the_newest_candidate_after_it(statuses, expected):
    assert mlflow_mirror.alias_targets(statuses) == expected


def test_params_are_the_training_setup_and_data_window_as_text_with_model_and_gate_params_flattened():
    assert mlflow_mirror.run_params(DETAILS) == {
        "algorithm": "gaussian_mixture",
        "k": "5",
        "features": "recency_days,frequency,monetary",
        "log_features": "frequency,monetary",
        "seed": "42",
        "sample_size": "12000",
        "as_of": "2026-11-27",
        "train_window_start": "2025-11-28",
        "train_window_end": "2026-11-27",
        "selection_rule": "highest silhouette",
        "model.covariance_type": "full",
        "model.n_init": "3",
        "model.pca.n_components": "0.95",
        "model.pca.components": "2",
        "gates.min_clusters": "3",
        "gates.max_clusters": "8",
        "gates.passed": "11",
        "gates.algorithms": '["kmeans", "gaussian_mixture"]',
    }


def test_a_model_on_attributes_has_no_window_start_and_logs_it_as_null():
    assert mlflow_mirror.run_params({**DETAILS, "train_window_start": None})["train_window_start"] == "null"


def test_metrics_are_the_numbers_segflow_recorded_and_the_gates_measurements():
    assert mlflow_mirror.run_metrics(DETAILS) == {
        "silhouette": 0.41,
        "davies_bouldin": 0.83,
        "min_share": 0.05,
        "challenge.challenger": 4.0,
        "challenge.champion": 3.0,
        "challenge.silhouette": 0.41,
        "challenge.adjusted_rand_index": 0.7,
    }
    assert mlflow_mirror.run_metrics({**DETAILS, "challenge": None}) == {
        "silhouette": 0.41,
        "davies_bouldin": 0.83,
        "min_share": 0.05,
    }


def test_tags_name_the_segflow_version_the_attempt_the_checksum_and_the_libraries():
    assert mlflow_mirror.run_tags(DETAILS) == {
        "segflow.model_version": "4",
        "segflow.attempt_id": "17",
        "segflow.artifact_sha256": "ab" * 32,
        "segflow.library.scikit-learn": "1.9.1",
        "segflow.library.segflow": "0.1.0",
    }


def test_without_a_tracking_uri_the_hooks_do_nothing_and_import_nothing(monkeypatch):
    monkeypatch.setitem(sys.modules, "mlflow", None)  # any `import mlflow` raises ImportError
    settings = Settings(_env_file=None)
    assert not settings.mirrors_to_mlflow
    # No database either: they return before touching anything.
    assert mlflow_mirror.after_training(None, settings, 1) is None  # type: ignore[arg-type]
    assert mlflow_mirror.after_promotion(None, settings) is None  # type: ignore[arg-type]


def test_importing_segflow_the_cli_and_the_stages_does_not_import_mlflow():
    code = "import sys, segflow.cli, segflow.stages, segflow.modelling.mlflow_mirror; print('mlflow' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


def test_a_set_uri_without_mlflow_installed_is_an_error_naming_the_setting_and_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "mlflow", None)
    settings = Settings(_env_file=None, mlflow_tracking_uri="sqlite:////tmp/nowhere.db")
    with pytest.raises(mlflow_mirror.MlflowNotInstalled, match=r"SEGFLOW_MLFLOW_TRACKING_URI .*segflow\[mlflow\]"):
        mlflow_mirror.mirror_all(None, settings)  # type: ignore[arg-type]


def test_talking_to_mlflow_turns_telemetry_off_and_shortens_retries_unless_set(monkeypatch, tmp_path):
    monkeypatch.delenv("MLFLOW_DISABLE_TELEMETRY", raising=False)
    monkeypatch.delenv("MLFLOW_HTTP_REQUEST_TIMEOUT", raising=False)
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "5")
    with mlflow_mirror._talking_to(f"sqlite:///{tmp_path / 'mlflow.db'}"):
        pass
    assert os.environ["MLFLOW_DISABLE_TELEMETRY"] == "true"
    assert os.environ["MLFLOW_HTTP_REQUEST_TIMEOUT"] == "30"
    assert os.environ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] == "5"  # the operator's choice stays


def test_a_failure_inside_becomes_mlflow_unavailable_naming_the_uri_without_its_password():
    with (
        pytest.raises(mlflow_mirror.MlflowUnavailable) as caught,
        mlflow_mirror._talking_to("https://ops:s3cret@mlflow.example:5000"),
    ):
        raise ConnectionError("connection refused\nretried twice")
    assert str(caught.value) == "MLflow at https://ops:***@mlflow.example:5000: connection refused"


# Settings.


def test_the_mirror_is_off_by_default_and_a_blank_uri_is_off(monkeypatch):
    assert Settings(_env_file=None).mlflow_tracking_uri is None
    monkeypatch.setenv("SEGFLOW_MLFLOW_TRACKING_URI", "   ")
    settings = Settings(_env_file=None)
    assert (settings.mlflow_tracking_uri, settings.mirrors_to_mlflow) == (None, False)
    assert (settings.mlflow_model_name, settings.mlflow_experiment) == ("segflow-segments", "segflow")


def test_a_local_store_keeps_artifacts_under_home_and_a_server_decides_for_itself(tmp_path):
    home = tmp_path / "h"
    local = Settings(_env_file=None, home=home, mlflow_tracking_uri="sqlite:////srv/mlflow.db")
    server = Settings(_env_file=None, home=home, mlflow_tracking_uri="http://127.0.0.1:5000")
    chosen = Settings(
        _env_file=None, home=home, mlflow_tracking_uri="http://127.0.0.1:5000", mlflow_artifact_location="s3://b/p"
    )
    assert local.mlflow_artifact_root == (home / "mlruns").as_uri() == f"file://{home}/mlruns"
    assert server.mlflow_artifact_root is None
    assert chosen.mlflow_artifact_root == "s3://b/p"


def test_a_model_name_that_would_break_mlflow_filters_is_refused(monkeypatch):
    monkeypatch.setenv("SEGFLOW_MLFLOW_MODEL_NAME", "segments' or '1'='1")
    with pytest.raises(ValidationError, match="mlflow_model_name"):
        Settings(_env_file=None)

"""The MLflow mirror against a real PostgreSQL and a real MLflow store (SQLite under tmp_path): what a training run
leaves in MLflow, that mirroring again adds nothing, that the aliases follow promotions, and that without a tracking
URI mlflow is never imported."""

import hashlib
import json
import logging
import socket
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest
from support.cli import segflow_in_process

from segflow.data import features
from segflow.data.generate import GeneratorSpec, generate_transactions
from segflow.modelling import mlflow_mirror, registry
from segflow.settings import Settings
from segflow.stages import run_nightly
from segflow.storage.db import Database

# Each test runs whole nights in process (seconds each): `pytest -m "not slow"` leaves them to the full run.
pytestmark = pytest.mark.slow

SPEC = GeneratorSpec(customers=800, days=200, seed=11, start=date(2024, 1, 1))
AS_OF = date(2024, 7, 18)  # the last generated day
MODEL = "segflow-segments"


def mirrored_settings(db_url: str, home: Path, uri: str | None) -> Settings:
    # kmeans only, k 3..5: the tests are about the mirror, not the model selection.
    return Settings(
        _env_file=None,
        database_url=db_url,
        home=home,
        algorithms=["kmeans"],
        max_clusters=5,
        mlflow_tracking_uri=uri,
    )


@pytest.fixture
def store(tmp_path: Path) -> str:
    """An MLflow tracking store (and model registry) in a SQLite file under tmp_path."""
    return f"sqlite:///{tmp_path / 'mlflow.db'}"


@pytest.fixture
def mirrored(db_url: str, tmp_path: Path, store: str) -> tuple[Database, Settings]:
    settings = mirrored_settings(db_url, tmp_path / "home", store)
    db = Database(settings)
    db.migrated = True  # cloned from the migrated template
    generate_transactions(db, SPEC)
    return db, settings


def client(store: str):
    from mlflow import MlflowClient

    return MlflowClient(tracking_uri=store, registry_uri=store)


def table_rows(output: str) -> list[list[str]]:
    """The cells of each body row (not the header) of the rich tables in a command's output."""
    return [[cell.strip() for cell in line.split("│")[1:-1]] for line in output.splitlines() if line.startswith("│")]


def aliases_of(store: str) -> dict[str, str]:
    # A SQLite store gives version numbers as int, a tracking server as text.
    return {alias: str(version) for alias, version in client(store).get_registered_model(MODEL).aliases.items()}


def versions_of(store: str) -> list:
    return sorted(client(store).search_model_versions(f"name = '{MODEL}'"), key=lambda mv: int(mv.version))


def test_a_training_run_registers_its_version_in_mlflow_with_params_metrics_candidates_and_alias(mirrored, store):
    db, settings = mirrored
    attempt = run_nightly(db, settings, AS_OF)
    details = registry.details(db, 1)

    [version] = versions_of(store)
    assert (str(version.version), version.tags) == ("1", {"segflow.model_version": "1", "segflow.status": "champion"})
    assert aliases_of(store) == {"champion": "1"}
    run = client(store).get_run(version.run_id)
    assert run.data.tags["segflow.attempt_id"] == str(attempt)
    assert run.data.tags["segflow.artifact_sha256"] == details["artifact_sha256"]
    assert run.data.tags["mlflow.runName"] == "segflow-v1"
    params = run.data.params
    assert {key: params[key] for key in ("algorithm", "features", "seed", "as_of", "train_window_end")} == {
        "algorithm": "kmeans",
        "features": "recency_days,frequency,monetary",
        "seed": "42",
        "as_of": "2024-07-18",
        "train_window_end": "2024-07-18",
    }
    assert params["k"] == str(details["k"]) and 3 <= details["k"] <= 5
    assert params["train_window_start"] == str(details["train_window_start"])
    assert params["sample_size"] == str(details["sample_size"]) == "800"
    assert params["gates.max_clusters"] == "5" and params["gates.algorithms"] == '["kmeans"]'
    assert run.data.metrics == details["metrics"]  # silhouette, Davies-Bouldin, ... exactly as segflow recorded
    assert set(run.data.metrics) >= {"silhouette", "davies_bouldin", "calinski_harabasz", "min_share"}

    folder = Path(client(store).download_artifacts(version.run_id, "", str(settings.home.parent / "out")))
    assert json.loads((folder / "candidates.json").read_text()) == details["candidates"]
    assert len(details["candidates"]) == 3  # kmeans for k = 3, 4, 5
    assert json.loads((folder / "data_window.json").read_text()) == {
        "as_of": "2024-07-18",
        "train_window_start": str(details["train_window_start"]),
        "train_window_end": "2024-07-18",
        "sample_size": 800,
        "seed": 42,
        "rfm_cut_points": details["rfm_cut_points"],
    }
    exact = folder / "segflow" / Path(details["artifact_path"]).name
    assert hashlib.sha256(exact.read_bytes()).hexdigest() == details["artifact_sha256"]
    # Artifacts go under segflow's home, not ./mlruns of whatever folder the night ran in.
    assert run.info.artifact_uri.startswith((settings.home / "mlruns").as_uri())
    assert not (Path.cwd() / "mlruns").exists()


def test_the_champion_alias_loads_the_model_segflow_scores_with(mirrored, store, monkeypatch):
    import mlflow.sklearn

    db, settings = mirrored
    monkeypatch.setenv("MLFLOW_TRACKING_URI", store)  # how an MLflow user names the store
    attempt = run_nightly(db, settings, AS_OF)
    sample = features.training_sample(db, attempt, features.FeatureSet(tuple(settings.features)), 200, 1)

    loaded = mlflow.sklearn.load_model(f"models:/{MODEL}@champion")
    labels, _, _ = registry.load(db, 1).assign(sample)
    assert loaded.predict(sample[settings.features].to_numpy(dtype=float)).tolist() == labels.tolist()


def test_mirroring_a_version_again_keeps_one_mlflow_version_and_one_run(mirrored, store):
    db, settings = mirrored
    run_nightly(db, settings, AS_OF)
    first = versions_of(store)

    again = mlflow_mirror.mirror_version(db, settings, 1)
    synced = mlflow_mirror.mirror_all(db, settings)

    assert (again.mlflow_version, again.created) == ("1", False)
    assert [(m.segflow_version, m.mlflow_version, m.created) for m in synced] == [(1, "1", False)]
    assert [(str(mv.version), mv.run_id) for mv in versions_of(store)] == [("1", first[0].run_id)]
    experiment = client(store).get_experiment_by_name("segflow")
    assert len(client(store).search_runs([experiment.experiment_id])) == 1


def test_the_aliases_follow_a_challenger_and_a_promotion_by_hand(mirrored, store, monkeypatch):
    db, settings = mirrored
    run_nightly(db, settings, AS_OF)
    # Trained on an older date it cannot replace the champion: it stays a candidate, the challenger.
    run_nightly(db, settings, AS_OF - timedelta(days=7), retrain="always")
    assert [(v["version"], v["status"]) for v in registry.list_versions(db)] == [(2, "candidate"), (1, "champion")]
    assert aliases_of(store) == {"champion": "1", "challenger": "2"}

    monkeypatch.setenv("SEGFLOW_DATABASE_URL", settings.database_url.get_secret_value())
    monkeypatch.setenv("SEGFLOW_HOME", str(settings.home))
    monkeypatch.setenv("SEGFLOW_MLFLOW_TRACKING_URI", store)
    result = segflow_in_process("models", "promote", "2")

    assert "MLflow: champion is version 2, challenger is on no version" in result.stdout
    assert aliases_of(store) == {"champion": "2"}
    assert [(str(mv.version), mv.tags["segflow.status"]) for mv in versions_of(store)] == [
        ("1", "retired"),
        ("2", "champion"),
    ]


def test_sync_mirrors_versions_trained_before_the_mirror_was_on(db_url, tmp_path, store, monkeypatch):
    settings = mirrored_settings(db_url, tmp_path / "home", None)
    db = Database(settings)
    db.migrated = True
    generate_transactions(db, SPEC)
    run_nightly(db, settings, AS_OF)
    assert not (tmp_path / "mlflow.db").exists()

    monkeypatch.setenv("SEGFLOW_DATABASE_URL", db_url)
    monkeypatch.setenv("SEGFLOW_HOME", str(settings.home))
    monkeypatch.setenv("SEGFLOW_MLFLOW_TRACKING_URI", store)
    first = segflow_in_process("mlflow", "sync")
    second = segflow_in_process("mlflow", "sync")

    [version] = versions_of(store)
    assert table_rows(first.stdout) == [["1", "champion", "1", version.run_id, "now"]]
    assert table_rows(second.stdout) == [["1", "champion", "1", version.run_id, "before"]]
    assert f"MLflow model segflow-segments at {store}" in " ".join(second.stdout.split())
    assert "MLflow: champion is version 1, challenger is on no version" in second.stdout


def test_without_a_tracking_uri_mlflow_is_never_imported_and_nothing_is_written(db_url, tmp_path, monkeypatch, caplog):
    settings = mirrored_settings(db_url, tmp_path / "home", "  ")  # blank is off, like unset
    db = Database(settings)
    db.migrated = True
    generate_transactions(db, SPEC)
    monkeypatch.setitem(sys.modules, "mlflow", None)  # any `import mlflow` now raises ImportError

    with caplog.at_level(logging.INFO, logger="segflow.modelling.mlflow_mirror"):
        run_nightly(db, settings, AS_OF)
        registry.promote(db, 1)
        assert mlflow_mirror.after_promotion(db, settings) is None

    assert registry.champion(db) == 1
    assert [r for r in caplog.records if r.name == "segflow.modelling.mlflow_mirror"] == []
    assert [p.name for p in tmp_path.rglob("*") if p.name in ("mlruns", "mlflow.db")] == []


def test_an_unreachable_tracking_server_is_a_warning_naming_it_and_the_night_publishes(
    mirrored, fetch, monkeypatch, caplog
):
    db, settings = mirrored
    with socket.socket() as probe:  # a loopback port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    uri = f"http://127.0.0.1:{port}"
    settings = settings.model_copy(update={"mlflow_tracking_uri": uri})
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")  # the default 2 retries would only add seconds

    with caplog.at_level(logging.WARNING, logger="segflow.modelling.mlflow_mirror"):
        attempt = run_nightly(db, settings, AS_OF)

    assert fetch(db, "select status, model_version from segflow.run_attempts where attempt_id = %s", (attempt,)) == [
        ("published", 1)
    ]
    [warning] = [r for r in caplog.records if r.name == "segflow.modelling.mlflow_mirror"]
    assert warning.getMessage().startswith(f"model v1 was not mirrored (MLflow at {uri}: ")
    assert warning.getMessage().endswith("; segflow's registry is unaffected, and a later sync mirrors what is missing")
    with pytest.raises(mlflow_mirror.MlflowUnavailable, match=f"MLflow at {uri}: "):
        mlflow_mirror.mirror_all(db, settings)

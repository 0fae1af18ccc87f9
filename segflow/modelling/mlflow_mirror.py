"""segflow's model versions mirrored to MLflow, for teams that track models there (the segflow[mlflow] extra).

segflow's registry (segflow.model_versions) stays the source of truth; MLflow gets a copy. Each segflow version
becomes one MLflow run (params, metrics, candidates, data window, the model) and one version of a registered
model, tagged with the segflow version; its aliases `champion` and `challenger` and each version's tag
`segflow.status` follow segflow's statuses. mlflow is imported only inside the functions that talk to it, and
only when SEGFLOW_MLFLOW_TRACKING_URI is set.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from segflow.errors import ConfigError, SegflowError, SettingMissing
from segflow.modelling import registry
from segflow.settings import Settings, redact_url
from segflow.storage.db import Database

if TYPE_CHECKING:
    from mlflow import MlflowClient

log = logging.getLogger(__name__)

VERSION_TAG = "segflow.model_version"
STATUS_TAG = "segflow.status"
ALIASES = ("champion", "challenger")
# MLflow's own defaults retry an unreachable server 7 times with exponential backoff: measured here, a night
# waited 248 s before the mirror gave up. segflow's registry does not need MLflow, so it gives up sooner
# (unless these are set in the environment).
HTTP_DEFAULTS = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2", "MLFLOW_HTTP_REQUEST_TIMEOUT": "30"}
_PARAMS_PER_BATCH = 100  # MLflow's limit for one log_batch call


class MlflowNotInstalled(ConfigError):
    """A tracking URI is set but the mlflow package (segflow's mlflow extra) is not installed."""

    def __init__(self) -> None:
        super().__init__(
            "SEGFLOW_MLFLOW_TRACKING_URI is set but mlflow is not installed; install segflow's mlflow extra "
            '("segflow[mlflow]")'
        )


class MlflowUnavailable(SegflowError):
    """MLflow could not be reached, or refused a write; the message names the tracking URI."""

    def __init__(self, uri: str, cause: BaseException) -> None:
        self.uri = uri
        reason = str(cause).strip().splitlines()[0] if str(cause).strip() else type(cause).__name__
        super().__init__(f"MLflow at {uri}: {reason}")


@dataclass(frozen=True)
class MirroredVersion:
    """A segflow version and its MLflow counterpart; created is False when it was mirrored before."""

    segflow_version: int
    mlflow_version: str
    run_id: str
    created: bool


def after_training(db: Database, settings: Settings, version: int) -> MirroredVersion | None:
    """What the train stage calls: mirror a new version and move the aliases. Off without a tracking URI; a
    failure is logged as a warning, never raised: the night's model is in segflow's registry either way."""
    if not settings.mirrors_to_mlflow:
        return None
    try:
        mirrored = mirror_version(db, settings, version)
        follow_statuses(db, settings)
    except Exception as exc:  # MLflow is a copy; its failure must not fail the night
        _warn(settings, f"model v{version} was not mirrored", exc)
        return None
    return mirrored


def after_promotion(db: Database, settings: Settings) -> dict[str, str | None] | None:
    """What a promotion by hand calls: the aliases follow segflow's new champion. Off without a tracking URI;
    a failure is a warning (the promotion itself is done)."""
    if not settings.mirrors_to_mlflow:
        return None
    try:
        return follow_statuses(db, settings)
    except Exception as exc:  # the promotion is done in segflow's registry, the source of truth
        _warn(settings, "the MLflow aliases were not moved", exc)
        return None


def mirror_all(db: Database, settings: Settings) -> list[MirroredVersion]:
    """Mirror every segflow version, oldest first (those already in MLflow are left as they are); one entry per
    version. The aliases move with follow_statuses."""
    _require_uri(settings)
    versions = sorted(v["version"] for v in registry.list_versions(db))
    return [mirror_version(db, settings, version) for version in versions]


def mirror_version(db: Database, settings: Settings, version: int) -> MirroredVersion:
    """The MLflow model version of a segflow version, logged and registered unless it already is (found by its
    tag, so mirroring twice makes one version)."""
    uri = _require_uri(settings)
    details = registry.details(db, version)
    model = registry.load(db, version)  # sha256-checked: MLflow gets the artifact segflow scores with
    with _talking_to(uri) as client:
        existing = _model_versions(client, settings.mlflow_model_name, version)
        if existing:
            found = min(existing, key=lambda mv: int(mv.version))
            return MirroredVersion(version, str(found.version), found.run_id, created=False)
        experiment_id = _experiment_id(client, settings)
        run_id = _finished_run(client, experiment_id, version) or _log_run(client, experiment_id, details, model)
        _ensure_registered_model(client, settings.mlflow_model_name)
        run = client.get_run(run_id)
        created = client.create_model_version(
            settings.mlflow_model_name,
            source=f"{run.info.artifact_uri}/model",
            run_id=run_id,
            tags={VERSION_TAG: str(version), STATUS_TAG: details["status"]},
            description=_description(details),
        )
    log.info("mirrored model v%d to MLflow %s version %s", version, settings.mlflow_model_name, created.version)
    return MirroredVersion(version, str(created.version), run_id, created=True)


def follow_statuses(db: Database, settings: Settings) -> dict[str, str | None]:
    """Point the aliases at the MLflow versions of segflow's champion and challenger (removing an alias whose
    segflow version is not mirrored) and tag each mirrored version with its segflow status; returns alias ->
    MLflow version."""
    uri = _require_uri(settings)
    statuses = {v["version"]: v["status"] for v in registry.list_versions(db)}
    name = settings.mlflow_model_name
    with _talking_to(uri) as client:
        mirrored = {
            int(mv.tags[VERSION_TAG]): mv
            for mv in client.search_model_versions(f"name = '{name}'")
            if mv.tags.get(VERSION_TAG, "").isdigit()
        }
        if not mirrored:
            return dict.fromkeys(ALIASES)
        for segflow_version, mv in mirrored.items():
            status = statuses.get(segflow_version)
            if status is not None and mv.tags.get(STATUS_TAG) != status:
                client.set_model_version_tag(name, mv.version, STATUS_TAG, status)
        current = dict(client.get_registered_model(name).aliases)
        result: dict[str, str | None] = {}
        for alias, named in alias_targets(statuses).items():
            target = mirrored.get(named) if named is not None else None
            if target is None:
                if alias in current:
                    client.delete_registered_model_alias(name, alias)
                result[alias] = None
                continue
            if str(current.get(alias)) != str(target.version):
                client.set_registered_model_alias(name, alias, str(target.version))
            result[alias] = str(target.version)
    return result


def alias_targets(statuses: Mapping[int, str]) -> dict[str, int | None]:
    """Which segflow version each alias names: the champion, and the challenger, i.e. the newest candidate
    trained after the champion (a newer model that has not, or not yet, replaced it)."""
    champion = next((v for v, status in statuses.items() if status == "champion"), None)
    newer = [v for v, status in statuses.items() if status == "candidate" and (champion is None or v > champion)]
    return {"champion": champion, "challenger": max(newer, default=None)}


def run_params(details: Mapping[str, Any]) -> dict[str, str]:
    """The MLflow params of a version: how it was trained and on which data window; the algorithm's own
    params under model.*, the selection gates under gates.*."""
    params: dict[str, Any] = {
        "algorithm": details["algorithm"],
        "k": details["k"],
        "features": ",".join(details["features"]),
        "log_features": ",".join(details["log_features"]),
        "seed": details["seed"],
        "sample_size": details["sample_size"],
        "as_of": details["as_of"],
        "train_window_start": details["train_window_start"],
        "train_window_end": details["train_window_end"],
        "selection_rule": details["selection_rule"],
    }
    params.update(_flatten("model", details["params"]))
    params.update(_flatten("gates", details["gates"]))
    return {key: _as_text(value) for key, value in params.items()}


def run_metrics(details: Mapping[str, Any]) -> dict[str, float]:
    """The MLflow metrics of a version: the chosen candidate's, and the champion/challenger gate's when one
    was measured (challenge.*)."""
    metrics = {key: float(value) for key, value in details["metrics"].items() if _is_number(value)}
    challenge = details.get("challenge") or {}
    metrics.update({f"challenge.{key}": float(value) for key, value in challenge.items() if _is_number(value)})
    return metrics


def run_tags(details: Mapping[str, Any]) -> dict[str, str]:
    """The MLflow run tags of a version: segflow's version, the attempt that trained it, the artifact's
    checksum and the library versions it was trained with."""
    tags = {
        VERSION_TAG: str(details["version"]),
        "segflow.attempt_id": _as_text(details["trained_in_attempt"]),
        "segflow.artifact_sha256": details["artifact_sha256"],
    }
    tags.update({f"segflow.library.{name}": str(v) for name, v in sorted(details["library_versions"].items())})
    return tags


def data_window(details: Mapping[str, Any]) -> dict[str, Any]:
    """The data a version was trained on, as logged in data_window.json."""
    keys = ("as_of", "train_window_start", "train_window_end", "sample_size", "seed", "rfm_cut_points")
    return {key: details[key] for key in keys}


def _require_uri(settings: Settings) -> str:
    """The tracking URI, once it is known to be set and mlflow installed (before any database work)."""
    if settings.mlflow_tracking_uri is None:
        raise SettingMissing("MLflow tracking URI", "SEGFLOW_MLFLOW_TRACKING_URI", "mirror model versions")
    if importlib.util.find_spec("mlflow") is None:  # finds it without importing it
        raise MlflowNotInstalled()
    return settings.mlflow_tracking_uri


@contextmanager
def _talking_to(uri: str) -> Iterator[MlflowClient]:
    """A client of the tracking store (also its model registry); any failure becomes MlflowUnavailable."""
    # Many machines that run segflow are offline: MLflow's telemetry would only wait on the network.
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    for key, value in HTTP_DEFAULTS.items():
        os.environ.setdefault(key, value)
    try:
        from mlflow import MlflowClient
    except ImportError as exc:
        raise MlflowNotInstalled() from exc
    try:
        yield MlflowClient(tracking_uri=uri, registry_uri=uri)
    except SegflowError:
        raise
    except Exception as exc:
        raise MlflowUnavailable(redact_url(uri), exc) from exc


def _model_versions(client: MlflowClient, name: str, version: int) -> list[Any]:
    return list(client.search_model_versions(f"name = '{name}' and tags.`{VERSION_TAG}` = '{version}'"))


def _experiment_id(client: MlflowClient, settings: Settings) -> str:
    experiment = client.get_experiment_by_name(settings.mlflow_experiment)
    if experiment is not None:
        return str(experiment.experiment_id)
    return str(client.create_experiment(settings.mlflow_experiment, artifact_location=settings.mlflow_artifact_root))


def _finished_run(client: MlflowClient, experiment_id: str, version: int) -> str | None:
    """A run that logged this version before its registration failed: registering it avoids a second run."""
    runs = client.search_runs(
        [experiment_id], filter_string=f"tags.`{VERSION_TAG}` = '{version}' and attributes.status = 'FINISHED'"
    )
    return runs[0].info.run_id if runs else None


def _log_run(client: MlflowClient, experiment_id: str, details: Mapping[str, Any], model: Any) -> str:
    """Log one version as a finished run; a run that fails half-way is marked FAILED, so it is not reused."""
    from mlflow.entities import Metric, Param

    version = details["version"]
    run = client.create_run(experiment_id, run_name=f"segflow-v{version}", tags=run_tags(details))
    run_id = run.info.run_id
    try:
        stamp = _milliseconds(details["created_at"])
        params = [Param(key, value) for key, value in run_params(details).items()]
        for start in range(0, len(params), _PARAMS_PER_BATCH):
            client.log_batch(run_id, params=params[start : start + _PARAMS_PER_BATCH])
        client.log_batch(run_id, metrics=[Metric(k, v, stamp, 0) for k, v in run_metrics(details).items()])
        client.log_dict(run_id, details["candidates"], "candidates.json")
        client.log_dict(run_id, details["gates"], "gates.json")
        client.log_dict(run_id, details["segments"], "segments.json")
        client.log_dict(run_id, data_window(details), "data_window.json")
        with tempfile.TemporaryDirectory(prefix="segflow-mlflow-") as folder:
            _save_sklearn_model(model, details, Path(folder) / "model")
            client.log_artifacts(run_id, str(Path(folder) / "model"), "model")
        # The exact file segflow scores with, whose sha256 the run's tag records.
        client.log_artifact(run_id, details["artifact_path"], "segflow")
    except BaseException:
        client.set_terminated(run_id, status="FAILED")
        raise
    client.set_terminated(run_id)
    return str(run_id)


def _save_sklearn_model(model: Any, details: Mapping[str, Any], path: Path) -> None:
    """The model's scikit-learn pipeline (features in, cluster label out) in MLflow's sklearn flavour."""
    import mlflow.sklearn
    from mlflow.models import ModelSignature
    from mlflow.types import ColSpec, Schema

    signature = ModelSignature(
        inputs=Schema([ColSpec("double", feature) for feature in model.features]),
        outputs=Schema([ColSpec("long")]),
    )
    # cloudpickle, as segflow's joblib artifact is a pickle too: skops would need every segflow class declared
    # trusted. Loading needs segflow installed (the pipeline's steps are segflow.modelling.segment_model classes),
    # so segflow is not among the requirements: a package of that name on a public index would not be this one.
    requirements = [f"{name}=={v}" for name, v in sorted(details["library_versions"].items()) if name != "segflow"]
    # MLflow warns about pickles on every save; the choice is made above, so a night's log need not repeat it.
    with _quieter("mlflow.sklearn"):
        mlflow.sklearn.save_model(
            model.pipeline,
            str(path),
            serialization_format=mlflow.sklearn.SERIALIZATION_FORMAT_CLOUDPICKLE,
            signature=signature,
            pip_requirements=requirements,  # given, so MLflow does not spend seconds inferring them
            metadata={"segflow_version": str(details["version"]), "segment_keys": list(model.segment_keys)},
        )


@contextmanager
def _quieter(logger_name: str) -> Iterator[None]:
    """Only errors from that logger while inside."""
    logger = logging.getLogger(logger_name)
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def _ensure_registered_model(client: MlflowClient, name: str) -> None:
    from mlflow.exceptions import MlflowException

    try:
        client.get_registered_model(name)
    except MlflowException as exc:
        if exc.error_code != "RESOURCE_DOES_NOT_EXIST":
            raise
        client.create_registered_model(
            name, description="segflow's customer-segmentation models, mirrored from segflow's registry."
        )


def _description(details: Mapping[str, Any]) -> str:
    return (
        f"segflow model v{details['version']}: {details['algorithm']}, k={details['k']} on "
        f"{', '.join(details['features'])}, trained as of {details['as_of']} on {details['sample_size']:,} customers"
    )


def _warn(settings: Settings, what: str, exc: Exception) -> None:
    where = redact_url(settings.mlflow_tracking_uri or "")
    reason = str(exc) if isinstance(exc, SegflowError) else f"MLflow at {where}: {exc}"
    log.warning("%s (%s); segflow's registry is unaffected, and a later sync mirrors what is missing", what, reason)


def _flatten(prefix: str, values: Mapping[str, Any]) -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, Mapping):
            flat.update(_flatten(f"{prefix}.{key}", value))
        else:
            flat[f"{prefix}.{key}"] = value
    return flat


def _as_text(value: Any) -> str:
    """A param's value as text: strings as they are, anything else as JSON (null, true, [..])."""
    return value if isinstance(value, str) else json.dumps(value, default=str)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _milliseconds(created_at: Any) -> int:
    """MLflow's timestamps are epoch milliseconds; details give created_at as ISO text."""
    moment = created_at if isinstance(created_at, datetime) else datetime.fromisoformat(str(created_at))
    return int(moment.timestamp() * 1000)

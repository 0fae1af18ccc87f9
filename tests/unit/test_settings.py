from pathlib import Path

import pytest
from pydantic import ValidationError

from segflow.settings import Settings, redact_url


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


def test_env_example_lists_every_settings_field():
    example = (Path(__file__).resolve().parents[2] / ".env.example").read_text()
    listed = {line.split("=", 1)[0].lstrip("# ").strip() for line in example.splitlines() if "=" in line}
    expected = {f"SEGFLOW_{name.upper()}" for name in Settings.model_fields}
    assert expected <= listed, f"missing from .env.example: {sorted(expected - listed)}"

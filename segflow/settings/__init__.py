"""The one settings object; every field can be set as a SEGFLOW_* environment variable.

Its fields come in groups by concern, one module each: storage (database, embedded server, folders), data (source
table, imports, history), modelling (features, selection, scoring, retraining), monitoring (drift, retention),
surfaces (API, uploads, app) and integrations (Prefect, Dask, MLflow); config_file reads the YAML settings file."""

from __future__ import annotations

from urllib.parse import urlsplit

from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from segflow.settings.config_file import ConfigFileError, YamlSettingsFile, settings_file
from segflow.settings.data import DEFAULT_SOURCE, DataSettings
from segflow.settings.integrations import IntegrationSettings
from segflow.settings.modelling import ModellingSettings
from segflow.settings.monitoring import MonitoringSettings
from segflow.settings.storage import StorageSettings, redact_url
from segflow.settings.surfaces import SurfaceSettings

# What the rest of segflow imports from here; the groups are imported from their modules.
__all__ = ["DEFAULT_SOURCE", "ConfigFileError", "Settings", "redact_url"]


# pydantic lists fields from the last base to the first, so Settings.model_fields reads storage first, surfaces last.
class Settings(
    SurfaceSettings,
    MonitoringSettings,
    ModellingSettings,
    DataSettings,
    IntegrationSettings,
    StorageSettings,
    BaseSettings,
):
    """segflow's configuration. Defaults make the embedded quick start work with no configuration.

    Sources, strongest first: arguments, SEGFLOW_* environment variables, a .env file in the working folder,
    the YAML settings file ($SEGFLOW_CONFIG, else segflow.yaml in the working folder), the defaults.
    """

    model_config = SettingsConfigDict(env_prefix="SEGFLOW_", env_file=".env", extra="ignore")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        path = settings_file()
        yaml_settings = () if path is None else (YamlSettingsFile(settings_cls, path),)
        return init_settings, env_settings, dotenv_settings, *yaml_settings, file_secret_settings

    @property
    def mlflow_artifact_root(self) -> str | None:
        """Artifact location for the experiment segflow creates; None leaves it to the tracking server."""
        if self.mlflow_artifact_location is not None:
            return self.mlflow_artifact_location
        scheme = urlsplit(self.mlflow_tracking_uri or "").scheme
        # A local store would put artifacts in ./mlruns of whatever folder the process runs in (a Prefect
        # worker's is anyone's guess); a server decides for itself (it may proxy artifacts).
        return (self.home / "mlruns").as_uri() if scheme in {"sqlite", "file", ""} else None

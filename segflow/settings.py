"""The one settings object; every field can be set as a SEGFLOW_* environment variable."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """segflow's configuration. Defaults make the embedded quick start work with no configuration."""

    model_config = SettingsConfigDict(env_prefix="SEGFLOW_", env_file=".env", extra="ignore")

    database_url: SecretStr | None = Field(
        default=None,
        description="External PostgreSQL URL. Unset: an embedded server under $SEGFLOW_HOME/pg is used.",
    )
    home: Path = Field(
        default=Path("~/.segflow"),
        description="Folder for the embedded database, model artifacts and reports.",
    )
    import_chunk_rows: int = Field(
        default=50_000, ge=1_000, description="Lines per COPY chunk when importing or generating."
    )

    @field_validator("home", mode="after")
    @classmethod
    def _expand_home(cls, value: Path) -> Path:
        return value.expanduser().resolve()

    @field_validator("database_url", mode="after")
    @classmethod
    def _blank_url_is_unset(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            return None
        scheme = urlsplit(value.get_secret_value()).scheme
        if scheme not in {"postgresql", "postgres", "postgresql+psycopg2"}:
            raise ValueError(f"SEGFLOW_DATABASE_URL must be a postgresql:// URL, got scheme {scheme!r}")
        return value

    @property
    def pg_dir(self) -> Path:
        """Data directory of the embedded PostgreSQL."""
        return self.home / "pg"

    @property
    def uses_embedded_database(self) -> bool:
        return self.database_url is None


def redact_url(url: str) -> str:
    """The URL with any password replaced by ***, safe to print or log."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))

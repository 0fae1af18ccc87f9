"""Where segflow keeps things: the database (an external URL or the embedded PostgreSQL and how it listens) and
the folders under SEGFLOW_HOME (models, reports, the Evidently workspace, Prefect, logs)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from pydantic import BaseModel, Field, SecretStr, field_validator


class StorageSettings(BaseModel):
    """The database and segflow's folders."""

    database_url: SecretStr | None = Field(
        default=None,
        description="External PostgreSQL URL. Unset: an embedded server under $SEGFLOW_HOME/pg is used.",
    )
    home: Path = Field(
        default=Path("~/.segflow"),
        description="Folder for the embedded database, model artifacts and reports.",
    )
    embedded_tcp_port: int | None = Field(
        default=None,
        ge=1024,
        le=65535,
        description="When set, the embedded PostgreSQL also listens on 127.0.0.1 at this port, for BI tools that "
        "want a host and port; logins there need their password. Unset: the Unix socket only. Applies when the "
        "server next starts (`segflow db stop`, then `segflow db start`).",
    )
    embedded_socket_group: str | None = Field(
        default=None,
        description="OS group whose members may reach the embedded PostgreSQL's Unix socket (a BI tool running as "
        "another user): the socket then lives in $SEGFLOW_HOME/pg-socket, mode 750, this group. Logins still need "
        "their password. Unset: only the user running segflow reaches it. Applies when the server next starts.",
    )
    models_dir: Path | None = Field(
        default=None, description="Folder of model artifacts (default: $SEGFLOW_HOME/models)."
    )
    reports_dir: Path | None = Field(
        default=None, description="Folder of HTML reports (default: $SEGFLOW_HOME/reports)."
    )
    evidently_workspace: Path | None = Field(
        default=None,
        description="Evidently workspace each run's drift snapshots are added to, for `evidently ui` "
        "(default: $SEGFLOW_HOME/evidently).",
    )

    @field_validator("embedded_tcp_port", "embedded_socket_group", mode="before")
    @classmethod
    def _blank_listener_is_unset(cls, value: object) -> object:
        # SEGFLOW_EMBEDDED_TCP_PORT= in a .env copied from .env.example means "off", not an error.
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("home", mode="after")
    @classmethod
    def _expand_home(cls, value: Path) -> Path:
        return value.expanduser().resolve()

    @field_validator("database_url", mode="after")
    @classmethod
    def _blank_database_url_is_unset(cls, value: SecretStr | None) -> SecretStr | None:
        return postgres_url_or_none(value)

    @property
    def pg_dir(self) -> Path:
        """Data directory of the embedded PostgreSQL."""
        return self.home / "pg"

    @property
    def prefect_dir(self) -> Path:
        """Folder of the embedded Prefect server: its SQLite database, log and state file."""
        return self.home / "prefect"

    @property
    def run_log_path(self) -> Path:
        """Prefect's log of the flow runs commands start here (they go to the Prefect API too)."""
        return self.home / "logs" / "runs.log"

    @property
    def uses_embedded_database(self) -> bool:
        return self.database_url is None

    @property
    def model_path(self) -> Path:
        """Folder of model artifacts."""
        return (self.models_dir or self.home / "models").expanduser()

    @property
    def report_path(self) -> Path:
        """Folder of HTML reports."""
        return (self.reports_dir or self.home / "reports").expanduser()

    @property
    def evidently_workspace_path(self) -> Path:
        """Folder of the Evidently workspace of drift snapshots."""
        return (self.evidently_workspace or self.home / "evidently").expanduser()


def postgres_url_or_none(value: SecretStr | None) -> SecretStr | None:
    """None for a blank URL; any other must be a PostgreSQL URL (the database's, the API's)."""
    if value is None or not value.get_secret_value().strip():
        return None
    scheme = urlsplit(value.get_secret_value()).scheme
    if scheme not in {"postgresql", "postgres", "postgresql+psycopg2"}:
        raise ValueError(f"SEGFLOW_DATABASE_URL must be a postgresql:// URL, got scheme {scheme!r}")
    return value


def redact_url(url: str) -> str:
    """The URL with any password (in the user part or a password= parameter) replaced by ***; a URL without one
    comes back as it was (taking it apart and back together would turn sqlite:////abs/path into a relative one)."""
    parts = urlsplit(url)
    if parts.password is None and "password" not in {key.lower() for key, _ in parse_qsl(parts.query)}:
        return url
    if parts.password is not None:
        host = parts.hostname or ""
        if parts.port:
            host = f"{host}:{parts.port}"
        parts = parts._replace(netloc=f"{parts.username or ''}:***@{host}")
    if parts.query:
        query = [
            (key, "***" if key.lower() == "password" else value)
            for key, value in parse_qsl(parts.query, keep_blank_values=True)
        ]
        parts = parts._replace(query=urlencode(query, safe="/*"))
    return urlunsplit(parts)

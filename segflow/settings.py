"""The one settings object; every field can be set as a SEGFLOW_* environment variable."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_SOURCE = "segflow.transactions"
# schema.name or name, each an unquoted PostgreSQL identifier (quoted when used).
_RELATION_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_$]{0,62}(\.[A-Za-z_][A-Za-z0-9_$]{0,62})?")


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
    prefect_port: int = Field(
        default=4200,
        ge=0,
        le=65535,
        description="Loopback port of the embedded Prefect server (API and UI), used when no PREFECT_API_URL is "
        "configured. When another program has it, the server takes a free port and says so; 0 always takes a "
        "free one.",
    )
    source_table: str = Field(
        default=DEFAULT_SOURCE,
        description="Table or view the nightly run reads transaction lines from (schema.name), with segflow's "
        "column names; see the README.",
    )
    source_rescan_days: int = Field(
        default=3,
        ge=0,
        description="For a source other than segflow.transactions: each night re-reads its lines from this many "
        "days before the newest day already folded (rows that arrive late); older changes need `segflow rebuild`.",
    )
    max_reject_share: float = Field(
        default=0.1,
        ge=0,
        le=1,
        description="An import whose rejected lines exceed this share of its lines loads nothing and fails.",
    )
    import_chunk_rows: int = Field(
        default=50_000, ge=1_000, description="Lines per COPY chunk when importing or generating."
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
    lookback_days: int = Field(default=365, ge=1, description="Days of history (ending on the as-of date) for RFM.")
    features: list[str] = Field(
        default=["recency_days", "frequency", "monetary"],
        description="Features the model clusters on: RFM features and/or customer attribute columns.",
    )
    max_train_customers: int = Field(
        default=200_000, ge=100, description="Customers in the deterministic training sample, at most."
    )
    silhouette_sample: int = Field(default=20_000, ge=100, description="Customers used to compute silhouette.")
    min_segment_share: float = Field(
        default=0.03, gt=0, lt=0.5, description="Smallest segment share a model may have; below it is degenerate."
    )
    min_clusters: int = Field(default=3, ge=2, description="Fewest segments a candidate may have.")
    max_clusters: int = Field(default=8, ge=2, le=12, description="Most segments a candidate may have.")
    score_chunk_rows: int = Field(default=100_000, ge=1_000, description="Customers scored per chunk.")
    seed: int = Field(default=42, ge=0, description="Seed for sampling and model fitting.")
    drift_psi_threshold: float = Field(
        default=0.2, gt=0, description="Segment-share PSI at or above which a run counts as drifted."
    )
    drift_share_threshold: float = Field(
        default=0.5, gt=0, le=1, description="Share of drifted features at or above which a run counts as drifted."
    )
    drift_sample: int = Field(default=20_000, ge=100, description="Customers per dataset in a drift report.")
    max_age_days: int = Field(
        default=30,
        ge=1,
        description="Train a challenger when the last training (champion or challenger) is more than this many "
        "days before the run.",
    )
    challenger_margin: float = Field(
        default=0.02,
        ge=0,
        description="Silhouette margin of the champion/challenger gate: a challenger that scores this much more "
        "than the champion wins; one within the margin wins only if it segments alike (challenger_min_ari).",
    )
    challenger_min_ari: float = Field(
        default=0.5,
        ge=-1,
        le=1,
        description="Adjusted Rand index with the champion's segments that a challenger within the silhouette "
        "margin needs to win: a model that re-segments customers must be clearly better.",
    )
    retrain_cooldown_days: int = Field(
        default=14,
        ge=0,
        description="After a challenger loses, drift is not checked (and trains nothing) for this many days.",
    )
    report_retention_runs: int = Field(
        default=30,
        ge=0,
        description="Keep the report files (segment pages, drift reports) of this many newest published runs; "
        "0 keeps all. Database rows are always kept.",
    )

    @field_validator("home", mode="after")
    @classmethod
    def _expand_home(cls, value: Path) -> Path:
        return value.expanduser().resolve()

    @field_validator("source_table", mode="after")
    @classmethod
    def _source_is_a_relation_name(cls, value: str) -> str:
        if not _RELATION_NAME.fullmatch(value):
            raise ValueError(f"must be a table or view name like schema.name, got {value!r}")
        return value

    @property
    def source_relation(self) -> tuple[str, ...]:
        """The source table's name as identifier parts: (schema, name) or (name,)."""
        return tuple(self.source_table.split("."))

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
    def prefect_dir(self) -> Path:
        """Folder of the embedded Prefect server: its SQLite database, log and state file."""
        return self.home / "prefect"

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


def redact_url(url: str) -> str:
    """The URL with any password (in the user part or a password= parameter) replaced by ***."""
    parts = urlsplit(url)
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

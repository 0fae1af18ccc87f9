"""The one settings object; every field can be set as a SEGFLOW_* environment variable."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)

from segflow.algorithms import ALGORITHMS, DEFAULT_ALGORITHMS, SPECTRAL_SAMPLE
from segflow.errors import ConfigError

DEFAULT_SOURCE = "segflow.transactions"
# schema.name or name, each an unquoted PostgreSQL identifier (quoted when used).
_RELATION_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_$]{0,62}(\.[A-Za-z_][A-Za-z0-9_$]{0,62})?")


CONFIG_VARIABLE = "SEGFLOW_CONFIG"
CONFIG_FILE = "segflow.yaml"


class ConfigFileError(ConfigError):
    """The YAML settings file is missing, unreadable, or has a key or value segflow cannot use."""

    def __init__(self, path: Path, problem: str) -> None:
        self.path, self.problem = path, problem
        super().__init__(f"settings file {path}: {problem}")


class Settings(BaseSettings):
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
        yaml_settings = () if path is None else (_YamlSettingsFile(settings_cls, path),)
        return init_settings, env_settings, dotenv_settings, *yaml_settings, file_secret_settings

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
    prefect_port: int = Field(
        default=4200,
        ge=0,
        le=65535,
        description="Port of the embedded Prefect server (API and UI), used when no PREFECT_API_URL is "
        "configured. When another program has it, the server takes a free port and says so; 0 always takes a "
        "free one.",
    )
    prefect_host: str = Field(
        default="127.0.0.1",
        description="Address the embedded Prefect server listens on. Its API and UI have no login: anything but "
        "loopback lets whoever reaches it read every run's parameters and logs, and start or cancel runs.",
    )
    flow_timeout_seconds: int = Field(
        default=4 * 3600,
        ge=0,
        description="A flow run still running after this many seconds (waiting for its database's run slot "
        "included) is stopped and ends TimedOut; its attempt is marked failed and the published segments stay. "
        "0: no limit.",
    )
    alert_webhook_url: SecretStr | None = Field(
        default=None,
        description="URL `segflow prefect setup` gives Prefect's failure notification: a JSON POST for each segflow "
        "flow run that fails, crashes or times out. Unset: no notification.",
    )
    source_table: str = Field(
        default=DEFAULT_SOURCE,
        description="Table or view the nightly run reads transaction lines from (schema.name), with segflow's "
        "column names; see docs/data.md.",
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
    max_source_lag_days: int = Field(
        default=3,
        ge=0,
        description="A night whose as-of date is more than this many days after the source's newest line fails "
        "instead of publishing: the as-of date is the run's day and exports land daily, so 3 days lets a weekend "
        "without lines pass (Friday's lines, Monday's night) and stops a broken export on the fourth night.",
    )
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
    algorithms: Annotated[list[str], NoDecode] = Field(
        default=list(DEFAULT_ALGORITHMS),
        description="Clustering algorithms whose candidates compete, comma-separated or a JSON list: "
        f"{', '.join(ALGORITHMS)}. spectral is off by default (it fits on spectral_sample customers).",
    )
    spectral_sample: int = Field(
        default=SPECTRAL_SAMPLE,
        ge=100,
        le=5_000,
        description="Customers spectral clustering is fitted on: it builds an n x n affinity matrix (5,000 is "
        "200 MB), so it is bounded; every customer is then assigned to the nearest centroid.",
    )
    pca_components: float = Field(
        default=0,
        ge=0,
        description="PCA after standardising, in model space: 0 off; a whole number of components (at most the "
        "number of features); or a share of variance to keep, e.g. 0.95.",
    )
    score_chunk_rows: int = Field(default=100_000, ge=1_000, description="Customers scored per chunk.")
    partitions: int = Field(
        default=1,
        ge=1,
        le=4096,
        description="Customer partitions (by a hash of customer_id) that the nightly's features, scoring and "
        "assignment writes are split into, each its own task run. 1: the whole population at once.",
    )
    dask_address: str = Field(
        default="",
        description="Where the partitions run. Empty: one after another in the flow's own process; 'local:N': a "
        "Dask LocalCluster of N worker processes on this machine; 'tcp://HOST:PORT': a running Dask scheduler "
        "(its workers need this environment: the database URL or SEGFLOW_HOME, and PREFECT_API_URL).",
    )
    seed: int = Field(default=42, ge=0, description="Seed for sampling and model fitting.")
    drift_psi_threshold: float = Field(
        default=0.2, gt=0, description="Segment-share PSI at or above which a run counts as drifted."
    )
    drift_share_threshold: float = Field(
        default=0.5, gt=0, le=1, description="Share of drifted features at or above which a run counts as drifted."
    )
    drift_inactive_rise: float = Field(
        default=5.0,
        gt=0,
        le=100,
        description="Rise of the inactive share of all customers, in share points (5: from 2 % to 7 %), at or "
        "above which a run counts as drifted, a verdict of its own ('inactive 2.0 % → 7.0 %').",
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
    api_host: str = Field(default="127.0.0.1", description="Address `segflow api` listens on (loopback by default).")
    api_port: int = Field(default=8765, ge=0, le=65535, description="Port `segflow api` listens on.")
    api_token: SecretStr | None = Field(
        default=None,
        description="When set, every `segflow api` endpoint but /health needs the header Authorization: Bearer TOKEN.",
    )
    api_max_body_bytes: int = Field(
        default=4 * 1024 * 1024,
        ge=1,
        description="Largest request body `segflow api` reads (413 beyond it, before reading it); 4 MiB holds a "
        "/score/batch of 10,000 customers.",
    )
    api_max_file_bytes: int = Field(
        default=32 * 1024 * 1024,
        ge=1,
        description="Largest upload to /score/file (hundreds of thousands of RFM rows); a larger file: "
        "`segflow score-file`.",
    )
    api_body_timeout_seconds: float = Field(
        default=60,
        gt=0,
        description="Seconds a request's body may take to arrive at `segflow api` (408 after them).",
    )
    api_request_timeout_seconds: float = Field(
        default=120,
        gt=0,
        description="Seconds `segflow api` works on one request: scoring an uploaded file stops after them (503), "
        "and so does any database query (statement_timeout).",
    )
    upload_max_columns: int = Field(
        default=1_000,
        ge=1,
        description="Most columns an uploaded CSV (API /score/file, the app's batch page) may have; a wider header "
        "is refused (413 in the API) before any row is read.",
    )
    upload_max_line_bytes: int = Field(
        default=1024 * 1024,
        ge=1,
        description="Longest line, in bytes, of an uploaded CSV; a longer one is refused (413 in the API) when it "
        "is reached, before it is parsed.",
    )
    api_database_url: SecretStr | None = Field(
        default=None,
        description="URL `segflow api` connects with: a read-only BI login's (segflow db create-bi-user). Unset: "
        "SEGFLOW_DATABASE_URL (or the embedded server), with every transaction read-only.",
    )

    @field_validator("algorithms", mode="before")
    @classmethod
    def _algorithms_as_list(cls, value: object) -> object:
        # From the environment it is text: "kmeans,spectral" or a JSON list like the other list settings.
        if isinstance(value, str):
            text = value.strip()
            return json.loads(text) if text.startswith("[") else [a.strip() for a in text.split(",") if a.strip()]
        return value

    @field_validator("algorithms", mode="after")
    @classmethod
    def _algorithms_are_known(cls, value: list[str]) -> list[str]:
        unknown = [a for a in value if a not in ALGORITHMS]
        if unknown or not value:
            problem = f"unknown {', '.join(map(repr, unknown))}" if unknown else "none chosen"
            raise ValueError(f"{problem}; choose among {', '.join(ALGORITHMS)}")
        return value

    @field_validator("pca_components", mode="after")
    @classmethod
    def _pca_is_a_count_or_a_share(cls, value: float) -> float:
        if value >= 1 and value != int(value):
            raise ValueError(f"must be 0 (off), a whole number of components, or a share below 1; got {value:g}")
        return value

    ui_host: str = Field(
        default="127.0.0.1",
        description="Address `segflow ui` listens on. The app has no login: anything but loopback exposes the "
        "data and model promotion to whoever reaches it.",
    )
    ui_port: int = Field(default=8501, ge=1, le=65535, description="Port `segflow ui` listens on.")
    ui_max_upload_mb: int = Field(
        default=50,
        ge=1,
        le=2_000,
        description="The largest file the app's batch page takes, in MB: Streamlit holds an upload in memory, so "
        "this bounds what one upload costs (Streamlit's own default is 200).",
    )
    mlflow_tracking_uri: str | None = Field(
        default=None,
        description="MLflow tracking server or store each model version is mirrored to (segflow[mlflow] extra), "
        "e.g. http://mlflow.internal:5000 or sqlite:////srv/mlflow.db. Unset or blank: no mirror, and mlflow is "
        "never imported. segflow's registry stays the source of truth.",
    )
    mlflow_model_name: str = Field(
        default="segflow-segments",
        min_length=1,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$",
        description="Registered model the versions are mirrored under (letters, digits, _ . -): one name per "
        "segflow database, since segflow's version numbers are its own.",
    )
    mlflow_experiment: str = Field(
        default="segflow", min_length=1, description="MLflow experiment of the runs that log the versions."
    )
    mlflow_artifact_location: str | None = Field(
        default=None,
        description="Where the experiment keeps its artifacts when segflow creates it (a folder or URI). Unset: "
        "$SEGFLOW_HOME/mlruns for a local store (sqlite:, file:), the server's default for an http(s) server.",
    )

    @field_validator("mlflow_tracking_uri", "mlflow_artifact_location", mode="after")
    @classmethod
    def _blank_is_unset(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        return value.strip()

    @field_validator("embedded_tcp_port", "embedded_socket_group", mode="before")
    @classmethod
    def _blank_listener_is_unset(cls, value: object) -> object:
        # SEGFLOW_EMBEDDED_TCP_PORT= in a .env copied from .env.example means "off", not an error.
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("dask_address", mode="after")
    @classmethod
    def _dask_address_form(cls, value: str) -> str:
        if value and not re.fullmatch(r"local:[1-9][0-9]{0,2}|(tcp|tls)://\S+:[0-9]+", value):
            raise ValueError(
                f"dask_address must be empty, 'local:N' (N worker processes) or tcp://HOST:PORT, got {value!r}"
            )
        return value

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

    @field_validator("database_url", "api_database_url", mode="after")
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

    @property
    def mirrors_to_mlflow(self) -> bool:
        """Whether model versions are mirrored to MLflow (a tracking URI is set)."""
        return self.mlflow_tracking_uri is not None

    @property
    def mlflow_artifact_root(self) -> str | None:
        """Artifact location for the experiment segflow creates; None leaves it to the tracking server."""
        if self.mlflow_artifact_location is not None:
            return self.mlflow_artifact_location
        scheme = urlsplit(self.mlflow_tracking_uri or "").scheme
        # A local store would put artifacts in ./mlruns of whatever folder the process runs in (a Prefect
        # worker's is anyone's guess); a server decides for itself (it may proxy artifacts).
        return (self.home / "mlruns").as_uri() if scheme in {"sqlite", "file", ""} else None


def settings_file() -> Path | None:
    """The YAML settings file to read: $SEGFLOW_CONFIG (which must exist), else ./segflow.yaml if present."""
    named = os.environ.get(CONFIG_VARIABLE, "").strip()
    if named:
        path = Path(named).expanduser()
        if not path.is_file():
            raise ConfigFileError(path.resolve(), f"not found (named by {CONFIG_VARIABLE})")
        return path.resolve()
    here = Path.cwd() / CONFIG_FILE
    return here if here.is_file() else None


class _YamlSettingsFile(YamlConfigSettingsSource):
    """Settings from a YAML mapping whose keys are the settings' field names (seed, not SEGFLOW_SEED).

    Unlike the environment, where unrelated variables abound, every key must be a setting: a typo in a file
    that is ignored would leave a setting at its default without a word.
    """

    def __init__(self, settings_cls: type[BaseSettings], path: Path) -> None:
        self.path = path
        super().__init__(settings_cls, yaml_file=path)
        self._check(settings_cls)

    def _read_file(self, file_path: Any) -> dict[str, Any]:
        """The file's mapping, or an error naming the file when it is not YAML or not a mapping."""
        import yaml  # only when there is a file to read

        try:
            data = super()._read_file(file_path)
        except yaml.YAMLError as exc:
            raise ConfigFileError(self.path, " ".join(f"not valid YAML: {exc}".split())) from exc
        except OSError as exc:
            raise ConfigFileError(self.path, f"cannot be read ({exc.strerror})") from exc
        if not isinstance(data, dict):
            raise ConfigFileError(self.path, f"must be a mapping of setting: value, not a {type(data).__name__}")
        return data

    def _check(self, settings_cls: type[BaseSettings]) -> None:
        for key in self.yaml_data:
            if key not in settings_cls.model_fields:
                hint = str(key).lower().removeprefix("segflow_")
                suggestion = (
                    f" (write {hint!r}: keys are setting names without SEGFLOW_)"
                    if hint in settings_cls.model_fields
                    else ""
                )
                raise ConfigFileError(self.path, f"unknown key {key!r}{suggestion}")
        # Each of the file's values alone, so that an error names the key as written in the file (the full
        # validation later would word it as an environment variable).
        blank = settings_cls.model_construct()
        for key, value in self.yaml_data.items():
            try:
                settings_cls.__pydantic_validator__.validate_assignment(blank, key, value)
            except ValidationError as exc:
                raise ConfigFileError(self.path, f"bad value for {key!r}: {_reason(exc)}") from exc


def _reason(error: ValidationError) -> str:
    """The first problem pydantic found, without its 'Value error, ' preamble for our own validators."""
    return str(error.errors()[0]["msg"]).removeprefix("Value error, ")


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

"""The services segflow works with: Prefect (its server, flow time limit, failure notification), Dask (where
partitions run) and MLflow (the optional mirror of model versions)."""

from __future__ import annotations

import re

from pydantic import BaseModel, Field, SecretStr, field_validator


class IntegrationSettings(BaseModel):
    """Prefect, Dask and MLflow."""

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

    @field_validator("dask_address", mode="after")
    @classmethod
    def _dask_address_form(cls, value: str) -> str:
        if value and not re.fullmatch(r"local:[1-9][0-9]{0,2}|(tcp|tls)://\S+:[0-9]+", value):
            raise ValueError(
                f"dask_address must be empty, 'local:N' (N worker processes) or tcp://HOST:PORT, got {value!r}"
            )
        return value

    @property
    def mirrors_to_mlflow(self) -> bool:
        """Whether model versions are mirrored to MLflow (a tracking URI is set)."""
        return self.mlflow_tracking_uri is not None

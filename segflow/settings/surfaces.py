"""The surfaces that serve people and programs: the scoring API, uploads (API and app), and the Streamlit app."""

from __future__ import annotations

from pydantic import BaseModel, Field, SecretStr, field_validator

from segflow.settings.storage import postgres_url_or_none


class SurfaceSettings(BaseModel):
    """Where `segflow api` and `segflow ui` listen, and the limits of what they read."""

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

    @field_validator("api_database_url", mode="after")
    @classmethod
    def _blank_api_database_url_is_unset(cls, value: SecretStr | None) -> SecretStr | None:
        return postgres_url_or_none(value)

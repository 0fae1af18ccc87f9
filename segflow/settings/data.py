"""Where the nightly reads its lines and how much history it looks at: the source table, its freshness, imports."""

from __future__ import annotations

import re

from pydantic import BaseModel, Field, field_validator

DEFAULT_SOURCE = "segflow.transactions"
# schema.name or name, each an unquoted PostgreSQL identifier (quoted when used).
_RELATION_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_$]{0,62}(\.[A-Za-z_][A-Za-z0-9_$]{0,62})?")


class DataSettings(BaseModel):
    """The source of transaction lines, imports, and the window of history a night reads."""

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
    lookback_days: int = Field(default=365, ge=1, description="Days of history (ending on the as-of date) for RFM.")
    max_source_lag_days: int = Field(
        default=3,
        ge=0,
        description="A night whose as-of date is more than this many days after the source's newest line fails "
        "instead of publishing: the as-of date is the run's day and exports land daily, so 3 days lets a weekend "
        "without lines pass (Friday's lines, Monday's night) and stops a broken export on the fourth night.",
    )

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

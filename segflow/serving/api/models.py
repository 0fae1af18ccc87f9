"""What the scoring API's requests and responses hold (pydantic models, so FastAPI validates and documents them)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field

MAX_BATCH = 10_000  # customers per /score/batch request; files go to /score/file
MAX_ID_LENGTH = 200  # characters of a customer id, in a path or a body
# An id is printable: a NUL (which PostgreSQL refuses with an error) or another control character is no customer's.
ID_PATTERN = r"^[^\x00-\x1f\x7f]+$"

FiniteNumber = Annotated[float, Field(allow_inf_nan=False)]


class CustomerFeatures(BaseModel):
    """One customer's feature values, by the names the model clusters on."""

    customer_id: str | None = Field(
        default=None, max_length=MAX_ID_LENGTH, description="Echoed back; not used for scoring."
    )
    features: dict[str, FiniteNumber] = Field(
        description="Value of every feature the champion clusters on (see GET /health for its version).",
        examples=[{"recency_days": 12, "frequency": 5, "monetary": 900.0}],
    )


class BatchRequest(BaseModel):
    customers: list[CustomerFeatures] = Field(min_length=1, max_length=MAX_BATCH)


class Score(BaseModel):
    """The segment a customer gets, how close they are to its centre, and what to do with them."""

    customer_id: str | None
    segment_key: str
    segment_name: str
    action: str
    distance: float = Field(description="Distance to the segment's centroid in model space.")
    confidence: float = Field(description="0 on the border with the next segment, 1 on the centroid.")
    model_version: int


class BatchScores(BaseModel):
    scores: list[Score]


class Health(BaseModel):
    status: Literal["ok"]
    database: Literal["reachable"]
    champion_version: int | None
    loaded_version: int | None

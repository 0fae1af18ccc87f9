"""Scoring with the champion: one customer, a batch, or a CSV file; an invalid customer is a 422 naming it."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import pandas as pd
from fastapi import APIRouter, File, Query, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response, StreamingResponse

from segflow.modelling.scoring import Scorer
from segflow.serving.api.champion import ChampionModel
from segflow.serving.api.error_responses import excerpt
from segflow.serving.api.models import BatchRequest, BatchScores, CustomerFeatures, Score
from segflow.serving.uploads import UploadLimits, score_upload
from segflow.settings import Settings


def score_routes(champion: ChampionModel, settings: Settings, guarded: list[Any]) -> APIRouter:
    """/score, /score/batch and /score/file, each behind the `guarded` dependencies."""
    router = APIRouter()

    @router.post("/score", dependencies=guarded)
    def score(customer: CustomerFeatures) -> Score:
        """Score one customer."""
        return _score_customers(champion.current(), [customer], ("body",))[0]

    @router.post("/score/batch", dependencies=guarded)
    def score_batch(request: BatchRequest) -> BatchScores:
        """Score a list of customers (at most 10,000); any invalid one rejects the request with a 422 naming it."""
        return BatchScores(scores=_score_customers(champion.current(), request.customers, ("body", "customers")))

    @router.post("/score/file", dependencies=guarded, response_model=None)
    def score_file(
        file: Annotated[UploadFile, File(description="CSV with a header: the model's features, any other columns.")],
        format: Annotated[Literal["csv", "json"], Query(description="csv: the file back, scored.")] = "csv",
    ) -> Response:
        """Score a CSV file: each valid row gets its segment; the others are counted and listed (row, message)."""
        scorer = champion.current()
        limits = UploadLimits.within(
            settings.upload_max_columns, settings.upload_max_line_bytes, settings.api_request_timeout_seconds
        )
        # Scored into a spooled file and streamed from it: memory stays flat in the file's size, and the counts are
        # known before the first byte goes out.
        result = score_upload(scorer, file.file, excerpt(file.filename or "the file"), limits, format)
        headers = {
            "X-Segflow-Rows-Scored": str(result.rows_scored),
            "X-Segflow-Row-Errors": str(result.row_errors),
            "Content-Length": str(result.size()),
        }
        media = "application/json" if format == "json" else "text/csv"
        return StreamingResponse(result.blocks(), media_type=media, headers=headers)

    return router


def _score_customers(scorer: Scorer, customers: list[CustomerFeatures], where: tuple[str, ...]) -> list[Score]:
    missing = [
        _invalid(
            (*where, *_index(where, i), "features", name),
            "missing",
            f"model v{scorer.version} clusters on {name}",
        )
        for i, customer in enumerate(customers)
        for name in scorer.features
        if name not in customer.features
    ]
    if missing:
        raise RequestValidationError(missing)
    frame = pd.DataFrame(
        [{name: c.features[name] for name in scorer.input_columns(list(c.features))} for c in customers]
    )
    batch = scorer.score(frame)
    if batch.errors:
        raise RequestValidationError(
            [
                _invalid(
                    (*where, *_index(where, e.row - 1), "features", e.column),
                    "value_error",
                    e.message.split(": ", 1)[-1],
                )
                for e in batch.errors
            ]
        )
    return [
        Score(
            customer_id=customer.customer_id,
            segment_key=row["segment_key"],
            segment_name=row["segment_name"],
            action=row["action"],
            distance=float(row["distance"]),
            confidence=float(row["confidence"]),
            model_version=int(row["model_version"]),
        )
        for customer, row in zip(customers, batch.rows.to_dict(orient="records"), strict=True)
    ]


def _index(where: tuple[str, ...], i: int) -> tuple[int, ...]:
    return (i,) if where[-1] == "customers" else ()


def _invalid(loc: tuple[str | int, ...], kind: str, message: str) -> dict[str, Any]:
    """One entry of a 422's detail, in FastAPI's own shape (loc names the field)."""
    return {"type": kind, "loc": loc, "msg": message, "input": None}

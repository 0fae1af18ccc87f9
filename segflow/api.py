"""`segflow api`: online scoring and look-ups over HTTP (FastAPI), on a read-only database connection.

The app keeps the champion model in memory and asks the database which version is champion at most once every
CHAMPION_CHECK_SECONDS (one small query): a promotion is picked up within that time, without a restart, and the
model is loaded again only when the version changed.
"""

from __future__ import annotations

import asyncio
import logging
import reprlib
import secrets
import threading
import time
from pathlib import Path as FilePath
from typing import Annotated, Any, Literal

import pandas as pd
import swagger_ui_bundle
from fastapi import Depends, FastAPI, File, HTTPException, Path, Query, Request, UploadFile
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response, StreamingResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from psycopg2.errors import QueryCanceled
from pydantic import BaseModel, Field
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from segflow import registry
from segflow.customers import UnknownCustomer, customer_view
from segflow.db import Database
from segflow.errors import DatabaseUnreachable, NoChampion, SegflowError
from segflow.scoring import Scorer
from segflow.segments import RULE_SEGMENTS
from segflow.settings import Settings
from segflow.uploads import ScoringTooSlow, UploadLimits, UploadRefused, score_upload

CHAMPION_CHECK_SECONDS = 1.0
MAX_BATCH = 10_000  # customers per /score/batch request; files go to /score/file
MAX_ID_LENGTH = 200  # characters of a customer id, in a path or a body
# An id is printable: a NUL (which PostgreSQL refuses with an error) or another control character is no customer's.
ID_PATTERN = r"^[^\x00-\x1f\x7f]+$"
EXCERPT_CHARS = 80  # of a bad input a 422 shows: enough to recognise it, never the whole body sent back
MAX_SHOWN_ERRORS = 100  # entries of a 422's detail; X-Segflow-Validation-Errors counts them all
# The Swagger UI files /docs loads, served from the installed bundle (an allow-list: no other file of it is served).
DOCS_ASSETS = ("swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png")

log = logging.getLogger(__name__)

# Module-level: the app's endpoints are closures, and FastAPI resolves their (string) annotations in this module.
_bearer = HTTPBearer(auto_error=False, description="SEGFLOW_API_TOKEN, when it is set.")

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


class ChampionModel:
    """The champion's Scorer, reloaded when another version becomes champion."""

    def __init__(self, db: Database, check_seconds: float = CHAMPION_CHECK_SECONDS) -> None:
        self.db = db
        self.check_seconds = check_seconds
        self._scorer: Scorer | None = None
        self._checked_at = float("-inf")
        self._lock = threading.Lock()

    @property
    def loaded_version(self) -> int | None:
        return self._scorer.version if self._scorer is not None else None

    def current(self) -> Scorer:
        """The champion's scorer; NoChampion when nothing has been trained."""
        with self._lock:
            now = time.monotonic()
            if self._scorer is None or now - self._checked_at >= self.check_seconds:
                version = registry.champion(self.db)
                self._checked_at = now
                if version is None:
                    raise NoChampion()
                if self._scorer is None or self._scorer.version != version:
                    self._scorer = Scorer.load(self.db, version)
            return self._scorer


def api_database(settings: Settings) -> Database:
    """The API's connection: the BI login's URL when configured, else segflow's own, read-only either way."""
    if settings.api_database_url is not None:
        settings = settings.model_copy(update={"database_url": settings.api_database_url})
    return Database(settings, read_only=True, statement_seconds=settings.api_request_timeout_seconds)


def create_app(settings: Settings, check_seconds: float = CHAMPION_CHECK_SECONDS) -> FastAPI:
    """The scoring API on the database the settings name."""
    db = api_database(settings)
    champion = ChampionModel(db, check_seconds)
    app = FastAPI(
        title="segflow",
        summary="Score customers with the champion segmentation model; look up customers and segments.",
        version="1",
        docs_url=None,  # served below from the installed Swagger UI: many segflow machines have no internet
        redoc_url=None,
        openapi_url=None,  # served below, behind the token like every endpoint but /health
    )
    # Outermost but for Starlette's error middleware: a body over the limit is refused before it is read, and
    # before the token is checked (FastAPI reads the body before it runs the dependencies).
    app.add_middleware(
        BodySizeLimit,
        limit=settings.api_max_body_bytes,
        paths={"/score/file": settings.api_max_file_bytes},
        seconds=settings.api_body_timeout_seconds,
    )

    token = settings.api_token.get_secret_value() if settings.api_token is not None else None

    def authorised(credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> None:
        if token is None:
            return
        if credentials is None or not secrets.compare_digest(credentials.credentials.encode(), token.encode()):
            raise HTTPException(401, "a valid bearer token is required", headers={"WWW-Authenticate": "Bearer"})

    guarded = [Depends(authorised)]

    @app.get("/openapi.json", include_in_schema=False, dependencies=guarded)
    def openapi() -> JSONResponse:
        return JSONResponse(app.openapi())

    @app.get("/docs-assets/{name}", include_in_schema=False, dependencies=guarded)
    def docs_asset(name: str) -> FileResponse:
        if name not in DOCS_ASSETS:
            raise HTTPException(404, "not found")
        return FileResponse(FilePath(swagger_ui_bundle.swagger_ui_path) / name)

    @app.get("/docs", include_in_schema=False, dependencies=guarded)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="segflow API",
            swagger_js_url="/docs-assets/swagger-ui-bundle.js",
            swagger_css_url="/docs-assets/swagger-ui.css",
            swagger_favicon_url="/docs-assets/favicon-32x32.png",
        )

    @app.exception_handler(RequestValidationError)
    def _invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        return JSONResponse(
            {"detail": [_bounded_error(e) for e in errors[:MAX_SHOWN_ERRORS]]},
            status_code=422,
            headers={"X-Segflow-Validation-Errors": str(len(errors))},
        )

    @app.exception_handler(SegflowError)
    def _segflow_error(request: Request, exc: SegflowError) -> JSONResponse:
        if isinstance(exc, DatabaseUnreachable):
            # Its fields name the host, port, database or socket path: for the server's log, not the caller.
            log.warning("%s %s: %s", request.method, request.url.path, exc)
            return JSONResponse({"detail": "database unreachable"}, status_code=503)
        if isinstance(exc, UnknownCustomer):
            status = 404
        elif isinstance(exc, NoChampion | ScoringTooSlow):
            status = 503
        elif isinstance(exc, UploadRefused):
            status = 413
        else:
            status = 400
        return JSONResponse(error_body(exc), status_code=status)

    @app.exception_handler(QueryCanceled)
    def _query_too_slow(request: Request, exc: QueryCanceled) -> JSONResponse:
        seconds = settings.api_request_timeout_seconds
        log.warning("%s %s: query cancelled after %g s", request.method, request.url.path, seconds)
        detail = f"the database took longer than the limit of {seconds:g} s (SEGFLOW_API_REQUEST_TIMEOUT_SECONDS)"
        return JSONResponse({"detail": detail}, status_code=503)

    @app.post("/score", dependencies=guarded)
    def score(customer: CustomerFeatures) -> Score:
        """Score one customer."""
        return _score_customers(champion.current(), [customer], ("body",))[0]

    @app.post("/score/batch", dependencies=guarded)
    def score_batch(request: BatchRequest) -> BatchScores:
        """Score a list of customers (at most 10,000); any invalid one rejects the request with a 422 naming it."""
        return BatchScores(scores=_score_customers(champion.current(), request.customers, ("body", "customers")))

    @app.post("/score/file", dependencies=guarded, response_model=None)
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
        result = score_upload(scorer, file.file, _excerpt(file.filename or "the file"), limits, format)
        headers = {
            "X-Segflow-Rows-Scored": str(result.rows_scored),
            "X-Segflow-Row-Errors": str(result.row_errors),
            "Content-Length": str(result.size()),
        }
        media = "application/json" if format == "json" else "text/csv"
        return StreamingResponse(result.blocks(), media_type=media, headers=headers)

    @app.get("/customers/{customer_id}", dependencies=guarded)
    def customer(
        customer_id: Annotated[str, Path(max_length=MAX_ID_LENGTH, pattern=ID_PATTERN)],
    ) -> dict[str, Any]:
        """A customer's segment in the current run (null if not in it) and in every published run."""
        view = customer_view(db, customer_id, model_features=False)  # BI login: current_segments' columns only
        return jsonable_encoder({"customer_id": view.customer_id, "current": view.current, "history": view.history})

    @app.get("/segments", dependencies=guarded)
    def segments() -> dict[str, Any]:
        """The segments of the current published run: size, share, means, revenue, action."""
        columns = (
            "run_id",
            "as_of",
            "model_version",
            "segment_key",
            "segment_name",
            "action",
            "customers",
            "share",
            "mean_recency_days",
            "mean_frequency",
            "mean_monetary",
            "total_monetary",
        )
        rows = [dict(zip(columns, row, strict=True)) for row in db.run("queries/api/current_segments")]
        run = {k: rows[0][k] for k in ("run_id", "as_of")} if rows else {"run_id": None, "as_of": None}
        segments = [{k: v for k, v in row.items() if k not in ("run_id", "as_of")} for row in rows]
        for segment in segments:  # a rule segment's action is segflow's, not a model's
            segment["action"] = segment["action"] or RULE_SEGMENTS.get(segment["segment_key"], ("", None))[1]
        return jsonable_encoder({**run, "segments": segments})

    @app.get("/health")
    def health() -> Health:
        """Whether the database answers, and the champion's version (also the one loaded, if any)."""
        return Health(
            status="ok",
            database="reachable",
            champion_version=registry.champion(db),
            loaded_version=champion.loaded_version,
        )

    return app


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


_short = reprlib.Repr()
_short.maxstring = _short.maxother = EXCERPT_CHARS
_short.maxlist = _short.maxdict = _short.maxtuple = 5
_short.maxlevel = 2


def _excerpt(value: Any) -> Any:
    """A bad input as a 422 shows it: small numbers as they are, anything else as at most EXCERPT_CHARS characters
    of text (a non-finite number as its text: JSON has no NaN, and encoding one made the 422 a 500)."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int | float) and abs(value) <= 1e15:  # also False for NaN
        return value
    text = value if isinstance(value, str) else _short.repr(value)
    return text if len(text) <= EXCERPT_CHARS else text[: EXCERPT_CHARS - 1] + "…"


def error_body(error: SegflowError) -> dict[str, Any]:
    """A segflow error as JSON: `detail`, the library's sentence (it names no CLI flag), and `error`, its type and
    fields, for a caller that acts on the values rather than the words."""
    fields: dict[str, Any] = {}
    for name, value in error.facts().items():
        try:
            fields[name] = jsonable_encoder(value)
        except (TypeError, ValueError):  # a value JSON cannot hold: its text
            fields[name] = str(value)
    return {"detail": str(error), "error": {"type": type(error).__name__, **fields}}


def _bounded_error(error: dict[str, Any]) -> dict[str, Any]:
    """One 422 entry in FastAPI's shape (type, loc naming the field, msg, input), every part of it bounded."""
    return {
        "type": str(error.get("type", "value_error")),
        "loc": [part if isinstance(part, int) else _excerpt(str(part)) for part in error.get("loc", ())],
        "msg": _excerpt(str(error.get("msg", ""))),
        "input": _excerpt(error.get("input")),
    }


class BodyRefused(HTTPException):
    """A request body refused while it arrives (an HTTPException, so that FastAPI's body reading passes it on as it
    is). Connection: close, so that the server does not read the rest of the body to reuse the connection."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(status, detail, headers={"Connection": "close"})


class BodyTooLarge(BodyRefused):
    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body is larger than the limit of {limit:,} bytes")


class BodyTooSlow(BodyRefused):
    def __init__(self, seconds: float) -> None:
        super().__init__(408, f"the request body did not arrive within {seconds:g} s")


class BodySizeLimit:
    """Pure ASGI middleware: 413 for a request whose Content-Length is over its path's limit, before any of the
    body is read; a body without one (chunked) is counted as it streams and refused when it passes the limit. A
    body that has not all arrived `seconds` after the request began is a 408 (a slow sender holds no worker)."""

    def __init__(self, app: ASGIApp, limit: int, paths: dict[str, int], seconds: float) -> None:
        self.app = app
        self.limit = limit
        self.paths = paths
        self.seconds = seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.paths.get(scope["path"], self.limit)
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _refuse(send, BodyTooLarge(limit))
            return
        deadline = time.monotonic() + self.seconds
        received = 0
        complete = False
        started = False

        async def counted_receive() -> Message:
            nonlocal received, complete
            if complete:  # after the body, receive only waits for a disconnect: no deadline
                return await receive()
            try:
                async with asyncio.timeout(max(deadline - time.monotonic(), 0)):
                    message = await receive()
            except TimeoutError:
                raise BodyTooSlow(self.seconds) from None
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                complete = not message.get("more_body", False)
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        async def watched_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted_receive, watched_send)
        except BodyRefused as refusal:
            if started:
                raise
            await _refuse(send, refusal)


async def _refuse(send: Send, refusal: BodyRefused) -> None:
    response = JSONResponse({"detail": refusal.detail}, status_code=refusal.status_code, headers=refusal.headers)
    await response({"type": "http"}, _no_body, send)


async def _no_body() -> Message:
    return {"type": "http.disconnect"}

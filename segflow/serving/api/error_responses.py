"""How errors reach an API caller: a segflow error as JSON with the status it deserves, a 422 bounded in size,
a database that is unreachable or too slow as a 503 that does not leak its address."""

from __future__ import annotations

import logging
import reprlib
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from psycopg2.errors import QueryCanceled

from segflow.errors import DatabaseUnreachable, NoChampion, SegflowError
from segflow.serving.customers import UnknownCustomer
from segflow.serving.uploads import ScoringTooSlow, UploadRefused
from segflow.settings import Settings

EXCERPT_CHARS = 80  # of a bad input a 422 shows: enough to recognise it, never the whole body sent back
MAX_SHOWN_ERRORS = 100  # entries of a 422's detail; X-Segflow-Validation-Errors counts them all

log = logging.getLogger(__name__)


def add_error_handlers(app: FastAPI, settings: Settings) -> None:
    """Word every error a route may raise for the caller: 422, 404, 413, 503 or 400, with a JSON body."""

    @app.exception_handler(RequestValidationError)
    def _invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        return JSONResponse(
            {"detail": [bounded_error(e) for e in errors[:MAX_SHOWN_ERRORS]]},
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


_short = reprlib.Repr()
_short.maxstring = _short.maxother = EXCERPT_CHARS
_short.maxlist = _short.maxdict = _short.maxtuple = 5
_short.maxlevel = 2


def excerpt(value: Any) -> Any:
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


def bounded_error(error: dict[str, Any]) -> dict[str, Any]:
    """One 422 entry in FastAPI's shape (type, loc naming the field, msg, input), every part of it bounded."""
    return {
        "type": str(error.get("type", "value_error")),
        "loc": [part if isinstance(part, int) else excerpt(str(part)) for part in error.get("loc", ())],
        "msg": excerpt(str(error.get("msg", ""))),
        "input": excerpt(error.get("input")),
    }

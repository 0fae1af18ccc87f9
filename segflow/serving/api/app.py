"""`segflow api`: online scoring and look-ups over HTTP (FastAPI), on a read-only database connection.

create_app puts the pieces together: the body limits (body_limit.py), the token (auth.py), how errors reach the
caller (error_responses.py), and the routes (docs_routes.py, score_routes.py, lookup_routes.py) around the champion
model kept in memory (champion.py).
"""

from __future__ import annotations

from fastapi import FastAPI

from segflow.serving.api.auth import token_required
from segflow.serving.api.body_limit import BodySizeLimit
from segflow.serving.api.champion import CHAMPION_CHECK_SECONDS, ChampionModel
from segflow.serving.api.docs_routes import docs_routes
from segflow.serving.api.error_responses import add_error_handlers
from segflow.serving.api.lookup_routes import lookup_routes
from segflow.serving.api.score_routes import score_routes
from segflow.settings import Settings
from segflow.storage.db import Database


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
        docs_url=None,  # served by docs_routes from the installed Swagger UI: many segflow machines have no internet
        redoc_url=None,
        openapi_url=None,  # served by docs_routes, behind the token like every endpoint but /health
    )
    # Outermost but for Starlette's error middleware: a body over the limit is refused before it is read, and
    # before the token is checked (FastAPI reads the body before it runs the dependencies).
    app.add_middleware(
        BodySizeLimit,
        limit=settings.api_max_body_bytes,
        paths={"/score/file": settings.api_max_file_bytes},
        seconds=settings.api_body_timeout_seconds,
    )
    add_error_handlers(app, settings)
    guarded = token_required(settings)
    app.include_router(docs_routes(guarded))
    app.include_router(score_routes(champion, settings, guarded))
    app.include_router(lookup_routes(db, champion, guarded))
    return app

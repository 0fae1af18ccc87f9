"""The API's own documentation: the OpenAPI schema and the Swagger UI, served from the installed bundle (many
segflow machines have no internet) and behind the token like every endpoint but /health."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import swagger_ui_bundle
from fastapi import APIRouter, HTTPException, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse

# The Swagger UI files /docs loads, served from the installed bundle (an allow-list: no other file of it is served).
DOCS_ASSETS = ("swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png")


def docs_routes(guarded: list[Any]) -> APIRouter:
    """/openapi.json, /docs and the files /docs loads, each behind the `guarded` dependencies."""
    router = APIRouter()

    @router.get("/openapi.json", include_in_schema=False, dependencies=guarded)
    def openapi(request: Request) -> JSONResponse:
        return JSONResponse(request.app.openapi())

    @router.get("/docs-assets/{name}", include_in_schema=False, dependencies=guarded)
    def docs_asset(name: str) -> FileResponse:
        if name not in DOCS_ASSETS:
            raise HTTPException(404, "not found")
        return FileResponse(Path(swagger_ui_bundle.swagger_ui_path) / name)

    @router.get("/docs", include_in_schema=False, dependencies=guarded)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="segflow API",
            swagger_js_url="/docs-assets/swagger-ui-bundle.js",
            swagger_css_url="/docs-assets/swagger-ui.css",
            swagger_favicon_url="/docs-assets/favicon-32x32.png",
        )

    return router

"""Where the API authenticates: with SEGFLOW_API_TOKEN set, every endpoint but /health needs
`Authorization: Bearer TOKEN`; without it, the API is open (the CLI warns when it listens beyond loopback)."""

from __future__ import annotations

import secrets
from typing import Annotated, Any

from fastapi import Depends, HTTPException
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from segflow.settings import Settings

# Module-level: the guard is a closure, and FastAPI resolves its (string) annotations in this module.
_bearer = HTTPBearer(auto_error=False, description="SEGFLOW_API_TOKEN, when it is set.")


def token_required(settings: Settings) -> list[Any]:
    """The dependencies of a guarded route: a 401 unless the request bears the settings' token (when one is set)."""
    token = settings.api_token.get_secret_value() if settings.api_token is not None else None

    def authorised(credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> None:
        if token is None:
            return
        # Constant-time comparison: how long a refusal takes says nothing about how much of the token was right.
        if credentials is None or not secrets.compare_digest(credentials.credentials.encode(), token.encode()):
            raise HTTPException(401, "a valid bearer token is required", headers={"WWW-Authenticate": "Bearer"})

    return [Depends(authorised)]

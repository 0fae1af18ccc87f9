"""Request bodies within limits: a body over its path's size limit is a 413, one that arrives too slowly a 408.

Pure ASGI middleware, outermost but for Starlette's error middleware: a body over the limit is refused before it is
read, and before the token is checked (FastAPI reads the body before it runs the dependencies).
"""

from __future__ import annotations

import asyncio
import time

from fastapi import HTTPException
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send


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

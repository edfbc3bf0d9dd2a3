"""Request bodies over ``max_body_bytes``: 413 problem+json, before they are read whole.

FastAPI counts a body's bytes as a route reads them (``FastAPI(max_body_size=...)``,
Starlette's ``RequestBodyLimitMiddleware``): a chunked body is refused at the chunk that
passes the limit, and its error comes to the 413 handler here. A body whose declared
``Content-Length`` is over the limit is refused by :class:`_RefuseDeclared` before the
route runs: Starlette would run it and then replace its answer by a plain-text 413.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from api.errors import problem

TITLE = "Request body too large"


def _refusal(max_bytes: int, instance: str) -> JSONResponse:
    return problem(
        413, TITLE, f"the request body is larger than {max_bytes:,} bytes, the limit", instance
    )


class _RefuseDeclared:
    """A plain ASGI middleware (see :class:`api.errors._RefuseNul` for why)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            declared = Headers(scope=scope).get("content-length", "")
            if declared.isdigit() and int(declared) > self.max_bytes:
                await _refusal(self.max_bytes, scope["path"])(scope, receive, send)
                return
        await self.app(scope, receive, send)


def install(app: FastAPI, max_bytes: int) -> None:
    """Refuse bodies over ``max_bytes``; ``app`` was made with ``max_body_size=max_bytes``."""
    app.add_middleware(_RefuseDeclared, max_bytes=max_bytes)

    async def _too_large(request: Request, exc: Exception) -> JSONResponse:
        return _refusal(max_bytes, request.url.path)

    app.add_exception_handler(413, _too_large)

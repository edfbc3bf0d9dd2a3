"""Request bodies over ``max_body_bytes``: 413 problem+json, before they are read whole.

A plain ASGI middleware (see :class:`api.errors._RefuseNul` for why not
``BaseHTTPMiddleware``). A declared ``Content-Length`` over the limit is answered at
once, the route never runs; a body without one (chunked) is counted as the route reads
it, and refused at the chunk that passes the limit: the read raises :class:`BodyTooLarge`,
an ``HTTPException``, which FastAPI lets through its body parsing to the handler here.
A refusal raised where no route's handler catches it (a middleware reading the body:
the audit trail names a body's fields) is answered here, unless an answer has started.

FastAPI's own ``max_body_size`` (Starlette's ``RequestBodyLimitMiddleware``) would do
the counting, but it sits outside every middleware added to the app and answers a
declared length over the limit with plain text, replacing any answer given inside it.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import problem

TITLE = "Request body too large"


class BodyTooLarge(HTTPException):
    """The body read so far passed the limit."""

    def __init__(self) -> None:
        super().__init__(status_code=413, detail=TITLE)


def _refusal(max_bytes: int, instance: str) -> JSONResponse:
    return problem(
        413, TITLE, f"the request body is larger than {max_bytes:,} bytes, the limit", instance
    )


class _LimitBody:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            await _refusal(self.max_bytes, scope["path"])(scope, receive, send)
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge
            return message

        started = False

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except BodyTooLarge:
            # read outside a route (the audit trail reads a body's start), where no
            # exception handler runs: answered here, if nothing was answered yet
            if started:
                raise
            await _refusal(self.max_bytes, scope["path"])(scope, receive, send)


def install(app: FastAPI, max_bytes: int) -> None:
    """Refuse request bodies over ``max_bytes``."""
    app.add_middleware(_LimitBody, max_bytes=max_bytes)

    async def _too_large(request: Request, exc: Exception) -> JSONResponse:
        return _refusal(max_bytes, request.url.path)

    app.add_exception_handler(BodyTooLarge, _too_large)

"""Map typed domain errors to RFC 9457 problem+json, once, at the API edge."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from urllib.parse import urlencode

import psycopg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from psycopg_pool import PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from air.errors import AirError
from alerts.errors import AlertError
from auth.errors import AccountError, AuthError
from auth.oidc import OidcError
from carbon.errors import CarbonError
from fiware.errors import NgsiLdError
from gis_layers.errors import LayerError
from opendata.errors import OpenDataError
from parking.errors import ParkingError
from river_monitor.town_flood import FloodUnavailable
from storage.errors import StorageError

log = logging.getLogger(__name__)

PROBLEM = "application/problem+json"


class ApiError(Exception):
    """An error raised by a route, carrying its status and user-facing detail."""

    status_code = 400
    title = "Bad request"
    public_message = True
    """Written for the user, whatever the status."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class NotFound(ApiError):
    """The addressed resource does not exist."""

    status_code = 404
    title = "Not found"


class InvalidParameter(ApiError):
    """A query parameter is well-formed but not acceptable."""

    status_code = 400
    title = "Invalid parameter"


class Unavailable(ApiError):
    """A part of the service cannot answer now (its database link is down)."""

    status_code = 503
    title = "Service unavailable"


FAMILIES: tuple[type[Exception], ...] = (
    AirError,
    ApiError,
    AuthError,
    AccountError,
    CarbonError,
    AlertError,
    CarbonError,
    FloodUnavailable,
    LayerError,
    NgsiLdError,
    OidcError,
    OpenDataError,
    ParkingError,
    StorageError,
)
"""The base class of every error family. Each error declares its ``status_code`` and
``title``; its message is shown to the user below 500, and from 500 up only where the
error says it is written for users (``public_message``): otherwise it goes to the log.
An error may add response ``headers`` (``WWW-Authenticate``, ``Retry-After``) and its
own problem ``type`` URI (``problem_type``: NGSI-LD's errors)."""


_HIDDEN = {503: "the database is unavailable"}


async def _declared(request: Request, exc: Exception) -> Response:
    """An error of a family: its own status, title and headers (a sign-in challenge).

    A browser opening a page without being signed in is sent to the login page instead."""
    status: int = getattr(exc, "status_code", 500)
    title: str = getattr(exc, "title", "Internal error")
    headers: Mapping[str, str] | None = getattr(exc, "headers", None)
    if status == 401 and navigating(request):
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/auth/login?{urlencode({'next': target})}", status_code=303)
    if status >= 500 and not getattr(exc, "public_message", False):
        log.error("%s on %s: %s", type(exc).__name__, request.url.path, exc)
        return problem(status, title, _HIDDEN.get(status, "see the logs"), request.url.path)
    kind: str = getattr(exc, "problem_type", "about:blank")
    return problem(status, title, str(exc), request.url.path, headers, kind)


def navigating(request: Request) -> bool:
    """Whether a browser is opening a page (not a script, not a page's own fetch)."""
    return request.method == "GET" and "text/html" in request.headers.get("accept", "")


def problem(
    status: int,
    title: str,
    detail: str,
    instance: str,
    headers: Mapping[str, str] | None = None,
    kind: str = "about:blank",
) -> JSONResponse:
    """An RFC 9457 problem details response (``kind``: its ``type`` URI)."""
    return JSONResponse(
        {
            "type": kind,
            "title": title,
            "status": status,
            "detail": detail,
            "instance": instance,
        },
        status_code=status,
        media_type=PROBLEM,
        headers=headers,
    )


class _RefuseNul:
    """No text in the hub may hold NUL (PostgreSQL text cannot): refuse it at the edge.

    A plain ASGI middleware: Starlette's ``BaseHTTPMiddleware`` (``@app.middleware``)
    would run every request in a task group and pass every answer through a stream."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and ("\x00" in scope["path"] or b"%00" in scope["query_string"]):
            answer = problem(
                400, "Invalid parameter", "NUL characters are not accepted", scope["path"]
            )
            await answer(scope, receive, send)
            return
        await self.app(scope, receive, send)


def install(app: FastAPI) -> None:
    """Register the handlers for every error family the API can meet."""

    app.add_middleware(_RefuseNul)

    for family in FAMILIES:
        app.add_exception_handler(family, _declared)

    async def _connection_lost(request: Request, exc: Exception) -> JSONResponse:
        log.error("database unreachable on %s: %s", request.url.path, exc)
        return problem(503, "Storage unavailable", _HIDDEN[503], request.url.path)

    for failure in (PoolTimeout, psycopg.OperationalError):
        app.add_exception_handler(failure, _connection_lost)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        details = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        return problem(400, "Invalid parameter", details, request.url.path)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s", request.url.path)
        return problem(
            500, "Internal error", "an unexpected error occurred; it is logged", request.url.path
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        answer = problem(exc.status_code, str(exc.detail), str(exc.detail), request.url.path)
        answer.headers.update(exc.headers or {})  # a 405's Allow (RFC 9110)
        return answer

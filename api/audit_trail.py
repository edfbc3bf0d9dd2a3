"""Every write through the API, and every refused sign-in, into the audit log (:mod:`audit`).

A plain ASGI middleware, as :mod:`api.errors`' NUL check is, for the same reason
(Starlette's ``BaseHTTPMiddleware`` runs every request in a task group). A write request
(POST, PUT, PATCH, DELETE) that reached a route is recorded once the route has answered
and its dependencies have given their connection back, so a write never holds two of
the pool's connections: who (``request.state.principal``, which sign-in sets; anonymous
when absent), the route's template and path parameters, the status answered, the names
of the body's fields (never their values: a password, a note about someone), and the
address of the direct peer (proxy headers are sign-in's concern). The body's first
:data:`SUMMARY_BODY_BYTES` are read before the route runs, since a route may never read
the body itself, and handed to it as they came. A request answered by an exception is
recorded with 500; one cancelled (the client went away) is still recorded, with what it
had answered. A row that cannot be written (the database is down) is logged in full
instead: the write itself is already done.

Requests no route matched (404) are not recorded: they changed nothing, and a scanner's
paths would fill the log.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable
from urllib.parse import parse_qsl

import anyio
import orjson
from cachetools import TTLCache
from fastapi import FastAPI, Request
from psycopg_pool import AsyncConnectionPool
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from audit import store
from audit.chain import Entry, sign_in_refused
from auth import accounts
from auth.principal import Principal

log = logging.getLogger(__name__)

WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
SUMMARY_BODY_BYTES = 64 * 1024
"""How much of a write's body is kept to name its fields (a larger body is named by
its size)."""

REPEAT_S = 60.0
"""A bad credential sent again from the same address within this time is not recorded
again: a script retrying with a revoked key, or a browser with an expired session on
every page, would otherwise write a row per request."""

_RECORDED = "audit_recorded"
"""Set in a request's state once its row is written, so it is not written twice."""


def _route(scope: Scope) -> str | None:
    """The template of the route that answered (``/river/alerts/{alert_id}/ack``)."""
    route = scope.get("route")
    return getattr(route, "path", None)


def _peer(scope: Scope) -> str | None:
    client = scope.get("client")
    return client[0] if client else None


def _fields(names: Iterable[str]) -> str:
    found = sorted(set(names))
    return "fields: " + ", ".join(found) if found else "no fields"


def _body_summary(content_type: str, body: bytes, complete: bool) -> str:
    """The names of a body's fields (a JSON object or a form), or what the body is;
    ``complete`` is false when only its first :data:`SUMMARY_BODY_BYTES` were read."""
    if not body:
        return ""
    media = content_type.split(";")[0].strip().lower() or "body"
    if not complete:
        return f"{media} of more than {SUMMARY_BODY_BYTES} bytes"
    if media == "application/json" or media.endswith("+json"):
        try:
            document = orjson.loads(body)
        except orjson.JSONDecodeError:
            return f"malformed JSON of {len(body)} bytes"
        if isinstance(document, dict):
            return _fields(document)
        return f"JSON {type(document).__name__} of {len(body)} bytes"
    if media == "application/x-www-form-urlencoded":
        return _fields(k for k, _ in parse_qsl(body.decode("latin-1"), keep_blank_values=True))
    return f"{media} of {len(body)} bytes"


async def _read_ahead(receive: Receive) -> tuple[list[Message], bytes, bool]:
    """The request's first messages, up to :data:`SUMMARY_BODY_BYTES` of body, read
    before the route (which may never read the body itself); their body, and whether
    that is all of it."""
    messages: list[Message] = []
    body = bytearray()
    more = True
    while more and len(body) < SUMMARY_BODY_BYTES:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":  # the client went away
            break
        body.extend(message.get("body", b""))
        more = message.get("more_body", False)
    return messages, bytes(body[:SUMMARY_BODY_BYTES]), not more and len(body) <= SUMMARY_BODY_BYTES


def _write_entry(scope: Scope, route: str, outcome: int, summary: str) -> Entry:
    """The entry of a write answered with ``outcome``, by the request's principal."""
    principal = scope.get("state", {}).get("principal")
    signed_in = principal if isinstance(principal, Principal) else None
    return Entry(
        action="write",
        http_method=scope["method"],
        route=route,
        outcome=outcome,
        subject=signed_in.subject if signed_in else None,
        roles=tuple(r.value for r in signed_in.roles) if signed_in else (),
        auth_method=signed_in.method if signed_in else None,
        client=signed_in.client if signed_in else None,
        remote_addr=_peer(scope),
        target={str(k): str(v) for k, v in scope.get("path_params", {}).items()},
        summary=summary,
    )


async def _append(pool: AsyncConnectionPool, entry: Entry) -> None:
    try:
        async with pool.connection() as conn:
            await store.record(conn, entry)
    except Exception:
        log.exception("audit row not written, logged instead: %s", entry)


class AuditTrail:
    """Records each write request once it is answered (see the module's docstring)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on, having read the start of its body, keeping its status;
        record it when the route is done."""
        if scope["type"] != "http" or scope["method"] not in WRITES:
            await self.app(scope, receive, send)
            return
        ahead, body, complete = await _read_ahead(receive)
        status = 500  # unless the route answers

        async def replaying() -> Message:
            return ahead.pop(0) if ahead else await receive()

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, replaying, sending)
        finally:
            route = _route(scope)
            if route is not None and not scope.get("state", {}).get(_RECORDED):
                content_type = Headers(scope=scope).get("content-type", "")
                summary = _body_summary(content_type, body, complete)
                entry = _write_entry(scope, route, status, summary)
                with anyio.CancelScope(shield=True):  # recorded even if the client left
                    await _append(scope["app"].state.pool, entry)


async def refused_sign_in(
    request: Request, subject: str | None, reason: str, outcome: int = 401
) -> None:
    """Record that a sign-in was refused on this request: the subject tried (None when
    the credentials named none), why, and the peer's address. The request is not
    recorded again as a write."""
    entry = sign_in_refused(
        subject,
        reason,
        _peer(request.scope),
        request.method,
        _route(request.scope) or request.url.path,
        outcome,
    )
    await _append(request.app.state.pool, entry)
    setattr(request.state, _RECORDED, True)


class RefusedCredentials:
    """Records the refused credentials of ordinary requests (a bearer token, API key or
    session that is not valid) as refused sign-ins, once per credential and address per
    :data:`REPEAT_S`. The subject is the API key's id when the credential is shaped as
    a key (the id is not secret and tells an administrator which revoked key a script
    still sends); a token's claims are not trusted enough to name anyone."""

    def __init__(self) -> None:
        self._seen: TTLCache[bytes, bool] = TTLCache(maxsize=65_536, ttl=REPEAT_S)

    async def record(self, request: Request, credential: str, reason: str) -> None:
        """Record that ``credential`` was refused on ``request``, unless it was just now."""
        peer = _peer(request.scope) or ""
        seen = hashlib.sha256(f"{peer}\0{credential}".encode()).digest()
        if seen in self._seen:
            return
        self._seen[seen] = True
        key = accounts.KEY.fullmatch(credential)
        await refused_sign_in(request, key[1] if key else None, reason)


def install(app: FastAPI) -> None:
    """Record the app's writes; install last, so the status recorded is the one sent."""
    app.add_middleware(AuditTrail)

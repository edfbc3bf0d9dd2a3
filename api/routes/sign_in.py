"""Signing in: ``POST /auth/token`` (OAuth 2.0 password grant, RFC 6749 §4.3) for scripts
and `/docs`' "Authorize", the login page and its session cookie for browsers, and
``GET /auth/me`` to ask who one is signed in as.

The session cookie holds the hub's own access token: HttpOnly (no script reads it),
SameSite=Lax (not sent with another site's POST), Secure when the hub is reached over
HTTPS. A page's writes must also come with an ``Origin`` of the hub itself
(:func:`api.security.authorize`).
"""

from __future__ import annotations

import html
from importlib import resources
from string import Template
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from api.audit_trail import refused_sign_in
from api.security import SESSION_COOKIE, principal
from auth.authenticator import Authenticator
from auth.errors import AuthError, InvalidCredentials

router = APIRouter(tags=["sign-in"])


def _authenticator(request: Request) -> Authenticator:
    found: Authenticator = request.app.state.authenticator
    return found


_OAUTH_ERROR = {
    "type": "object",
    "properties": {"error": {"type": "string"}, "error_description": {"type": "string"}},
    "required": ["error"],
}


@router.post(
    "/auth/token",
    responses={
        400: {
            "description": "Refused: an OAuth 2.0 error (`invalid_grant`), or a problem"
            " document when a form field is missing or malformed",
            "content": {
                "application/json": {"schema": _OAUTH_ERROR},
                "application/problem+json": {"schema": {"type": "object"}},
            },
        }
    },
)
async def token(
    request: Request,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=1024)],
    grant_type: Annotated[str, Form(pattern="^password$")] = "password",
) -> JSONResponse:
    """An access token for a local account (form fields ``username``, ``password``):
    ``{"access_token", "token_type": "bearer", "expires_in"}``. A refusal is an OAuth
    2.0 error document (``invalid_grant``), as OAuth clients expect."""
    authenticator = _authenticator(request)
    try:
        access = await authenticator.sign_in(username, password)
    except InvalidCredentials as exc:
        await refused_sign_in(request, username, str(exc), outcome=400)
        return JSONResponse(
            {"error": "invalid_grant", "error_description": str(exc)},
            status_code=400,
            headers={"Cache-Control": "no-store"},
        )
    return JSONResponse(
        {
            "access_token": access,
            "token_type": "bearer",
            "expires_in": authenticator.tokens.ttl_s,
        },
        headers={"Cache-Control": "no-store", "Pragma": "no-cache"},
    )


@router.get("/auth/me")
async def me(request: Request) -> dict[str, object]:
    """Who the request is signed in as."""
    caller = principal(request)
    if caller is None:  # the policy lets no anonymous caller here
        raise AuthError("not signed in")
    return {
        "subject": caller.subject,
        "roles": sorted(r.value for r in caller.roles),
        "method": caller.method,
        "client": caller.client,
    }


def _page(next_path: str, message: str = "", status: int = 200) -> HTMLResponse:
    template = resources.files("api").joinpath("templates", "login.html").read_text("utf-8")
    notice = f'<p class="error">{html.escape(message)}</p>' if message else ""
    body = Template(template).substitute(message=notice, next=html.escape(next_path, quote=True))
    return HTMLResponse(body, status_code=status, headers={"Cache-Control": "no-store"})


def _local(path: str | None) -> str:
    """Where to go after signing in: a path of this hub only (no open redirect)."""
    if not path or not path.startswith("/") or path.startswith("//") or "\\" in path:
        return "/map"
    return path


@router.get("/auth/login", response_class=HTMLResponse, include_in_schema=False)
async def login_page(next: str | None = None) -> HTMLResponse:  # noqa: A002 (the URL's name)
    """The login page of local accounts."""
    return _page(_local(next))


@router.post("/auth/login", response_class=HTMLResponse, include_in_schema=False)
async def login(
    request: Request,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=1024)],
    next: Annotated[str, Form(max_length=2048)] = "/map",  # noqa: A002
) -> Response:
    """Sign in from the login page: a session cookie and back to the page asked for."""
    try:
        access = await _authenticator(request).sign_in(username, password)
    except InvalidCredentials as exc:
        await refused_sign_in(request, username, str(exc))
        return _page(_local(next), "Unknown account or wrong password.", status=401)
    answer = RedirectResponse(_local(next), status_code=303)
    answer.set_cookie(
        SESSION_COOKIE,
        access,
        max_age=_authenticator(request).tokens.ttl_s,
        httponly=True,
        secure=request.url.scheme == "https",
        samesite="lax",
    )
    return answer


@router.post("/auth/logout", include_in_schema=False)
async def logout() -> Response:
    """End the browser session."""
    answer = RedirectResponse("/auth/login", status_code=303)
    answer.delete_cookie(SESSION_COOKIE, httponly=True, samesite="lax")
    return answer

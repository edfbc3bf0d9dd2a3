"""Signing in: ``POST /auth/token`` (OAuth 2.0 password grant, RFC 6749 §4.3) for scripts
and `/docs`' "Authorize", the login page and its session cookie for browsers, and
``GET /auth/me`` to ask who one is signed in as.

With the city's OpenID provider configured for browsers (``SMARTCITY_OIDC_CLIENT_ID``), the
login page also offers its sign-in (``/auth/login?provider=oidc``), or goes straight to it
where local accounts do not sign in on the page (``SMARTCITY_LOCAL_LOGIN=false``): the
authorization-code flow with PKCE of :mod:`auth.oidc_login`, back at
``GET /auth/oidc/callback``. What it began travels in a signed HttpOnly cookie, SameSite=Lax
(the provider sends the browser back by a top-level GET, which Lax lets through), sent to the
callback only, for ten minutes.

The session cookie holds an access token: the hub's own for a local account, the
provider's after its sign-in (the session ends with it; the provider's own session usually
signs the browser in again at once). HttpOnly (no script reads it), SameSite=Lax (not sent
with another site's POST), Secure when the hub is reached over HTTPS. A page's writes must
also come with an ``Origin`` of the hub itself (:func:`api.security.authorize`). Every
refused sign-in is in the audit log.
"""

from __future__ import annotations

import dataclasses
import html
from importlib import resources
from string import Template
from typing import Annotated, Any, Literal
from urllib.parse import urlencode, urlsplit

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from api.audit_trail import refused_sign_in
from api.errors import PROBLEM, navigating, problem
from api.security import SESSION_COOKIE, principal
from auth.authenticator import Authenticator
from auth.errors import AuthError, InvalidCredentials
from auth.oidc_login import PENDING_TTL_S, BrowserSignIn, SignInRefused, SignInUnavailable
from auth.principal import Method

router = APIRouter(tags=["sign-in"])
provider_router = APIRouter(tags=["sign-in"])
"""The routes of the provider's browser sign-in, included where it is configured."""

PENDING_COOKIE = "smartcity_oidc_login"
"""The sign-in begun with the provider, until its callback."""
CALLBACK = "/auth/oidc/callback"
MAX_COOKIE_BYTES = 4096
"""What every browser keeps of one cookie, name and value (RFC 6265 6.1's least): a
longer one is dropped without a word."""


def _authenticator(request: Request) -> Authenticator:
    found: Authenticator = request.app.state.authenticator
    return found


async def _signed_in_as(request: Request, access: str, method: Method) -> None:
    """Make the account that ``access`` was just issued to this request's caller, so that
    the sign-in's audit entry names it (the request itself came without credentials)."""
    caller = await _authenticator(request).principal(f"Bearer {access}", None, None)
    if caller is not None:
        request.state.principal = dataclasses.replace(caller, method=method)


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
    await _signed_in_as(request, access, "token")
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


def _browser_sign_in(request: Request) -> BrowserSignIn | None:
    found: BrowserSignIn | None = request.app.state.browser_sign_in
    return found


def _local_login(request: Request) -> bool:
    return bool(request.app.state.settings.local_login)


def _page(request: Request, next_path: str, message: str = "", status: int = 200) -> HTMLResponse:
    """The login page: the provider's sign-in where configured, the local accounts' form
    where they sign in here, and ``message`` (why the last attempt failed)."""
    template = resources.files("api").joinpath("templates", "login.html").read_text("utf-8")
    notice = f'<p class="error">{html.escape(message)}</p>' if message else ""
    provider = _browser_sign_in(request) is not None
    body = Template(template).substitute(
        message=notice,
        next=html.escape(next_path, quote=True),
        provider_href=html.escape(
            "/auth/login?" + urlencode({"provider": "oidc", "next": next_path}), quote=True
        ),
        provider_hidden="" if provider else " hidden",
        local_hidden="" if _local_login(request) else " hidden",
    )
    return HTMLResponse(body, status_code=status, headers={"Cache-Control": "no-store"})


def _open_session(answer: Response, request: Request, token: str, max_age: int) -> None:
    """Set the browser session cookie holding ``token`` on ``answer``."""
    answer.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=max_age,
        httponly=True,
        secure=request.url.scheme == "https",
        samesite="lax",
    )


def _local(path: str | None) -> str:
    """Where to go after signing in: a path of this hub only (no open redirect)."""
    if not path or not path.startswith("/") or path.startswith("//") or "\\" in path:
        return "/map"
    return path


@router.get("/auth/login", response_class=HTMLResponse, include_in_schema=False)
async def login_page(
    request: Request,
    next: Annotated[str | None, Query(max_length=2048)] = None,  # noqa: A002 (the URL's name)
    provider: Literal["oidc"] | None = None,
) -> Response:
    """The login page; with ``provider=oidc``, or where local accounts do not sign in on the
    page, off to the city's provider."""
    browser = _browser_sign_in(request)
    if browser is not None and (provider == "oidc" or not _local_login(request)):
        return await _to_provider(request, browser, _local(next))
    return _page(request, _local(next))


async def _to_provider(request: Request, browser: BrowserSignIn, return_to: str) -> Response:
    """Begin a sign-in at the provider: its authorization URL, and what the callback needs
    in a cookie only the callback receives."""
    try:
        url, pending = await browser.start(_redirect_uri(request), return_to)
    except SignInRefused as exc:
        return _failed(request, exc, return_to)
    answer = RedirectResponse(url, status_code=303, headers={"Cache-Control": "no-store"})
    answer.set_cookie(
        PENDING_COOKIE,
        pending,
        max_age=PENDING_TTL_S,
        path=_callback_path(request),
        httponly=True,
        secure=request.url.scheme == "https",
        samesite="lax",
    )
    return answer


def _redirect_uri(request: Request) -> str:
    """The callback's URL as the provider knows it (registered there)."""
    configured: str | None = request.app.state.settings.oidc_redirect_url
    return configured or str(request.url_for("oidc_callback"))


def _callback_path(request: Request) -> str:
    """The callback's path as the browser sees it: the only one sent the pending cookie."""
    return urlsplit(_redirect_uri(request)).path or CALLBACK


def _failed(request: Request, exc: SignInRefused, return_to: str = "/map") -> Response:
    """A sign-in with the provider that failed: the login page saying why, for a browser;
    a problem document otherwise."""
    message = f"Signing in with the city's account failed: {exc.detail}."
    if navigating(request):
        return _page(request, return_to, message, status=exc.status_code)
    return problem(exc.status_code, exc.title, exc.detail, request.url.path)


_PAGE_OR_PROBLEM = {PROBLEM: {"schema": {"$ref": "#/components/schemas/Problem"}}, "text/html": {}}
_CALLBACK_ANSWERS: dict[int | str, dict[str, Any]] = {
    303: {
        "description": "Signed in: the session cookie is set (`Set-Cookie`) and the browser"
        " goes back to the page it came from (`Location`)",
    },
    400: {
        "description": "Not the continuation of a sign-in this browser began here in the last"
        " ten minutes (no or another `state`, another issuer, no code)",
        "content": _PAGE_OR_PROBLEM,
    },
    401: {
        "description": "Refused: by the provider (its `error`, or the code redeemed already),"
        " or its ID or access token does not check",
        "content": _PAGE_OR_PROBLEM,
    },
    502: {
        "description": "The provider (or its signing keys) cannot be reached, or it gave an"
        " answer the hub cannot use; retry later",
        "content": _PAGE_OR_PROBLEM,
    },
}

_Answer = Annotated[str | None, Query(max_length=2048)]


@provider_router.get(
    CALLBACK,
    name="oidc_callback",
    status_code=303,
    response_class=RedirectResponse,
    responses=_CALLBACK_ANSWERS,
)
async def oidc_callback(
    request: Request,
    state: _Answer = None,
    code: _Answer = None,
    iss: _Answer = None,
    error: _Answer = None,
    error_description: _Answer = None,
) -> Response:
    """Where the city's provider sends the browser back (the authorization-code flow with
    PKCE): a session cookie for the user it signed in, and back to the page asked for. Not
    for scripts: they send the provider's access token as a bearer token."""
    browser = _browser_sign_in(request)
    assert browser is not None  # this router is included only with one
    sent = (
        ("state", state),
        ("code", code),
        ("iss", iss),
        ("error", error),
        ("error_description", error_description),
    )
    answer_params = {name: value for name, value in sent if value is not None}
    answer: Response
    try:
        signed = await browser.finish(request.cookies.get(PENDING_COOKIE), answer_params)
        if len(SESSION_COOKIE) + 1 + len(signed.access_token) > MAX_COOKIE_BYTES:
            raise SignInUnavailable(
                f"the provider's access token ({len(signed.access_token)} bytes) is too long for"
                " a browser's cookie: ask its administrators to trim its claims",
                signed.principal.subject,
            )
    except SignInRefused as exc:
        await refused_sign_in(request, exc.subject, exc.detail, outcome=exc.status_code)
        answer = _failed(request, exc)
    else:
        answer = RedirectResponse(_local(signed.return_to), status_code=303)
        ttl = (
            _authenticator(request).tokens.ttl_s if signed.expires_in is None else signed.expires_in
        )
        _open_session(answer, request, signed.access_token, ttl)
    answer.headers["Cache-Control"] = "no-store"
    answer.delete_cookie(
        PENDING_COOKIE,
        path=_callback_path(request),
        httponly=True,
        secure=request.url.scheme == "https",
        samesite="lax",
    )
    return answer


@router.post("/auth/login", response_class=HTMLResponse, include_in_schema=False)
async def login(
    request: Request,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=1024)],
    next: Annotated[str, Form(max_length=2048)] = "/map",  # noqa: A002
) -> Response:
    """Sign in from the login page: a session cookie and back to the page asked for."""
    if not _local_login(request):
        await refused_sign_in(request, username, "local accounts do not sign in on the page", 403)
        message = "This hub's pages sign in with the city's account only."
        return _page(request, _local(next), message, status=403)
    try:
        access = await _authenticator(request).sign_in(username, password)
    except InvalidCredentials as exc:
        await refused_sign_in(request, username, str(exc))
        return _page(request, _local(next), "Unknown account or wrong password.", status=401)
    await _signed_in_as(request, access, "session")
    answer = RedirectResponse(_local(next), status_code=303)
    _open_session(answer, request, access, _authenticator(request).tokens.ttl_s)
    return answer


@router.post("/auth/logout", include_in_schema=False)
async def logout() -> Response:
    """End the browser session."""
    answer = RedirectResponse("/auth/login", status_code=303)
    answer.delete_cookie(SESSION_COOKIE, httponly=True, samesite="lax")
    return answer

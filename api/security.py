"""The access check of every route and its account in the OpenAPI document.

One app-wide dependency resolves the caller (:mod:`auth.authenticator`), keeps it as
``request.state.principal`` (``None`` for anonymous) and applies the route's rule from
:mod:`auth.policy`. Rules that depend on data (a layer marked public) are finished where
the data is read (:func:`api.deps.layer`). The OpenAPI document gets the security
schemes (the hub's OAuth 2.0 password flow, API keys, the city's OpenID provider when
one is configured) and, on each operation, its requirement and the 401/403 it can give,
so `/docs` has a working "Authorize".
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from fastapi import FastAPI, Request
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute, iter_route_contexts

from api.openapi import problems
from auth import policy
from auth.authenticator import Authenticator
from auth.errors import AuthError, Forbidden, InvalidCredentials
from auth.oidc import InvalidToken
from auth.principal import Principal
from settings import AuthSettings

SESSION_COOKIE = "smartcity_session"
SAFE = frozenset({"GET", "HEAD", "OPTIONS"})
API_KEY_HEADER = "X-API-Key"


async def authorize(request: Request) -> None:
    """Resolve the caller and apply the route's rule (an app-wide dependency). Refused
    credentials are audited as refused sign-ins (:class:`api.audit_trail.RefusedCredentials`)."""
    authenticator: Authenticator = request.app.state.authenticator
    authorization = request.headers.get("authorization")
    api_key = request.headers.get(API_KEY_HEADER)
    session = request.cookies.get(SESSION_COOKIE)
    try:
        principal = await authenticator.principal(authorization, api_key, session)
    except (InvalidCredentials, InvalidToken) as refused:
        if authorization is not None:
            credential = authorization.partition(" ")[2].strip()
        else:  # the authenticator reads the key before the session
            credential = (api_key if api_key is not None else session or "").strip()
        await request.app.state.refused_credentials.record(request, credential, str(refused))
        raise
    request.state.principal = principal
    if principal is not None and principal.method == "session" and request.method not in SAFE:
        _same_origin(request)
    route = request.scope["route"]
    rule = policy.rule_for(request.method, route.path_format)
    check(rule, principal)


def _same_origin(request: Request) -> None:
    """A browser session's write must come from the hub's own pages: browsers send the
    page's ``Origin`` with every cross-site or same-site write (OWASP's "verifying origin
    with standard headers"); the session cookie's SameSite=Lax is the first wall."""
    public: str | None = request.app.state.settings.public_url
    expected = public.rstrip("/") if public else f"{request.url.scheme}://{request.url.netloc}"
    expected = "{0.scheme}://{0.netloc}".format(urlsplit(expected))
    if request.headers.get("origin") != expected:
        raise Forbidden(
            f"a write from a browser session must come from the hub's own pages ({expected});"
            " scripts send a bearer token instead"
        )


def check(rule: policy.Rule, principal: Principal | None, what: str = "this route") -> None:
    """Refuse ``principal`` where ``rule`` does not let it in (401 anonymous, 403 role).
    A layer's rule is finished where the layer is read (:func:`api.deps.layer`)."""
    if rule.anonymous or rule.layer:
        return
    if principal is None:
        raise AuthError(f"{what} needs a signed-in user: send a bearer token or an API key")
    if rule.roles and not principal.has_any(rule.roles):
        needed = " or ".join(sorted(r.value for r in rule.roles))
        raise Forbidden(f"{what} needs the role {needed}")


def principal(request: Request) -> Principal | None:
    """The caller :func:`authorize` resolved (``None``: anonymous)."""
    found: Principal | None = getattr(request.state, "principal", None)
    return found


def check_routes(app: FastAPI) -> None:
    """Refuse to start with a route that has no rule in the policy (FastAPI's own
    documentation routes aside: they are not API routes and are public)."""
    for route in iter_route_contexts(app.routes):
        if isinstance(route.original_route, APIRoute):
            for method in route.methods or ():
                policy.rule_for(method, route.path_format or "")


def install_openapi(app: FastAPI, settings: AuthSettings) -> None:
    """The OpenAPI document with the security schemes and each operation's requirement."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        document = get_openapi(
            title=app.title,
            version=app.version,
            description=app.description,
            routes=app.routes,
        )
        schemes: dict[str, Any] = {
            "hubToken": {
                "type": "oauth2",
                "description": "A local account's token (the hub's own sign-in)",
                "flows": {"password": {"tokenUrl": "/auth/token", "scopes": {}}},
            },
            "apiKey": {"type": "apiKey", "in": "header", "name": API_KEY_HEADER},
            "bearerKey": {
                "type": "http",
                "scheme": "bearer",
                "description": "An API key (sck_…) or an access token sent as a bearer token",
            },
        }
        if settings.oidc_issuer:
            schemes["cityProvider"] = {
                "type": "openIdConnect",
                "openIdConnectUrl": settings.oidc_issuer.rstrip("/")
                + "/.well-known/openid-configuration",
            }
        document.setdefault("components", {})["securitySchemes"] = schemes
        requirement: list[dict[str, list[str]]] = [{name: []} for name in schemes]
        for path, operations in document["paths"].items():
            for method, operation in operations.items():
                rule = policy.rule_for(method.upper(), path)
                operation["description"] = (
                    f"{operation.get('description', '')}\n\nAccess: {rule.describe()}."
                ).strip()
                if rule.anonymous:
                    continue
                operation["security"] = requirement + ([{}] if rule.layer else [])
                answers = operation.setdefault("responses", {})
                answers.setdefault("401", problems(401)[401])
                if rule.roles:
                    answers.setdefault("403", problems(403)[403])
        app.openapi_schema = document
        return document

    app.openapi = openapi  # type: ignore[method-assign]

"""The API's pages, Swagger UI (``/docs``) and ReDoc (``/redoc``), from the hub's own files.

FastAPI's pages load their scripts, styles and fonts from CDNs; the hub must work
offline (a town hall's network, an operator's laptop on site), so the same pages are
built here with FastAPI's own functions, pointing at the npm releases kept in
``api/static/docs`` (versions, licences and checksums in ``api/static/README.md``),
served under ``/docs/assets``. Swagger UI's online validator badge is turned off.
``/docs/oauth2-redirect`` is Swagger UI's page for OAuth 2 sign-in ("Authorize"),
configured through FastAPI's usual ``app.swagger_ui_init_oauth``.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI, Request
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS = Path(__file__).resolve().parents[1] / "static" / "docs"
ASSETS_URL = "/docs/assets"
OAUTH2_REDIRECT = "/docs/oauth2-redirect"

router = APIRouter(include_in_schema=False)


def _root(request: Request) -> str:
    root: str = request.scope.get("root_path", "").rstrip("/")
    return root


@router.get("/docs")
async def swagger_ui(request: Request) -> HTMLResponse:
    """Swagger UI on the API definition."""
    app: FastAPI = request.app
    root = _root(request)
    assets = f"{root}{ASSETS_URL}"
    return get_swagger_ui_html(
        openapi_url=f"{root}{app.openapi_url or '/openapi.json'}",
        title=f"{app.title} - Swagger UI",
        swagger_js_url=f"{assets}/swagger-ui-bundle.js",
        swagger_css_url=f"{assets}/swagger-ui.css",
        swagger_favicon_url=f"{assets}/favicon-32x32.png",
        oauth2_redirect_url=f"{root}{OAUTH2_REDIRECT}",
        init_oauth=app.swagger_ui_init_oauth,
        swagger_ui_parameters=(app.swagger_ui_parameters or {}) | {"validatorUrl": None},
    )


@router.get(OAUTH2_REDIRECT)
async def swagger_ui_redirect() -> HTMLResponse:
    """Where the identity provider sends Swagger UI's sign-in back."""
    return get_swagger_ui_oauth2_redirect_html()


@router.get("/redoc")
async def redoc(request: Request) -> HTMLResponse:
    """ReDoc on the API definition."""
    app: FastAPI = request.app
    root = _root(request)
    return get_redoc_html(
        openapi_url=f"{root}{app.openapi_url or '/openapi.json'}",
        title=f"{app.title} - ReDoc",
        redoc_js_url=f"{root}{ASSETS_URL}/redoc.standalone.js",
        redoc_favicon_url=f"{root}{ASSETS_URL}/favicon-32x32.png",
        with_google_fonts=False,
    )


def install(app: FastAPI) -> None:
    """Serve the pages and their files (``app`` made with ``docs_url=None, redoc_url=None``)."""
    app.include_router(router)
    app.mount(ASSETS_URL, StaticFiles(directory=ASSETS), name="docs_assets")

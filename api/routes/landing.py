"""The OGC API landing page and conformance declaration.

Clients (QGIS through GDAL's OAPIF driver, OWSLib) start at ``/``, follow its links to
the API definition and to ``/collections``, and read ``/conformance`` to learn what
they may ask for.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel

from api import guides, html
from api.ogc import Link, link

router = APIRouter(tags=["capabilities"])

CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables-query-parameters",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-json",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-cql2",
    "http://www.opengis.net/spec/cql2/1.0/conf/advanced-comparison-operators",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions-plus",
    "http://www.opengis.net/spec/cql2/1.0/conf/spatial-functions",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/tileset",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/tilesets-list",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/geodata-tilesets",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/mvt",
]
"""OGC API - Features Part 1 (OGC 17-069r4) and Part 2 (18-058) classes implemented."""


class LandingPage(BaseModel):
    """Title, description and the links a client starts from."""

    title: str
    description: str
    links: list[Link]


class Conformance(BaseModel):
    """The conformance classes the service implements."""

    conformsTo: list[str]


@router.get("/", response_model=LandingPage, response_model_exclude_none=True, responses=html.PAGE)
async def landing_page(
    request: Request, response: Response, f: html.Format = None
) -> LandingPage | HTMLResponse:
    """Where OGC API clients start: links to the API definition, conformance and data."""
    app = request.app
    here = request.url_for("landing_page")
    landing = LandingPage(
        title=app.title,
        description=app.description,
        links=[
            link(here, "self", "application/json", "this document"),
            link(html.encoded(here, "html"), "alternate", html.HTML, "this document as HTML"),
            link(
                f"{request.base_url}openapi.json",
                "service-desc",
                "application/vnd.oai.openapi+json;version=3.0",
                "the API definition",
            ),
            link(f"{request.base_url}docs", "service-doc", "text/html", "the API documentation"),
            link(
                request.url_for("conformance"),
                "conformance",
                "application/json",
                "OGC API conformance classes implemented by this server",
            ),
            link(request.url_for("collections"), "data", "application/json", "the collections"),
        ],
    )
    if html.wants_html(request, f):
        return html.page(
            "landing.html",
            request,
            landing=landing,
            links=html.page_links(landing.links),
            collections=html.encoded(request.url_for("collections"), "html"),
            conformance=html.encoded(request.url_for("conformance"), "html"),
            docs=f"{request.base_url}docs",
            openapi=f"{request.base_url}openapi.json",
            guides=request.url_for("guides_index") if guides.guides() else None,
            base=str(request.base_url),
        )
    response.headers.update(html.VARY)
    return landing


@router.get("/conformance", response_model=Conformance, responses=html.PAGE)
async def conformance(
    request: Request, response: Response, f: html.Format = None
) -> Conformance | HTMLResponse:
    """The OGC API conformance classes implemented."""
    if html.wants_html(request, f):
        here = request.url_for("conformance")
        return html.page(
            "conformance.html",
            request,
            conforms_to=CONFORMANCE,
            links=[
                link(html.encoded(here, "html"), "self", html.HTML, "this page"),
                link(html.encoded(here, "json"), "alternate", "application/json", "as JSON"),
            ],
        )
    response.headers.update(html.VARY)
    return Conformance(conformsTo=CONFORMANCE)

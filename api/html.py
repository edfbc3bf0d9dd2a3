"""The HTML encoding of the OGC API resources (Features Part 1, ``/conf/html``).

A browser opening the landing page, ``/conformance``, ``/collections``, a collection, its
items or one feature gets a page; a client gets JSON. The choice follows ``f``
(``f=html``, ``f=json``) and otherwise the ``Accept`` header: HTML only where the client
names ``text/html`` and prefers it to every JSON type it names, so ``Accept: */*`` (curl,
GDAL) stays JSON. Answers that depend on ``Accept`` say so (``Vary: Accept``) for caches.

Pages are Jinja2 templates (``api/templates/ogc/``) with autoescaping on: titles and
property values are user data, and every one of them is escaped.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

import jinja2
from fastapi import Query, Request
from fastapi.responses import HTMLResponse
from starlette.datastructures import URL

from api.ogc import Link, link

HTML = "text/html"
VARY = {"Vary": "Accept"}
PAGE: dict[int | str, dict[str, Any]] = {200: {"content": {HTML: {}}}}
"""``responses=`` of a route that has an HTML encoding."""
_HTML_TYPES = ("text/html", "application/xhtml+xml")
_JSON_TYPES = ("application/json", "application/geo+json", "application/schema+json")

Format = Annotated[
    Literal["json", "html"] | None,
    Query(description="json or html; without it, the Accept header chooses (default JSON)"),
]
"""The ``f`` parameter of the resources that have an HTML encoding."""

_PAGES = jinja2.Environment(
    loader=jinja2.PackageLoader("api", "templates/ogc"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def _qualities(accept: str) -> dict[str, float]:
    """Media type → its ``q`` in an ``Accept`` header (RFC 9110 §12.5.1)."""
    found: dict[str, float] = {}
    for member in accept.split(","):
        media_type, *parameters = (p.strip() for p in member.split(";"))
        quality = 1.0
        for parameter in parameters:
            name, _, value = parameter.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        key = media_type.lower()
        found[key] = max(found.get(key, 0.0), quality)
    return found


def wants_html(request: Request, f: str | None) -> bool:
    """Whether to answer ``request`` with a page: ``f`` decides, else ``Accept`` does."""
    if f is not None:
        return f == "html"
    qualities = _qualities(request.headers.get("accept", ""))
    html = max((qualities.get(t, 0.0) for t in _HTML_TYPES), default=0.0)
    as_json = max((qualities.get(t, 0.0) for t in _JSON_TYPES), default=0.0)
    return html > 0 and html > as_json


def encoded(url: URL | str, f: Literal["json", "html"]) -> URL:
    """``url`` asking for the encoding ``f`` (its other parameters kept)."""
    return URL(str(url)).include_query_params(f=f)


def page_links(links: list[Link]) -> list[Link]:
    """A JSON document's links as its page lists them: the page is ``self``, and the
    JSON document, its ``alternate``, takes the place of the page."""
    listed = []
    for x in links:
        if x.rel == "self":
            listed.append(link(encoded(x.href, "html"), "self", HTML, "this page"))
            listed.append(link(encoded(x.href, "json"), "alternate", x.type or "", "as JSON"))
        elif not (x.rel == "alternate" and x.type == HTML):
            listed.append(x)
    return listed


def shown(value: Any) -> str:
    """A property value as a table cell shows it (escaped later, by the template)."""
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


_PAGES.filters["shown"] = shown


def page(template: str, request: Request, **context: Any) -> HTMLResponse:
    """The page ``template`` (in ``api/templates/ogc``) filled with ``context``; every
    page is told the API's title, for its header."""
    body = _PAGES.get_template(template).render(
        api_title=request.app.title, root=str(request.url_for("landing_page")), **context
    )
    return HTMLResponse(body, headers=VARY)

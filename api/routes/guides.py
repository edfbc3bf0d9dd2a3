"""The user guides, served by the hub itself (``/guides``; :mod:`api.guides`)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse
from markupsafe import Markup

from api import guides, html
from api.errors import NotFound
from api.ogc import link

router = APIRouter(tags=["guides"], include_in_schema=False)

_CACHE = {"Cache-Control": "max-age=300"}


@router.get("/guides")
async def guides_index(request: Request) -> HTMLResponse:
    """The guide of each user group, and where to start."""
    here = request.url_for("guides_index")
    return html.page(
        "guides.html",
        request,
        guides=[(request.url_for("guide_page", page=g.name), g.title) for g in guides.guides()],
        links=[link(here, "self", html.HTML, "this page")],
    )


@router.get("/guides/img/{image}")
async def guide_image(image: str) -> FileResponse:
    """A screenshot of a guide."""
    path = guides.image_file(image)
    if path is None:
        raise NotFound(f"no guide image {image!r}")
    return FileResponse(path, media_type="image/png", headers=_CACHE)


@router.get("/guides/{page}")
async def guide_page(request: Request, page: str) -> HTMLResponse:
    """A page of the guides (``guide-planner.md``, or a page one of them links, such as
    ``qgis.md``)."""
    path = guides.page_file(page)
    if path is None:
        raise NotFound(f"no guide page {page!r}: the guides are listed at /guides")
    here = request.url_for("guide_page", page=page)
    return html.page(
        "guide.html",
        request,
        title=guides.title_of(path),
        # the page's own raw HTML is escaped by the renderer: the result is safe as it is
        body=Markup(guides.render(path)),
        index=request.url_for("guides_index"),
        links=[link(here, "self", html.HTML, "this page")],
    )

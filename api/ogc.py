"""What the OGC API responses share: links and the CRS identifiers."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path
from pydantic import BaseModel
from starlette.datastructures import URL

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"

CollectionId = Annotated[str, Path(alias="collectionId", description="a collection (layer) id")]
"""The path parameter as OGC API - Features names it: GDAL's OAPIF driver looks for
``/collections/{collectionId}/items`` in the OpenAPI document to learn its parameters."""


class Link(BaseModel):
    """A web link (RFC 8288) as OGC API - Common writes it."""

    href: str
    rel: str
    type: str | None = None
    title: str | None = None
    templated: bool | None = None
    """True when ``href`` is a URI template (OGC API - Tiles' tile links)."""


def link(
    href: URL | str,
    rel: str,
    media_type: str,
    title: str | None = None,
    templated: bool | None = None,
) -> Link:
    """A link to ``href``."""
    return Link(href=str(href), rel=rel, type=media_type, title=title, templated=templated)

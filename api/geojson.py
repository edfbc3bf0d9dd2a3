"""Assemble GeoJSON responses from rows the database already serialised."""

from __future__ import annotations

import json
from collections.abc import Sequence

from fastapi.responses import Response

GEOJSON = "application/geo+json"


def feature_collection(
    features: Sequence[str],
    *,
    number_matched: int,
    links: list[dict[str, str]],
    time_stamp: str,
) -> Response:
    """A FeatureCollection whose features are pre-serialised JSON strings."""
    head = json.dumps(
        {
            "type": "FeatureCollection",
            "numberMatched": number_matched,
            "numberReturned": len(features),
            "timeStamp": time_stamp,
            "links": links,
        }
    )
    body = head[:-1] + ', "features": [' + ",".join(features) + "]}"
    return Response(body, media_type=GEOJSON)

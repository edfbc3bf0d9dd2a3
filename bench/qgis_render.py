"""Time QGIS drawing 100,000 parcels from the hub, as a planner's QGIS does (issue 4).

Run by ``bench/qgis_bench.py`` with the Python that has PyQGIS (Debian's python3-qgis):

    /usr/bin/python3 bench/qgis_render.py BASE_URL GEOPACKAGE OUT_DIR

Three sources of the same parcels, each drawn by QGIS's map renderer (the one the map
canvas uses, here off screen) at 1200 x 800 pixels in Web Mercator:

- ``tiles``: the hub's Mapbox Vector Tiles through QGIS's vector tile layer;
- ``features``: the hub's OGC API - Features collection through QGIS's OAPIF provider,
  which downloads every feature in the view, page by page, and keeps them;
- ``geopackage``: the GeoPackage file on local disk, QGIS's best case.

Views: the whole layer (the town), then a street view (2.4 x 1.6 km) at five places in
turn, each drawn twice: first as a planner arrives there (``cold``: what QGIS must fetch,
it fetches) and again at once (``warm``: what it keeps, it reuses). Prints one JSON
document: milliseconds per draw and the share of pixels drawn.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from qgis.core import (  # noqa: E402
    QgsApplication,
    QgsCoordinateReferenceSystem,
    QgsCoordinateTransform,
    QgsProject,
    QgsRectangle,
    QgsVectorLayer,
    QgsVectorTileLayer,
)

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from harness.qgis_reader import render  # noqa: E402

SIZE = (1200, 800)
STREET = (2400.0, 1600.0)  # metres of Web Mercator: 2 m a pixel
PLACES = ((0.3, 0.3), (0.5, 0.5), (0.7, 0.4), (0.4, 0.7), (0.6, 0.6))


def draw(layer: object, extent: QgsRectangle, path: Path | None) -> tuple[float, float]:
    """Milliseconds to render ``layer`` over ``extent``, and the share of pixels drawn."""
    elapsed, drawn = render(layer, extent, path, SIZE)
    return elapsed, float(drawn.mean())


def sources(base: str, geopackage: Path) -> dict[str, object]:
    """The three layers, opened as a planner opens them."""
    tiles = QgsVectorTileLayer(
        f"type=xyz&url={base}/collections/parcels/tiles/WebMercatorQuad/{{z}}/{{y}}/{{x}}"
        "&zmin=0&zmax=18",
        "parcels (tiles)",
    )
    features = QgsVectorLayer(f"url='{base}' typename='parcels'", "parcels", "OAPIF")
    local = QgsVectorLayer(f"{geopackage}|layername=parcels", "parcels (gpkg)", "ogr")
    opened = {"tiles": tiles, "features": features, "geopackage": local}
    for name, layer in opened.items():
        if not layer.isValid():
            raise RuntimeError(f"QGIS could not open {name}")
    return opened


def main(base: str, geopackage: Path, out: Path) -> dict[str, object]:
    local = QgsVectorLayer(f"{geopackage}|layername=parcels", "extent", "ogr")
    town = QgsCoordinateTransform(
        local.crs(), QgsCoordinateReferenceSystem("EPSG:3857"), QgsProject.instance()
    ).transformBoundingBox(local.extent())
    # the town view at the output's aspect ratio
    width = max(town.width(), town.height() * SIZE[0] / SIZE[1])
    centre = town.center()
    town = QgsRectangle(
        centre.x() - width / 2,
        centre.y() - width * SIZE[1] / SIZE[0] / 2,
        centre.x() + width / 2,
        centre.y() + width * SIZE[1] / SIZE[0] / 2,
    )
    streets = []
    for fx, fy in PLACES:
        x = town.xMinimum() + fx * town.width()
        y = town.yMinimum() + fy * town.height()
        streets.append(
            QgsRectangle(x - STREET[0] / 2, y - STREET[1] / 2, x + STREET[0] / 2, y + STREET[1] / 2)
        )
    report: dict[str, object] = {"town_m": [town.width(), town.height()], "street_m": STREET}
    for name, layer in sources(base, geopackage).items():
        runs: dict[str, object] = {}
        cold, drawn = draw(layer, town, out / f"qgis-town-{name}.png")
        warm, _ = draw(layer, town, None)
        runs["town"] = {"cold_ms": cold, "warm_ms": warm, "drawn": drawn}
        street = [(draw(layer, view, None)[0], draw(layer, view, None)[0]) for view in streets]
        runs["street"] = {
            "cold_ms": [c for c, _ in street],
            "warm_ms": [w for _, w in street],
        }
        report[name] = runs
        print(f"{name}: {json.dumps(runs)}", file=sys.stderr, flush=True)
    return report


if __name__ == "__main__":
    application = QgsApplication([], False)
    application.initQgis()
    result = main(sys.argv[1].rstrip("/"), Path(sys.argv[2]), Path(sys.argv[3]))
    print(json.dumps(result))
    application.exitQgis()

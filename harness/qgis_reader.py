"""Open the hub's collections in QGIS, as a planner does, and report what QGIS saw.

Run with the Python that has PyQGIS (Debian's ``python3-qgis``), not the project's:

    /usr/bin/python3 harness/qgis_reader.py BASE_URL OUT_DIR SUBSET COLLECTION...

Every collection named is opened through QGIS's own OGC API - Features provider ("OAPIF");
parcels are also read with an exact rectangle filter and the SUBSET string, measured in
Stereo 70, and drawn twice to PNG in OUT_DIR: from the features and from the hub's
Mapbox Vector Tiles through QGIS's vector tile layer. One JSON document goes to stdout.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
from qgis.core import (  # noqa: E402
    QgsApplication,
    QgsCoordinateReferenceSystem,
    QgsCoordinateTransform,
    QgsFeatureRequest,
    QgsMapRendererSequentialJob,
    QgsMapSettings,
    QgsProject,
    QgsRectangle,
    QgsVectorLayer,
    QgsVectorTileLayer,
)
from qgis.PyQt.QtCore import QSize  # noqa: E402
from qgis.PyQt.QtGui import QColor, QImage  # noqa: E402

SIZE = (800, 600)


def _open(base: str, collection: str) -> QgsVectorLayer:
    return QgsVectorLayer(f"url='{base}' typename='{collection}'", collection, "OAPIF")


def render(
    layer: object, extent: QgsRectangle, path: Path | None, size: tuple[int, int] = SIZE
) -> tuple[float, np.ndarray]:
    """Render ``layer`` over ``extent`` (Web Mercator), saved to ``path`` if given, as
    QGIS's map canvas does: the milliseconds it took, and the drawn-pixel mask."""
    settings = QgsMapSettings()
    settings.setLayers([layer])
    settings.setOutputSize(QSize(*size))
    settings.setBackgroundColor(QColor(255, 255, 255))
    settings.setDestinationCrs(QgsCoordinateReferenceSystem("EPSG:3857"))
    settings.setExtent(extent)
    began = time.perf_counter()
    job = QgsMapRendererSequentialJob(settings)
    job.start()
    job.waitForFinished()
    elapsed = (time.perf_counter() - began) * 1000
    errors = [e.message for e in job.errors()]
    if errors:
        raise RuntimeError(f"QGIS could not draw {layer.name()}: {errors}")
    image = job.renderedImage().convertToFormat(QImage.Format_RGB32)
    if path is not None:
        image.save(str(path))
    pixels = np.frombuffer(image.constBits().asstring(image.sizeInBytes()), np.uint32)
    return elapsed, (pixels.reshape(size[1], size[0]) & 0xFFFFFF) != 0xFFFFFF


def main(base: str, out: Path, subset: str, collections: list[str]) -> dict[str, object]:
    stereo = QgsCoordinateReferenceSystem("EPSG:3844")
    report: dict[str, object] = {"collections": {}}
    for collection in collections:
        layer = _open(base, collection)
        report["collections"][collection] = {  # type: ignore[index]
            "valid": layer.isValid(),
            "count": layer.featureCount(),
            "crs": layer.crs().authid(),
            "fields": [f.name() for f in layer.fields()],
        }
    parcels = _open(base, "parcels")
    to_stereo = QgsCoordinateTransform(parcels.crs(), stereo, QgsProject.instance())
    areas = {}
    for feature in parcels.getFeatures():
        geometry = feature.geometry()
        geometry.transform(to_stereo)
        areas[feature["cadastral_number"]] = geometry.area()
    report["areas_m2"] = areas
    extent = parcels.extent()
    quarter = QgsRectangle(
        extent.xMinimum(),
        extent.yMinimum(),
        (extent.xMinimum() + extent.xMaximum()) / 2,
        (extent.yMinimum() + extent.yMaximum()) / 2,
    )
    exact = QgsFeatureRequest().setFilterRect(quarter).setFlags(QgsFeatureRequest.ExactIntersect)
    report["quarter"] = [
        quarter.xMinimum(),
        quarter.yMinimum(),
        quarter.xMaximum(),
        quarter.yMaximum(),
    ]
    report["in_quarter"] = sorted(f["cadastral_number"] for f in parcels.getFeatures(exact))
    parcels.setSubsetString(subset)
    report["subset"] = sorted(f["cadastral_number"] for f in parcels.getFeatures())
    parcels.setSubsetString("")
    mercator = QgsCoordinateTransform(
        parcels.crs(), QgsCoordinateReferenceSystem("EPSG:3857"), QgsProject.instance()
    ).transformBoundingBox(extent)
    tiles = QgsVectorTileLayer(
        f"type=xyz&url={base}/collections/parcels/tiles/WebMercatorQuad/{{z}}/{{y}}/{{x}}"
        "&zmin=0&zmax=18",
        "parcels tiles",
    )
    report["tiles_valid"] = tiles.isValid()
    _, features = render(parcels, mercator, out / "qgis-parcels-features.png")
    _, tiled = render(tiles, mercator, out / "qgis-parcels-tiles.png")
    report["drawn_fraction"] = {"features": features.mean(), "tiles": tiled.mean()}
    report["drawn_agreement"] = (features == tiled).mean()
    return report


if __name__ == "__main__":
    application = QgsApplication([], False)
    application.initQgis()
    result = main(sys.argv[1].rstrip("/"), Path(sys.argv[2]), sys.argv[3], sys.argv[4:])
    print(json.dumps(result, default=float))
    application.exitQgis()

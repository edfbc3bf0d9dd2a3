"""Open the hub's collections in QGIS, as a planner does, and report what QGIS saw.

Run with the Python that has PyQGIS (Debian's ``python3-qgis``), not the project's:

    /usr/bin/python3 harness/qgis_reader.py BASE_URL OUT_DIR COLLECTION... \
        [--draw COLLECTION] [--subset SUBSET]

Every collection named is opened through QGIS's own OGC API - Features provider
("OAPIF"). ``--draw``: that collection is drawn twice to PNG in OUT_DIR, from its
features and from the hub's Mapbox Vector Tiles through QGIS's vector tile layer.
``--subset``: parcels are also read with an exact rectangle filter and the SUBSET
string, and measured in Stereo 70. One JSON document goes to stdout.

With ``HUB_API_KEY`` in the environment, each collection is first opened as it is
(anonymous: ``anonymous_valid``), then QGIS is given the key the way a planner gives it
(:func:`send_key`, ``docs/qgis.md``) and everything above is done with it.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
from qgis.core import (  # noqa: E402
    Qgis,
    QgsApplication,
    QgsAuthMethodConfig,
    QgsCoordinateReferenceSystem,
    QgsCoordinateTransform,
    QgsFeatureRequest,
    QgsMapRendererSequentialJob,
    QgsMapSettings,
    QgsNetworkAccessManager,
    QgsProject,
    QgsRectangle,
    QgsVectorLayer,
    QgsVectorTileLayer,
)
from qgis.PyQt.QtCore import QSize  # noqa: E402
from qgis.PyQt.QtGui import QColor, QImage  # noqa: E402
from qgis.PyQt.QtNetwork import QNetworkRequest  # noqa: E402

HEADER = "X-API-Key"
SIZE = (800, 600)


def send_key(base: str, key: str) -> tuple[str, str]:
    """Have QGIS send ``key`` in the ``X-API-Key`` header to the hub at ``base``, as a
    planner sets it up: the layer URI parameter that selects it (empty when none is
    needed), and which way it was done.

    QGIS 3.26 and later: an authentication configuration of method "APIHeader" holding
    the header, chosen by ``authcfg=`` in each layer's URI, which the key then never
    appears in. Older QGIS (Debian 12 ships 3.22) has no method that sends a header of
    one's own (it has Basic, EsriToken and certificates; Debian builds it without
    OAuth2) nor the ``http-header:`` URI parameters of later releases: there the key is
    added by a network request preprocessor, the hook a planner's ``startup.py`` uses.
    """
    manager = QgsApplication.authManager()
    if "APIHeader" in manager.authMethodsKeys():
        # a fresh authentication database (QGIS_AUTH_DB_DIR_PATH) takes this password
        if not manager.setMasterPassword(secrets.token_urlsafe(16), True):
            raise RuntimeError("QGIS refused the authentication database's master password")
        config = QgsAuthMethodConfig("APIHeader")
        config.setName("smart-city hub")
        config.setUri(base)
        config.setConfig(HEADER, key)
        if not manager.storeAuthenticationConfig(config):
            raise RuntimeError("QGIS could not store the authentication configuration")
        return f"authcfg={config.id()}", "authentication configuration (APIHeader)"

    def add_key(request: QNetworkRequest) -> None:
        if request.url().toString().startswith(base + "/"):
            request.setRawHeader(HEADER.encode(), key.encode())

    QgsNetworkAccessManager.setRequestPreprocessor(add_key)
    return "", "request preprocessor (QGIS without APIHeader)"


def _open(base: str, collection: str, auth: str = "") -> QgsVectorLayer:
    uri = f"url='{base}' typename='{collection}' {auth}".strip()
    return QgsVectorLayer(uri, collection, "OAPIF")


def _tiles(base: str, collection: str, auth: str = "") -> QgsVectorTileLayer:
    url = f"{base}/collections/{collection}/tiles/WebMercatorQuad/{{z}}/{{y}}/{{x}}"
    extra = f"&{auth}" if auth else ""
    return QgsVectorTileLayer(f"type=xyz&url={url}&zmin=0&zmax=18{extra}", f"{collection} tiles")


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


def describe(layer: QgsVectorLayer) -> dict[str, object]:
    """What QGIS reports of an opened collection."""
    return {
        "valid": layer.isValid(),
        "count": layer.featureCount(),
        "crs": layer.crs().authid(),
        "fields": [f.name() for f in layer.fields()],
    }


def read_parcels(base: str, auth: str, subset: str) -> dict[str, object]:
    """Parcels measured in Stereo 70, read in a quarter of their extent (exact
    intersection) and with ``subset`` as QGIS's subset string."""
    stereo = QgsCoordinateReferenceSystem("EPSG:3844")
    parcels = _open(base, "parcels", auth)
    to_stereo = QgsCoordinateTransform(parcels.crs(), stereo, QgsProject.instance())
    areas = {}
    for feature in parcels.getFeatures():
        geometry = feature.geometry()
        geometry.transform(to_stereo)
        areas[feature["cadastral_number"]] = geometry.area()
    extent = parcels.extent()
    quarter = QgsRectangle(
        extent.xMinimum(),
        extent.yMinimum(),
        (extent.xMinimum() + extent.xMaximum()) / 2,
        (extent.yMinimum() + extent.yMaximum()) / 2,
    )
    exact = QgsFeatureRequest().setFilterRect(quarter).setFlags(QgsFeatureRequest.ExactIntersect)
    report: dict[str, object] = {"areas_m2": areas}
    report["quarter"] = [
        quarter.xMinimum(),
        quarter.yMinimum(),
        quarter.xMaximum(),
        quarter.yMaximum(),
    ]
    report["in_quarter"] = sorted(f["cadastral_number"] for f in parcels.getFeatures(exact))
    parcels.setSubsetString(subset)
    report["subset"] = sorted(f["cadastral_number"] for f in parcels.getFeatures())
    return report


def draw(base: str, collection: str, auth: str, out: Path) -> dict[str, object]:
    """The collection drawn over its extent from its features and from its vector
    tiles (``qgis-{collection}-features.png``, ``-tiles.png`` in ``out``)."""
    features = _open(base, collection, auth)
    mercator = QgsCoordinateTransform(
        features.crs(), QgsCoordinateReferenceSystem("EPSG:3857"), QgsProject.instance()
    ).transformBoundingBox(features.extent())
    tiles = _tiles(base, collection, auth)
    _, drawn = render(features, mercator, out / f"qgis-{collection}-features.png")
    _, tiled = render(tiles, mercator, out / f"qgis-{collection}-tiles.png")
    return {
        "tiles_valid": tiles.isValid(),
        "drawn_fraction": {"features": drawn.mean(), "tiles": tiled.mean()},
        "drawn_agreement": (drawn == tiled).mean(),
    }


def main(args: argparse.Namespace) -> dict[str, object]:
    """Everything the arguments ask for, in one QGIS session."""
    base: str = args.base.rstrip("/")
    report: dict[str, object] = {"qgis_version": Qgis.versionInt()}
    auth = ""
    key = os.environ.get("HUB_API_KEY")
    if key:
        report["anonymous_valid"] = {c: _open(base, c).isValid() for c in args.collections}
        auth, report["sends_key_by"] = send_key(base, key)
    report["collections"] = {c: describe(_open(base, c, auth)) for c in args.collections}
    if args.subset:
        report |= read_parcels(base, auth, args.subset)
    if args.draw:
        report |= draw(base, args.draw, auth, args.out)
    return report


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("base", help="the hub's base URL")
    parser.add_argument("out", type=Path, help="folder of the drawings")
    parser.add_argument("collections", nargs="+")
    parser.add_argument("--draw", help="a collection to draw from features and tiles")
    parser.add_argument("--subset", help="read parcels with this subset string too")
    arguments = parser.parse_args()
    application = QgsApplication([], False)
    application.initQgis()
    result = main(arguments)
    print(json.dumps(result, default=float))
    application.exitQgis()

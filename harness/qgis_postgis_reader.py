"""Open a database's PostGIS layers in QGIS, as a planner does from QGIS's browser, and
report what QGIS saw.

Run with the Python that has PyQGIS (Debian's ``python3-qgis``), not the project's:

    /usr/bin/python3 harness/qgis_postgis_reader.py CONNINFO SCHEMA

QGIS's PostgreSQL provider lists the schema's layers (its browser's listing); each is
then opened with the URI the browser builds: the geometry column and, for a view, the
first key candidate QGIS found (a view has no primary key, and QGIS refuses a view
whose URI names no ``key``). One JSON document goes to stdout.
"""

from __future__ import annotations

import argparse
import json
import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from qgis.core import (  # noqa: E402
    QgsApplication,
    QgsDataSourceUri,
    QgsFeatureRequest,
    QgsMapRendererSequentialJob,
    QgsMapSettings,
    QgsProviderRegistry,
    QgsRectangle,
    QgsVectorLayer,
)
from qgis.PyQt.QtCore import QSize  # noqa: E402
from qgis.PyQt.QtGui import QColor, QImage  # noqa: E402

SIZE = (400, 300)


def drawn_pixels(layer: QgsVectorLayer) -> int:
    """How many pixels QGIS paints when it draws the whole layer on white."""
    settings = QgsMapSettings()
    settings.setLayers([layer])
    settings.setOutputSize(QSize(*SIZE))
    settings.setBackgroundColor(QColor(255, 255, 255))
    settings.setDestinationCrs(layer.crs())
    settings.setExtent(layer.extent())
    job = QgsMapRendererSequentialJob(settings)
    job.start()
    job.waitForFinished()
    if job.errors():
        raise RuntimeError(f"QGIS could not draw {layer.name()}: {job.errors()}")
    image = job.renderedImage().convertToFormat(QImage.Format_RGB32)
    bits = image.constBits().asstring(image.sizeInBytes())
    return sum(1 for i in range(0, len(bits), 4) if bits[i : i + 3] != b"\xff\xff\xff")


def read(conninfo: str, schema: str) -> dict[str, dict[str, object]]:
    """What QGIS lists in ``schema`` and reads of each layer there."""
    metadata = QgsProviderRegistry.instance().providerMetadata("postgres")
    connection = metadata.createConnection(conninfo, {})
    seen: dict[str, dict[str, object]] = {}
    for table in connection.tables(schema):
        if not table.geometryColumn():
            continue
        uri = QgsDataSourceUri(conninfo)
        key = table.primaryKeyColumns()[0] if table.primaryKeyColumns() else ""
        uri.setDataSource(schema, table.tableName(), table.geometryColumn(), "", key)
        layer = QgsVectorLayer(uri.uri(False), table.tableName(), "postgres")
        features = list(layer.getFeatures())
        extent = layer.extent()
        # a quarter of the extent, through the provider's spatial filter
        corner = QgsRectangle(
            extent.xMinimum(),
            extent.yMinimum(),
            extent.center().x(),
            extent.center().y(),
        )
        in_corner = sorted(f.id() for f in layer.getFeatures(QgsFeatureRequest(corner)))
        seen[table.tableName()] = {
            "key": key,
            "valid": layer.isValid(),
            "count": layer.featureCount(),
            "read": len(features),
            "crs": layer.crs().authid(),
            "wkb_type": layer.wkbType(),
            "fields": [field.name() for field in layer.fields()],
            "ids": sorted(f.id() for f in features),
            "area": sum(f.geometry().area() for f in features),
            "extent": [extent.xMinimum(), extent.yMinimum(), extent.xMaximum(), extent.yMaximum()],
            "corner": [corner.xMinimum(), corner.yMinimum(), corner.xMaximum(), corner.yMaximum()],
            "in_corner": in_corner,
            "drawn_pixels": drawn_pixels(layer),
        }
    return seen


def main() -> None:
    """Read the layers and print the report."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("conninfo")
    parser.add_argument("schema")
    args = parser.parse_args()
    application = QgsApplication([], False)
    application.initQgis()
    report = read(args.conninfo, args.schema)
    print(json.dumps(report), flush=True)
    # QGIS 3.22's exitQgis can crash after a provider connection; the report is out
    os._exit(0)


if __name__ == "__main__":
    main()

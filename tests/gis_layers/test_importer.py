from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import psycopg
import pytest
from shapely.geometry import Point, shape

from gis_layers.errors import LayerImportError
from gis_layers.importer import import_file
from storage import migrations


def test_import_keeps_attributes_repairs_and_reprojects(pg_url: str, parcels_gpkg: Path) -> None:
    with psycopg.connect(pg_url) as conn:
        migrations.upgrade(conn)
        [report] = import_file(conn, parcels_gpkg)
        assert (report.layer_id, report.features, report.source_crs) == ("parcels", 9, "EPSG:3844")
        assert len(report.repaired) == 1 and report.repaired[0].startswith(
            "feature 4: Self-intersection"
        )
        props, geometry = conn.execute(
            "SELECT properties, geometry FROM features"
            " WHERE layer_id = 'parcels' AND feature_id = 1"
        ).fetchone()
        assert props == {"cadastral_number": "20500", "land_use": "CC", "levels": 0}
        lon, lat = shape(geometry).centroid.coords[0]
        assert 24.86 < lon < 24.88 and 43.74 < lat < 43.76  # Turnu Măgurele, in CRS84 order
        # re-import replaces the layer
        [again] = import_file(conn, parcels_gpkg)
        count = conn.execute("SELECT count(*) FROM features WHERE layer_id = 'parcels'").fetchone()
        assert again.features == 9 and count == (9,)


def test_file_without_crs_is_refused_unless_given(pg_url: str, tmp_path: Path) -> None:
    path = tmp_path / "nocrs.geojson"
    path.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "properties": {"n": 1},
                        "geometry": {"type": "Point", "coordinates": [489700, 250200]},
                    }
                ],
            }
        )
    )
    frame = gpd.read_file(path)
    frame.crs = None
    frame.to_file(tmp_path / "nocrs.shp")
    with psycopg.connect(pg_url) as conn:
        migrations.upgrade(conn)
        with pytest.raises(
            LayerImportError, match="has no coordinate reference system; pass --crs"
        ):
            import_file(conn, tmp_path / "nocrs.shp")
        [report] = import_file(conn, tmp_path / "nocrs.shp", name="Gauges", crs="EPSG:3844")
        assert report.layer_id == "gauges"
        geometry = conn.execute("SELECT geometry FROM features").fetchone()[0]
        assert shape(geometry).distance(Point(24.8708, 43.7517)) < 0.01


def test_unreadable_file_is_refused(pg_url: str, tmp_path: Path) -> None:
    bad = tmp_path / "broken.gpkg"
    bad.write_bytes(b"not a geopackage")
    with psycopg.connect(pg_url) as conn, pytest.raises(LayerImportError, match="broken.gpkg"):
        import_file(conn, bad)

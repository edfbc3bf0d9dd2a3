from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import psycopg
import pytest
import shapely
from shapely.geometry import Point, box, shape

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


def test_cadastral_dxf_and_shapefile_with_prj(
    pg_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A DXF export draws parcels as closed polylines and has no CRS: it is refused
    without ``crs``, and with ``polygons`` its closed lines become parcels with their
    areas. A Shapefile's .prj gives its CRS."""
    x0, y0 = 489500.0, 250000.0
    rings = [box(x0 + 40 * i, y0, x0 + 40 * i + 30, y0 + 25).exterior for i in range(12)]
    dxf = tmp_path / "cadastru.dxf"
    lines = gpd.GeoDataFrame({"Layer": ["PARCELE"] * 12}, geometry=rings)
    lines.to_file(dxf, driver="DXF", engine="pyogrio")
    shp = tmp_path / "parcele.shp"
    polygons = gpd.GeoDataFrame(
        {"nr_cad": [str(50000 + i) for i in range(12)]},
        geometry=[shapely.Polygon(r) for r in rings],
        crs="EPSG:3844",
    )
    polygons.to_file(shp, engine="pyogrio")
    with psycopg.connect(pg_url) as conn:
        migrations.upgrade(conn)
        with pytest.raises(LayerImportError, match="no coordinate reference system; pass --crs"):
            import_file(conn, dxf)
        with caplog.at_level("INFO", logger="gis_layers.importer"):
            [report] = import_file(conn, dxf, name="parcele-dxf", crs="EPSG:3844", polygons=True)
        assert report.repaired[0] == "12 closed lines made polygons"
        assert "reading layer entities" in caplog.text
        [from_shp] = import_file(conn, shp)
        assert from_shp.source_crs == "EPSG:3844"
        areas = {}
        for layer in ("parcele-dxf", "parcele"):
            rows = conn.execute(
                "SELECT geom_native FROM features WHERE layer_id = %s ORDER BY feature_id",
                (layer,),
            ).fetchall()
            geoms = shapely.from_wkb([r[0] for r in rows])
            assert set(shapely.get_type_id(geoms)) == {3}, layer  # polygons
            areas[layer] = sorted(shapely.area(geoms).round(6))
        assert areas["parcele-dxf"] == areas["parcele"] == [750.0] * 12


def test_large_import_reports_progress(
    pg_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "many.gpkg"
    gpd.GeoDataFrame(
        {"k": range(12_000)},
        geometry=[Point(489500 + k % 100, 250000 + k // 100) for k in range(12_000)],
        crs="EPSG:3844",
    ).to_file(path, layer="many")
    with psycopg.connect(pg_url) as conn, caplog.at_level("INFO", logger="gis_layers.importer"):
        migrations.upgrade(conn)
        import_file(conn, path)
    assert "many: 12000 features read; checking geometries" in caplog.text
    assert "many: reprojecting and encoding 12000 features" in caplog.text
    assert "many: writing features 1-5000 of 12000" in caplog.text
    assert "many: writing features 10001-12000 of 12000" in caplog.text

"""Imported layers as PostGIS layers (migration 20): a view per layer in schema ``gis``,
read by QGIS's PostgreSQL provider and by GDAL (``ogrinfo PG:``) as planners open them;
on the embedded PostgreSQL, which has no PostGIS, nothing of it and nothing changed.

The oracle is the source file read by geopandas and repaired as the importer documents
(shapely's ``make_valid``), not the view's own SQL.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import geopandas as gpd
import psycopg
import pytest
import shapely
from psycopg.conninfo import conninfo_to_dict
from shapely.geometry import Point, box

from gis_layers.importer import import_file, write_layer
from storage import migrations

QGIS_PYTHON = "/usr/bin/python3"  # Debian's, where python3-qgis installs PyQGIS
READER = Path(__file__).resolve().parents[2] / "harness" / "qgis_postgis_reader.py"


def _has_postgis(conn: psycopg.Connection) -> bool:
    return bool(
        conn.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'postgis'").fetchone()
    )


# PostGIS is a package of the system server; the embedded wheel has none.
ON_SYSTEM = pytest.mark.parametrize("pg_server", ["system"], indirect=True)
ON_EMBEDDED = pytest.mark.parametrize("pg_server", ["embedded"], indirect=True)


def _need_postgis(conn: psycopg.Connection) -> None:
    if not _has_postgis(conn):
        reason = "no PostGIS on this server; scripts/test-deps.sh installs postgresql-15-postgis-3"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)


def _oracle(path: Path) -> gpd.GeoDataFrame:
    frame = gpd.read_file(path)
    frame.geometry = shapely.make_valid(frame.geometry.values)
    return frame


def _view_columns(conn: psycopg.Connection, layer: str) -> dict[str, str]:
    rows = conn.execute(
        "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute"
        " WHERE attrelid = to_regclass(%s) AND attnum > 0 ORDER BY attnum",
        (f'gis."{layer}"',),
    ).fetchall()
    return {str(name): str(kind) for name, kind in rows}


def _gis_indexes(conn: psycopg.Connection) -> list[str]:
    return [
        str(r[0])
        for r in conn.execute(
            "SELECT indexname FROM pg_indexes WHERE indexname LIKE 'features_gis_%'"
        )
    ]


@ON_EMBEDDED
def test_without_postgis_nothing_changes(pg_url: str, parcels_gpkg: Path) -> None:
    with psycopg.connect(pg_url) as conn:
        assert not _has_postgis(conn)
        migrations.upgrade(conn)
        assert conn.execute(
            "SELECT variant FROM schema_migrations WHERE version = 20"
        ).fetchone() == ("0020_layer_views_none.sql",)
        [report] = import_file(conn, parcels_gpkg)
        assert report.features == 9
        assert conn.execute("SELECT to_regnamespace('gis')").fetchone() == (None,)
        assert conn.execute("SELECT count(*) FROM features").fetchone() == (9,)


@ON_SYSTEM
def test_every_layer_is_a_postgis_view_in_step_with_its_writers(
    pg_url: str, parcels_gpkg: Path, tmp_path: Path
) -> None:
    with psycopg.connect(pg_url) as conn:
        _need_postgis(conn)
        migrations.upgrade(conn)
        import_file(conn, parcels_gpkg)
        conn.commit()  # views follow the layers at commit (a deferred trigger)
        expected = _oracle(parcels_gpkg)

        # geometry_columns (what QGIS and GDAL list) declares type and SRID
        assert conn.execute(
            "SELECT type, srid FROM geometry_columns"
            " WHERE f_table_schema = 'gis' AND f_table_name = 'parcels'"
        ).fetchone() == ("MULTIPOLYGON", 3844)
        assert _view_columns(conn, "parcels") == {
            "feature_id": "integer",
            "cadastral_number": "text",
            "land_use": "text",
            "levels": "bigint",
            "geom": "geometry(MultiPolygon,3844)",
        }
        rows = conn.execute(
            "SELECT feature_id, cadastral_number, levels, ST_AsBinary(geom) FROM gis.parcels"
            " ORDER BY feature_id"
        ).fetchall()
        assert [(r[1], r[2]) for r in rows] == list(
            zip(expected["cadastral_number"], expected["levels"], strict=True)
        )
        seen = shapely.from_wkb([bytes(r[3]) for r in rows])
        assert shapely.equals(seen, expected.geometry.values).all()  # in Stereo 70, unmoved

        # a bbox query on the view is answered by the layer's GiST index
        conn.execute("SET enable_seqscan = off")  # nine rows: else a scan is cheaper
        plan = "\n".join(
            r[0]
            for r in conn.execute(
                "EXPLAIN SELECT feature_id FROM gis.parcels"
                " WHERE geom && ST_MakeEnvelope(489500, 250000, 489650, 250150, 3844)"
            )
        )
        [index] = _gis_indexes(conn)
        assert index in plan, plan
        found = conn.execute(
            "SELECT array_agg(feature_id ORDER BY feature_id) FROM gis.parcels"
            " WHERE ST_Intersects(geom, ST_MakeEnvelope(489500, 250000, 489650, 250150, 3844))"
        ).fetchone()
        area = box(489500, 250000, 489650, 250150)
        ids = [i + 1 for i, g in enumerate(expected.geometry) if g.intersects(area)]
        assert found == (ids,)
        conn.execute("RESET enable_seqscan")

        # a live writer's update (the parking layers merge their state so) shows at once
        conn.execute(
            "UPDATE features SET properties = properties || '{\"levels\": 40}'"
            " WHERE layer_id = 'parcels' AND feature_id = 2"
        )
        assert conn.execute("SELECT levels FROM gis.parcels WHERE feature_id = 2").fetchone() == (
            40,
        )
        conn.commit()

        # a re-import with other attributes, geometry type and CRS is rolled back whole:
        # the view stays what it was
        points = gpd.GeoDataFrame(
            {"name": ["a", "b"], "depth": [0.5, 1.25], "wet": [True, False]},
            geometry=[Point(24.87, 43.75), Point(24.88, 43.76)],
            crs="EPSG:4326",
        )
        with pytest.raises(RuntimeError, match="give up"):  # noqa: PT012
            with conn.transaction():
                write_layer(conn, "parcels", points)
                raise RuntimeError("give up")
        assert "cadastral_number" in _view_columns(conn, "parcels")
        assert _gis_indexes(conn) == [index]

        # committed, it changes the view and swaps the index in the same transaction
        conn.commit()
        write_layer(conn, "parcels", points)
        conn.commit()
        assert _view_columns(conn, "parcels") == {
            "feature_id": "integer",
            "depth": "double precision",
            "name": "text",
            "wet": "boolean",
            "geom": "geometry(Point,4326)",
        }
        assert conn.execute(
            "SELECT name, depth, wet, ST_X(geom), ST_Y(geom) FROM gis.parcels ORDER BY feature_id"
        ).fetchall() == [("a", 0.5, True, 24.87, 43.75), ("b", 1.25, False, 24.88, 43.76)]
        [new_index] = _gis_indexes(conn)
        assert new_index != index

        # a layer removed takes its view and index with it
        conn.execute("DELETE FROM layers WHERE layer_id = 'parcels'")
        conn.commit()
        assert conn.execute("SELECT to_regclass('gis.parcels')").fetchone() == (None,)
        assert _gis_indexes(conn) == []


def _conninfo(url: str) -> str:
    parts = conninfo_to_dict(url)
    keys = ("dbname", "host", "port", "user", "password")
    return " ".join(f"{k}='{parts[k]}'" for k in keys if parts.get(k))


@ON_SYSTEM
def test_qgis_and_ogrinfo_read_the_postgis_layer(pg_url: str, parcels_gpkg: Path) -> None:
    with psycopg.connect(pg_url) as conn:
        _need_postgis(conn)
        migrations.upgrade(conn)
        import_file(conn, parcels_gpkg)
        conn.commit()
    probe = subprocess.run(
        [QGIS_PYTHON, "-c", "import qgis.core"], capture_output=True, check=False
    )
    if probe.returncode != 0:
        reason = "PyQGIS (Debian python3-qgis) is not installed; scripts/test-deps.sh installs it"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    conninfo = _conninfo(pg_url)
    run = subprocess.run(
        [QGIS_PYTHON, str(READER), conninfo, "gis"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, "XDG_RUNTIME_DIR": "/tmp"},
    )
    assert run.returncode == 0, run.stderr[-3000:]
    seen = json.loads(run.stdout.strip().splitlines()[-1])
    expected = _oracle(parcels_gpkg)
    layer = seen["parcels"]  # listed by QGIS's PostgreSQL provider
    assert layer["valid"] and layer["key"] == "feature_id"
    assert layer["count"] == layer["read"] == len(expected)
    assert layer["crs"] == "EPSG:3844"
    assert layer["wkb_type"] == 6  # QgsWkbTypes.MultiPolygon
    assert set(layer["fields"]) == {"feature_id", *expected.columns.drop("geometry")}
    assert layer["area"] == pytest.approx(expected.area.sum(), rel=1e-9)
    assert layer["extent"] == pytest.approx(list(expected.total_bounds))
    # QGIS's rectangle request, as its canvas makes one: features whose box meets it
    corner = box(*layer["corner"])
    boxes = shapely.envelope(expected.geometry.values)
    assert layer["in_corner"] == [i + 1 for i, b in enumerate(boxes) if b.intersects(corner)]
    assert layer["drawn_pixels"] > 1000

    listing = subprocess.run(
        ["ogrinfo", "-ro", "-so", f"PG:{conninfo}"], capture_output=True, text=True, check=True
    ).stdout
    assert "gis.parcels (Multi Polygon)" in listing
    summary = subprocess.run(
        ["ogrinfo", "-ro", "-so", f"PG:{conninfo}", "gis.parcels"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert f"Feature Count: {len(expected)}" in summary
    assert 'ID["EPSG",3844]' in summary

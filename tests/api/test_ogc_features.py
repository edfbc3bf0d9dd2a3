"""OGC API - Features Part 1 Core: the documents, and the clients planners use reading them.

GDAL's OAPIF driver is what QGIS uses to open an OGC API - Features service; OWSLib is
the Python client integrators use. Both run here against a live server over HTTP.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pyogrio
import pytest
import shapely
from fastapi.testclient import TestClient
from owslib.ogcapi.features import Features

from api.app import create_app
from auth.principal import Role
from gis_layers.importer import import_file
from harness.credentials import api_key, signed_in
from settings import Settings
from storage import migrations
from tests.gis_layers.conftest import parcels_gpkg  # noqa: F401  (fixture)

CORE = "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core"
EPSG = "http://www.opengis.net/def/crs/EPSG/0/"


@pytest.fixture
def client(pg_url: str, parcels_gpkg: Path) -> Iterator[TestClient]:  # noqa: F811
    with psycopg.connect(pg_url) as conn:
        migrations.upgrade(conn)
        import_file(conn, parcels_gpkg)
    with signed_in(create_app(Settings(), pg_url), pg_url) as test_client:
        yield test_client


def _rel(links: list[dict[str, str]], rel: str) -> dict[str, str]:
    return next(x for x in links if x["rel"] == rel)


def test_landing_page_links_the_definition_conformance_and_data(client: TestClient) -> None:
    landing = client.get("/").json()
    assert landing["title"] and landing["description"]
    for rel in ("self", "service-desc", "service-doc", "conformance", "data"):
        target = client.get(_rel(landing["links"], rel)["href"])
        assert target.status_code == 200, rel
    assert client.get(_rel(landing["links"], "service-desc")["href"]).json()["openapi"]
    conformance = client.get(_rel(landing["links"], "conformance")["href"]).json()
    assert CORE in conformance["conformsTo"]
    assert any(c.endswith("/conf/geojson") for c in conformance["conformsTo"])


def test_collection_document_has_extent_crs_and_links(client: TestClient) -> None:
    parcels = client.get("/collections/parcels").json()
    assert parcels["itemType"] == "feature"
    assert parcels["crs"][0] == "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
    assert f"{EPSG}3844" in parcels["crs"] and f"{EPSG}4326" in parcels["crs"]
    assert parcels["storageCrs"] == "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
    minx, miny, maxx, maxy = parcels["extent"]["spatial"]["bbox"][0]
    assert 24.85 < minx < maxx < 24.89 and 43.74 < miny < maxy < 43.76
    items = client.get(_rel(parcels["links"], "items")["href"])
    assert items.headers["content-type"] == "application/geo+json"
    collection = _rel(items.json()["links"], "collection")["href"]
    assert client.get(collection).json()["id"] == "parcels"


def test_single_feature_and_its_absence(client: TestClient) -> None:
    one = client.get("/collections/parcels/items/3")
    assert one.status_code == 200 and one.headers["content-type"] == "application/geo+json"
    body = one.json()
    assert body["type"] == "Feature" and body["id"] == 3
    assert body["geometry"]["type"] in ("Polygon", "MultiPolygon")
    assert _rel(body["links"], "collection")["href"].endswith("/collections/parcels")
    for missing in ("999", "abc", "-1", "99999999999999999999"):
        response = client.get(f"/collections/parcels/items/{missing}")
        assert response.status_code == 404, missing
        assert response.headers["content-type"] == "application/problem+json"


def test_features_in_stereo_70_keep_their_cadastral_geometry(client: TestClient) -> None:
    response = client.get("/collections/parcels/items", params={"crs": f"{EPSG}3844"})
    assert response.headers["content-crs"] == f"<{EPSG}3844>"
    for feature in response.json()["features"]:
        polygon = shapely.geometry.shape(feature["geometry"])
        minx, miny, _maxx, _maxy = polygon.bounds
        # the fixture's 100 m cells start on whole hectometres of Stereo 70
        assert abs(minx - round(minx, -2)) < 0.01 and abs(miny - round(miny, -2)) < 0.01
        if feature["properties"]["cadastral_number"] != "20504":  # the repaired bow-tie
            assert polygon.area == pytest.approx(10_000, rel=1e-6)
    one = client.get("/collections/parcels/items/1", params={"crs": f"{EPSG}3844"})
    assert one.headers["content-crs"] == f"<{EPSG}3844>"
    assert shapely.geometry.shape(one.json()["geometry"]).area == pytest.approx(10_000, rel=1e-6)


def test_epsg_4326_is_latitude_first_and_bbox_crs_is_honoured(client: TestClient) -> None:
    lat_lon = client.get("/collections/parcels/items/1", params={"crs": f"{EPSG}4326"}).json()
    lat, lon = lat_lon["geometry"]["coordinates"][0][0]
    assert 43.7 < lat < 43.8 and 24.8 < lon < 24.9
    # the south-west cell, asked for in Stereo 70 (northing, easting) and EPSG:4326 (lat, lon)
    stereo = client.get(
        "/collections/parcels/items",
        params={"bbox": "250010,489510,250090,489590", "bbox-crs": f"{EPSG}3844"},  # N, E
    ).json()
    assert {f["properties"]["cadastral_number"] for f in stereo["features"]} == {"20500"}
    sw = shapely.geometry.shape(
        client.get("/collections/parcels/items/1").json()["geometry"]
    ).centroid
    geographic = client.get(
        "/collections/parcels/items",
        params={
            "bbox": f"{sw.y - 1e-5},{sw.x - 1e-5},{sw.y + 1e-5},{sw.x + 1e-5}",
            "bbox-crs": f"{EPSG}4326",
        },
    ).json()
    assert {f["properties"]["cadastral_number"] for f in geographic["features"]} == {"20500"}


CRS84_URI = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"


@pytest.mark.parametrize(
    ("name", "uri"),
    [
        ("EPSG:3844", f"{EPSG}3844"),
        ("epsg:3844", f"{EPSG}3844"),
        ("[EPSG:3844]", f"{EPSG}3844"),
        ("urn:ogc:def:crs:EPSG::3844", f"{EPSG}3844"),
        ("EPSG:4326", f"{EPSG}4326"),
        ("https://www.opengis.net/def/crs/EPSG/0/3857", f"{EPSG}3857"),
        ("CRS84", CRS84_URI),
        ("ogc:crs84", CRS84_URI),
    ],
)
def test_a_crs_may_be_named_as_the_cli_names_it(client: TestClient, name: str, uri: str) -> None:
    """``crs``, ``bbox-crs`` and ``filter-crs`` take the short names; the answer is the
    one the URI gets, and Content-Crs names the URI."""
    by_uri = client.get("/collections/parcels/items/1", params={"crs": uri})
    by_name = client.get("/collections/parcels/items/1", params={"crs": name})
    assert by_name.status_code == 200, by_name.text
    assert by_name.headers["content-crs"] == f"<{uri}>"
    assert by_name.json()["geometry"] == by_uri.json()["geometry"]
    # a box around the first parcel, in that CRS's own axis order
    minx, miny, maxx, maxy = shapely.geometry.shape(by_uri.json()["geometry"]).bounds
    box = f"{minx},{miny},{maxx},{maxy}"
    polygon = shapely.box(minx, miny, maxx, maxy).wkt
    for params in (
        {"crs": "{}", "bbox": box, "bbox-crs": "{}"},
        {"filter": f"S_INTERSECTS(geometry, {polygon})", "filter-crs": "{}"},
    ):
        pages = [
            client.get(
                "/collections/parcels/items",
                params={k: v.format(crs) for k, v in params.items()},
            )
            for crs in (name, uri)
        ]
        assert pages[0].status_code == 200, pages[0].text
        assert pages[0].json()["features"] == pages[1].json()["features"]
        assert 1 in {f["id"] for f in pages[0].json()["features"]}


@pytest.mark.parametrize(
    ("params", "detail"),
    [
        ({"crs": "WGS84"}, "is not served"),  # which axis order? say EPSG:4326 or CRS84
        ({"crs": "EPSG:3844x"}, "is not served"),
        ({"crs": "urn:ogc:def:crs:EPSG:3844"}, "is not served"),  # a URN has a version
        ({"crs": f"{EPSG}31700"}, "is not served"),
        ({"bbox": "1,2,3,4", "bbox-crs": "urn:x"}, "bbox-crs 'urn:x' is not served"),
        ({"bbox": "250010,489590,250090,489510", "bbox-crs": f"{EPSG}3844"}, "min, min, max"),
        ({"bbox": "nan,1,2,3"}, "finite"),
    ],
)
def test_bad_crs_parameters_get_problem_details(
    client: TestClient, params: dict, detail: str
) -> None:
    response = client.get("/collections/parcels/items", params=params)
    assert response.status_code == 400, response.text
    assert detail in response.json()["detail"]


def test_gdal_oapif_driver_reads_every_collection(
    service: tuple[str, dict[str, dict]], tmp_path: Path
) -> None:
    url, ours = service
    source = f"OAPIF:{url}/"
    assert sorted(name for name, _kind in pyogrio.list_layers(source)) == sorted(ours)
    for layer, collection in ours.items():
        frame = pyogrio.read_dataframe(source, layer=layer, PAGE_SIZE="1000")
        assert len(frame) == collection["numberOfFeatures"], layer
        assert frame.crs is not None and frame.crs.equals("OGC:CRS84"), layer
        minx, miny, maxx, maxy = collection["extent"]["spatial"]["bbox"][0]
        bounds = frame.total_bounds
        assert minx - 1e-6 <= bounds[0] and bounds[2] <= maxx + 1e-6, layer
        assert miny - 1e-6 <= bounds[1] and bounds[3] <= maxy + 1e-6, layer
        kinds = {kind.removeprefix("Multi") for kind in frame.geom_type}
        assert kinds == {collection["geometryType"].removeprefix("Multi")}, layer
    parcels = pyogrio.read_dataframe(source, layer="parcels", PAGE_SIZE="1000")
    assert parcels["cadastral_number"].notna().all()
    # QGIS-style: the same layer in Stereo 70, areas as the planners' own tools measure
    stereo = pyogrio.read_dataframe(source, layer="parcels", PAGE_SIZE="1000", CRS="EPSG:3844")
    assert stereo.crs.to_epsg() == 3844
    local = parcels.to_crs("EPSG:3844")
    assert stereo.area.sum() == pytest.approx(local.area.sum(), rel=1e-6)
    # and the axes are read as served (an easting/northing swap keeps the areas)
    assert stereo.total_bounds == pytest.approx(local.total_bounds, abs=0.01)
    # a QGIS filter expression and a spatial filter (GDAL turns them into CQL2 requests
    # when the server declares it): the same parcels as filtering the whole layer here
    land_use = parcels["land_use"].mode()[0]
    wanted = parcels[(parcels["land_use"] == land_use) & (parcels["area_m2"] > 500)]
    filtered = pyogrio.read_dataframe(
        source, layer="parcels", where=f"land_use = '{land_use}' AND area_m2 > 500"
    )
    assert 0 < len(filtered) < len(parcels)
    assert sorted(filtered["cadastral_number"]) == sorted(wanted["cadastral_number"])
    # ... and GDAL sent the filter to the server rather than downloading every parcel
    requests = (tmp_path / "access.log").read_text()
    assert "/collections/parcels/items?" in requests
    assert re.search(r"/collections/parcels/items\?[^ ]*filter=[^ ]*land_use", requests), (
        "GDAL filtered locally"
    )
    minx, miny, maxx, maxy = parcels.total_bounds
    window = (minx, miny, (minx + maxx) / 2, (miny + maxy) / 2)
    inside = pyogrio.read_dataframe(source, layer="parcels", bbox=window)
    assert sorted(inside["cadastral_number"]) == sorted(
        parcels[parcels.intersects(shapely.box(*window))]["cadastral_number"]
    )


def test_gdal_reads_internal_layers_with_an_api_key(
    service: tuple[str, dict[str, dict]], demo_db: str
) -> None:
    """Anonymous GDAL sees the public layers only; given an API key as GDAL sends bearer
    tokens (``GDAL_HTTP_AUTH=BEARER``, ``GDAL_HTTP_BEARER``), it reads the internal ones."""
    url, public = service
    source = f"OAPIF:{url}/"
    assert "sensors" not in public
    assert "sensors" not in {name for name, _ in pyogrio.list_layers(source)}
    key = api_key(demo_db, Role.PLANNER)
    pyogrio.set_gdal_config_options({"GDAL_HTTP_AUTH": "BEARER", "GDAL_HTTP_BEARER": key})
    try:
        assert {"sensors", "assets"} <= {name for name, _ in pyogrio.list_layers(source)}
        sensors = pyogrio.read_dataframe(source, layer="sensors", PAGE_SIZE="1000")
    finally:
        pyogrio.set_gdal_config_options({"GDAL_HTTP_AUTH": None, "GDAL_HTTP_BEARER": None})
    assert len(sensors) > 100 and sensors["device_id"].notna().all()


def test_owslib_lists_and_reads_the_collections(service: tuple[str, dict[str, dict]]) -> None:
    url, ours = service
    api = Features(url)
    assert CORE in api.conformance()["conformsTo"]
    assert sorted(api.feature_collections()) == sorted(ours)
    page = api.collection_items("parcels", limit=5)
    assert page["numberReturned"] == 5
    assert page["numberMatched"] == ours["parcels"]["numberOfFeatures"]
    first = page["features"][0]
    assert api.collection_item("parcels", str(first["id"]))["id"] == first["id"]

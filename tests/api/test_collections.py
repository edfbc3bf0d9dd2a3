from __future__ import annotations

from pathlib import Path

import psycopg
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from gis_layers.importer import import_file
from harness.credentials import signed_in
from settings import Settings
from storage import migrations
from tests.gis_layers.conftest import parcels_gpkg  # noqa: F401  (fixture)


@pytest.fixture
def client(pg_url: str, parcels_gpkg: Path) -> TestClient:  # noqa: F811
    with psycopg.connect(pg_url) as conn:
        migrations.upgrade(conn)
        import_file(conn, parcels_gpkg)
    with signed_in(create_app(Settings(), pg_url), pg_url) as test_client:
        yield test_client


def test_collections_list_the_layers(client: TestClient) -> None:
    body = client.get("/collections").json()
    [parcels] = body["collections"]
    assert parcels["id"] == "parcels" and parcels["numberOfFeatures"] == 9
    minx, miny, maxx, maxy = parcels["extent"]["spatial"]["bbox"][0]
    assert 24.85 < minx < maxx < 24.89 and 43.74 < miny < maxy < 43.76


def test_items_filter_by_bbox_and_page(client: TestClient) -> None:
    everything = client.get("/collections/parcels/items")
    assert everything.headers["content-type"] == "application/geo+json"
    assert everything.json()["numberMatched"] == 9
    # a bbox around the south-west cell only (it touches its neighbours' edges)
    sw = client.get(
        "/collections/parcels/items", params={"bbox": "24.8682,43.7499,24.8690,43.7505"}
    ).json()
    assert 1 <= sw["numberReturned"] < 9
    assert "20500" in {f["properties"]["cadastral_number"] for f in sw["features"]}
    page = client.get("/collections/parcels/items", params={"limit": 4}).json()
    assert page["numberReturned"] == 4
    next_link = next(link["href"] for link in page["links"] if link["rel"] == "next")
    second = client.get(next_link).json()
    assert [f["id"] for f in second["features"]] == [5, 6, 7, 8]


@pytest.mark.parametrize(
    ("params", "detail"),
    [
        ({"bbox": "1,2,3"}, "bbox must have 4 numbers"),
        ({"bbox": "a,b,c,d"}, "must be four numbers"),
        ({"bbox": "0,95,1,96"}, "CRS84"),
        ({"limit": "0"}, "limit"),
        ({"bbox": "nan,0,1,1"}, "finite"),
        (
            {"bbox": "1e300,1e300,2e300,2e300", "bbox-crs": "EPSG:3857"},
            "outside the area",
        ),
    ],
)
def test_bad_parameters_get_problem_details(client: TestClient, params: dict, detail: str) -> None:
    response = client.get("/collections/parcels/items", params=params)
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    assert detail in response.json()["detail"]


@pytest.mark.parametrize("crs", ["EPSG:3857", "EPSG:3844", "EPSG:4326"])
def test_a_bbox_beyond_its_crs_is_cut_to_where_the_crs_holds(client: TestClient, crs: str) -> None:
    """±1e300 in a projected CRS covers all its area: every parcel (the probe's EPSG:3857
    box was a 500)."""
    box = "-1e300,-1e300,1e300,1e300"
    response = client.get("/collections/parcels/items", params={"bbox": box, "bbox-crs": crs})
    assert response.status_code == 200, response.text
    assert response.json()["numberMatched"] == 9


def test_unknown_collection_is_404(client: TestClient) -> None:
    response = client.get("/collections/nope/items")
    assert response.status_code == 404 and "no collection 'nope'" in response.json()["detail"]

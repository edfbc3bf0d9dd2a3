"""Air quality through the API over real PostgreSQL: latest index per station, hourly
history, exceedances of a scripted year and zones; every expected figure by hand."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import geopandas as gpd
import psycopg
import pytest
from fastapi.testclient import TestClient
from shapely.geometry import Point, box

from api.app import create_app
from gis_layers.importer import import_file
from settings import Settings
from storage import migrations
from storage.readings import Reading, ReadingWriter
from twin.registry import sync_from_layers

X0, Y0 = 489700.0, 250200.0  # Stereo 70
H = timedelta(hours=1)
ZONES = gpd.GeoDataFrame(
    {"code": ["C1", "R2"], "name": ["Centre", "Residential"]},
    geometry=[box(X0, Y0, X0 + 300, Y0 + 300), box(X0 + 300, Y0, X0 + 600, Y0 + 300)],
    crs="EPSG:3844",
)
ASSETS = gpd.GeoDataFrame(
    {
        "asset_id": ["aq-c", "aq-r", "aq-out"],
        "name": ["TR-2 Centru", "TR-3 Rezidential", "TR-4 Port"],
        "kind": ["air_quality_station"] * 3,
        "capacity": [0, 0, 0],
    },
    geometry=[Point(X0 + 100, Y0 + 100), Point(X0 + 400, Y0 + 100), Point(X0 + 900, Y0 - 900)],
    crs="EPSG:3844",
)
SENSORS = gpd.GeoDataFrame(
    {
        "device_id": ["aq-c", "aq-r", "aq-out"],
        "kind": ["air_quality"] * 3,
        "asset_id": ["aq-c", "aq-r", "aq-out"],
        "quantities": ["pm25,pm10,no2,o3,so2"] * 3,
    },
    geometry=list(ASSETS.geometry),
    crs="EPSG:3844",
)
YEAR = 2025
YEAR_START = datetime(YEAR, 1, 1, tzinfo=UTC)


def _readings(now: datetime) -> list[Reading]:
    hour = now.replace(minute=0, second=0, microsecond=0)
    found = [
        # aq-c, the hour under way: PM2.5 12 (fair), NO2 30 (moderate), O3 70 (fair)
        Reading("aq-c", "pm25", hour + timedelta(seconds=5), 12.0),
        Reading("aq-c", "no2", hour + timedelta(seconds=5), 30.0),
        Reading("aq-c", "o3", hour + timedelta(seconds=5), 70.0),
        # two hours before: PM2.5 10 and 20 in the hour, mean 15 (fair, at the bound)
        Reading("aq-c", "pm25", hour - 2 * H + timedelta(minutes=10), 10.0),
        Reading("aq-c", "pm25", hour - 2 * H + timedelta(minutes=40), 20.0),
        # one hour before: PM2.5 16 (moderate)
        Reading("aq-c", "pm25", hour - H + timedelta(minutes=10), 16.0),
        # aq-out, in no zone: an hour ago SO2 300 (extremely poor: > 275)
        Reading("aq-out", "so2", hour - H + timedelta(minutes=1), 300.0),
    ]
    # aq-r: a scripted year of NO2, 30 every hour but 20 hours at 250 (one a day)
    no2 = {YEAR_START + k * H: 30.0 for k in range(8760)}
    for k in range(20):
        no2[YEAR_START + (100 + 24 * k) * H] = 250.0
    found += [Reading("aq-r", "no2", t, v) for t, v in no2.items()]
    return found


@pytest.fixture
def client(pg_url: str, tmp_path: Path) -> Iterator[TestClient]:
    path = tmp_path / "town.gpkg"
    for name, frame in (("zones", ZONES), ("assets", ASSETS), ("sensors", SENSORS)):
        frame.to_file(path, layer=name)
    now = datetime.now(UTC)
    with psycopg.connect(pg_url) as conn:
        migrations.upgrade(conn)
        import_file(conn, path)
        sync_from_layers(conn)
        ReadingWriter(migrations.readings_storage(conn)).write(conn, _readings(now))
        conn.commit()
    with TestClient(create_app(Settings(), pg_url)) as found:  # anonymous: all public
        yield found


def test_latest_index_per_station(client: TestClient) -> None:
    body = client.get("/air/stations").json()
    found = {s["station_id"]: s for s in body["stations"]}
    assert body["table"] == "2024" and sorted(found) == ["aq-c", "aq-out", "aq-r"]
    c = found["aq-c"]
    assert c["zone"] == {"code": "C1", "name": "Centre"} and c["name"] == "TR-2 Centru"
    assert (c["index"]["level"], c["index"]["dominant"]) == ("moderate", "no2")
    assert c["index"]["sub_indices"]["pm25"] == {"concentration": 12.0, "band": 1, "level": "fair"}
    assert found["aq-out"]["index"]["level"] == "extremely poor"
    assert found["aq-r"]["index"] is None  # its readings are of 2025
    # the pre-2024 table: PM2.5 needs a 24-hour mean (one hour is not enough), NO2 30 is
    # good (< 40), O3 70 fair (50-100)
    old = client.get("/air/stations", params={"table": "pre-2024"}).json()
    c_old = {s["station_id"]: s for s in old["stations"]}["aq-c"]["index"]
    assert (c_old["level"], c_old["dominant"]) == ("fair", "o3")
    assert set(c_old["sub_indices"]) == {"no2", "o3"}


def test_hourly_history(client: TestClient) -> None:
    now = datetime.now(UTC)
    hour = now.replace(minute=0, second=0, microsecond=0)
    params = {"start": (hour - 2 * H).isoformat(), "end": (hour + H).isoformat()}
    body = client.get("/air/stations/aq-c/history", params=params).json()
    hours = {h["hour"]: h for h in body["hours"]}
    assert list(hours) == [(hour - k * H).isoformat() for k in (2, 1, 0)]
    first = hours[(hour - 2 * H).isoformat()]
    assert first["concentrations"] == {"pm25": 15.0} and first["level"] == "fair"
    assert hours[(hour - H).isoformat()]["level"] == "moderate"  # 16 > 15
    assert hours[hour.isoformat()]["concentrations"] == {"pm25": 12.0, "no2": 30.0, "o3": 70.0}


def test_refusals_are_problems(client: TestClient) -> None:
    missing = client.get("/air/stations/nowhere/history")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    assert "nowhere" in missing.json()["detail"]
    bad = client.get("/air/stations", params={"table": "2019"})
    assert bad.status_code == 400 and "pre-2024" in bad.json()["detail"]
    long = {"start": "2024-01-01T00:00:00Z", "end": "2025-06-01T00:00:00Z"}
    assert client.get("/air/stations/aq-c/history", params=long).status_code == 400
    assert client.get("/air/exceedances", params={"year": 1990}).status_code == 400


def test_exceedances_of_a_scripted_year(client: TestClient) -> None:
    body = client.get("/air/exceedances", params={"year": YEAR, "station": "aq-r"}).json()
    assert body["year"] == YEAR and body["rules"]["daily_mean_min_hours"] == 18
    (station,) = body["stations"]
    standards = {(s["pollutant"], s["metric"]): s for s in station["standards"]}
    # only NO2 measured: hourly, 2030 daily, annual
    assert sorted(standards) == [("no2", "annual_mean"), ("no2", "daily_mean"), ("no2", "hourly")]
    hourly = standards[("no2", "hourly")]
    assert hourly["in_force"]["exceedances"] == 20 and hourly["in_force"]["allowed"] == 18
    assert hourly["in_force"]["status"] == "exceeded"
    assert hourly["in_force"]["valid_periods"] == 8760
    annual = standards[("no2", "annual_mean")]
    # (8,740 x 30 + 20 x 250) / 8,760 = 30.50
    assert annual["in_force"]["annual_mean"] == pytest.approx(30.50, abs=0.01)
    assert annual["in_force"]["status"] == "within"  # 40
    assert annual["from_2030"]["status"] == "exceeded"  # 20
    # NO2 30 is moderate (25-60), 250 extremely poor (> 150)
    assert station["index_hours"] == {"moderate": 8740, "extremely poor": 20}
    daily = standards[("no2", "daily_mean")]
    assert daily["in_force"] is None and daily["from_2030"]["exceedances"] == 0


def test_zones(client: TestClient) -> None:
    body = client.get("/air/zones").json()
    zones = {z["zone"]: z for z in body["zones"]}
    assert list(zones) == ["C1", "R2", None]
    c1 = zones["C1"]
    # the last 24 hours: three hours of aq-c, fair, moderate, moderate
    assert c1["stations"] == ["aq-c"] and c1["hours_by_level"] == {"fair": 1, "moderate": 2}
    assert c1["worst"] == "moderate" and c1["latest"]["level"] == "moderate"
    assert c1["means"]["pm25"] == pytest.approx((15 + 16 + 12) / 3, abs=0.01)
    assert zones["R2"]["hours"] == 0 and zones["R2"]["worst"] is None
    assert zones[None]["worst"] == "extremely poor"


def test_stations_as_fiware_air_quality_observed(client: TestClient) -> None:
    from tests.fiware import schemas

    answer = client.get(
        "/ngsi-ld/v1/entities", params={"type": "AirQualityObserved", "options": "keyValues"}
    )
    assert answer.status_code == 200, answer.text
    found = {e["id"]: e for e in answer.json()}
    # aq-r has no reading in the last hours: no observation to serve
    assert sorted(found) == [
        "urn:ngsi-ld:AirQualityObserved:aq-c",
        "urn:ngsi-ld:AirQualityObserved:aq-out",
    ]
    c = found["urn:ngsi-ld:AirQualityObserved:aq-c"]
    assert (c["airQualityLevel"], c["airQualityIndex"], c["no2"]) == ("moderate", 3, 30.0)
    assert c["areaServed"] == "Centre"
    for entity in found.values():
        assert schemas.errors(entity) == []
    terms = set(client.get("/ngsi-ld/context.jsonld").json()["@context"][0])
    normal = client.get("/ngsi-ld/v1/entities", params={"type": "AirQualityObserved"}).json()
    for entity in normal:
        assert set(entity) - {"id", "type", "location"} <= terms


def test_the_live_index_as_an_ogc_api_collection(client: TestClient) -> None:
    ids = [c["id"] for c in client.get("/collections").json()["collections"]]
    assert "air_quality_stations" in ids  # public: listed for anonymous callers
    items = client.get("/collections/air_quality_stations/items").json()
    found = {f["properties"]["station_id"]: f for f in items["features"]}
    assert sorted(found) == ["aq-c", "aq-out", "aq-r"]
    c = found["aq-c"]["properties"]
    assert (c["level"], c["dominant"], c["no2"], c["zone"]) == ("moderate", "no2", 30.0, "C1")
    assert found["aq-r"]["properties"]["level"] is None
    lon, lat = found["aq-c"]["geometry"]["coordinates"]
    assert 24.8 < lon < 25.0 and 43.7 < lat < 43.8
    poor = client.get(
        "/collections/air_quality_stations/items", params={"filter": "level = 'extremely poor'"}
    ).json()
    assert [f["properties"]["station_id"] for f in poor["features"]] == ["aq-out"]

"""``POST /carbon/scenarios/compare`` over real PostgreSQL: planners only, rooftop PV sized
on the twin's buildings (footprints measured here with shapely, by hand), an LED
retrofit worked out by hand with DOMAIN.md's 2019 grid factor, and bad bodies refused
as problems."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import psycopg
import pytest
from fastapi.testclient import TestClient
from shapely.geometry import Point, box

from api.app import create_app
from api.routes.carbon_scenarios import CompareAnswer
from auth.principal import Role
from gis_layers.importer import import_file
from harness.credentials import key_headers
from settings import Settings
from storage import migrations
from twin.registry import sync_from_layers

X0, Y0 = 489700.0, 250200.0  # Turnu Măgurele in Stereo 70
BUILDINGS = gpd.GeoDataFrame(
    {"building_id": ["bld-1", "bld-2", "bld-3"], "use": ["town_hall", "school", "house"]},
    geometry=[
        box(X0, Y0, X0 + 40, Y0 + 25),  # 1,000 m2
        box(X0 + 100, Y0, X0 + 130, Y0 + 20),  # 600 m2
        box(X0 + 200, Y0, X0 + 210, Y0 + 10),  # a house: no municipal asset
    ],
    crs="EPSG:3844",
)
ASSETS = gpd.GeoDataFrame(
    {
        "asset_id": ["town-hall", "town-hall-annex", "school-2", "lot-centru"],
        "name": ["Primăria", "Anexa Primăriei", "Școala nr. 2", "Parcarea Centru"],
        "kind": ["town_hall", "town_hall", "school", "parking_lot"],
        "building_id": ["bld-1", "bld-1", "bld-2", None],
    },
    geometry=[
        Point(X0 + 20, Y0 + 12),
        Point(X0 + 30, Y0 + 12),
        Point(X0 + 115, Y0 + 10),
        Point(X0 + 300, Y0),
    ],
    crs="EPSG:3844",
)
LED = {
    "kind": "led_retrofit",
    "name": "Street lighting",
    "luminaires": 1000,
    "watts_before": 150,
    "watts_after": 60,
    "burning_hours": 4000,
    "cost_per_luminaire_eur": 300,
    "electricity_price_eur_per_kwh": 0.2,
}
PV = {"kind": "rooftop_pv", "name": "Roofs", "cost_per_kwp_eur": 1000}


@pytest.fixture
def client(pg_url: str, tmp_path: Path) -> Iterator[tuple[TestClient, str]]:
    path = tmp_path / "town.gpkg"
    BUILDINGS.to_file(path, layer="buildings")
    ASSETS.to_file(path, layer="assets")
    with psycopg.connect(pg_url) as conn:
        migrations.upgrade(conn)
        import_file(conn, path)
        sync_from_layers(conn)
        conn.commit()
    with TestClient(create_app(Settings(), pg_url)) as test_client:
        yield test_client, pg_url


def test_planners_compare_led_and_rooftop_pv_side_by_side(client: tuple[TestClient, str]) -> None:
    http, url = client
    body = {"year": 2019, "scenarios": [LED, PV]}
    assert http.post("/carbon/scenarios/compare", json=body).status_code == 401
    viewer = http.post(
        "/carbon/scenarios/compare", json=body, headers=key_headers(url, Role.VIEWER)
    )
    assert viewer.status_code == 403
    assert viewer.headers["content-type"] == "application/problem+json"
    assert "planner" in viewer.json()["detail"]
    answer = http.post(
        "/carbon/scenarios/compare", json=body, headers=key_headers(url, Role.PLANNER)
    )
    assert answer.status_code == 200, answer.text
    found = CompareAnswer.model_validate(answer.json())
    led, pv = found.scenarios
    assert found.year == 2019 and [led.name, pv.name] == ["Street lighting", "Roofs"]
    # 1,000 x 90 W x 4,000 h = 360 MWh; ANRE 2019: 264.65 gCO2/kWh
    assert led.mwh_saved == pytest.approx(360.0)
    assert led.tco2e_saved == pytest.approx(360.0 * 0.26465)
    assert led.simple_payback_years == pytest.approx(300_000 / 72_000)
    # the town hall and its annex share bld-1: 1,000 + 600 m2, half usable, 0.2 kWp/m2
    footprints = BUILDINGS.geometry.area.tolist()
    assert pv.details["footprint_m2"] == pytest.approx(footprints[0] + footprints[1])
    assert pv.details["kwp"] == pytest.approx(1600 * 0.5 * 0.2)
    assert 1200 < pv.details["kwh_per_kwp"] < 1450
    assert pv.mwh_saved == pytest.approx(160 * pv.details["kwh_per_kwp"] / 1000)
    assert pv.investment_eur == pytest.approx(160_000)
    assert found.totals.tco2e_saved == pytest.approx(led.tco2e_saved + pv.tco2e_saved)
    assumptions = {a.name for a in pv.assumptions}
    assert {"tilt", "azimuth", "system_losses", "usable_roof_fraction", "annual_ghi"} <= assumptions


def test_bad_scenarios_are_refused_as_problems(client: tuple[TestClient, str]) -> None:
    http, url = client
    headers = key_headers(url, Role.PLANNER)

    def post(body: object) -> tuple[int, dict]:
        answer = http.post("/carbon/scenarios/compare", json=body, headers=headers)
        assert answer.headers["content-type"] == "application/problem+json", answer.text
        return answer.status_code, answer.json()

    brighter = dict(LED, watts_after=200)
    status, problem = post({"year": 2024, "scenarios": [brighter]})
    assert status == 400 and "watts_after" in problem["detail"]
    status, problem = post({"year": 2024, "scenarios": []})
    assert status == 400
    status, problem = post({"year": 2024, "scenarios": [LED, LED]})
    assert status == 400 and "given twice" in problem["detail"]
    status, problem = post({"year": 2024, "scenarios": [dict(LED, kind="wind_farm")]})
    assert status == 400
    status, problem = post(
        {"year": 2024, "scenarios": [dict(PV, asset_ids=["school-2", "nowhere", "lot-centru"])]}
    )
    assert status == 400 and "lot-centru, nowhere" in problem["detail"]
    # electricity factors begin in 2007 in the shipped table
    status, problem = post({"year": 1995, "scenarios": [LED]})
    assert status == 422 and "electricity" in problem["detail"]


def test_a_towns_own_factor_table_values_the_scenarios(
    client: tuple[TestClient, str], tmp_path: Path
) -> None:
    _, url = client
    table = tmp_path / "factors.toml"
    table.write_text(
        'version = "town-2026"\n[[factor]]\ncarrier = "electricity"\nyear = 2020\n'
        't_co2_per_mwh = 0.5\nsource = "the town\'s supplier"\nconfirmed = true\n',
        encoding="utf-8",
    )
    app = create_app(Settings(carbon_factors_file=table), url)
    with TestClient(app, headers=key_headers(url, Role.PLANNER)) as http:
        answer = http.post("/carbon/scenarios/compare", json={"year": 2024, "scenarios": [LED]})
    assert answer.status_code == 200, answer.text
    found = CompareAnswer.model_validate(answer.json())
    assert found.factor_version == "town-2026"
    assert found.scenarios[0].tco2e_saved == pytest.approx(360.0 * 0.5)

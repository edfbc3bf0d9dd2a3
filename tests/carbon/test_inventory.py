"""The inventory of a small asset set, its tonnes worked by hand below from the factor
sources (ANRE grid 2019 264.65 g/kWh and 2007 566 g/kWh; IPCC 2006 defaults and net
calorific values; the densities and gas calorific value of factors.toml)."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest

from carbon.factors import Carrier, Scope, default_table
from carbon.inventory import compute
from carbon.model import Activity, Asset, Source
from carbon.report import CSV_COLUMNS, csv_text, document
from carbon.sectors import Sector, sector_of_asset

ASSETS = {
    a.asset_id: a
    for a in [
        Asset("town-hall", "Primăria", "town_hall", Sector.MUNICIPAL_BUILDINGS, 24.87, 43.75),
        Asset("lights-1", "Cabinet 1", "lighting_cabinet", Sector.PUBLIC_LIGHTING, 24.86, 43.75),
        Asset("pump-1", "Stația de pompare", "water_pumping_station", Sector.WATER_WASTEWATER),
    ]
}
JAN, FEB, MAR = date(2019, 1, 1), date(2019, 2, 1), date(2019, 3, 1)
ACTIVITY = [
    Activity("town-hall", Carrier.ELECTRICITY, JAN, 10_000, "kWh", Source.METER),
    Activity("town-hall", Carrier.NATURAL_GAS, JAN, 1_000, "m3", Source.IMPORT),
    Activity("lights-1", Carrier.ELECTRICITY, FEB, 4_000, "kWh", Source.METER),
    Activity("pump-1", Carrier.ELECTRICITY, JAN, 2, "MWh", Source.IMPORT),
    # fuel bought by the town hall for its car: the fleet's, not the building's
    Activity("town-hall", Carrier.DIESEL, MAR, 100, "l", Source.IMPORT),
    # an asset gone from the twin: still counted, in "other municipal"
    Activity("old-depot", Carrier.NATURAL_GAS, MAR, 100, "m3", Source.IMPORT),
    # another year: not in 2019's inventory
    Activity("town-hall", Carrier.ELECTRICITY, date(2018, 12, 1), 99_999, "kWh", Source.METER),
]

# by hand, t CO2 = MWh x t/MWh
ELEC_HALL = 10.0 * 0.26465  # 2.6465
GAS_HALL = 1_000 * 0.0095 * 0.202  # 9.5 MWh: 1.919
LIGHTS = 4.0 * 0.26465  # 1.0586
PUMP = 2.0 * 0.26465  # 0.5293
DIESEL = 100 * 0.00994 * 0.267  # 0.994 MWh: 0.265398
DEPOT = 100 * 0.0095 * 0.202  # 0.95 MWh: 0.1919
SCOPE1 = GAS_HALL + DIESEL + DEPOT  # 2.376298
SCOPE2 = ELEC_HALL + LIGHTS + PUMP  # 4.2344


def test_tonnes_by_sector_scope_month_and_asset_by_hand() -> None:
    inventory = compute(2019, ACTIVITY, ASSETS, default_table())
    assert inventory.total.t_co2e == pytest.approx(6.610698)
    assert inventory.total.t_co2e == pytest.approx(SCOPE1 + SCOPE2)
    assert inventory.total.mwh == pytest.approx(10 + 9.5 + 4 + 2 + 0.994 + 0.95)
    scopes = inventory.by_scope()
    assert scopes[Scope.DIRECT].t_co2e == pytest.approx(2.376298)
    assert scopes[Scope.GRID].t_co2e == pytest.approx(4.2344)
    sectors = {s: t.t_co2e for s, t in inventory.by_sector().items()}
    assert sectors == {
        Sector.MUNICIPAL_BUILDINGS: pytest.approx(2.6465 + 1.919),
        Sector.PUBLIC_LIGHTING: pytest.approx(1.0586),
        Sector.MUNICIPAL_FLEET: pytest.approx(0.265398),
        Sector.WATER_WASTEWATER: pytest.approx(0.5293),
        Sector.OTHER_MUNICIPAL: pytest.approx(0.1919),
    }
    months = {m: t.t_co2e for m, t in inventory.by_month().items()}
    assert months == {
        JAN: pytest.approx(2.6465 + 1.919 + 0.5293),
        FEB: pytest.approx(1.0586),
        MAR: pytest.approx(0.265398 + 0.1919),
    }
    assets = inventory.by_asset()
    assert list(assets)[0] == "town-hall"  # the largest emitter first
    assert assets["town-hall"].t_co2e == pytest.approx(2.6465 + 1.919 + 0.265398)
    assert assets["town-hall"].scope1_t_co2e == pytest.approx(1.919 + 0.265398)
    assert inventory.assets["old-depot"].kind == "unknown"


def test_the_baseline_recomputes_with_its_own_years_factor() -> None:
    moved = [
        Activity("town-hall", Carrier.ELECTRICITY, date(2007, 5, 1), 10_000, "kWh", Source.IMPORT)
    ]
    baseline = compute(2007, moved, ASSETS, default_table())
    assert baseline.total.t_co2e == pytest.approx(10 * 0.566)
    assert baseline.factors[0].year == 2007
    between = compute(2015, [moved[0]._replace(month=date(2015, 5, 1))], ASSETS, default_table())
    assert between.factors[0].year == 2007  # the latest published before 2015


def test_the_document_carries_sectors_baseline_change_and_factors() -> None:
    table = default_table()
    inventory = compute(2019, ACTIVITY, ASSETS, table)
    baseline = compute(
        2007,
        [
            Activity(
                "town-hall", Carrier.ELECTRICITY, date(2007, 1, 1), 10_000, "kWh", Source.IMPORT
            )
        ],
        ASSETS,
        table,
    )
    doc = document(inventory, baseline)
    assert doc["total"]["t_co2e"] == pytest.approx(6.610698)
    assert doc["baseline"]["total"]["t_co2e"] == pytest.approx(5.66)
    assert doc["baseline"]["change_pct"] == pytest.approx(round(100 * (6.610698 - 5.66) / 5.66, 2))
    buildings = next(s for s in doc["sectors"] if s["sector"] == "municipal_buildings")
    assert buildings["covenant_category"] == "Municipal buildings, equipment/facilities"
    assert buildings["baseline_t_co2e"] == pytest.approx(5.66)
    assert {c["carrier"] for c in buildings["carriers"]} == {"electricity", "natural_gas"}
    assert [m["month"] for m in doc["months"]] == ["2019-01", "2019-02", "2019-03"]
    electricity = next(f for f in doc["factors"] if f["carrier"] == "electricity")
    assert (electricity["year"], electricity["scope"], electricity["confirmed"]) == (2019, 2, True)
    hall = doc["assets"][0]
    assert hall["asset_id"] == "town-hall" and hall["months"]["2019-03"] == pytest.approx(DIESEL)


def test_the_csv_has_a_line_per_consumption_with_its_factor() -> None:
    inventory = compute(2019, ACTIVITY, ASSETS, default_table())
    rows = list(csv.DictReader(io.StringIO(csv_text(inventory))))
    assert len(rows) == 6 and tuple(rows[0]) == CSV_COLUMNS
    gas = next(r for r in rows if r["asset_id"] == "town-hall" and r["carrier"] == "natural_gas")
    assert (gas["month"], gas["scope"], gas["unit"], gas["factor_year"]) == (
        "2019-01",
        "1",
        "m3",
        "1990",
    )
    assert float(gas["mwh"]) == pytest.approx(9.5)
    assert float(gas["t_co2e"]) == pytest.approx(1.919)
    assert sum(float(r["t_co2e"]) for r in rows) == pytest.approx(6.610698, abs=1e-5)


def test_sector_of_an_asset_by_property_then_kind() -> None:
    assert sector_of_asset("school", {}) is Sector.MUNICIPAL_BUILDINGS
    assert sector_of_asset("school", {"carbon_sector": "public_lighting"}) is Sector.PUBLIC_LIGHTING
    assert sector_of_asset("school", {"carbon_sector": "nonsense"}) is Sector.MUNICIPAL_BUILDINGS
    assert sector_of_asset("parking_lot", {}) is Sector.OTHER_MUNICIPAL

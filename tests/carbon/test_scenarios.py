"""Reduction scenarios: every expected figure is worked out by hand below, from the
scenario's inputs and a small factor table written here (not the shipped one), except
where the shipped table's 2019 grid factor is checked against DOMAIN.md's value."""

from __future__ import annotations

import pytest
from pydantic import TypeAdapter, ValidationError

from carbon.factors import default_table, parse_table
from carbon.pv import PvYield
from carbon.scenarios import (
    Comparison,
    FleetElectrification,
    Insulation,
    LedRetrofit,
    Roof,
    RooftopPv,
    Scenario,
    fleet_electrification,
    insulation,
    led_retrofit,
    payback,
    rooftop_pv,
)

TABLE = parse_table(
    {
        "version": "test",
        "factor": [
            {
                "carrier": "electricity",
                "year": 2007,
                "t_co2_per_mwh": 0.5,
                "source": "t",
                "confirmed": True,
            },
            {
                "carrier": "electricity",
                "year": 2020,
                "t_co2_per_mwh": 0.25,
                "source": "t",
                "confirmed": True,
            },
            {
                "carrier": "natural_gas",
                "year": 1990,
                "t_co2_per_mwh": 0.2,
                "source": "t",
                "confirmed": False,
            },
            {
                "carrier": "diesel",
                "year": 1990,
                "t_co2_per_mwh": 0.27,
                "source": "t",
                "confirmed": False,
            },
        ],
        "unit": [
            {
                "carrier": "diesel",
                "unit": "l",
                "mwh_per_unit": 0.01,
                "source": "t",
                "confirmed": False,
            },
        ],
    }
)


def test_led_retrofit_savings_by_hand() -> None:
    scenario = LedRetrofit(
        name="LED",
        luminaires=1200,
        watts_before=150,
        watts_after=60,
        burning_hours=4000,
        cost_per_luminaire_eur=300,
        electricity_price_eur_per_kwh=0.2,
    )
    result = led_retrofit(scenario, TABLE, 2024)
    # 1,200 x 90 W = 108 kW; x 4,000 h = 432,000 kWh = 432 MWh
    assert result.mwh_saved == pytest.approx(432.0)
    assert result.tco2e_saved == pytest.approx(432.0 * 0.25)  # the 2020 factor applies in 2024
    assert result.investment_eur == pytest.approx(360_000.0)
    assert result.annual_saving_eur == pytest.approx(86_400.0)
    assert result.simple_payback_years == pytest.approx(360_000 / 86_400)
    assert result.details["mwh_before"] == pytest.approx(720.0)
    assert result.details["mwh_after"] == pytest.approx(288.0)
    # the same retrofit valued in 2010 takes 2007's grid factor
    assert led_retrofit(scenario, TABLE, 2010).tco2e_saved == pytest.approx(432.0 * 0.5)


def test_the_shipped_table_gives_domain_md_grid_factor_for_2019() -> None:
    scenario = LedRetrofit(name="LED", luminaires=1000, watts_before=100, watts_after=50)
    result = led_retrofit(scenario, default_table(), 2019)
    # 50 kW x 4,100 h (the default burning hours) = 205 MWh; 264.65 g/kWh (ANRE 2019)
    assert result.mwh_saved == pytest.approx(205.0)
    assert result.tco2e_saved == pytest.approx(205.0 * 0.26465)
    factor = {a.name: a for a in result.assumptions}["electricity_factor"]
    assert factor.value == 0.26465 and factor.confirmed and "ANRE" in factor.source


def test_rooftop_pv_by_hand_counts_a_shared_building_once() -> None:
    roofs = [
        Roof("town-hall", "Primăria", "bld-1", 1000.0, 24.87, 43.75),
        Roof("annex", "Anexa", "bld-1", 1000.0, 24.87, 43.75),  # same building
        Roof("school", "Școala", "bld-2", 600.0, 24.88, 43.76),
    ]
    scenario = RooftopPv(
        name="PV",
        usable_roof_fraction=0.5,
        kwp_per_m2=0.2,
        cost_per_kwp_eur=1000,
        electricity_price_eur_per_kwh=0.25,
    )
    pv = PvYield(
        kwh_per_kwp=1300.0,
        poa_kwh_m2=1600.0,
        ghi_kwh_m2=1450.0,
        clear_sky_ghi_kwh_m2=1950.0,
        sky_derating=1450 / 1950,
    )
    result = rooftop_pv(scenario, roofs, pv, TABLE, 2024)
    # 1,600 m2 x 0.5 = 800 m2 x 0.2 kWp/m2 = 160 kWp x 1,300 kWh/kWp = 208 MWh
    assert result.details["buildings"] == 2
    assert result.details["kwp"] == pytest.approx(160.0)
    assert result.mwh_saved == pytest.approx(208.0)
    assert result.tco2e_saved == pytest.approx(52.0)
    assert result.investment_eur == pytest.approx(160_000.0)
    assert result.annual_saving_eur == pytest.approx(52_000.0)
    assert result.simple_payback_years == pytest.approx(160_000 / 52_000)
    assert result.eur_per_tco2e_year == pytest.approx(160_000 / 52.0)


def test_insulation_by_hand() -> None:
    scenario = Insulation(
        name="Schools",
        floor_area_m2=5000,
        heat_demand_before_kwh_m2=180,
        heat_demand_after_kwh_m2=90,
        heating_efficiency=0.9,
        cost_per_m2_eur=100,
        energy_price_eur_per_kwh=0.07,
    )
    result = insulation(scenario, TABLE, 2024)
    # 5,000 m2 x 90 kWh/m2 = 450 MWh of heat / 0.9 = 500 MWh of gas x 0.2 t/MWh
    assert result.details["useful_heat_saved_mwh"] == pytest.approx(450.0)
    assert result.mwh_saved == pytest.approx(500.0)
    assert result.tco2e_saved == pytest.approx(100.0)
    assert result.annual_saving_eur == pytest.approx(35_000.0)
    assert result.simple_payback_years == pytest.approx(500_000 / 35_000)


def test_fleet_electrification_nets_the_electricity_against_the_fuel() -> None:
    scenario = FleetElectrification(
        name="Vans",
        vehicles=10,
        km_per_vehicle_year=15_000,
        fuel="diesel",
        fuel_l_per_100km=8,
        ev_kwh_per_100km=20,
        extra_cost_per_vehicle_eur=15_000,
        fuel_price_eur_per_l=1.5,
        electricity_price_eur_per_kwh=0.2,
    )
    result = fleet_electrification(scenario, TABLE, 2024)
    # 150,000 km: 12,000 l of diesel = 120 MWh; 30,000 kWh = 30 MWh of electricity
    assert result.details["fuel_litres"] == pytest.approx(12_000.0)
    assert result.mwh_saved == pytest.approx(90.0)
    assert result.tco2e_saved == pytest.approx(120 * 0.27 - 30 * 0.25)
    # 12,000 l x 1.5 = 18,000 EUR less 30,000 kWh x 0.2 = 6,000 EUR
    assert result.annual_saving_eur == pytest.approx(12_000.0)
    assert result.simple_payback_years == pytest.approx(150_000 / 12_000)


def test_no_money_saved_means_no_payback_and_totals_add_up() -> None:
    assert payback(1000.0, 0.0) is None
    assert payback(1000.0, -5.0) is None
    led = led_retrofit(
        LedRetrofit(
            name="a",
            luminaires=10,
            watts_before=100,
            watts_after=50,
            burning_hours=1000,
            electricity_price_eur_per_kwh=0.0,
        ),
        TABLE,
        2024,
    )
    assert led.simple_payback_years is None and led.mwh_saved == pytest.approx(0.5)
    gas = insulation(
        Insulation(
            name="b",
            floor_area_m2=100,
            heat_demand_before_kwh_m2=100,
            heat_demand_after_kwh_m2=50,
            heating_efficiency=1.0,
            cost_per_m2_eur=10,
            energy_price_eur_per_kwh=0.1,
        ),
        TABLE,
        2024,
    )
    totals = Comparison(2024, "test", [led, gas]).totals
    assert totals["mwh_saved"] == pytest.approx(0.5 + 5.0)
    assert totals["investment_eur"] == pytest.approx(10 * 350 + 1000)
    assert totals["simple_payback_years"] == pytest.approx((3500 + 1000) / 500)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            {
                "kind": "led_retrofit",
                "name": "x",
                "luminaires": 5,
                "watts_before": 50,
                "watts_after": 70,
            },
            "must be below watts_before",
        ),
        (
            {
                "kind": "led_retrofit",
                "name": "x",
                "luminaires": 0,
                "watts_before": 50,
                "watts_after": 30,
            },
            "greater than 0",
        ),
        (
            {
                "kind": "insulation",
                "name": "x",
                "floor_area_m2": 10,
                "heat_demand_before_kwh_m2": 50,
                "heat_demand_after_kwh_m2": 60,
            },
            "must be below",
        ),
        ({"kind": "fleet_electrification", "name": "x", "vehicles": 1, "fuel": "coal"}, "fuel"),
        ({"kind": "rooftop_pv", "name": "x", "licence_plate": "TR-01-ABC"}, "Extra inputs"),
        ({"kind": "wind_farm", "name": "x"}, "does not match any of the expected tags"),
    ],
)
def test_impossible_scenarios_are_refused_with_the_reason(body: dict, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        TypeAdapter(Scenario).validate_python(body)

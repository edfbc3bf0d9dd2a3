"""Reduction scenarios side by side and the cost of cruising for parking.

``POST /carbon/scenarios/compare`` (planners): measures (LED retrofit, rooftop PV on the
twin's municipal buildings, insulation, fleet electrification) valued for one year with
that year's emission factors, each with the assumptions it used, and their totals.
``GET /carbon/cruising`` (signed-in users): extra vehicle-km and tonnes of drivers
searching for a place, from the lots' hourly occupancy. The maths is in
:mod:`carbon.scenarios`, :mod:`carbon.pv` and :mod:`carbon.cruising`; the emission
factors are the inventory's (``app.state.carbon_factors``: the shipped table or
``SMARTCITY_CARBON_FACTORS_FILE``).
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from psycopg import AsyncConnection
from pydantic import BaseModel, ConfigDict, Field

from api import cpu
from api.deps import connection
from api.errors import InvalidParameter
from api.openapi import problems
from api.params import UtcDateTime, period
from carbon import cruising, scenarios
from carbon.factors import FactorTable
from carbon.pv import annual_yield
from carbon.roofs import municipal_roofs
from carbon.scenarios import Scenario

router = APIRouter(tags=["carbon"], responses=problems(503))  # each may read the database

MAX_SCENARIOS = 20
CRUISING_MAX = timedelta(days=366)
"""The longest period of a cruising estimate (a year of hourly rollups per lot)."""


class CompareRequest(BaseModel):
    """Scenarios to value for one year, told apart by ``kind``."""

    model_config = ConfigDict(extra="forbid")

    year: int = Field(ge=1990, le=2100, description="emission factors of this year")
    scenarios: list[Scenario] = Field(min_length=1, max_length=MAX_SCENARIOS)


class AssumptionOut(BaseModel):
    """A value a result rests on, and where it comes from."""

    name: str
    value: float | str
    unit: str
    source: str
    confirmed: bool


class ResultOut(BaseModel):
    """One measure: what it saves and costs each year."""

    name: str
    kind: str
    mwh_saved: float = Field(description="final energy a year no longer bought")
    tco2e_saved: float = Field(description="tonnes a year")
    investment_eur: float
    annual_saving_eur: float
    simple_payback_years: float | None = Field(description="null: it saves no money")
    eur_per_tco2e_year: float | None = Field(description="investment per tonne saved a year")
    details: dict[str, float]
    assumptions: list[AssumptionOut]


class Totals(BaseModel):
    """The scenarios added up as if independent (overlapping measures double count)."""

    mwh_saved: float
    tco2e_saved: float
    investment_eur: float
    annual_saving_eur: float
    simple_payback_years: float | None


class CompareAnswer(BaseModel):
    """The scenarios side by side, in the order asked."""

    year: int
    factor_version: str
    scenarios: list[ResultOut]
    totals: Totals


def _result(found: scenarios.ScenarioResult) -> ResultOut:
    return ResultOut(
        name=found.name,
        kind=found.kind,
        mwh_saved=found.mwh_saved,
        tco2e_saved=found.tco2e_saved,
        investment_eur=found.investment_eur,
        annual_saving_eur=found.annual_saving_eur,
        simple_payback_years=found.simple_payback_years,
        eur_per_tco2e_year=found.eur_per_tco2e_year,
        details=found.details,
        assumptions=[AssumptionOut(**asdict(a)) for a in found.assumptions],
    )


async def _value(
    request: Request,
    conn: AsyncConnection,
    scenario: scenarios.LedRetrofit
    | scenarios.RooftopPv
    | scenarios.Insulation
    | scenarios.FleetElectrification,
    year: int,
) -> scenarios.ScenarioResult:
    table: FactorTable = request.app.state.carbon_factors
    if isinstance(scenario, scenarios.LedRetrofit):
        return scenarios.led_retrofit(scenario, table, year)
    if isinstance(scenario, scenarios.Insulation):
        return scenarios.insulation(scenario, table, year)
    if isinstance(scenario, scenarios.FleetElectrification):
        return scenarios.fleet_electrification(scenario, table, year)
    roofs = await municipal_roofs(conn, scenario.asset_ids)
    # the arrays' place: the roofs' mean position (a town spans a few km: same sky)
    lat = sum(r.lat for r in roofs) / len(roofs)
    lon = sum(r.lon for r in roofs) / len(roofs)
    pv_yield = await cpu.run(request, annual_yield, lat, lon, scenario.pv_assumptions())
    return scenarios.rooftop_pv(scenario, roofs, pv_yield, table, year)


@router.post(
    "/carbon/scenarios/compare", response_model=CompareAnswer, responses=problems(400, 409, 422)
)
async def compare_scenarios(
    body: CompareRequest,
    request: Request,
    conn: Annotated[AsyncConnection, Depends(connection)],
) -> CompareAnswer:
    """Value each scenario for ``year``: annual MWh and tCO2e saved, investment, annual
    saving, simple payback, with the assumptions and emission factors it used; and
    their totals. Rooftop PV sizes arrays on the twin's municipal buildings (assets with
    a ``building_id`` in the buildings layer) and takes its yield from pvlib."""
    names = [s.name for s in body.scenarios]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise InvalidParameter(f"scenario names must differ: {', '.join(twice)} given twice")
    results = [await _value(request, conn, s, body.year) for s in body.scenarios]
    table: FactorTable = request.app.state.carbon_factors
    comparison = scenarios.Comparison(body.year, table.version, results)
    return CompareAnswer(
        year=body.year,
        factor_version=comparison.factor_version,
        scenarios=[_result(r) for r in results],
        totals=Totals.model_validate(comparison.totals),
    )


class LotOut(BaseModel):
    """One lot's share of the cruising estimate."""

    lot_id: str
    capacity: int
    hours_with_data: int
    hours_above_threshold: int
    searching_vehicles: float
    vehicle_km: float
    fuel_litres: float
    tco2e: float


class CruisingAnswer(BaseModel):
    """Extra vehicle-km and tonnes of cruising for parking over ``[start, end)``."""

    start: datetime
    end: datetime
    vehicle_km: float
    tco2e: float
    lots: list[LotOut]
    assumptions: list[AssumptionOut]


@router.get("/carbon/cruising", response_model=CruisingAnswer, responses=problems(400, 422))
async def cruising_estimate(
    request: Request,
    conn: Annotated[AsyncConnection, Depends(connection)],
    start: Annotated[UtcDateTime | None, Query(description="default: 7 days before end")] = None,
    end: Annotated[UtcDateTime | None, Query(description="default: now")] = None,
    threshold: Annotated[
        float, Query(description="occupancy where drivers start searching (0.5-0.99)")
    ] = 0.85,
    dwell_hours: Annotated[float, Query(description="mean parking duration, hours")] = 2.0,
    search_minutes: Annotated[float, Query(description="minutes per search")] = 3.5,
    speed_kmh: Annotated[float, Query(description="cruising speed, km/h")] = 15.0,
    fuel: Annotated[Literal["petrol", "diesel", "lpg"], Query()] = "petrol",
    fuel_l_per_100km: Annotated[float, Query(description="while cruising")] = 8.0,
) -> CruisingAnswer:
    """Estimate the extra vehicle-km and tCO2e of drivers searching for a place in each
    lot over ``[start, end)`` (at most 366 days), from its hourly occupancy: arrivals by
    Little's law, a searching share from the threshold up, minutes × speed per search,
    fuel and emission factors of each hour's year. Every assumption comes back with its
    source and whether it is confirmed."""
    start, end = period(start, end, timedelta(days=7))
    if end - start > CRUISING_MAX:
        raise InvalidParameter(f"the period is longer than {CRUISING_MAX.days} days")
    assumptions = cruising.CruisingAssumptions(
        search_threshold=threshold,
        dwell_hours=dwell_hours,
        search_minutes=search_minutes,
        cruising_speed_kmh=speed_kmh,
        fuel=fuel,
        fuel_l_per_100km=fuel_l_per_100km,
    )
    assumptions.check()  # before the database is read
    occupancy = await cruising.lot_occupancy(conn, start, end)
    table: FactorTable = request.app.state.carbon_factors
    found = cruising.estimate(occupancy, start, end, assumptions, table)
    return CruisingAnswer(
        start=start,
        end=end,
        vehicle_km=found.vehicle_km,
        tco2e=found.tco2e,
        lots=[LotOut(**asdict(lot)) for lot in found.lots],
        assumptions=_cruising_assumptions(found),
    )


def _cruising_assumptions(found: cruising.CruisingEstimate) -> list[AssumptionOut]:
    values = asdict(found.assumptions)
    units = {
        "search_threshold": "share of places",
        "dwell_hours": "h",
        "search_minutes": "min",
        "cruising_speed_kmh": "km/h",
        "fuel": "",
        "fuel_l_per_100km": "l/100 km",
    }
    listed = [
        AssumptionOut(
            name=name,
            value=values[name],
            unit=unit,
            source=cruising.SOURCES[name][0],
            confirmed=cruising.SOURCES[name][1],
        )
        for name, unit in units.items()
    ]
    for name in ("searching_share", "arrivals"):
        text, confirmed = cruising.SOURCES[name]
        listed.append(
            AssumptionOut(name=name, value="model", unit="", source=text, confirmed=confirmed)
        )
    listed.append(
        AssumptionOut(
            name=f"{found.assumptions.fuel}_mwh_per_litre",
            value=found.fuel_content[0],
            unit="MWh/l",
            source=found.fuel_content[1],
            confirmed=found.fuel_content[2],
        )
    )
    for year, value, source, confirmed in found.factors:
        listed.append(
            AssumptionOut(
                name=f"{found.assumptions.fuel}_factor_from_{year}",
                value=value,
                unit="tCO2/MWh",
                source=source,
                confirmed=confirmed,
            )
        )
    return listed

"""Reduction scenarios: what a measure saves each year in energy, tonnes and money, what
it costs, and its simple payback, with every assumption stated beside the figure.

Four measures, each a typed request (pydantic, so the API takes them as they are):

- **LED retrofit** of street lighting: luminaires × (system watts before − after) ×
  burning hours a year;
- **rooftop PV** on municipal buildings: usable roof area × module power density ×
  the site's specific yield from :mod:`carbon.pv`; the electricity made displaces
  grid electricity;
- **building insulation**: heated floor area × (specific heat demand before − after)
  ÷ the heating system's efficiency, in the heating carrier's final energy;
- **fleet electrification**: vehicles × km a year × fuel consumption, replaced by the
  electricity of the same km.

Tonnes are final energy × the emission factor of the carrier for the scenario's year
(:class:`carbon.factors.FactorTable`, the inventory's versioned factors), so a scenario
"in 2030" and one "in 2019" may differ by the grid's factor alone. Prices and costs are
the caller's: the defaults are illustrative (*unconfirmed*) and every answer repeats the
values it used.
Simple payback = investment ÷ annual saving in money, none when nothing is saved.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from carbon.factors import EmissionFactor, FactorTable
from carbon.pv import PvAssumptions, PvYield

Fuel = Literal["diesel", "petrol"]
HeatingCarrier = Literal["natural_gas", "district_heat", "electricity", "lpg"]


@dataclass(frozen=True)
class Assumption:
    """A value a result rests on, with where it comes from."""

    name: str
    value: float | str
    unit: str
    source: str
    confirmed: bool = False


@dataclass(frozen=True)
class ScenarioResult:
    """What a measure saves and costs each year."""

    name: str
    kind: str
    mwh_saved: float
    """Final energy a year the town no longer buys (PV: grid electricity displaced;
    fleet: fuel less the electricity that replaces it)."""
    tco2e_saved: float
    investment_eur: float
    annual_saving_eur: float
    simple_payback_years: float | None
    """Investment ÷ annual saving; None when the measure saves no money."""
    details: dict[str, float] = field(default_factory=dict)
    assumptions: list[Assumption] = field(default_factory=list)

    @property
    def eur_per_tco2e_year(self) -> float | None:
        """Investment per tonne saved each year (None when no tonne is saved)."""
        return self.investment_eur / self.tco2e_saved if self.tco2e_saved > 0 else None


def payback(investment_eur: float, annual_saving_eur: float) -> float | None:
    """Simple payback in years, or None when the measure saves no money a year."""
    if annual_saving_eur <= 0:
        return None
    return investment_eur / annual_saving_eur


_ILLUSTRATIVE = "caller's value; default illustrative (docs/carbon.md)"


class _Scenario(BaseModel):
    # a field a measure does not know is refused, not silently dropped
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=120, description="shown in the comparison")


class LedRetrofit(_Scenario):
    """Street luminaires replaced by LED ones, burning the same hours."""

    kind: Literal["led_retrofit"] = "led_retrofit"
    luminaires: int = Field(gt=0, le=1_000_000)
    watts_before: float = Field(
        gt=0, le=5_000, description="system W per luminaire, lamp + ballast"
    )
    watts_after: float = Field(gt=0, le=5_000, description="system W per LED luminaire")
    burning_hours: float = Field(
        4_100.0, gt=0, le=8_760, description="hours a year (dusk to dawn: about 4,100)"
    )
    cost_per_luminaire_eur: float = Field(350.0, ge=0, le=100_000)
    electricity_price_eur_per_kwh: float = Field(0.20, ge=0, le=10)

    @model_validator(mode="after")
    def _saves(self) -> LedRetrofit:
        if self.watts_after >= self.watts_before:
            raise ValueError(
                f"watts_after ({self.watts_after}) must be below watts_before "
                f"({self.watts_before}): a retrofit that draws more is no reduction"
            )
        return self


class RooftopPv(_Scenario):
    """PV arrays on the roofs of municipal buildings (the twin's)."""

    kind: Literal["rooftop_pv"] = "rooftop_pv"
    asset_ids: list[str] | None = Field(
        None,
        min_length=1,
        max_length=500,
        description="assets whose buildings get arrays; null: all with a building",
    )
    usable_roof_fraction: float = Field(0.5, gt=0, le=1, description="of the building footprint")
    kwp_per_m2: float = Field(0.2, gt=0, le=0.3, description="module power per m² of usable roof")
    tilt_deg: float = Field(30.0, ge=0, le=90)
    azimuth_deg: float = Field(180.0, ge=0, le=360, description="180: facing south")
    system_losses_pct: float = Field(14.0, ge=0, lt=100)
    annual_ghi_kwh_m2: float = Field(
        1_450.0, ge=200, le=2_800, description="the site's annual horizontal irradiation"
    )
    altitude_m: float = Field(31.0, ge=-500, le=6_000, description="the roofs' elevation")
    cost_per_kwp_eur: float = Field(900.0, ge=0, le=20_000)
    electricity_price_eur_per_kwh: float = Field(0.20, ge=0, le=10)

    def pv_assumptions(self) -> PvAssumptions:
        """The array and sky assumptions of :mod:`carbon.pv`."""
        return PvAssumptions(
            tilt_deg=self.tilt_deg,
            azimuth_deg=self.azimuth_deg,
            system_losses_pct=self.system_losses_pct,
            annual_ghi_kwh_m2=self.annual_ghi_kwh_m2,
            altitude_m=self.altitude_m,
        )


class Insulation(_Scenario):
    """Building envelopes insulated: less heat needed for the same floor area."""

    kind: Literal["insulation"] = "insulation"
    floor_area_m2: float = Field(gt=0, le=10_000_000, description="heated floor area")
    heat_demand_before_kwh_m2: float = Field(gt=0, le=1_000, description="useful heat a year")
    heat_demand_after_kwh_m2: float = Field(ge=0, le=1_000)
    heating_carrier: HeatingCarrier = "natural_gas"
    heating_efficiency: float = Field(
        0.9, gt=0, le=6, description="useful heat per final energy (boiler ~0.9; heat pump ~3)"
    )
    cost_per_m2_eur: float = Field(100.0, ge=0, le=10_000, description="per m² of floor area")
    energy_price_eur_per_kwh: float = Field(0.07, ge=0, le=10, description="of the carrier")

    @model_validator(mode="after")
    def _saves(self) -> Insulation:
        if self.heat_demand_after_kwh_m2 >= self.heat_demand_before_kwh_m2:
            raise ValueError(
                f"heat_demand_after_kwh_m2 ({self.heat_demand_after_kwh_m2}) must be below "
                f"heat_demand_before_kwh_m2 ({self.heat_demand_before_kwh_m2})"
            )
        return self


class FleetElectrification(_Scenario):
    """Combustion vehicles of the municipal fleet replaced by battery-electric ones."""

    kind: Literal["fleet_electrification"] = "fleet_electrification"
    vehicles: int = Field(gt=0, le=100_000)
    km_per_vehicle_year: float = Field(15_000.0, gt=0, le=500_000)
    fuel: Fuel = "diesel"
    fuel_l_per_100km: float = Field(8.0, gt=0, le=100)
    ev_kwh_per_100km: float = Field(20.0, gt=0, le=300, description="at the charger")
    extra_cost_per_vehicle_eur: float = Field(
        15_000.0, ge=0, le=2_000_000, description="price over the combustion vehicle's"
    )
    fuel_price_eur_per_l: float = Field(1.45, ge=0, le=20)
    electricity_price_eur_per_kwh: float = Field(0.20, ge=0, le=10)


Scenario = Annotated[
    LedRetrofit | RooftopPv | Insulation | FleetElectrification, Field(discriminator="kind")
]
"""Any of the measures, told apart by ``kind``."""


@dataclass(frozen=True)
class Roof:
    """A municipal building's roof: its asset, building and footprint."""

    asset_id: str
    name: str
    building_id: str
    footprint_m2: float
    lon: float
    lat: float


def _price(name: str, value: float, unit: str) -> Assumption:
    return Assumption(name, value, unit, _ILLUSTRATIVE)


def _factor(name: str, factor: EmissionFactor) -> Assumption:
    return Assumption(
        name,
        factor.t_co2_per_mwh,
        "tCO2/MWh",
        f"{factor.source} (from {factor.year})",
        factor.confirmed,
    )


def led_retrofit(scenario: LedRetrofit, factors: FactorTable, year: int) -> ScenarioResult:
    """Electricity, tonnes and money an LED retrofit saves a year."""
    grid = factors.lookup("electricity", year)
    kw_saved = scenario.luminaires * (scenario.watts_before - scenario.watts_after) / 1000.0
    mwh = kw_saved * scenario.burning_hours / 1000.0
    mwh_before = scenario.luminaires * scenario.watts_before * scenario.burning_hours / 1e6
    saving = mwh * 1000.0 * scenario.electricity_price_eur_per_kwh
    investment = scenario.luminaires * scenario.cost_per_luminaire_eur
    return ScenarioResult(
        name=scenario.name,
        kind=scenario.kind,
        mwh_saved=mwh,
        tco2e_saved=mwh * grid.t_co2_per_mwh,
        investment_eur=investment,
        annual_saving_eur=saving,
        simple_payback_years=payback(investment, saving),
        details={
            "mwh_before": mwh_before,
            "mwh_after": mwh_before - mwh,
            "kw_saved": kw_saved,
        },
        assumptions=[
            Assumption(
                "burning_hours",
                scenario.burning_hours,
                "h/year",
                "dusk-to-dawn operation at 44° N (about 4,100 h); caller's value",
            ),
            _price("cost_per_luminaire", scenario.cost_per_luminaire_eur, "EUR"),
            _price("electricity_price", scenario.electricity_price_eur_per_kwh, "EUR/kWh"),
            _factor("electricity_factor", grid),
        ],
    )


def rooftop_pv(
    scenario: RooftopPv, roofs: Sequence[Roof], pv_yield: PvYield, factors: FactorTable, year: int
) -> ScenarioResult:
    """Electricity, tonnes and money PV on ``roofs`` gives a year, at ``pv_yield``'s
    specific yield (each building counted once); all of it is taken to displace grid
    electricity bought at the caller's price (the buildings use it or it is credited at
    that price)."""
    grid = factors.lookup("electricity", year)
    # two assets in one building (a school and its annex) share one roof
    buildings = {r.building_id: r.footprint_m2 for r in roofs}
    roof_m2 = sum(buildings.values())
    usable_m2 = roof_m2 * scenario.usable_roof_fraction
    kwp = usable_m2 * scenario.kwp_per_m2
    mwh = kwp * pv_yield.kwh_per_kwp / 1000.0
    saving = mwh * 1000.0 * scenario.electricity_price_eur_per_kwh
    investment = kwp * scenario.cost_per_kwp_eur
    return ScenarioResult(
        name=scenario.name,
        kind=scenario.kind,
        mwh_saved=mwh,
        tco2e_saved=mwh * grid.t_co2_per_mwh,
        investment_eur=investment,
        annual_saving_eur=saving,
        simple_payback_years=payback(investment, saving),
        details={
            "buildings": float(len(buildings)),
            "footprint_m2": roof_m2,
            "usable_roof_m2": usable_m2,
            "kwp": kwp,
            "kwh_per_kwp": pv_yield.kwh_per_kwp,
            "poa_kwh_m2": pv_yield.poa_kwh_m2,
            "performance_ratio": pv_yield.performance_ratio,
            "clear_sky_ghi_kwh_m2": pv_yield.clear_sky_ghi_kwh_m2,
            "sky_derating": pv_yield.sky_derating,
        },
        assumptions=[
            Assumption(
                "roof_area",
                "footprint of the twin's building",
                "m²",
                "buildings layer, area in its metric CRS; pitched roofs counted as flat",
                True,
            ),
            Assumption(
                "usable_roof_fraction",
                scenario.usable_roof_fraction,
                "1",
                "share of the footprint free of shade, plant and edges, with row spacing; "
                "caller's value, default illustrative",
            ),
            Assumption(
                "kwp_per_m2",
                scenario.kwp_per_m2,
                "kWp/m²",
                "crystalline modules of about 20 % efficiency (1 kW/m² at STC)",
            ),
            Assumption("tilt", scenario.tilt_deg, "°", "caller's value"),
            Assumption("azimuth", scenario.azimuth_deg, "° (180 = south)", "caller's value"),
            Assumption("system_losses", scenario.system_losses_pct, "%", "PVWatts default 14.08 %"),
            Assumption(
                "annual_ghi",
                scenario.annual_ghi_kwh_m2,
                "kWh/m²",
                "PVGIS/Solargis maps of the Romanian Danube plain; pvlib clear sky "
                "(Ineichen) derated to it, Erbs split, Hay-Davies transposition",
            ),
            _price("cost_per_kwp", scenario.cost_per_kwp_eur, "EUR/kWp"),
            _price("electricity_price", scenario.electricity_price_eur_per_kwh, "EUR/kWh"),
            _factor("electricity_factor", grid),
        ],
    )


def insulation(scenario: Insulation, factors: FactorTable, year: int) -> ScenarioResult:
    """Heating energy, tonnes and money insulation saves a year."""
    carrier = factors.lookup(scenario.heating_carrier, year)
    heat_mwh = (
        scenario.floor_area_m2
        * (scenario.heat_demand_before_kwh_m2 - scenario.heat_demand_after_kwh_m2)
        / 1000.0
    )
    mwh = heat_mwh / scenario.heating_efficiency
    saving = mwh * 1000.0 * scenario.energy_price_eur_per_kwh
    investment = scenario.floor_area_m2 * scenario.cost_per_m2_eur
    return ScenarioResult(
        name=scenario.name,
        kind=scenario.kind,
        mwh_saved=mwh,
        tco2e_saved=mwh * carrier.t_co2_per_mwh,
        investment_eur=investment,
        annual_saving_eur=saving,
        simple_payback_years=payback(investment, saving),
        details={"useful_heat_saved_mwh": heat_mwh},
        assumptions=[
            Assumption(
                "heating_efficiency",
                scenario.heating_efficiency,
                "1",
                "useful heat per unit of final energy; caller's value",
            ),
            _price("cost_per_m2", scenario.cost_per_m2_eur, "EUR/m² floor"),
            _price("energy_price", scenario.energy_price_eur_per_kwh, "EUR/kWh"),
            _factor(f"{scenario.heating_carrier}_factor", carrier),
        ],
    )


def fleet_electrification(
    scenario: FleetElectrification, factors: FactorTable, year: int
) -> ScenarioResult:
    """Net energy, tonnes and money a year of electric vehicles driving the same km."""
    fuel_factor = factors.lookup(scenario.fuel, year)
    grid = factors.lookup("electricity", year)
    km = scenario.vehicles * scenario.km_per_vehicle_year
    litres = km * scenario.fuel_l_per_100km / 100.0
    litre = factors.conversion(scenario.fuel, "l")
    fuel_mwh = litres * litre.mwh_per_unit
    ev_mwh = km * scenario.ev_kwh_per_100km / 100.0 / 1000.0
    saving = (
        litres * scenario.fuel_price_eur_per_l
        - ev_mwh * 1000.0 * scenario.electricity_price_eur_per_kwh
    )
    investment = scenario.vehicles * scenario.extra_cost_per_vehicle_eur
    return ScenarioResult(
        name=scenario.name,
        kind=scenario.kind,
        mwh_saved=fuel_mwh - ev_mwh,
        tco2e_saved=fuel_mwh * fuel_factor.t_co2_per_mwh - ev_mwh * grid.t_co2_per_mwh,
        investment_eur=investment,
        annual_saving_eur=saving,
        simple_payback_years=payback(investment, saving),
        details={
            "vehicle_km": km,
            "fuel_litres": litres,
            "fuel_mwh": fuel_mwh,
            "electricity_mwh": ev_mwh,
        },
        assumptions=[
            Assumption(
                f"{scenario.fuel}_mwh_per_litre",
                litre.mwh_per_unit,
                "MWh/l",
                litre.source,
                litre.confirmed,
            ),
            _price("extra_cost_per_vehicle", scenario.extra_cost_per_vehicle_eur, "EUR"),
            _price("fuel_price", scenario.fuel_price_eur_per_l, "EUR/l"),
            _price("electricity_price", scenario.electricity_price_eur_per_kwh, "EUR/kWh"),
            _factor(f"{scenario.fuel}_factor", fuel_factor),
            _factor("electricity_factor", grid),
        ],
    )


@dataclass(frozen=True)
class Comparison:
    """Scenarios side by side, with their totals taken as if they were independent (two
    measures on the same buildings or the same electricity would overlap)."""

    year: int
    factor_version: str
    results: list[ScenarioResult]

    @property
    def totals(self) -> dict[str, float | None]:
        """Sum of each figure over the scenarios, and the payback of all of them."""
        investment = sum(r.investment_eur for r in self.results)
        saving = sum(r.annual_saving_eur for r in self.results)
        return {
            "mwh_saved": sum(r.mwh_saved for r in self.results),
            "tco2e_saved": sum(r.tco2e_saved for r in self.results),
            "investment_eur": investment,
            "annual_saving_eur": saving,
            "simple_payback_years": payback(investment, saving),
        }

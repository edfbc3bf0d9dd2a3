"""Annual yield of a rooftop PV array at a place, with pvlib, and every assumption stated.

No weather data can be fetched where the hub runs (and a town may have none), so the
weather is a model: pvlib's Ineichen clear sky (with its monthly Linke turbidity
climatology, shipped inside pvlib) for a reference year, hour by hour, **derated** so
that the year's global horizontal irradiation (GHI) equals a stated annual value for
the site; the derated GHI is split into beam and diffuse with the Erbs model (a
cloudier sky gives a larger diffuse share), transposed to the plane of the array with
the Hay–Davies model, and converted to AC with the PVWatts models (DC with temperature
coefficient, system losses, inverter). Cell temperature: Faiman's model on monthly
normal air temperatures.

The derating is the main simplification: real years alternate clear and overcast
days, a uniformly hazier sky does not. It is fair for an annual figure (what a
scenario needs), not for hourly or daily output. The default annual GHI, 1,450
kWh/m², is read off the PVGIS and Solargis maps for the Romanian Danube plain
(*unconfirmed*: the project has not checked it against a site series); put the site's
own value in :class:`PvAssumptions` when it is known.

Example:
    >>> result = annual_yield(43.7517, 24.8708, PvAssumptions())  # doctest: +SKIP
    >>> 1100 < result.kwh_per_kwp < 1500  # doctest: +SKIP
    True
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd
import pvlib

REFERENCE_YEAR = 2023
"""The (non-leap) year whose hours the clear sky is computed for: the sun's course and
the turbidity climatology barely change from year to year."""

MONTHLY_AIR_TEMPERATURE_C = (-1.5, 0.9, 6.0, 12.4, 18.0, 21.8, 23.8, 23.2, 18.1, 11.8, 5.6, 0.6)
"""Monthly normal air temperatures of the Romanian Danube plain around Turnu Măgurele,
January first (*unconfirmed*: typical climate-normal values for the area, annual mean
about 11.7 °C; they only move the yield by a few per cent through cell temperature)."""


@dataclass(frozen=True)
class PvAssumptions:
    """How the array is built and what the sky gives; every default is stated in the
    module and in ``docs/carbon.md``."""

    tilt_deg: float = 30.0
    """Module tilt from horizontal (about the optimum for annual yield at 44° N)."""
    azimuth_deg: float = 180.0
    """Compass direction the modules face (180: south)."""
    system_losses_pct: float = 14.0
    """DC losses: soiling, shading, mismatch, wiring, connections, availability (the
    PVWatts default, 14.08 %, rounded)."""
    gamma_pdc_per_c: float = -0.0037
    """Power temperature coefficient of the modules (crystalline silicon)."""
    inverter_efficiency: float = 0.96
    """Nominal inverter efficiency (PVWatts default)."""
    albedo: float = 0.2
    """Ground reflectance (grass, roofs)."""
    annual_ghi_kwh_m2: float = 1450.0
    """The site's annual global horizontal irradiation, which the clear sky is derated
    to (*unconfirmed* for the town: see the module docstring)."""
    altitude_m: float = 31.0
    """Site elevation (Turnu Măgurele: about 31 m)."""

    def check(self) -> None:
        """Raise ValueError naming the first assumption outside its physical range."""
        ranges = {
            "tilt_deg": (self.tilt_deg, 0.0, 90.0),
            "azimuth_deg": (self.azimuth_deg, 0.0, 360.0),
            "system_losses_pct": (self.system_losses_pct, 0.0, 99.0),
            "gamma_pdc_per_c": (self.gamma_pdc_per_c, -0.02, 0.0),
            "inverter_efficiency": (self.inverter_efficiency, 0.5, 1.0),
            "albedo": (self.albedo, 0.0, 1.0),
            "annual_ghi_kwh_m2": (self.annual_ghi_kwh_m2, 200.0, 2800.0),
            "altitude_m": (self.altitude_m, -500.0, 6000.0),
        }
        for name, (value, low, high) in ranges.items():
            if not low <= value <= high:
                raise ValueError(f"{name} must be within [{low}, {high}], got {value}")


@dataclass(frozen=True)
class PvYield:
    """A year's output of 1 kWp at a place, and the irradiation behind it."""

    kwh_per_kwp: float
    """AC energy per kWp of modules per year (the specific yield)."""
    poa_kwh_m2: float
    """Irradiation on the plane of the array."""
    ghi_kwh_m2: float
    """Global horizontal irradiation of the derated sky (the assumption's value)."""
    clear_sky_ghi_kwh_m2: float
    """Global horizontal irradiation of pvlib's clear sky, before derating."""
    sky_derating: float
    """``ghi_kwh_m2 / clear_sky_ghi_kwh_m2``."""

    @property
    def performance_ratio(self) -> float:
        """AC yield over plane-of-array irradiation (kWh/kWp over kWh/m² at 1 kW/m²)."""
        return self.kwh_per_kwp / self.poa_kwh_m2 if self.poa_kwh_m2 else 0.0


def annual_yield(lat: float, lon: float, assumptions: PvAssumptions) -> PvYield:
    """The annual AC yield of 1 kWp at ``lat``, ``lon`` (degrees, WGS 84) under
    ``assumptions``; remembered per place and assumptions (about 0.1 s to compute).

    Raises:
        ValueError: a latitude or longitude out of range, or an assumption out of its
            physical range (the message names it).
    """
    if not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0):
        raise ValueError(f"({lat}, {lon}) is not a latitude, longitude in degrees")
    assumptions.check()
    # rounded: a few metres either way change nothing, and the memo stays small
    return _annual_yield(round(lat, 3), round(lon, 3), assumptions)


@lru_cache(maxsize=64)
def _annual_yield(lat: float, lon: float, assumptions: PvAssumptions) -> PvYield:
    # hourly means are best represented by the sun at the middle of each hour
    times = pd.date_range(
        f"{REFERENCE_YEAR}-01-01 00:30", periods=8760, freq="h", tz="UTC", name="time"
    )
    site = pvlib.location.Location(lat, lon, tz="UTC", altitude=assumptions.altitude_m)
    sun = site.get_solarposition(times)
    clear = site.get_clearsky(times, model="ineichen", solar_position=sun)
    clear_ghi_kwh = float(clear["ghi"].sum()) / 1000.0
    derating = assumptions.annual_ghi_kwh_m2 / clear_ghi_kwh
    ghi = clear["ghi"] * derating
    split = pvlib.irradiance.erbs(ghi, sun["zenith"], times)
    dni_extra = pvlib.irradiance.get_extra_radiation(times)
    poa = pvlib.irradiance.get_total_irradiance(
        assumptions.tilt_deg,
        assumptions.azimuth_deg,
        sun["apparent_zenith"],
        sun["azimuth"],
        split["dni"],
        ghi,
        split["dhi"],
        dni_extra=dni_extra,
        albedo=assumptions.albedo,
        model="haydavies",
    )
    aoi = pvlib.irradiance.aoi(
        assumptions.tilt_deg, assumptions.azimuth_deg, sun["apparent_zenith"], sun["azimuth"]
    )
    # reflection off the glass at a grazing sun (beam only: diffuse light comes from
    # every angle, and its share of the loss is small)
    effective = poa["poa_direct"] * pvlib.iam.physical(aoi) + poa["poa_diffuse"]
    effective = effective.fillna(0.0).clip(lower=0.0)
    temp_air = pd.Series(np.take(MONTHLY_AIR_TEMPERATURE_C, times.month - 1), index=times)
    temp_cell = pvlib.temperature.faiman(poa["poa_global"].fillna(0.0), temp_air, wind_speed=1.0)
    dc = pvlib.pvsystem.pvwatts_dc(effective, temp_cell, 1.0, assumptions.gamma_pdc_per_c)
    dc = dc * (1.0 - assumptions.system_losses_pct / 100.0)
    ac = pvlib.inverter.pvwatts(dc, 1.0, eta_inv_nom=assumptions.inverter_efficiency)
    # pdc0 = 1 (kW per kWp at 1,000 W/m²): the hourly kW sum is kWh per kWp
    return PvYield(
        kwh_per_kwp=float(ac.clip(lower=0.0).sum()),
        poa_kwh_m2=float(poa["poa_global"].fillna(0.0).sum()) / 1000.0,
        ghi_kwh_m2=float(ghi.sum()) / 1000.0,
        clear_sky_ghi_kwh_m2=clear_ghi_kwh,
        sky_derating=derating,
    )

"""Rooftop PV yield at the town, checked against rough figures worked out independently
of pvlib: the extraterrestrial irradiation on a horizontal plane from the textbook
formula (Duffie & Beckman, eq. 1.10.3 with Cooper's declination), the usual clear-sky
transmittance, and the specific yields PVGIS maps show for southern Romania."""

from __future__ import annotations

import math

import pytest

from carbon.pv import PvAssumptions, annual_yield

LAT, LON = 43.7517, 24.8708  # Turnu Măgurele (DOMAIN.md)
SOLAR_CONSTANT = 1367.0  # W/m2


def _extraterrestrial_horizontal_kwh_m2(lat: float) -> float:
    """H0 summed over a 365-day year: (24/pi) Gsc E0 (cos phi cos d sin ws + ws sin phi sin d)."""
    phi = math.radians(lat)
    total_wh = 0.0
    for day in range(1, 366):
        decl = math.radians(23.45) * math.sin(2 * math.pi * (284 + day) / 365)
        e0 = 1 + 0.033 * math.cos(2 * math.pi * day / 365)
        ws = math.acos(-math.tan(phi) * math.tan(decl))
        total_wh += (
            (24 / math.pi)
            * SOLAR_CONSTANT
            * e0
            * (math.cos(phi) * math.cos(decl) * math.sin(ws) + ws * math.sin(phi) * math.sin(decl))
        )
    return total_wh / 1000.0


def test_pvlib_clear_sky_is_a_plausible_share_of_the_sun_above_the_atmosphere() -> None:
    result = annual_yield(LAT, LON, PvAssumptions())
    h0 = _extraterrestrial_horizontal_kwh_m2(LAT)
    assert 2650 < h0 < 2800  # about 7.5 kWh/m2 a day at 44 N
    # a cloudless sky passes 65-80 % of it to the ground over a year
    assert 0.65 < result.clear_sky_ghi_kwh_m2 / h0 < 0.80
    # derated to the stated annual irradiation, exactly
    assert result.ghi_kwh_m2 == pytest.approx(1450.0, rel=1e-6)
    assert result.sky_derating == pytest.approx(1450.0 / result.clear_sky_ghi_kwh_m2)


def test_specific_yield_is_in_southern_romanias_range() -> None:
    result = annual_yield(LAT, LON, PvAssumptions())
    # PVGIS maps: about 1,250-1,400 kWh/kWp a year for an optimally tilted array with
    # 14 % losses on the Romanian Danube plain
    assert 1200 < result.kwh_per_kwp < 1450
    # a 30 degree south-facing plane gains 8-20 % over the horizontal at 44 N
    assert 1.08 < result.poa_kwh_m2 / result.ghi_kwh_m2 < 1.20
    # performance ratio of a well-kept system, losses of 14 % included
    assert 0.72 < result.performance_ratio < 0.86


def test_orientation_losses_and_sky_move_the_yield_the_right_way() -> None:
    south = annual_yield(LAT, LON, PvAssumptions()).kwh_per_kwp
    flat = annual_yield(LAT, LON, PvAssumptions(tilt_deg=0.0)).kwh_per_kwp
    east = annual_yield(LAT, LON, PvAssumptions(azimuth_deg=90.0)).kwh_per_kwp
    north = annual_yield(LAT, LON, PvAssumptions(azimuth_deg=0.0)).kwh_per_kwp
    assert south > flat > east > north
    lossless = annual_yield(LAT, LON, PvAssumptions(system_losses_pct=0.0)).kwh_per_kwp
    # DC losses scale the output; the inverter's part-load curve bends it by under 1 %
    assert south / lossless == pytest.approx(0.86, rel=0.01)
    sunnier = annual_yield(LAT, LON, PvAssumptions(annual_ghi_kwh_m2=1600.0)).kwh_per_kwp
    # 10 % more sun, a little over 10 % more energy: a clearer sky has more beam, which
    # the tilted plane catches better than the horizontal
    assert 1.10 < sunnier / south < 1.16
    # further north, less sun above the atmosphere and less yield for the same derating
    assert annual_yield(60.0, LON, PvAssumptions(annual_ghi_kwh_m2=1450.0)).clear_sky_ghi_kwh_m2 < (
        annual_yield(LAT, LON, PvAssumptions()).clear_sky_ghi_kwh_m2
    )


@pytest.mark.parametrize(
    ("lat", "assumptions", "name"),
    [
        (LAT, PvAssumptions(tilt_deg=95.0), "tilt_deg"),
        (LAT, PvAssumptions(system_losses_pct=-1.0), "system_losses_pct"),
        (LAT, PvAssumptions(annual_ghi_kwh_m2=5000.0), "annual_ghi_kwh_m2"),
        (95.0, PvAssumptions(), "latitude"),
    ],
)
def test_impossible_assumptions_are_refused(
    lat: float, assumptions: PvAssumptions, name: str
) -> None:
    with pytest.raises(ValueError, match=name if name != "latitude" else "not a latitude"):
        annual_yield(lat, LON, assumptions)

"""Deterministic signal models for the simulated river, parking and air sensors.

Every model is a pure function of time and a seed: the same seed and time give the
same value, so a run can be replayed and tested. Variability comes from sums of
low-frequency sinusoids with seeded phases instead of white noise, which keeps each
series smooth on the time scales at which the real sensors report.

All numbers are illustrative defaults shaped after /work/shared/DOMAIN.md: the
Tr. Măgurele gauge thresholds (attention 500 cm, flood 550 cm, danger 650 cm
*unconfirmed*) and the EEA air-quality bands.
"""

import math
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import NamedTuple

import numpy as np

from simulator.clock import (
    SECONDS_PER_DAY,
    LocalTime,
    local_time,
    require_aware,
    solar_hour,
    year_fraction,
)
from simulator.errors import InvalidInputError

TAU = 2.0 * math.pi


# --- shared building blocks -------------------------------------------------------


class Sinusoid(NamedTuple):
    """One term of a slow, seeded variation."""

    amplitude: float
    period_s: float
    phase: float


def seeded_rng(seed: int, stream: str) -> np.random.Generator:
    """Return a generator for one named stream of randomness derived from ``seed``.

    Separate streams keep, say, the river's phases unchanged when a station is added.
    """
    if seed < 0:
        raise InvalidInputError(f"seed must be a non-negative integer, got {seed}")
    return np.random.default_rng([seed, zlib.crc32(stream.encode())])


def _seeded_waves(
    rng: np.random.Generator, spec: Sequence[tuple[float, float]]
) -> tuple[Sinusoid, ...]:
    """Build sinusoids from ``(amplitude, period in days)`` pairs with random phases."""
    return tuple(
        Sinusoid(amplitude, period_days * SECONDS_PER_DAY, float(rng.uniform(0.0, TAU)))
        for amplitude, period_days in spec
    )


def _wave_sum(waves: Sequence[Sinusoid], ts: float) -> float:
    """Evaluate a sum of sinusoids at Unix time ``ts``."""
    return sum(w.amplitude * math.sin(TAU * ts / w.period_s + w.phase) for w in waves)


class Bump(NamedTuple):
    """A Gaussian bump in a daily pattern, centred at a local hour."""

    hour: float
    width_h: float
    height: float


@dataclass(frozen=True)
class DayPattern:
    """A daily activity curve: a night-time base plus Gaussian bumps."""

    base: float
    bumps: tuple[Bump, ...]

    def at(self, hour: float) -> float:
        """Return the activity level at a fractional local hour."""
        return self.base + sum(
            b.height * math.exp(-0.5 * ((hour - b.hour) / b.width_h) ** 2) for b in self.bumps
        )


@dataclass(frozen=True)
class WeekPattern:
    """Daily curves for working days, Saturdays and Sundays."""

    weekday: DayPattern
    saturday: DayPattern
    sunday: DayPattern

    def at(self, local: LocalTime) -> float:
        """Return the activity level at a local time."""
        if local.weekday == 5:
            return self.saturday.at(local.hour)
        if local.weekday == 6:
            return self.sunday.at(local.hour)
        return self.weekday.at(local.hour)


# --- Danube at the Tr. Măgurele gauge -----------------------------------------------

# Illustrative mid-month staff-gauge levels (cm): spring high water from snowmelt
# and rain upstream, late-summer and autumn low water.
_MONTHLY_LEVEL_CM = (230, 260, 330, 430, 460, 420, 310, 180, 110, 90, 130, 190)
_SEASONAL_HARMONICS = 2

# (amplitude cm, period days) of the day-to-day variation; the longest term makes
# wet and dry years. Together they change the level by at most about 2 cm/h, and in
# a dry autumn they can take it below the gauge zero.
_LEVEL_WAVES = ((12, 4.3), (20, 9.1), (30, 17.0), (40, 37.0), (45, 83.0), (50, 1307.0))
_TEMPERATURE_WAVES = ((0.8, 6.1), (0.5, 13.7))


def _fit_harmonics(monthly: Sequence[float], harmonics: int) -> tuple[float, ...]:
    """Fit ``mean, a1, b1, a2, b2, ...`` of a yearly Fourier series to mid-month values."""
    values = np.asarray(monthly, dtype=float)
    x = (np.arange(len(values)) + 0.5) / len(values)
    coeffs = [float(values.mean())]
    for k in range(1, harmonics + 1):
        coeffs.append(float(2.0 * np.mean(values * np.cos(TAU * k * x))))
        coeffs.append(float(2.0 * np.mean(values * np.sin(TAU * k * x))))
    return tuple(coeffs)


_SEASONAL_COEFFS = _fit_harmonics(_MONTHLY_LEVEL_CM, _SEASONAL_HARMONICS)


def seasonal_level_cm(t: datetime) -> float:
    """Return the smooth climatological Danube level at the gauge for ``t``, in cm."""
    yf = year_fraction(t)
    level = _SEASONAL_COEFFS[0]
    for k in range(1, _SEASONAL_HARMONICS + 1):
        a, b = _SEASONAL_COEFFS[2 * k - 1], _SEASONAL_COEFFS[2 * k]
        level += a * math.cos(TAU * k * yf) + b * math.sin(TAU * k * yf)
    return level


@dataclass(frozen=True)
class FloodWave:
    """A flood hydrograph: the gauge rises to ``peak_cm``, then recedes.

    The rise starts at ``start`` and lasts ``rise_hours``; the recession lasts
    ``fall_hours``, usually several times longer, as on the lower Danube. Both
    limbs are half-cosines, so the level and its rate of change stay continuous.

    Example:
        >>> from datetime import datetime, timezone
        >>> wave = FloodWave(620.0, datetime(2024, 4, 1, tzinfo=timezone.utc), 72.0, 240.0)
        >>> wave.shape(wave.peak_time)
        1.0
    """

    peak_cm: float
    start: datetime
    rise_hours: float
    fall_hours: float

    def __post_init__(self) -> None:
        """Check the wave up front so a bad one fails where it is built."""
        require_aware(self.start, "FloodWave.start")
        if not math.isfinite(self.peak_cm):
            raise InvalidInputError(f"FloodWave.peak_cm must be finite, got {self.peak_cm}")
        for name in ("rise_hours", "fall_hours"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise InvalidInputError(f"FloodWave.{name} must be a positive number, got {value}")

    @classmethod
    def under_way(
        cls, now: datetime, peak_cm: float, rise_minutes: float, fall_minutes: float
    ) -> "FloodWave":
        """A wave that began a minute before ``now``, so that a simulator started at
        ``now`` sees the river already rising (``smartcity simulate --flood-peak``)."""
        return cls(peak_cm, now - timedelta(minutes=1), rise_minutes / 60, fall_minutes / 60)

    def steepest_rise_cm_per_h(self, level_cm: float) -> float:
        """The fastest rise (cm/h) of this wave over a river standing at ``level_cm``.

        The half-cosine rises steepest half-way up, at pi/2 times its height over its
        rise time; the river's own slow course (about 2 cm/h at most) is left out.
        """
        return math.pi / 2 * max(0.0, self.peak_cm - level_cm) / self.rise_hours

    @property
    def peak_time(self) -> datetime:
        """Return the time of the crest."""
        return self.start + timedelta(hours=self.rise_hours)

    def shape(self, t: datetime) -> float:
        """Return the wave's fraction of its full height at ``t``, between 0 and 1."""
        require_aware(t)
        hours = (t.timestamp() - self.start.timestamp()) / 3600.0
        if hours <= 0.0 or hours >= self.rise_hours + self.fall_hours:
            return 0.0
        if hours <= self.rise_hours:
            return 0.5 * (1.0 - math.cos(math.pi * hours / self.rise_hours))
        return 0.5 * (1.0 + math.cos(math.pi * (hours - self.rise_hours) / self.fall_hours))


@dataclass(frozen=True)
class DanubeModel:
    """The Danube at the Tr. Măgurele gauge: staff-gauge level and water temperature.

    Build it with :meth:`from_seed`; the seed fixes the phases of the slow variation.
    """

    level_waves: tuple[Sinusoid, ...]
    temperature_waves: tuple[Sinusoid, ...]
    flood: FloodWave | None = None

    @classmethod
    def from_seed(cls, seed: int, flood: FloodWave | None = None) -> "DanubeModel":
        """Return the model whose slow variation is fixed by ``seed``."""
        rng = seeded_rng(seed, "danube")
        return cls(_seeded_waves(rng, _LEVEL_WAVES), _seeded_waves(rng, _TEMPERATURE_WAVES), flood)

    def _base_level_cm(self, t: datetime) -> float:
        """Return the level without the flood wave."""
        return seasonal_level_cm(t) + _wave_sum(self.level_waves, t.timestamp())

    def level_cm(self, t: datetime) -> float:
        """Return the level on the staff gauge in cm; it may be negative in a drought.

        A flood wave moves the level from its ordinary course towards ``peak_cm`` by
        the wave's shape, so the crest is ``peak_cm`` exactly at ``peak_time``; a
        wave never lowers the level.
        """
        level = self._base_level_cm(t)
        if self.flood is None:
            return level
        return level + self.flood.shape(t) * max(0.0, self.flood.peak_cm - level)

    def water_temperature_c(self, t: datetime) -> float:
        """Return the water temperature in °C: about 2 °C in late January, 24 °C in late July."""
        seasonal = 13.0 - 11.0 * math.cos(TAU * (year_fraction(t) - 0.07))
        diurnal = 0.3 * math.cos(TAU * (solar_hour(t) - 16.0) / 24.0)
        return max(0.0, seasonal + diurnal + _wave_sum(self.temperature_waves, t.timestamp()))


# --- parking -------------------------------------------------------------------------

MIN_OCCUPANCY = 0.01
MAX_OCCUPANCY = 0.95


@dataclass(frozen=True)
class LotProfile:
    """How full a kind of car park is over the week, and how long cars stay."""

    kind: str
    week: WeekPattern
    mean_dwell_minutes: float

    def occupancy_probability(self, t: datetime) -> float:
        """Return the probability that a bay is occupied at ``t``.

        Kept within [MIN_OCCUPANCY, MAX_OCCUPANCY]: a lot is never certainly full or
        certainly empty, which also keeps the bay Markov chain's rates finite.
        """
        return min(MAX_OCCUPANCY, max(MIN_OCCUPANCY, self.week.at(local_time(t))))


def _day(base: float, *bumps: tuple[float, float, float]) -> DayPattern:
    """Shorthand for a day pattern from ``(hour, width, height)`` triples."""
    return DayPattern(base, tuple(Bump(*b) for b in bumps))


LOT_PROFILES: Mapping[str, LotProfile] = MappingProxyType(
    {
        # Shops and offices: morning rise, midday peak, quieter on Sunday.
        "centre": LotProfile(
            "centre",
            WeekPattern(
                weekday=_day(0.10, (9.5, 1.5, 0.35), (12.5, 2.5, 0.55), (17.5, 1.8, 0.35)),
                saturday=_day(0.08, (11.0, 2.5, 0.6), (18.0, 2.0, 0.25)),
                sunday=_day(0.06, (12.5, 3.0, 0.3), (18.5, 2.0, 0.15)),
            ),
            mean_dwell_minutes=50.0,
        ),
        # The food market: early mornings, busiest on Saturday.
        "market": LotProfile(
            "market",
            WeekPattern(
                weekday=_day(0.05, (9.0, 2.0, 0.45), (17.0, 1.5, 0.15)),
                saturday=_day(0.05, (9.0, 2.0, 0.9)),
                sunday=_day(0.04, (9.5, 2.0, 0.35)),
            ),
            mean_dwell_minutes=40.0,
        ),
        # Spitalul Municipal: day shift, then afternoon visiting hours; staff at night.
        "hospital": LotProfile(
            "hospital",
            WeekPattern(
                weekday=_day(0.25, (10.0, 2.5, 0.45), (17.0, 1.5, 0.3)),
                saturday=_day(0.22, (11.0, 2.0, 0.2), (16.0, 2.0, 0.4)),
                sunday=_day(0.22, (11.0, 2.0, 0.2), (16.0, 2.0, 0.45)),
            ),
            mean_dwell_minutes=110.0,
        ),
        # Railway and bus station: commuter peaks on working days.
        "station": LotProfile(
            "station",
            WeekPattern(
                weekday=_day(0.08, (7.0, 1.0, 0.45), (12.0, 4.0, 0.25), (17.0, 1.3, 0.4)),
                saturday=_day(0.06, (10.0, 3.0, 0.25)),
                sunday=_day(0.06, (17.0, 3.0, 0.3)),
            ),
            mean_dwell_minutes=240.0,
        ),
        # The port and Nikopol ferry: a working day of lorries and ferry traffic.
        "port": LotProfile(
            "port",
            WeekPattern(
                weekday=_day(0.10, (11.5, 3.5, 0.55)),
                saturday=_day(0.08, (11.0, 3.0, 0.25)),
                sunday=_day(0.06, (12.0, 3.0, 0.15)),
            ),
            mean_dwell_minutes=180.0,
        ),
        # The stadium: training on weekday evenings, a match on Saturday evening.
        "stadium": LotProfile(
            "stadium",
            WeekPattern(
                weekday=_day(0.03, (18.5, 1.5, 0.12)),
                saturday=_day(0.03, (18.5, 1.6, 0.88)),
                sunday=_day(0.03, (11.0, 2.0, 0.1)),
            ),
            mean_dwell_minutes=150.0,
        ),
    }
)


# --- air quality -----------------------------------------------------------------------

# Road traffic intensity, 1 at the weekday morning peak.
_TRAFFIC = WeekPattern(
    weekday=_day(0.12, (8.0, 1.0, 0.9), (13.0, 2.5, 0.35), (18.0, 1.3, 0.8)),
    saturday=_day(0.10, (11.5, 3.0, 0.45), (18.5, 2.0, 0.2)),
    sunday=_day(0.08, (12.5, 3.5, 0.3)),
)
# Domestic heating (wood and gas stoves), mostly in the evening.
_HEATING = _day(0.15, (7.5, 1.5, 0.4), (20.0, 2.2, 1.0))
# (log amplitude, period days): regional weather, from well-ventilated days to
# stagnant episodes that roughly double concentrations.
_WEATHER_WAVES = ((0.25, 2.7), (0.2, 6.3), (0.15, 11.9))
_STATION_WAVES = ((0.08, 1.3), (0.06, 3.1))


class AirSample(NamedTuple):
    """Concentrations in µg/m³ at one station and time."""

    pm25: float
    pm10: float
    no2: float
    o3: float


@dataclass(frozen=True)
class Station:
    """What sets one station apart: its exposure to traffic and local sources."""

    traffic_factor: float
    pm_factor: float
    waves: tuple[Sinusoid, ...]


def _daylight(solar_h: float, yf: float) -> float:
    """Return 0 at night and a sine arch over the day, 1 at solar noon."""
    day_length = 12.0 + 3.1 * math.cos(TAU * (yf - 0.47))
    x = (solar_h - (12.0 - day_length / 2.0)) / day_length
    return math.sin(math.pi * x) if 0.0 < x < 1.0 else 0.0


@dataclass(frozen=True)
class AirQualityModel:
    """PM2.5, PM10, NO2 and O3 at the town's stations, under a shared regional weather.

    Traffic drives NO2 and part of the PM with peaks near 08:00 and 18:00 on working
    days; winter heating raises evening PM; a shallow night-time boundary layer
    concentrates local emissions; O3 builds up on summer afternoons and is titrated
    by NO2. Build it with :meth:`from_seed`.
    """

    seed: int
    weather_waves: tuple[Sinusoid, ...]

    @classmethod
    def from_seed(cls, seed: int) -> "AirQualityModel":
        """Return the model whose regional weather is fixed by ``seed``."""
        return cls(seed, _seeded_waves(seeded_rng(seed, "air-weather"), _WEATHER_WAVES))

    def station(self, station_id: str) -> Station:
        """Return the smooth, seeded offsets of the station named ``station_id``."""
        rng = seeded_rng(self.seed, f"air-station/{station_id}")
        return Station(
            traffic_factor=float(rng.uniform(0.75, 1.35)),
            pm_factor=float(rng.uniform(0.85, 1.2)),
            waves=_seeded_waves(rng, _STATION_WAVES),
        )

    def sample(self, t: datetime, station: Station) -> AirSample:
        """Return the concentrations at ``station`` at ``t``; all are non-negative."""
        ts = t.timestamp()
        yf = year_fraction(t)
        solar_h = solar_hour(t)
        local = local_time(t)
        daylight = _daylight(solar_h, yf)
        heating_season = max(0.0, math.cos(TAU * (yf - 0.04)))
        summer = 0.5 * (1.0 - math.cos(TAU * (yf - 0.05)))
        weather = math.exp(_wave_sum(self.weather_waves, ts))
        # A shallow boundary layer at night concentrates local emissions; a deep one
        # dilutes them around midday.
        mixing = 1.4 - 0.7 * daylight
        local_emission = mixing * math.exp(_wave_sum(station.waves, ts))
        traffic = _TRAFFIC.at(local) * station.traffic_factor
        heating = heating_season * _HEATING.at(local.hour)

        # Sunlight splits NO2, which deepens its midday dip.
        no2 = (
            (4.0 + 34.0 * traffic * local_emission * (1.0 - 0.4 * daylight))
            * (1.0 + 0.2 * heating_season)
            * weather
        )
        pm25 = (
            5.0
            + 6.0 * heating_season
            + (4.0 * traffic + 12.0 * heating) * station.pm_factor * local_emission
        ) * weather
        pm10 = 1.3 * pm25 + (3.0 + 9.0 * traffic * local_emission) * weather
        # Photochemistry lags the sun by about two hours, so O3 peaks mid-afternoon;
        # fresh NO from traffic titrates it, hence the minus NO2 term.
        background_o3 = (52.0 + 12.0 * math.cos(TAU * (yf - 0.3))) * (0.6 + 0.4 * daylight)
        photochemical = 80.0 * summer * _daylight(solar_h - 2.0, yf) * weather
        o3 = max(2.0, background_o3 + photochemical - 0.5 * no2)
        return AirSample(pm25=pm25, pm10=pm10, no2=no2, o3=o3)

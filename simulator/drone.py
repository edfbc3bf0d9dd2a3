"""A survey drone flying along the Danube, measuring the water surface.

Each flight follows the river's middle for ``half_length_m`` either side of the gauge and
sends one SenML pack on ``{prefix}/drones/{drone_id}/senml``: at every point its
position and the water-surface level (m above the Constanța datum). The surface is the
gauge's (its zero plus its level) tilted by the river's slope along the flow — the
Danube flows east here, so upstream (west) stands higher — plus a few cm of measurement
noise. The slope, 4 cm/km, is an illustrative value for the lower Danube.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import orjson
import shapely
from pyproj import Transformer

from simulator.engine import Message

SLOPE_M_PER_KM = 0.04
"""Illustrative water-surface slope of the lower Danube."""
_TO_CRS84 = Transformer.from_crs("EPSG:3844", "OGC:CRS84", always_xy=True)


@dataclass(frozen=True)
class DroneSurvey:
    """A drone's flight path along the river and how often it flies."""

    drone_id: str
    path: tuple[tuple[float, float], ...]
    """Points (lon, lat) along the river's middle, west to east."""
    downstream_m: tuple[float, ...]
    """Each point's distance from the gauge along the flow (negative: upstream)."""
    period: timedelta = timedelta(minutes=10)
    seconds_per_point: float = 10.0
    noise_cm: float = 2.0

    @classmethod
    def along(
        cls,
        drone_id: str,
        river: shapely.Geometry,
        gauge_xy: tuple[float, float],
        *,
        half_length_m: float = 3_000.0,
        step_m: float = 250.0,
    ) -> DroneSurvey:
        """A path over the middle of ``river`` (a polygon in Stereo 70) from
        ``half_length_m`` west of the gauge to as far east, a point every ``step_m``."""
        points: list[tuple[float, float]] = []
        along: list[float] = []
        gx, _ = gauge_xy
        for x in np.arange(gx - half_length_m, gx + half_length_m + 1, step_m):
            ymin, ymax = river.bounds[1], river.bounds[3]
            crossing = river.intersection(shapely.LineString([(x, ymin), (x, ymax)]))
            if crossing.is_empty:
                continue
            pieces = getattr(crossing, "geoms", [crossing])
            widest = max(pieces, key=lambda piece: piece.length)
            middle = widest.interpolate(0.5, normalized=True)
            points.append(_TO_CRS84.transform(middle.x, middle.y))
            along.append(float(x - gx))
        if not points:
            raise ValueError("the river does not cross the survey's stretch around the gauge")
        return cls(drone_id, tuple(points), tuple(along))

    def flight(
        self, end: datetime, gauge_surface_m: float, rng: np.random.Generator, prefix: str
    ) -> Message:
        """One flight ending at ``end`` (its last point), over a river whose surface at
        the gauge is ``gauge_surface_m``."""
        records: list[dict[str, object]] = []
        base = end.timestamp() - (len(self.path) - 1) * self.seconds_per_point
        for k, ((lon, lat), downstream) in enumerate(
            zip(self.path, self.downstream_m, strict=True)
        ):
            t = round(k * self.seconds_per_point, 3)
            surface = gauge_surface_m - SLOPE_M_PER_KM * downstream / 1000.0
            surface += rng.normal(0.0, self.noise_cm / 100.0)
            head: dict[str, object] = {"bn": f"{self.drone_id}/", "bt": base} if k == 0 else {}
            records += [
                {**head, "t": t, "n": "lat", "u": "lat", "v": round(lat, 6)},
                {"t": t, "n": "lon", "u": "lon", "v": round(lon, 6)},
                {"t": t, "n": "water_surface_level", "u": "m", "v": round(surface, 3)},
            ]
        return Message(f"{prefix}/drones/{self.drone_id}/senml", orjson.dumps(records))

"""The survey drone: a path over the river's middle, and flights the ingest path reads."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest
import shapely
from pyproj import Transformer

from ingest_mqtt.decode import Incoming, decode
from simulator.drone import SLOPE_M_PER_KM, DroneSurvey

X0, Y0 = 489_700.0, 247_000.0  # Stereo 70, south of the town
RIVER = shapely.box(X0 - 6_000, Y0, X0 + 6_000, Y0 + 800)  # an 800 m wide band
TO_STEREO = Transformer.from_crs("OGC:CRS84", "EPSG:3844", always_xy=True)
NOW = datetime(2026, 4, 2, 9, tzinfo=UTC)


def test_the_path_follows_the_middle_of_the_river_around_the_gauge() -> None:
    survey = DroneSurvey.along("drone-1", RIVER, (X0, Y0 + 900), step_m=500)
    assert survey.downstream_m == tuple(float(d) for d in range(-3000, 3001, 500))
    xs, ys = TO_STEREO.transform(*np.array(survey.path).T)
    np.testing.assert_allclose(ys, Y0 + 400, atol=0.01)
    np.testing.assert_allclose(xs, X0 + np.array(survey.downstream_m), atol=0.01)
    with pytest.raises(ValueError, match="does not cross"):
        DroneSurvey.along("drone-1", RIVER, (X0 + 20_000, Y0))


def test_a_flight_is_read_by_ingestion_with_the_river_slope() -> None:
    survey = DroneSurvey.along("drone-1", RIVER, (X0, Y0 + 900), step_m=250)
    message = survey.flight(NOW, 24.80, np.random.default_rng(1), "city")
    assert message.topic == "city/drones/drone-1/senml"
    decoded = decode(
        [Incoming(message.topic, message.payload, 0, 1, NOW)],
        "city",
        {"drone-1": frozenset({"water_surface_level"})}.get,
    )
    assert decoded.dead_letters == []
    assert len(decoded.track) == len(decoded.readings) == len(survey.path)
    assert max(r.time for r in decoded.readings) == NOW  # the flight ends now
    surfaces = np.array([r.value for r in decoded.readings])
    expected = 24.80 - SLOPE_M_PER_KM * np.array(survey.downstream_m) / 1000
    residual = surfaces - expected
    assert np.abs(residual).max() < 4 * survey.noise_cm / 100  # noise, not a bias
    assert abs(residual.mean()) < 0.02
    slope = np.polyfit(np.array(survey.downstream_m) / 1000, surfaces, 1)[0]
    assert slope == pytest.approx(-SLOPE_M_PER_KM, abs=0.01), "upstream (west) stands higher"

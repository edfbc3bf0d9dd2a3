from __future__ import annotations

from twin.status import eaqi_level, sensor_status


def test_eaqi_takes_the_worst_pollutant() -> None:
    assert eaqi_level({"pm25": 5, "no2": 30}) == 0
    assert eaqi_level({"pm25": 12, "no2": 30}) == 1  # PM2.5 fair
    assert eaqi_level({"pm25": 5, "no2": 130}) == 3  # NO2 poor
    assert eaqi_level({"pm25": 80}) == 5
    assert eaqi_level({"temperature": 20}) is None


def test_labels() -> None:
    assert sensor_status("river_gauge", {"water_level": 312}, None)[0] == "Danube 312 cm"
    assert sensor_status("river_gauge", {"water_level": 560}, None)[0] == "Danube 560 cm (orange)"
    assert sensor_status("parking_counter", {"occupied_spaces": 40}, 80)[0] == "P 40/80"
    assert sensor_status("parking_bay", {"occupied": 1}, None)[0] == "occupied"
    assert (
        sensor_status("air_quality", {"pm25": 12, "no2": 30}, None)[0]
        == "AQ fair (PM25 12, NO2 30)"
    )
    assert sensor_status("air_quality", {}, None)[0] == "no data"

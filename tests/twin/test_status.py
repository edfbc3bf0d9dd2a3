from __future__ import annotations

from twin.status import eaqi_level, sensor_status


def test_eaqi_takes_the_worst_pollutant() -> None:
    # the 2024 table (DOMAIN.md): upper bounds PM2.5 5/15/50/90/140, NO2 10/25/60/100/150
    assert eaqi_level({"pm25": 5, "no2": 10}) == 0
    assert eaqi_level({"pm25": 12, "no2": 20}) == 1  # both fair
    assert eaqi_level({"pm25": 12, "no2": 30}) == 2  # NO2 moderate
    assert eaqi_level({"pm25": 5, "no2": 130}) == 4  # NO2 very poor
    assert eaqi_level({"pm25": 80}) == 3  # poor
    assert eaqi_level({"temperature": 20}) is None


def test_labels() -> None:
    assert sensor_status("river_gauge", {"water_level": 312}, None)[0] == "Danube 312 cm"
    assert sensor_status("river_gauge", {"water_level": 560}, None)[0] == "Danube 560 cm (orange)"
    assert sensor_status("parking_counter", {"occupied_spaces": 40}, 80)[0] == "P 40/80"
    assert sensor_status("parking_bay", {"occupied": 1}, None)[0] == "occupied"
    assert (
        sensor_status("air_quality", {"pm25": 12, "no2": 30}, None)[0]
        == "AQ moderate (PM25 12, NO2 30)"
    )
    assert sensor_status("air_quality", {}, None)[0] == "no data"

from __future__ import annotations

import pytest

from ingest_mqtt.errors import PayloadError
from ingest_mqtt.topics import DeviceTopic, device_topic, drone_topic, parse_topic, subscriptions


def _matches(topic_filter: str, topic: str) -> bool:
    """MQTT 3.1.1 filter matching for single-level wildcards, as the broker does it."""
    wanted, levels = topic_filter.split("/"), topic.split("/")
    return len(wanted) == len(levels) and all(
        w in ("+", lv) for w, lv in zip(wanted, levels, strict=False)
    )


def test_subscriptions_cover_the_three_topics_and_nothing_outside_the_prefix() -> None:
    filters = subscriptions("tm")
    assert filters == ["tm/devices/+/+", "tm/drones/+/+"]
    for topic in ("tm/devices/g1/senml", "tm/devices/g1/json", "tm/drones/d7/senml"):
        assert any(_matches(f, topic) for f in filters), topic
    for topic in ("city/devices/g1/json", "tm/events/x", "tm/devices/g1/senml/extra"):
        assert not any(_matches(f, topic) for f in filters), topic


def test_parse_topic() -> None:
    assert parse_topic("city", "city/devices/gauge-1/senml") == DeviceTopic(
        "gauge-1", "senml", "devices"
    )
    drone = parse_topic("a/b", "a/b/drones/drone-7/senml")
    assert drone == DeviceTopic("drone-7", "senml", "drones") and drone.is_drone
    assert parse_topic("city", device_topic("city", "aq-tr-2")).payload_format == "json"
    assert parse_topic("city", drone_topic("city", "d1")).is_drone


@pytest.mark.parametrize(
    ("topic", "reason"),
    [
        ("city/devices/g1", "topic 'city/devices/g1' must be city/devices/<device_id>/<format>"),
        ("city/drones/d1/senml/x", "topic 'city/drones/d1/senml/x' must be city/drones/"),
        ("town/devices/g1/json", "topic 'town/devices/g1/json' is not under 'city/devices/'"),
        ("city/devices/g 1/json", "invalid device id 'g 1' in topic"),
        ("city/devices/g1\n/json", "invalid device id 'g1\\n' in topic"),
        ("city/drones/-d/senml", "invalid drone id '-d' in topic"),
        ("city/devices/g1/csv", "unknown payload format 'csv'; expected one of ('json', 'senml')"),
        ("city/devices/g1/senml+xml", "unknown payload format 'senml+xml': SenML is accepted"),
        ("city/devices/g1/cbor", "unknown payload format 'cbor': SenML is accepted as JSON only"),
        ("city/drones/d1/json", "unknown payload format 'json'; expected one of ('senml',)"),
    ],
)
def test_topics_outside_the_contract(topic: str, reason: str) -> None:
    with pytest.raises(PayloadError) as caught:
        parse_topic("city", topic)
    assert caught.value.reason.startswith(reason)

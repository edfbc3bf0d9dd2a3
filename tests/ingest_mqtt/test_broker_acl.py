from __future__ import annotations

import stat
from pathlib import Path

import psycopg
import pytest

from ingest_mqtt.broker_acl import (
    ListenerOptions,
    check_prefix,
    device_topics,
    render_acl,
    render_conf,
    render_passwd,
    write_atomic,
    write_broker_files,
)
from storage import migrations
from storage.credentials import CredentialError, InvalidMqttName, StoredCredential
from storage.devices import Device, register
from twin.credentials import issue_device_credentials, issue_service_credentials

GAUGE = StoredCredential("gauge-01", "$7$1000$c2FsdA==$aGFzaA==", device_id="gauge-01")
INGEST = StoredCredential("smartcity-ingest", "$7$1000$c2FsdA==$aGFzaA==", service="ingest")


def _blocks(acl: str) -> dict[str, list[str]]:
    blocks: dict[str, list[str]] = {}
    user = ""
    for line in acl.splitlines():
        if line.startswith("user "):
            user = line.removeprefix("user ")
            blocks[user] = []
        elif line.startswith("topic "):
            blocks[user].append(line)
    return blocks


def test_each_device_writes_only_its_own_topics_and_reads_nothing() -> None:
    acl = render_acl("city", {"gauge-01": "river_gauge", "drone-7": "drone"}, [GAUGE, INGEST])
    assert _blocks(acl) == {
        "gauge-01": ["topic write city/devices/gauge-01/#"],
        "drone-7": ["topic write city/devices/drone-7/#", "topic write city/drones/drone-7/#"],
        "smartcity-ingest": [
            "topic read city/devices/+/+",
            "topic read city/drones/+/+",
            "topic write city/events/#",
        ],
    }
    # Lines before the first `user` line would apply to every client.
    first = next(i for i, line in enumerate(acl.splitlines()) if line.startswith("user "))
    assert all(line.startswith("#") for line in acl.splitlines()[:first])


def test_prefix_with_levels_is_used_everywhere() -> None:
    assert device_topics("ro/turnu", "gauge-01", "river_gauge") == ("ro/turnu/devices/gauge-01/#",)
    assert "topic read ro/turnu/drones/+/+" in render_acl("ro/turnu", {}, [INGEST])


@pytest.mark.parametrize("bad", ["a+b", "a#b", "a/b", "a b", "a\nb", "a\tb", "a:b", ""])
def test_device_ids_that_break_the_acl_are_refused(bad: str) -> None:
    with pytest.raises(InvalidMqttName, match="cannot be used on the MQTT broker"):
        render_acl("city", {bad: "river_gauge"}, [])


@pytest.mark.parametrize("bad", ["city/", "ci+ty", "city/#", "ci ty", ""])
def test_bad_prefixes_are_refused(bad: str) -> None:
    with pytest.raises(InvalidMqttName, match="topic prefix level"):
        check_prefix(bad)


def test_service_account_without_a_role_is_refused() -> None:
    rogue = StoredCredential("smartcity-rogue", "$7$1$x$y", service="rogue")
    with pytest.raises(CredentialError, match="no role"):
        render_acl("city", {}, [rogue])


def test_password_file_has_one_line_per_credential() -> None:
    assert render_passwd([GAUGE, INGEST]) == (
        f"gauge-01:{GAUGE.password_hash}\nsmartcity-ingest:{INGEST.password_hash}\n"
    )


def test_conf_refuses_anonymous_and_names_the_files(tmp_path: Path) -> None:
    conf = render_conf(tmp_path, ListenerOptions(port=18830, bind="0.0.0.0"))
    lines = conf.splitlines()
    assert "listener 18830 0.0.0.0" in lines
    assert "allow_anonymous false" in lines
    assert f"password_file {tmp_path.resolve() / 'passwd'}" in lines
    assert f"acl_file {tmp_path.resolve() / 'acl'}" in lines
    assert "persistence true" in lines
    assert not any(line.startswith(("persistence_location", "user ")) for line in lines)
    with_dir = render_conf(tmp_path, ListenerOptions(run_as="mqtt", persistence_dir=tmp_path))
    assert f"persistence_location {tmp_path.resolve()}/" in with_dir.splitlines()
    assert "user mqtt" in with_dir.splitlines()


def test_atomic_write_sets_mode_and_leaves_no_temporary_file(tmp_path: Path) -> None:
    target = tmp_path / "acl"
    target.write_text("old")
    target.chmod(0o644)
    write_atomic(target, "new\n", 0o640)
    assert target.read_text() == "new\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["acl"]


@pytest.mark.integration
def test_files_come_from_the_registry_and_a_bad_id_changes_nothing(
    pg_url: str, tmp_path: Path
) -> None:
    out = tmp_path / "broker"
    with psycopg.connect(pg_url, autocommit=True) as conn:
        migrations.upgrade(conn)
        register(conn, [Device("gauge-01", "river_gauge", ("water_level",))])
        device = issue_device_credentials(conn, "gauge-01")
        service = issue_service_credentials(conn, "ingest")
        files = write_broker_files(conn, out, "city")
        modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in out.iterdir()}
        assert modes == {"passwd": 0o600, "acl": 0o640, "mosquitto.conf": 0o640}
        users = [line.split(":", 1)[0] for line in files.passwd.read_text().splitlines()]
        assert users == [device.username, service.username]
        before = {p.name: p.read_text() for p in out.iterdir()}

        register(conn, [Device("bad id", "air_quality", ("pm25",))])
        with pytest.raises(InvalidMqttName, match="device id 'bad id'.*whitespace"):
            write_broker_files(conn, out, "city")
        assert {p.name: p.read_text() for p in out.iterdir()} == before

from __future__ import annotations

import base64
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from storage import credentials as store
from storage import migrations
from storage.devices import Device, register
from twin.credentials import (
    HASH_ITERATIONS,
    hash_password,
    issue_device_credentials,
    issue_service_credentials,
    new_password,
    verify_password,
)

IN_CI = os.environ.get("CI") == "true"


def test_hash_has_mosquitto_2_pbkdf2_layout() -> None:
    empty, kind, iterations, salt, digest = hash_password("s3cret").split("$")
    assert (empty, kind, iterations) == ("", "7", str(HASH_ITERATIONS))
    assert len(base64.b64decode(salt, validate=True)) == 12
    assert len(base64.b64decode(digest, validate=True)) == 64


def test_hash_equals_mosquitto_passwd_output(tmp_path: Path) -> None:
    tool = shutil.which("mosquitto_passwd")
    if tool is None:
        if IN_CI:
            pytest.fail("mosquitto_passwd required in CI")
        pytest.skip("mosquitto_passwd is not installed")
    passwd = tmp_path / "passwd"
    subprocess.run([tool, "-c", "-b", str(passwd), "alice", "s3cret"], check=True)
    username, encoded = passwd.read_text().strip().split(":", 1)
    _, _, iterations, salt, _ = encoded.split("$")
    assert username == "alice"
    assert verify_password("s3cret", encoded)
    assert not verify_password("s3cret ", encoded)
    rebuilt = hash_password("s3cret", iterations=int(iterations), salt=base64.b64decode(salt))
    assert rebuilt == encoded


def test_verify_refuses_wrong_and_malformed_hashes() -> None:
    encoded = hash_password("right")
    assert verify_password("right", encoded)
    assert not verify_password("wrong", encoded)
    for malformed in (
        "",
        "right",
        "$6$abc$def",
        "$7$x$AAAA$AAAA",
        "$7$0$AAAA$AAAA",
        "$7$10$!!$AAAA",
    ):
        assert not verify_password("right", malformed)


def test_salts_and_passwords_are_fresh() -> None:
    assert hash_password("same") != hash_password("same")
    passwords = {new_password() for _ in range(50)}
    assert len(passwords) == 50
    assert all(len(p) == 32 and p.replace("-", "").replace("_", "").isalnum() for p in passwords)


@pytest.mark.parametrize("bad", ["a+b", "a#", "a/b", "a b", "a\tb", "a\nb", "a:b", "", "a\x00"])
def test_names_that_break_mosquitto_files_are_refused(bad: str) -> None:
    with pytest.raises(store.InvalidMqttName, match="cannot be used on the MQTT broker"):
        store.check_mqtt_name(bad)


@pytest.fixture
def registry(pg_url: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(pg_url, autocommit=True) as conn:
        migrations.upgrade(conn)
        register(
            conn,
            [
                Device("gauge-01", "river_gauge", ("water_level",)),
                Device("smartcity-ingest", "air_quality", ("pm25",)),
                Device("bad/id", "air_quality", ("pm25",)),
            ],
        )
        yield conn


@pytest.mark.integration
def test_device_password_is_stored_only_as_hash(registry: psycopg.Connection) -> None:
    issued = issue_device_credentials(registry, "gauge-01")
    assert issued.username == "gauge-01"
    assert issued.password not in repr(issued)
    [stored] = store.all_credentials(registry)
    assert stored.device_id == "gauge-01" and stored.service is None
    assert verify_password(issued.password, stored.password_hash)
    row = registry.execute("SELECT mqtt_credentials::text FROM mqtt_credentials").fetchone()
    assert row is not None and issued.password not in row[0]


@pytest.mark.integration
def test_reissue_needs_rotate_and_rotation_retires_the_old_password(
    registry: psycopg.Connection,
) -> None:
    first = issue_device_credentials(registry, "gauge-01")
    with pytest.raises(store.CredentialError, match="already has MQTT credentials"):
        issue_device_credentials(registry, "gauge-01")
    second = issue_device_credentials(registry, "gauge-01", rotate=True)
    [stored] = store.all_credentials(registry)
    assert verify_password(second.password, stored.password_hash)
    assert not verify_password(first.password, stored.password_hash)


@pytest.mark.integration
def test_unknown_and_unusable_devices_are_refused(registry: psycopg.Connection) -> None:
    with pytest.raises(store.UnknownDevice, match="not registered"):
        issue_device_credentials(registry, "ghost-7")
    with pytest.raises(store.InvalidMqttName, match="'/'"):
        issue_device_credentials(registry, "bad/id")
    assert store.all_credentials(registry) == []


@pytest.mark.integration
def test_service_account_cannot_take_a_device_user_name(registry: psycopg.Connection) -> None:
    issue_device_credentials(registry, "smartcity-ingest")
    with pytest.raises(store.CredentialError, match="already belongs to device smartcity-ingest"):
        issue_service_credentials(registry, "ingest", rotate=True)
    [stored] = store.all_credentials(registry)
    assert stored.device_id == "smartcity-ingest"


@pytest.mark.integration
def test_deleting_a_device_deletes_its_credentials(registry: psycopg.Connection) -> None:
    issue_device_credentials(registry, "gauge-01")
    service = issue_service_credentials(registry, "ingest")
    assert service.username == "smartcity-ingest"
    registry.execute("DELETE FROM devices WHERE device_id = 'gauge-01'")
    assert [c.service for c in store.all_credentials(registry)] == ["ingest"]

from __future__ import annotations

import os
import pwd
import stat
from pathlib import Path

import psycopg
import pytest

from ingest_mqtt.broker_acl import (
    BrokerFilesError,
    ListenerOptions,
    TlsFiles,
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
from tests import certificates
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


def _listeners(conf: str) -> tuple[list[str], dict[str, list[str]]]:
    """The global lines of a conf and each listener's lines, by its ``listener`` line."""
    preamble: list[str] = []
    listeners: dict[str, list[str]] = {}
    current = preamble
    for line in conf.splitlines():
        if line.startswith("listener "):
            current = listeners.setdefault(line, [])
        elif line and not line.startswith("#"):
            current.append(line)
    return preamble, listeners


TLS = TlsFiles(Path("/etc/ssl/broker.pem"), Path("/etc/ssl/broker.key"))


def test_conf_binds_device_ids_on_tls_and_keeps_the_hub_apart(tmp_path: Path) -> None:
    conf = render_conf(tmp_path, ListenerOptions(tls=TLS, run_as=None))
    preamble, listeners = _listeners(conf)
    assert "per_listener_settings true" in preamble
    assert "persistence true" in preamble
    assert not any(line.startswith(("persistence_location", "user ")) for line in preamble)
    directory = tmp_path.resolve()
    assert listeners == {
        "listener 8883": [
            "certfile /etc/ssl/broker.pem",
            "keyfile /etc/ssl/broker.key",
            "use_username_as_clientid true",
            "allow_anonymous false",
            f"password_file {directory / 'passwd'}",
            f"acl_file {directory / 'acl'}",
        ],
        "listener 1883 127.0.0.1": [
            "allow_anonymous false",
            f"password_file {directory / 'passwd-hub'}",
            f"acl_file {directory / 'acl'}",
        ],
    }
    with_dir = render_conf(
        tmp_path, ListenerOptions(tls=TLS, run_as="mqtt", persistence_dir=tmp_path)
    )
    assert f"persistence_location {directory}/" in with_dir.splitlines()
    assert "user mqtt" in with_dir.splitlines()


def test_a_hub_listener_off_loopback_speaks_tls(tmp_path: Path) -> None:
    options = ListenerOptions(port=18830, bind="10.0.0.5", tls_bind="192.0.2.1", tls=TLS)
    _, listeners = _listeners(render_conf(tmp_path, options))
    assert set(listeners) == {"listener 8883 192.0.2.1", "listener 18830 10.0.0.5"}
    hub = listeners["listener 18830 10.0.0.5"]
    assert hub[:2] == ["certfile /etc/ssl/broker.pem", "keyfile /etc/ssl/broker.key"]
    assert "use_username_as_clientid true" not in hub


def test_conf_without_tls_says_what_to_set(tmp_path: Path) -> None:
    with pytest.raises(BrokerFilesError, match="set SMARTCITY_BROKER_CERT_FILE and"):
        render_conf(tmp_path, ListenerOptions())


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
    certs = certificates.issue(tmp_path / "tls")
    options = ListenerOptions(tls=TlsFiles(certs.cert, certs.key), run_as=None)
    with psycopg.connect(pg_url, autocommit=True) as conn:
        migrations.upgrade(conn)
        register(conn, [Device("gauge-01", "river_gauge", ("water_level",))])
        device = issue_device_credentials(conn, "gauge-01")
        service = issue_service_credentials(conn, "ingest")
        files = write_broker_files(conn, out, "city", options)
        modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in out.iterdir()}
        assert modes == {
            "passwd": 0o600,
            "passwd-hub": 0o600,
            "acl": 0o640,
            "mosquitto.conf": 0o640,
        }
        # devices on their listener, service accounts on the hub's: never the other way
        assert _users(files.passwd) == [device.username]
        assert _users(files.passwd_hub) == [service.username]
        before = {p.name: p.read_text() for p in out.iterdir()}

        register(conn, [Device("bad id", "air_quality", ("pm25",))])
        with pytest.raises(InvalidMqttName, match="device id 'bad id'.*whitespace"):
            write_broker_files(conn, out, "city", options)
        assert {p.name: p.read_text() for p in out.iterdir()} == before


def _users(passwd: Path) -> list[str]:
    return [line.split(":", 1)[0] for line in passwd.read_text().splitlines()]


@pytest.mark.integration
def test_files_are_given_to_the_user_the_broker_switches_to(
    pg_url: str, shared_dir: Path, tmp_path: Path
) -> None:
    broker_user = pwd.getpwnam("nobody")
    certs = certificates.issue(shared_dir / "tls")
    for path in (certs.cert, certs.key):
        os.chown(path, broker_user.pw_uid, broker_user.pw_gid)
    tls = TlsFiles(certs.cert, certs.key)
    options = ListenerOptions(tls=tls, run_as="nobody", persistence_dir=shared_dir / "db")
    with psycopg.connect(pg_url, autocommit=True) as conn:
        migrations.upgrade(conn)
        private = tmp_path / "broker"  # under pytest's directory, root's alone
        with pytest.raises(BrokerFilesError, match="nobody, the user .* cannot enter /tmp/"):
            write_broker_files(conn, private, "city", options)
        assert not private.exists()

        files = write_broker_files(conn, shared_dir / "broker", "city", options)
        for path in (files.passwd, files.passwd_hub, files.acl, files.conf, shared_dir / "db"):
            found = path.stat()
            assert (found.st_uid, found.st_gid) == (broker_user.pw_uid, broker_user.pw_gid), path
        assert "user nobody" in files.conf.read_text().splitlines()

        unknown = ListenerOptions(tls=tls, run_as="no-such-user")
        with pytest.raises(BrokerFilesError, match="no system user 'no-such-user'.*--run-as"):
            write_broker_files(conn, shared_dir / "other", "city", unknown)
        missing = ListenerOptions(tls=TlsFiles(shared_dir / "none.pem", certs.key), run_as=None)
        with pytest.raises(BrokerFilesError, match="none.pem is not a file.*CERT_FILE"):
            write_broker_files(conn, shared_dir / "other", "city", missing)
        assert not (shared_dir / "other").exists()

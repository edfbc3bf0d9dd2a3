"""``smartcity devices``: issuing credentials and writing the broker files."""

from __future__ import annotations

import getpass
from pathlib import Path

import psycopg
import pytest
from typer.testing import CliRunner

from hub.cli import app
from storage import migrations
from storage.devices import Device, register
from tests import certificates
from twin.credentials import verify_password

pytestmark = pytest.mark.integration


@pytest.fixture
def env(pg_url: str, tmp_path: Path) -> dict[str, str]:
    with psycopg.connect(pg_url, autocommit=True) as conn:
        migrations.upgrade(conn)
        register(
            conn,
            [
                Device("gauge-01", "river_gauge", ("water_level",)),
                Device("bay 12", "parking_bay", ("occupied",)),
            ],
        )
    return {"SMARTCITY_DATABASE_URL": pg_url, "SMARTCITY_DATA_DIR": str(tmp_path / "var")}


def _issued(output: str) -> tuple[str, str]:
    fields = dict(line.split(": ", 1) for line in output.splitlines())
    return fields["username"], fields["password"]


def test_credentials_are_shown_once_and_exported_as_hashes(
    env: dict[str, str], tmp_path: Path
) -> None:
    runner = CliRunner()
    device = runner.invoke(app, ["devices", "credentials", "gauge-01"], env=env)
    assert device.exit_code == 0, device.output
    assert "shown only now" in device.stderr
    username, password = _issued(device.stdout)
    assert username == "gauge-01"

    again = runner.invoke(app, ["devices", "credentials", "gauge-01"], env=env)
    assert again.exit_code == 2
    assert "already has MQTT credentials; use --rotate" in again.stderr
    rotated = runner.invoke(app, ["devices", "credentials", "gauge-01", "--rotate"], env=env)
    assert rotated.exit_code == 0, rotated.output
    _, new_password = _issued(rotated.stdout)

    service = runner.invoke(app, ["devices", "service-account", "ingest"], env=env)
    assert service.exit_code == 0, service.output
    assert _issued(service.stdout)[0] == "smartcity-ingest"

    out = tmp_path / "broker"
    command = ["devices", "broker-acl", "--out", str(out), "--prefix", "town"]
    command += ["--run-as", getpass.getuser()]
    written = runner.invoke(app, command, env=env)
    # The registry holds "bay 12": nothing can be exported until it is renamed.
    assert written.exit_code == 2
    assert "device id 'bay 12' cannot be used on the MQTT broker" in written.stderr
    assert not out.exists()

    with psycopg.connect(env["SMARTCITY_DATABASE_URL"], autocommit=True) as conn:
        conn.execute("DELETE FROM devices WHERE device_id = 'bay 12'")
    untrusted = runner.invoke(app, command, env=env)
    assert untrusted.exit_code == 2
    assert "devices connect over TLS only: set SMARTCITY_BROKER_CERT_FILE" in untrusted.stderr
    assert not out.exists()
    certs = certificates.issue(tmp_path / "tls")
    env = {
        **env,
        "SMARTCITY_BROKER_CERT_FILE": str(certs.cert),
        "SMARTCITY_BROKER_KEY_FILE": str(certs.key),
    }
    written = runner.invoke(app, command, env=env)
    assert written.exit_code == 0, written.output
    passwd = dict(line.split(":", 1) for line in (out / "passwd").read_text().splitlines())
    assert set(passwd) == {"gauge-01"}
    assert (out / "passwd-hub").read_text().startswith("smartcity-ingest:$7$")
    assert f"certfile {certs.cert.resolve()}" in (out / "mosquitto.conf").read_text()
    assert verify_password(new_password, passwd["gauge-01"])
    assert not verify_password(password, passwd["gauge-01"])
    assert password not in (out / "passwd").read_text()
    assert "topic write town/devices/gauge-01/#" in (out / "acl").read_text()


def test_unknown_devices_and_services_are_refused(env: dict[str, str]) -> None:
    runner = CliRunner()
    unknown = runner.invoke(app, ["devices", "credentials", "ghost-7"], env=env)
    assert unknown.exit_code == 2
    assert "device 'ghost-7' is not registered" in unknown.stderr
    service = runner.invoke(app, ["devices", "service-account", "billing"], env=env)
    assert service.exit_code == 2
    assert "unknown service 'billing'" in service.output

"""Mosquitto started as root switches to its own user before it loads its TLS key, the
password files and the ACL (and reads everything again on SIGHUP): the generated files
must be that user's, or the broker refuses to start, or to reload, or forgets its
sessions; a key it could not read is refused before anything is written."""

from __future__ import annotations

import pwd
import signal
from pathlib import Path

import psycopg
import pytest

from ingest_mqtt.broker_acl import BrokerFilesError, ListenerOptions, TlsFiles, write_broker_files
from storage import migrations
from storage.devices import Device, register
from tests import certificates
from tests.ingest_mqtt.generated_broker import Broker, Session, generated_broker
from tests.live_ingest import wait_for
from twin.credentials import issue_device_credentials, issue_service_credentials

pytestmark = pytest.mark.integration

BROKER_USER = "mosquitto"


def _session(broker: Broker, username: str, password: str) -> Session:
    return Session(broker.tls_port, username, password, ca=broker.certificates.ca)


def test_a_broker_that_switches_users_reads_and_reloads_the_files(
    pg_url: str, shared_dir: Path
) -> None:
    try:
        pwd.getpwnam(BROKER_USER)
    except KeyError:
        pytest.skip(f"no {BROKER_USER} user (Mosquitto's package creates it)")
    with psycopg.connect(pg_url, autocommit=True) as conn:
        migrations.upgrade(conn)
        register(
            conn,
            [
                Device("gauge-01", "river_gauge", ("water_level",)),
                Device("gauge-02", "river_gauge", ("water_level",)),
            ],
        )
        issued = [
            issue_device_credentials(conn, "gauge-01"),
            issue_service_credentials(conn, "ingest"),
        ]
        # A key as a CA hands it out, root's alone: the broker could not load it.
        root_only = certificates.issue(shared_dir / "root-only")
        options = ListenerOptions(tls=TlsFiles(root_only.cert, root_only.key), run_as=BROKER_USER)
        says = f"{BROKER_USER}, the user Mosquitto switches to before loading it, cannot read"
        with pytest.raises(BrokerFilesError, match=f"{says} {root_only.key}: give it"):
            write_broker_files(conn, shared_dir / "refused", "city", options)
        assert not (shared_dir / "refused").exists()

        with generated_broker(conn, shared_dir, issued, run_as=BROKER_USER) as broker:
            assert _process_user(broker.process.pid) == BROKER_USER, "it did not switch users"
            first = _session(broker, "gauge-01", issued[0].password)
            try:
                assert first.connected().value == 0
            finally:
                first.close()

            # A new device's password, the files written again, a reload: it connects.
            second = issue_device_credentials(conn, "gauge-02")
            write_broker_files(conn, broker.files_dir, "city", broker.options)
            # What the reload logs: before it, the harness's readiness probe (a bare TCP
            # connection to the TLS port) may have logged an OpenSSL "unexpected eof".
            reload_logged_from = len(broker.log_text())
            broker.process.send_signal(signal.SIGHUP)

            def admitted() -> bool:
                session = _session(broker, "gauge-02", second.password)
                try:
                    return session.connected().value == 0
                finally:
                    session.close()

            wait_for(admitted)
            reloaded = broker.log_text()[reload_logged_from:]
            assert "Error" not in reloaded, broker.log_text()
        # On its way out the broker saved its sessions where it may write.
        assert broker.options.persistence_dir is not None
        assert (broker.options.persistence_dir / "mosquitto.db").is_file()


def _process_user(pid: int) -> str:
    """The effective user of a running process."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Uid:"):
            return pwd.getpwuid(int(line.split()[2])).pw_name
    raise AssertionError(f"no Uid line for process {pid}")

"""The ``smartcity`` command line."""

from __future__ import annotations

import contextlib
import logging
import signal
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from auth.errors import AccountError
from auth.principal import Role
from settings import Settings

if TYPE_CHECKING:
    import psycopg

app = typer.Typer(help="Smart-city hub and digital twin.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
layers_app = typer.Typer(help="GIS layers.", no_args_is_help=True)
devices_app = typer.Typer(help="Device credentials and broker access.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(layers_app, name="layers")
app.add_typer(devices_app, name="devices")
carbon_app = typer.Typer(help="Carbon inventory: activity data.", no_args_is_help=True)
app.add_typer(carbon_app, name="carbon")
opendata_app = typer.Typer(help="Open data: which datasets are public.", no_args_is_help=True)
app.add_typer(opendata_app, name="opendata")

# The flood options of `simulate`, which `demo` passes on to its simulator.
FloodPeak = Annotated[
    float | None, typer.Option(help="add a flood wave peaking at this level (cm)")
]
FloodRiseMinutes = Annotated[float, typer.Option(min=1, help="flood wave rise time (minutes)")]
FloodFallMinutes = Annotated[float, typer.Option(min=1, help="flood wave recession time (minutes)")]
FLOOD_RISE_MINUTES = 30.0
FLOOD_FALL_MINUTES = 120.0


def _setup_logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    logging.getLogger("amqtt").setLevel(logging.WARNING)
    logging.getLogger("transitions").setLevel(logging.WARNING)
    logging.getLogger("gmqtt").setLevel(logging.WARNING)  # every packet at INFO


def _settings() -> Settings:
    from hub.services import with_broker_defaults

    try:
        return with_broker_defaults(Settings())
    except Exception as exc:  # pydantic's message names the variable and the problem
        raise typer.BadParameter(f"invalid configuration: {exc}") from exc


def _stop_on_signals() -> threading.Event:
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda *_: stop.set())
    return stop


@contextlib.contextmanager
def _migrated_database(settings: Settings) -> Iterator[psycopg.Connection]:
    """A connection to the configured (or embedded) database, migrated to the latest schema."""
    from hub.services import database_url
    from storage import migrations
    from storage.database import connect

    with database_url(settings) as url, connect(url) as conn:
        migrations.upgrade(conn)
        yield conn


@contextlib.contextmanager
def _user_errors(*families: type[Exception]) -> Iterator[None]:
    """Report errors the user can fix on stderr and exit with status 2, without a trace."""
    try:
        yield
    except families as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply pending schema migrations."""
    from hub.services import database_url
    from storage import migrations, rollups
    from storage.database import connect

    _setup_logging()
    settings = _settings()
    with database_url(settings) as url, connect(url) as conn:
        applied = migrations.upgrade(conn)
        rollups.configure(conn, settings)
        typer.echo(f"applied {applied or 'nothing'}; readings: {migrations.readings_storage(conn)}")


@db_app.command("retention")
def db_retention() -> None:
    """Apply the retention settings once: drop old raw partitions or chunks, delete the
    quantities kept shorter, drop old rollups (the ingest workers do it hourly)."""
    from storage import retention

    _setup_logging()
    settings = _settings()
    with _migrated_database(settings) as conn:
        report = retention.apply(conn, settings)
        conn.commit()
        typer.echo(str(report))


@db_app.command("rollups")
def db_rollups(
    everything: Annotated[
        bool,
        typer.Option(
            "--all",
            help="TimescaleDB: materialize the whole history (once, after upgrading a"
            " database that has readings)",
        ),
    ] = False,
) -> None:
    """Refresh the rollups now (the ingest workers, or TimescaleDB's policies, do it as
    readings arrive): where TimescaleDB's background workers do not run, run this."""
    from storage import rollups

    _setup_logging()
    settings = _settings()
    with _migrated_database(settings) as conn:
        rollups.configure(conn, settings)
        conn.commit()
        recomputed = total = rollups.refresh(conn, settings, everything=everything)
        conn.commit()
        while recomputed:  # plain PostgreSQL works a backlog off a day at a time
            recomputed = rollups.refresh(conn, settings)
            conn.commit()
            total += recomputed
        typer.echo(f"rollups refreshed ({total} buckets recomputed)")


@layers_app.command("import")
def layers_import(
    path: Path,
    name: Annotated[str | None, typer.Option(help="collection id for a single-layer file")] = None,
    crs: Annotated[str | None, typer.Option(help="CRS of a file that declares none")] = None,
    polygons: Annotated[
        bool, typer.Option(help="closed lines become polygons (cadastral DXF exports)")
    ] = False,
) -> None:
    """Import a vector file (GeoPackage, Shapefile, GeoJSON, DXF) as layers; progress and
    repairs are logged."""
    from gis_layers.errors import LayerImportError
    from gis_layers.importer import import_file
    from twin.registry import sync_from_layers

    _setup_logging()
    with _migrated_database(_settings()) as conn, _user_errors(LayerImportError):
        reports = import_file(conn, path, name=name, crs=crs, polygons=polygons)
        for report in reports:
            typer.echo(
                f"{report.layer_id}: {report.features} features ({report.source_crs}),"
                f" {len(report.repaired)} repaired"
            )
        # assets, sensors, parcels or zones may have changed: the twin follows
        twin = sync_from_layers(conn)
        typer.echo(f"twin: {twin.assets} assets, {twin.devices} devices, {twin.placed} placed")


@carbon_app.command("import")
def carbon_import(
    path: Path,
    by: Annotated[str | None, typer.Option(help="who imports it (kept with the file)")] = None,
) -> None:
    """Import a CSV of consumptions (fleet fuel, energy invoices): every row or none; bad
    rows are listed by line and reason (columns: docs/carbon.md)."""
    from carbon.errors import CarbonError
    from carbon.factors import table_from
    from carbon.importer import import_csv

    _setup_logging()
    settings = _settings()
    with _migrated_database(settings) as conn, _user_errors(CarbonError):
        report = import_csv(conn, path, table_from(settings.carbon_factors_file), by)
        typer.echo(
            f"{report.file_name}: {report.rows} rows imported ({report.months[0]} to"
            f" {report.months[1]}), import {report.import_id}"
        )


rasters_app = typer.Typer(help="Raster layers.", no_args_is_help=True)
app.add_typer(rasters_app, name="rasters")


@rasters_app.command("import")
def rasters_import(
    path: Path,
    name: Annotated[str | None, typer.Option(help="raster id (default: the file name)")] = None,
    crs: Annotated[str | None, typer.Option(help="CRS of a file that declares none")] = None,
) -> None:
    """Register a raster (GeoTIFF: terrain model, orthomosaic); its cells stay in the file."""
    from gis_layers.errors import LayerImportError
    from gis_layers.rasters import register

    _setup_logging()
    with _migrated_database(_settings()) as conn, _user_errors(LayerImportError):
        report = register(conn, path, name=name, crs=crs)
        conn.commit()
        typer.echo(f"{report.raster_id}: {report.width} x {report.height} cells ({report.crs})")


@app.command("demo-data")
def demo_data(
    seed: Annotated[
        int | None, typer.Option(help="generator seed (default SMARTCITY_SEED)")
    ] = None,
    out: Annotated[Path | None, typer.Option(help="directory for town.gpkg and dem.tif")] = None,
) -> None:
    """Generate the demo town's files and import them through the normal import path,
    with the last weeks of its lot counters' readings (hub/demo_history.py)."""
    from hub.demo_data import load_demo_town
    from hub.demo_history import fill_lot_history
    from hub.services import database_url
    from storage.database import connect

    _setup_logging()
    settings = _settings()
    seed = seed if seed is not None else settings.seed
    with database_url(settings) as url:
        load_demo_town(url, out or settings.data_dir / "demo", seed)
        with connect(url) as conn:
            fill_lot_history(conn, seed, datetime.now(UTC))


@app.command("simulate")
def simulate(
    flood_peak: FloodPeak = None,
    flood_rise_minutes: FloodRiseMinutes = FLOOD_RISE_MINUTES,
    flood_fall_minutes: FloodFallMinutes = FLOOD_FALL_MINUTES,
) -> None:
    """Publish realistic telemetry over MQTT for every registered demo device."""
    from hub import simulate as sim
    from hub.services import broker_url, database_url
    from simulator.signals import FloodWave
    from storage.database import connect

    _setup_logging()
    settings = _settings()
    stop = _stop_on_signals()
    with database_url(settings) as url, connect(url) as conn:
        devices = sim.load_devices(conn)
        survey = sim.drone_survey(conn)
    if not devices:
        typer.echo("no devices registered: run `smartcity demo-data` first", err=True)
        raise typer.Exit(2)
    flood = None
    if flood_peak is not None:
        flood = FloodWave.under_way(
            datetime.now(UTC), flood_peak, flood_rise_minutes, flood_fall_minutes
        )
    with broker_url(settings) as mqtt_url:
        typer.echo(f"simulating {len(devices)} devices on {mqtt_url}")
        sim.run(
            devices,
            mqtt_url,
            stop,
            seed=settings.seed,
            topic_prefix=settings.topic_prefix,
            flood=flood,
            protocol=settings.mqtt_protocol,
            survey=survey,
            client_id=settings.client_id(f"simulator-{settings.seed}"),
            ca_file=settings.mqtt_ca_file,
        )


@app.command("ingest")
def ingest(
    worker: Annotated[
        str | None, typer.Option(help="worker name appended to the client id (scale-out)")
    ] = None,
) -> None:
    """Run an ingestion worker: MQTT in, batches committed to PostgreSQL."""
    from hub.services import broker_url, database_url
    from ingest_mqtt.worker import IngestWorker

    _setup_logging()
    settings = _settings()
    if worker:
        settings = settings.model_copy(
            update={"ingest_client_id": f"{settings.ingest_client_id}-{worker}"}
        )
    stop = _stop_on_signals()
    with database_url(settings) as url, broker_url(settings) as mqtt_url:
        running = IngestWorker(settings, url, mqtt_url)
        running.run(stop)
        typer.echo(f"ingest stopped: {running.stats}")


@app.command("river")
def river() -> None:
    """Run the Danube monitor, the parking and the air-quality alerts: alerts from every
    gauge reading, every lot's state and every station's hours, notifications out; and the
    parking history's sampling of every lot and zone each 5 minutes."""
    from functools import partial

    from air import alert_monitor as air_monitor
    from alerts.config import ConfigFileError, load_webhooks
    from demo_town.river import river_config
    from hub.services import broker_url, database_url
    from parking import alert_monitor
    from river_monitor import service
    from storage import migrations
    from storage.database import connect

    _setup_logging()
    settings = _settings()
    with _user_errors(ConfigFileError):  # a bad file: refused before connecting
        config = river_config(settings.river_config)
        parking_webhooks = load_webhooks(settings.parking_webhooks_file)
        air_webhooks = load_webhooks(settings.air_webhooks_file)
    stop = _stop_on_signals()
    with database_url(settings) as url, broker_url(settings) as mqtt:
        with connect(url) as conn:
            migrations.upgrade(conn)
        parking = partial(alert_monitor.serve, settings, parking_webhooks, url)
        air = partial(air_monitor.serve, settings, air_webhooks, url)
        service.run(settings, config, url, mqtt, stop, also=[parking, air])


@app.command("serve")
def serve(
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            help="API processes sharing the port (each with its own live twin, fed by"
            " PostgreSQL notifications)",
        ),
    ] = 1,
) -> None:
    """Serve the HTTP API and the map."""
    import os

    import uvicorn

    from hub.services import database_url
    from storage import migrations
    from storage.database import connect

    _setup_logging()
    settings = _settings()
    with database_url(settings) as url:
        with connect(url) as conn:
            migrations.upgrade(conn)
        # Each worker builds the app from the environment (uvicorn's workers are
        # spawned processes): the embedded server's URL too.
        os.environ["SMARTCITY_DATABASE_URL"] = url
        uvicorn.run(
            "hub.services:api_app",
            factory=True,
            workers=workers,
            host=settings.http_host,
            port=settings.http_port,
            log_level="info" if settings.access_log else "warning",
            access_log=settings.access_log,
            timeout_keep_alive=settings.keep_alive_s,
            timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
        )


GRACEFUL_SHUTDOWN_S = 5
"""How long a stopping API waits for open requests: live streams never end by themselves."""


@app.command("broker")
def broker(port: Annotated[int, typer.Option(help="TCP port on 127.0.0.1")] = 11883) -> None:
    """Run the embedded MQTT broker on its own (for development)."""
    from hub.broker import EmbeddedBroker

    _setup_logging()
    stop = _stop_on_signals()
    running = EmbeddedBroker("127.0.0.1", port).start()
    typer.echo(f"embedded MQTT broker on {running.url}")
    stop.wait()
    running.stop()


@app.command("demo")
def demo(
    seed: Annotated[
        int | None, typer.Option(help="demo town seed (default SMARTCITY_SEED)")
    ] = None,
    flood_peak: FloodPeak = None,
    flood_rise_minutes: FloodRiseMinutes = FLOOD_RISE_MINUTES,
    flood_fall_minutes: FloodFallMinutes = FLOOD_FALL_MINUTES,
) -> None:
    """Run everything: database, broker, demo town, simulators, ingestion and the API;
    with --flood-peak, a flood wave whose gauge rules run as fast as it does."""
    from hub.demo import DemoFlood, DemoStartError, FloodTooSteep, river_rules, run_demo
    from river_monitor.config import RiverConfigError
    from simulator.errors import InvalidInputError

    _setup_logging()
    settings = _settings()
    if seed is not None:
        settings = settings.model_copy(update={"seed": seed})
    flood, rules = None, None
    if flood_peak is not None:
        with _user_errors(FloodTooSteep, InvalidInputError, RiverConfigError):
            flood = DemoFlood(flood_peak, flood_rise_minutes, flood_fall_minutes)
            rules = river_rules(settings, flood, datetime.now(UTC))
    try:
        code = run_demo(settings, _stop_on_signals(), flood=flood, rules=rules)
    except (DemoStartError, TimeoutError) as exc:  # the process that failed logged why
        typer.echo(f"error: {exc}; the demo is stopped", err=True)
        code = 1
    raise typer.Exit(code)


def _echo_issued(username: str, password: str) -> None:
    typer.echo(f"username: {username}\npassword: {password}")
    typer.echo(
        "The password is shown only now. Regenerate the broker files"
        " (`smartcity devices broker-acl --out DIR`) and reload Mosquitto (SIGHUP).",
        err=True,
    )


@devices_app.command("credentials")
def devices_credentials(
    device_id: str,
    rotate: Annotated[bool, typer.Option(help="replace the device's existing password")] = False,
) -> None:
    """Issue a random MQTT password for a registered device (shown once, stored hashed)."""
    from storage.credentials import CredentialError
    from twin.credentials import issue_device_credentials

    _setup_logging()
    with _migrated_database(_settings()) as conn, _user_errors(CredentialError):
        issued = issue_device_credentials(conn, device_id, rotate=rotate)
    _echo_issued(issued.username, issued.password)


@devices_app.command("service-account")
def devices_service_account(
    name: Annotated[str, typer.Argument(help="service role, e.g. ingest")],
    rotate: Annotated[bool, typer.Option(help="replace the account's existing password")] = False,
) -> None:
    """Issue a random MQTT password for a service account such as the ingestion worker."""
    from ingest_mqtt.broker_acl import SERVICE_ROLES
    from storage.credentials import CredentialError
    from twin.credentials import issue_service_credentials

    if name not in SERVICE_ROLES:
        raise typer.BadParameter(f"unknown service {name!r}; known: {', '.join(SERVICE_ROLES)}")
    _setup_logging()
    with _migrated_database(_settings()) as conn, _user_errors(CredentialError):
        issued = issue_service_credentials(conn, name, rotate=rotate)
    _echo_issued(issued.username, issued.password)


@devices_app.command("broker-acl")
def devices_broker_acl(
    out: Annotated[
        Path, typer.Option(help="directory for passwd, passwd-hub, acl and mosquitto.conf")
    ],
    prefix: Annotated[
        str | None, typer.Option(help="topic prefix (default SMARTCITY_TOPIC_PREFIX)")
    ] = None,
    tls_port: Annotated[int, typer.Option(help="the devices' TLS listener port")] = 8883,
    tls_bind: Annotated[
        str | None, typer.Option(help="the devices' listener address (default: every one)")
    ] = None,
    port: Annotated[int, typer.Option(help="the hub's listener port")] = 1883,
    bind: Annotated[
        str, typer.Option(help="the hub's listener address (TLS unless loopback)")
    ] = "127.0.0.1",
    run_as: Annotated[
        str, typer.Option(help="system user Mosquitto switches to when started as root")
    ] = "mosquitto",
    persistence_dir: Annotated[
        Path | None, typer.Option(help="persistence_location (unset: the broker's default)")
    ] = None,
) -> None:
    """Write Mosquitto password, ACL and config files: each device publishes only its own,
    over TLS (SMARTCITY_BROKER_CERT_FILE, SMARTCITY_BROKER_KEY_FILE), as itself."""
    from ingest_mqtt.broker_acl import ListenerOptions, TlsFiles, write_broker_files
    from storage.credentials import CredentialError

    _setup_logging()
    settings = _settings()
    tls = None
    if settings.broker_cert_file is not None and settings.broker_key_file is not None:
        tls = TlsFiles(settings.broker_cert_file, settings.broker_key_file)
    options = ListenerOptions(port, bind, tls_port, tls_bind, tls, run_as, persistence_dir)
    with _migrated_database(settings) as conn, _user_errors(CredentialError):
        files = write_broker_files(conn, out, prefix or settings.topic_prefix, options)
    typer.echo(f"wrote {files.passwd}, {files.passwd_hub}, {files.acl} and {files.conf}")


# --- sign-in: local accounts, API keys, public layers ---------------------------------

users_app = typer.Typer(
    help="Local accounts (when no OpenID provider is set).", no_args_is_help=True
)
keys_app = typer.Typer(help="API keys for scripts, dashboards, notebooks.", no_args_is_help=True)
app.add_typer(users_app, name="users")
app.add_typer(keys_app, name="api-keys")
RoleOption = Annotated[
    str, typer.Option("--role", help="viewer, planner, parking_operator, emergency or admin")
]


def _role(name: str) -> Role:
    try:
        return Role(name)
    except ValueError:
        raise typer.BadParameter(
            f"unknown role {name!r}; roles: {', '.join(r.value for r in Role)}"
        ) from None


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    return str(typer.prompt("password", hide_input=True, confirmation_prompt=True))


@users_app.command("add")
def users_add(
    name: str,
    role: RoleOption,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="read the password from standard input")
    ] = False,
) -> None:
    """Create a local account (the password is prompted for, or read from stdin)."""
    from auth import accounts

    chosen = _role(role)
    password = _password(password_stdin)
    with _migrated_database(_settings()) as conn, _user_errors(AccountError):
        accounts.add(conn, name, chosen, password)
    typer.echo(f"account {name!r} ({chosen.value}) created")


@users_app.command("list")
def users_list() -> None:
    """Every local account with its role."""
    from auth import accounts

    with _migrated_database(_settings()) as conn:
        for account in accounts.all_accounts(conn):
            state = "disabled" if account.disabled else "active"
            typer.echo(
                f"{account.name}\t{account.role.value}\t{state}\t{account.created_at:%Y-%m-%d}"
            )


@users_app.command("disable")
def users_disable(
    name: str,
    enable: Annotated[bool, typer.Option("--enable", help="enable it again instead")] = False,
) -> None:
    """Disable an account: its tokens and sessions stop working within seconds."""
    from auth import accounts

    with _migrated_database(_settings()) as conn, _user_errors(AccountError):
        accounts.set_disabled(conn, name, not enable)
    typer.echo(f"account {name!r} {'enabled' if enable else 'disabled'}")


@users_app.command("set-role")
def users_set_role(name: str, role: RoleOption) -> None:
    """Give an account another role (effective on its next request)."""
    from auth import accounts

    chosen = _role(role)
    with _migrated_database(_settings()) as conn, _user_errors(AccountError):
        accounts.set_role(conn, name, chosen)
    typer.echo(f"account {name!r} now has the role {chosen.value}")


@users_app.command("set-password")
def users_set_password(
    name: str,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="read the password from standard input")
    ] = False,
) -> None:
    """Replace an account's password."""
    from auth import accounts

    password = _password(password_stdin)
    with _migrated_database(_settings()) as conn, _user_errors(AccountError):
        accounts.set_password(conn, name, password)
    typer.echo(f"password of {name!r} replaced")


@keys_app.command("create")
def api_keys_create(name: str, role: RoleOption) -> None:
    """Create an API key (shown once: store it now). Send it as `Authorization: Bearer
    <key>` or `X-API-Key: <key>`."""
    from auth import accounts

    chosen = _role(role)
    with _migrated_database(_settings()) as conn, _user_errors(AccountError):
        key, value = accounts.create_key(conn, name, chosen)
    typer.echo(f"API key {key.key_id} for {name!r} ({chosen.value}); shown once:", err=True)
    typer.echo(value)


@keys_app.command("list")
def api_keys_list() -> None:
    """Every API key (never its secret), revoked ones marked."""
    from auth import accounts

    with _migrated_database(_settings()) as conn:
        for key in accounts.all_keys(conn):
            state = f"revoked {key.revoked_at:%Y-%m-%d}" if key.revoked_at else "active"
            typer.echo(f"{key.key_id}\t{key.name}\t{key.role.value}\t{state}")


@keys_app.command("revoke")
def api_keys_revoke(key_id: str) -> None:
    """Revoke an API key for good (refused by every API process within seconds)."""
    from auth import accounts

    with _migrated_database(_settings()) as conn, _user_errors(AccountError):
        accounts.revoke_key(conn, key_id)
    typer.echo(f"API key {key_id} revoked")


@layers_app.command("publish")
def layers_publish(
    layer_id: str,
    private: Annotated[bool, typer.Option("--private", help="make it internal again")] = False,
) -> None:
    """Let anonymous callers read a layer (its features and tiles), or no longer."""
    from gis_layers.catalogue import set_public
    from gis_layers.errors import LayerError

    with _migrated_database(_settings()) as conn, _user_errors(LayerError):
        set_public(conn, layer_id, not private)
    typer.echo(f"layer {layer_id!r} is {'internal' if private else 'public'}")


async def _opendata_decide(url: str, dataset_id: str, public: bool) -> None:
    """Publish or withdraw ``dataset_id`` and record it in the audit log, in one
    transaction: the decision and its record stand or fall together."""
    import getpass

    from psycopg import AsyncConnection

    from audit.chain import Entry
    from audit.store import record
    from opendata.publication import set_public

    who = f"cli:{getpass.getuser()}"
    verb = "publish" if public else "unpublish"
    async with await AsyncConnection.connect(url) as conn, conn.transaction():
        await set_public(conn, dataset_id, public, who)
        entry = Entry(
            action="write",
            http_method="CLI",
            route=f"smartcity opendata {verb}",
            outcome=204,
            subject=who,
            auth_method="cli",
            target={"dataset_id": dataset_id},
            summary=f"public={str(public).lower()}",
        )
        await record(conn, entry)


def _opendata_set(dataset_id: str, public: bool) -> None:
    import asyncio

    from hub.services import database_url
    from opendata.errors import OpenDataError
    from storage import migrations
    from storage.database import connect

    with database_url(_settings()) as url, _user_errors(OpenDataError):
        with connect(url) as conn:
            migrations.upgrade(conn)
        asyncio.run(_opendata_decide(url, dataset_id, public))
    typer.echo(f"dataset {dataset_id!r} is {'public' if public else 'not public'}")


@opendata_app.command("publish")
def opendata_publish(dataset_id: str) -> None:
    """Make a dataset public: in the catalogue (/opendata/catalog.jsonld) and downloadable
    by anyone (layers: layer-<layer id>). Recorded in the audit log."""
    _opendata_set(dataset_id, True)


@opendata_app.command("unpublish")
def opendata_unpublish(dataset_id: str) -> None:
    """Withdraw a dataset: out of the catalogue, its downloads 404. Recorded in the audit
    log."""
    _opendata_set(dataset_id, False)


@opendata_app.command("list")
def opendata_list() -> None:
    """Every dataset, whether it is public, and why (default, decided, layer flag)."""
    import asyncio

    from psycopg import AsyncConnection

    from hub.services import database_url
    from opendata.publication import states
    from storage import migrations
    from storage.database import connect

    async def listed(url: str) -> list[tuple[str, bool, str]]:
        async with await AsyncConnection.connect(url) as conn:
            return await states(conn)

    with database_url(_settings()) as url:
        with connect(url) as conn:
            migrations.upgrade(conn)
        for dataset_id, public, why in asyncio.run(listed(url)):
            typer.echo(f"{dataset_id}\t{'public' if public else 'not public'}\t{why}")


audit_app = typer.Typer(help="The audit log of writes and refused sign-ins.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")


@audit_app.command("verify")
def audit_verify() -> None:
    """Walk the audit log's hash chain; exit 1 at the first row altered, inserted or
    removed, naming it. Keep the head it prints: rows removed at the end show only
    against an older head."""
    from audit.errors import AuditLogMissing
    from audit.store import verify
    from hub.services import database_url
    from storage.database import connect

    _setup_logging()
    with database_url(_settings()) as url, connect(url) as conn, _user_errors(AuditLogMissing):
        verdict = verify(conn)
    if verdict.broken is not None:
        typer.echo(f"audit log broken at row {verdict.broken.audit_id}: {verdict.broken.problem}")
        raise typer.Exit(1)
    head = f"head: row {verdict.head[0]}, {verdict.head[1]}" if verdict.head else "empty"
    typer.echo(f"audit log intact: {verdict.rows} rows; {head}")


@app.command("backup")
def backup(
    path: Annotated[Path, typer.Argument(help="a new (or empty) folder for the backup")],
    inserts: Annotated[
        bool,
        typer.Option(
            "--inserts",
            help="dump rows as INSERT statements (slower), for a restore into a server"
            " that cannot load COPY data, such as PGlite (a backup of PGlite always is)",
        ),
    ] = False,
) -> None:
    """Back up the running hub: its database (pg_dump's custom format, from one
    snapshot), its data directory's files, the rasters and river configuration it
    points to, and a manifest with every file's checksum (docs/backup.md)."""
    from backup.archive import Hub, create
    from backup.errors import BackupError
    from hub.services import database_url

    _setup_logging()
    settings = _settings()
    with database_url(settings) as url, _user_errors(BackupError):
        hub = Hub(url, settings.data_dir, settings.river_config)
        made = create(hub, path, settings.pg_bin_dir, inserts=inserts)
    size = sum(f.size for f in made.files)
    typer.echo(
        f"backed up to {path}: database of {made.database.size_bytes / 1e6:.1f} MB"
        f" (schema {made.database.migrations[-1].version}), {len(made.files)} files,"
        f" {size / 1e6:.1f} MB in all"
    )
    for raster_id, carried in made.rasters.items():
        if carried.stored is None:
            typer.echo(f"warning: raster {raster_id}'s file {carried.original} is gone", err=True)


@app.command("restore")
def restore(
    path: Annotated[Path, typer.Argument(help="a folder written by `smartcity backup`")],
) -> None:
    """Bring a backup up in an empty database and data directory: refused, with the
    reason, if the backup does not match its manifest or the target is not empty."""
    from audit.store import verify
    from backup.archive import Hub
    from backup.archive import restore as restore_backup
    from backup.errors import BackupError
    from hub.services import database_url
    from storage.database import connect

    _setup_logging()
    settings = _settings()
    with database_url(settings) as url:
        with _user_errors(BackupError):
            done = restore_backup(path, Hub(url, settings.data_dir), settings.pg_bin_dir)
        with connect(url) as conn:
            verdict = verify(conn)
    typer.echo(
        f"restored the backup of {done.manifest.created_at.isoformat()} into"
        f" {settings.data_dir}: {done.files} files, {len(done.rasters)} rasters"
    )
    if done.river_config is not None:
        typer.echo(f"river configuration: set SMARTCITY_RIVER_CONFIG={done.river_config}")
    if verdict.broken is not None:
        typer.echo(
            f"warning: audit log broken at row {verdict.broken.audit_id}: {verdict.broken.problem}",
            err=True,
        )
    else:
        typer.echo(f"audit log intact: {verdict.rows} rows")

"""The ``smartcity`` command line."""

from __future__ import annotations

import logging
import signal
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer

from hub.settings import Settings

app = typer.Typer(help="Smart-city hub and digital twin.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
layers_app = typer.Typer(help="GIS layers.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(layers_app, name="layers")


def _setup_logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    logging.getLogger("amqtt").setLevel(logging.WARNING)
    logging.getLogger("transitions").setLevel(logging.WARNING)


def _settings() -> Settings:
    try:
        return Settings()
    except Exception as exc:  # pydantic's message names the variable and the problem
        raise typer.BadParameter(f"invalid configuration: {exc}") from exc


def _stop_on_signals() -> threading.Event:
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    return stop


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply pending schema migrations."""
    from hub.services import database_url
    from storage import migrations
    from storage.database import connect

    _setup_logging()
    with database_url(_settings()) as url, connect(url) as conn:
        applied = migrations.upgrade(conn)
        typer.echo(f"applied {applied or 'nothing'}; readings: {migrations.readings_storage(conn)}")


@layers_app.command("import")
def layers_import(
    path: Path,
    name: Annotated[str | None, typer.Option(help="collection id for a single-layer file")] = None,
    crs: Annotated[str | None, typer.Option(help="CRS of a file that declares none")] = None,
) -> None:
    """Import a vector file (GeoPackage, Shapefile, GeoJSON, DXF) as layers."""
    from gis_layers.errors import LayerImportError
    from gis_layers.importer import import_file
    from hub.services import database_url
    from storage import migrations
    from storage.database import connect

    _setup_logging()
    with database_url(_settings()) as url, connect(url) as conn:
        migrations.upgrade(conn)
        try:
            reports = import_file(conn, path, name=name, crs=crs)
        except LayerImportError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from exc
        for report in reports:
            typer.echo(
                f"{report.layer_id}: {report.features} features ({report.source_crs}),"
                f" {len(report.repaired)} repaired"
            )


@app.command("demo-data")
def demo_data(
    seed: Annotated[
        int | None, typer.Option(help="generator seed (default SMARTCITY_SEED)")
    ] = None,
    out: Annotated[Path | None, typer.Option(help="directory for town.gpkg and dem.tif")] = None,
) -> None:
    """Generate the demo town's files and import them through the normal import path."""
    from hub.demo_data import load_demo_town
    from hub.services import database_url

    _setup_logging()
    settings = _settings()
    with database_url(settings) as url:
        load_demo_town(
            url, out or settings.data_dir / "demo", seed if seed is not None else settings.seed
        )


@app.command("simulate")
def simulate(
    flood_peak: Annotated[
        float | None, typer.Option(help="add a flood wave peaking at this level (cm)")
    ] = None,
    flood_rise_minutes: Annotated[float, typer.Option(help="flood wave rise time")] = 30.0,
    flood_fall_minutes: Annotated[float, typer.Option(help="flood wave recession time")] = 120.0,
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
    if not devices:
        typer.echo("no devices registered: run `smartcity demo-data` first", err=True)
        raise typer.Exit(2)
    flood = None
    if flood_peak is not None:
        flood = FloodWave(
            flood_peak,
            datetime.now(UTC) - timedelta(minutes=1),
            flood_rise_minutes / 60,
            flood_fall_minutes / 60,
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
        )


@app.command("ingest")
def ingest() -> None:
    """Run an ingestion worker: MQTT in, batches committed to PostgreSQL."""
    from hub.services import broker_url, database_url
    from ingest_mqtt.worker import IngestWorker

    _setup_logging()
    settings = _settings()
    stop = _stop_on_signals()
    with database_url(settings) as url, broker_url(settings) as mqtt_url:
        worker = IngestWorker(settings, url, mqtt_url)
        worker.run(stop)
        typer.echo(f"ingest stopped: {worker.stats}")


@app.command("serve")
def serve() -> None:
    """Serve the HTTP API and the map."""
    import uvicorn

    from api.app import create_app
    from hub.services import database_url
    from storage import migrations
    from storage.database import connect

    _setup_logging()
    settings = _settings()
    with database_url(settings) as url:
        with connect(url) as conn:
            migrations.upgrade(conn)
        uvicorn.run(
            create_app(settings, url),
            host=settings.http_host,
            port=settings.http_port,
            log_level="warning",
        )


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
    flood_peak: Annotated[
        float | None, typer.Option(help="simulate a flood wave peaking at this level (cm)")
    ] = None,
) -> None:
    """Run everything: database, broker, demo town, simulators, ingestion and the API."""
    from hub.demo import run_demo

    _setup_logging()
    settings = _settings()
    if seed is not None:
        settings = settings.model_copy(update={"seed": seed})
    raise typer.Exit(run_demo(settings, _stop_on_signals(), flood_peak=flood_peak))

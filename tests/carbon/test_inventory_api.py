"""``GET /carbon/inventory`` and the ``carbon_assets`` layer over real PostgreSQL: meter
readings (through ingest's storage) and an imported file, tonnes worked by hand."""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from carbon import layer
from carbon.factors import FactorTable, default_table, parse_table
from carbon.importer import import_csv
from carbon.meters import METER_KIND
from harness.credentials import key_headers
from settings import RetentionSettings, Settings
from storage import devices, migrations, rollups
from storage.readings import Reading, ReadingWriter

pytestmark = pytest.mark.integration


def _at(year: int, month: int, day: int) -> datetime:
    return datetime(year, month, day, 12, tzinfo=UTC)


# 2025: the town hall's meters and the van's fuel; 2019 (the baseline): an invoice
READINGS = [
    Reading("th-el", "electricity_energy", _at(2025, 1, 31), 10_000.0),
    Reading("th-el", "electricity_energy", _at(2025, 2, 28), 8_000.0),
    Reading("th-el", "electricity_energy", _at(2024, 12, 31), 77_777.0),  # 2024: left out
    Reading("th-gas", "gas_volume", _at(2025, 1, 15), 600.0),
    Reading("th-gas", "gas_volume", _at(2025, 1, 31), 400.0),
]
FILE = (
    "asset_id,carrier,period,quantity,unit,reference\n"
    "van-1,diesel,2025-03-02,100,l,BON-1\n"
    "town-hall,electricity,2019-01,20,MWh,EL-2019-01\n"
)
ELEC = 18.0 * 0.26465  # 2025 uses 2019's grid factor, the latest published: 4.7637
GAS = 1_000 * 0.0095 * 0.202  # 1.919
DIESEL = 100 * 0.00994 * 0.267  # 0.265398
TOTAL = ELEC + GAS + DIESEL  # 6.948098
BASELINE = 20.0 * 0.26465  # 5.293


@pytest.fixture
def town(pg_url: str, tmp_path: Path) -> Iterator[tuple[TestClient, str]]:
    with psycopg.connect(pg_url) as conn:
        migrations.upgrade(conn)
        conn.execute(
            "INSERT INTO assets (asset_id, name, kind, lon, lat) VALUES"
            " ('town-hall', 'Primăria', 'town_hall', 24.8708, 43.7517),"
            " ('van-1', 'Dacia Logan', 'vehicle', 24.8650, 43.7490)"
        )
        devices.register(
            conn,
            [
                devices.Device("th-el", METER_KIND, ("electricity_energy",), "town-hall"),
                devices.Device("th-gas", METER_KIND, ("gas_volume",), "town-hall"),
            ],
        )
        ReadingWriter(migrations.readings_storage(conn)).write(conn, READINGS)
        conn.commit()
        path = tmp_path / "fleet-and-invoices.csv"
        path.write_text(FILE, encoding="utf-8")
        import_csv(conn, path, default_table())
    with TestClient(create_app(Settings(), pg_url)) as client:
        yield client, pg_url


def test_the_inventory_of_a_year_against_the_baseline(town: tuple[TestClient, str]) -> None:
    client, url = town
    assert client.get("/carbon/inventory?year=2025").status_code == 401
    answer = client.get("/carbon/inventory?year=2025&baseline=2019", headers=key_headers(url))
    assert answer.status_code == 200, answer.text
    doc = answer.json()
    assert doc["total"]["t_co2e"] == pytest.approx(TOTAL, abs=1e-6)
    assert doc["total"]["scope2_t_co2e"] == pytest.approx(ELEC, abs=1e-6)
    assert doc["total"]["scope1_t_co2e"] == pytest.approx(GAS + DIESEL, abs=1e-6)
    assert doc["baseline"]["total"]["t_co2e"] == pytest.approx(BASELINE, abs=1e-6)
    assert doc["baseline"]["change_pct"] == round(100 * (TOTAL - BASELINE) / BASELINE, 2)
    sectors = {s["sector"]: s["t_co2e"] for s in doc["sectors"]}
    assert sectors == {
        "municipal_buildings": pytest.approx(ELEC + GAS, abs=1e-6),
        "municipal_fleet": pytest.approx(DIESEL, abs=1e-6),
    }
    months = {m["month"]: m["t_co2e"] for m in doc["months"]}
    assert months == {
        "2025-01": pytest.approx(10 * 0.26465 + GAS, abs=1e-6),
        "2025-02": pytest.approx(8 * 0.26465, abs=1e-6),
        "2025-03": pytest.approx(DIESEL, abs=1e-6),
    }
    assert [a["asset_id"] for a in doc["assets"]] == ["town-hall", "van-1"]


def test_the_inventory_as_csv_by_parameter_or_accept(town: tuple[TestClient, str]) -> None:
    client, url = town
    headers = key_headers(url)
    by_f = client.get("/carbon/inventory?year=2025&f=csv", headers=headers)
    by_accept = client.get("/carbon/inventory?year=2025", headers={**headers, "Accept": "text/csv"})
    assert by_f.headers["content-type"].startswith("text/csv")
    assert by_f.text == by_accept.text
    rows = list(csv.DictReader(io.StringIO(by_f.text)))
    # a line per meter and month, one for the fuel
    assert [(r["asset_id"], r["carrier"], r["month"], r["source"]) for r in rows] == [
        ("town-hall", "electricity", "2025-01", "meter"),
        ("town-hall", "natural_gas", "2025-01", "meter"),
        ("town-hall", "electricity", "2025-02", "meter"),
        ("van-1", "diesel", "2025-03", "import"),
    ]
    assert sum(float(r["t_co2e"]) for r in rows) == pytest.approx(TOTAL, abs=1e-5)


def test_a_year_out_of_range_is_a_problem(town: tuple[TestClient, str]) -> None:
    client, url = town
    answer = client.get("/carbon/inventory?year=1900", headers=key_headers(url))
    assert answer.status_code == 400
    assert answer.headers["content-type"] == "application/problem+json"


def test_the_assets_layer_for_the_map(town: tuple[TestClient, str]) -> None:
    client, url = town
    now = datetime.now(UTC)
    this_month = max(now - timedelta(minutes=1), datetime(now.year, 1, 1, tzinfo=UTC))
    with psycopg.connect(url) as conn:
        ReadingWriter(migrations.readings_storage(conn)).write(
            conn, [Reading("th-el", "electricity_energy", this_month, 1_000.0)]
        )
    assert client.get("/collections/carbon_assets/items").status_code == 401  # not public
    answer = client.get("/collections/carbon_assets/items", headers=key_headers(url))
    assert answer.status_code == 200, answer.text
    features = {f["properties"]["asset_id"]: f for f in answer.json()["features"]}
    hall = features["town-hall"]
    assert hall["geometry"]["coordinates"] == pytest.approx([24.8708, 43.7517])
    assert hall["properties"]["year"] == now.year
    assert hall["properties"]["unconfirmed_factors"] is False  # ANRE's grid factor only
    assert hall["properties"]["t_co2e"] == pytest.approx(
        default_table().tonnes("electricity", 1_000, "kWh", now.year), abs=1e-6
    )


def test_the_layer_holds_this_year_and_the_last(town: tuple[TestClient, str]) -> None:
    _, url = town

    async def refresh(table: FactorTable) -> bool:
        async with await psycopg.AsyncConnection.connect(url) as conn:
            return await layer.refresh(conn, datetime(2026, 3, 1, tzinfo=UTC), table)

    assert asyncio.run(refresh(default_table()))
    # a town table without a gas factor: the layer stays as it was, nothing raised
    electricity_only = parse_table(
        {
            "version": "town",
            "factor": [
                {
                    "carrier": "electricity",
                    "year": 2020,
                    "t_co2_per_mwh": 0.3,
                    "source": "s",
                    "confirmed": True,
                }
            ],
        }
    )
    assert not asyncio.run(refresh(electricity_only))
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT properties FROM features WHERE layer_id = 'carbon_assets'"
            " ORDER BY properties->>'asset_id'"
        ).fetchall()
    hall, van = (row[0] for row in rows)
    assert (hall["asset_id"], hall["year"], hall["t_co2e"]) == ("town-hall", 2026, 0.0)
    assert hall["previous_year_t_co2e"] == pytest.approx(ELEC + GAS, abs=1e-6)
    assert (van["sector"], van["previous_year_t_co2e"]) == (
        "municipal_fleet",
        pytest.approx(DIESEL),
    )
    assert hall["unconfirmed_factors"] is False  # nothing consumed in 2026 yet


def test_rollups_and_raw_readings_give_the_same_months(town: tuple[TestClient, str]) -> None:
    client, url = town
    headers = key_headers(url)
    before = client.get("/carbon/inventory?year=2025", headers=headers).json()
    keep = RetentionSettings(raw_retention_days=730)  # 2025 inside the refresh window
    with psycopg.connect(url) as conn:
        conn.commit()
        while rollups.refresh(conn, keep, now=datetime(2026, 6, 1, tzinfo=UTC)) > 0:
            conn.commit()
        conn.commit()
        days = conn.execute(
            "SELECT count(*) FROM readings_1d WHERE quantity = ANY(%s)",
            (["electricity_energy", "gas_volume"],),
        ).fetchone()
    assert days == (5,)  # the meter days (2024-12-31 too), now read from the daily level
    after = client.get("/carbon/inventory?year=2025", headers=headers).json()
    assert after["months"] == before["months"]
    assert after["total"] == before["total"]
    # a reading after the rollups' watermark comes from the raw readings, counted once
    with psycopg.connect(url) as conn:
        ReadingWriter(migrations.readings_storage(conn)).write(
            conn, [Reading("th-el", "electricity_energy", datetime(2026, 6, 1, 8, tzinfo=UTC), 1e3)]
        )
    later = client.get("/carbon/inventory?year=2026", headers=headers).json()
    assert later["months"] == [
        {
            "month": "2026-06",
            "mwh": 1.0,
            "t_co2e": 0.26465,
            "scope1_t_co2e": 0.0,
            "scope2_t_co2e": 0.26465,
        }
    ]

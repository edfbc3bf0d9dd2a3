"""The demo's carbon data: a year of daily meter readings and the invoices a town would
import, so that ``make demo`` shows a full inventory; filled twice, written once."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest

from carbon import store
from carbon.factors import default_table
from carbon.inventory import Inventory
from carbon.sectors import Sector
from hub.demo_history import fill_meter_history, import_demo_invoices
from simulator.meters import yearly
from storage import devices, migrations

pytestmark = pytest.mark.integration

NOW = datetime(2026, 12, 5, 18, tzinfo=UTC)


def _inventory(url: str, year: int) -> Inventory:
    async def load() -> Inventory:
        async with await psycopg.AsyncConnection.connect(url) as conn:
            return await store.load_inventory(conn, year, default_table())

    return asyncio.run(load())


def test_the_demo_inventory_is_full_and_filled_once(pg_url: str, tmp_path: Path) -> None:
    with psycopg.connect(pg_url) as conn:
        migrations.upgrade(conn)
        conn.execute(
            "INSERT INTO assets (asset_id, name, kind, lon, lat, properties) VALUES"
            " ('town-hall', 'Primăria', 'town_hall', 24.87, 43.75, '{}'),"
            " ('school-nr-2', 'Școala nr. 2', 'school', 24.87, 43.76, '{\"capacity\": 380}')"
        )
        devices.register(
            conn,
            [
                devices.Device(f"{a}-meter-{s}", "energy_meter", (q,), a)
                for a in ("town-hall", "school-nr-2")
                for s, q in (("electricity", "electricity_energy"), ("gas", "gas_volume"))
            ],
        )
        written = fill_meter_history(conn, 42, NOW)
        assert written == 4 * 365
        files = import_demo_invoices(conn, 42, NOW, tmp_path, default_table())
        assert files == 1 + 23  # the baseline year, then Jan 2025 to Nov 2026
        conn.commit()
        # a second start writes nothing twice
        assert fill_meter_history(conn, 42, NOW) == 0
        assert import_demo_invoices(conn, 42, NOW, tmp_path, default_table()) == 0
        conn.commit()

    current = _inventory(pg_url, 2026)
    sectors = current.by_sector()
    assert set(sectors) == {
        Sector.MUNICIPAL_BUILDINGS,
        Sector.PUBLIC_LIGHTING,
        Sector.MUNICIPAL_FLEET,
    }
    assert len(current.by_month()) == 12
    # the school's metered electricity of 2026 (1 Jan to 4 Dec here) is close to
    # the model's year: about 11 months of 380 pupils x 75 kWh
    school = sum(
        line.quantity
        for line in current.lines
        if line.asset_id == "school-nr-2" and line.carrier == "electricity"
    )
    expected = yearly("school", 380, "electricity_energy")
    assert expected is not None and 0.8 * expected < school < expected
    baseline = _inventory(pg_url, 2019)
    assert baseline.by_sector()[Sector.MUNICIPAL_BUILDINGS].t_co2e > 0
    assert baseline.total.t_co2e > current.total.t_co2e  # pre-LED lighting, no insulation

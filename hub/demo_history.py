"""The demo's past weeks of lot occupancy, written as if its counters had been reporting;
and its past year of energy meter readings and invoices, for the carbon inventory.

A freshly loaded demo would have no history: no utilisation by hour of week, no
forecast until two weeks had passed. So the demo fills the last :data:`HISTORY_WEEKS`
weeks of every lot counter's ``occupied_spaces``, one reading every five minutes, from
the same simulation as the live simulator's (:mod:`simulator.lot_history`), and on each
later start fills the gap since the newest stored reading. Only counters are filled:
the bays' past events are not invented.

The lots' and urbanism zones' history series (:mod:`parking.history`) are filled for
the same times from the same counts: with no bay readings in the past, a lot's live
figure would have been its counter's, held within its capacity (the operators', else
the layer's, else its number of bays). Paid parking zones are not filled (the demo town
has none). A sample the history recorder already took is kept (duplicates are skipped).
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pandas as pd
import psycopg

from carbon.errors import AlreadyImported
from carbon.factors import FactorTable
from carbon.importer import import_csv
from hub.simulate import lot_profile
from parking import history, occupancy
from simulator.lot_history import DEFAULT_STEP, LotSpec, lot_occupancy
from simulator.signals import seeded_rng
from storage import migrations
from storage.readings import Reading, ReadingWriter

log = logging.getLogger(__name__)

HISTORY_WEEKS = 4
"""How far back the demo's lot counters are filled: the forecast's training window."""
QUANTITY = "occupied_spaces"

_COUNTERS = """
SELECT c.device_id, c.asset_id, count(b.device_id),
       (SELECT max(r.time) FROM readings r
        WHERE r.device_id = c.device_id AND r.quantity = %s)
FROM devices c JOIN devices b ON b.asset_id = c.asset_id AND b.kind = 'parking_bay'
WHERE c.kind = 'parking_counter' AND %s = ANY(c.quantities)
GROUP BY c.device_id, c.asset_id ORDER BY c.device_id
"""
_LOTS = """
SELECT a.asset_id, a.properties->>'capacity', o.capacity, p.zone_code
FROM assets a
LEFT JOIN parking_lot_overrides o ON o.lot_id = a.asset_id
LEFT JOIN asset_places p ON p.asset_id = a.asset_id
WHERE a.kind = 'parking_lot'
"""


def fill_lot_history(
    conn: psycopg.Connection, seed: int, now: datetime, weeks: int = HISTORY_WEEKS
) -> int:
    """Write each lot counter's readings from ``weeks`` before ``now`` (or from its
    newest stored reading, if later) up to ``now``; return how many were written.

    A lot's capacity here is its number of bays, as the live simulator counts them."""
    counters = conn.execute(_COUNTERS, (QUANTITY, QUANTITY)).fetchall()
    if not counters:
        return 0
    # on the 5-minute grid, so that a later fill continues where this one stopped
    step_s = DEFAULT_STEP.total_seconds()
    floor = datetime.fromtimestamp(now.timestamp() // step_s * step_s, now.tzinfo)
    oldest = floor - timedelta(weeks=weeks)
    starts = {
        device: oldest if newest is None else max(oldest, newest + DEFAULT_STEP)
        for device, _, _, newest in counters
    }
    start = min(starts.values())
    if start >= now:
        return 0
    lots = [LotSpec(lot, lot_profile(lot), bays) for _, lot, bays, _ in counters]
    counts = lot_occupancy(lots, start, now, seed=seed)
    times = counts.index.to_pydatetime()
    readings = [
        Reading(device, QUANTITY, t, float(value))
        for device, lot, _, _ in counters
        for t, value in zip(times, counts[lot].to_numpy(), strict=True)
        if t >= starts[device]
    ]
    readings += _lot_series(conn, counts, {lot: bays for _, lot, bays, _ in counters})
    writer = ReadingWriter(migrations.readings_storage(conn))
    for k in range(0, len(readings), 10_000):
        writer.write(conn, readings[k : k + 10_000])
    log.info("filled %d past lot readings since %s", len(readings), start.isoformat())
    return len(readings)


def _lot_series(
    conn: psycopg.Connection, counts: pd.DataFrame, bays: dict[str, int]
) -> list[Reading]:
    """The lots' and zones' history samples from the lots' simulated counts."""
    capacities: dict[str, int] = {}
    zone_of: dict[str, str | None] = {}
    for lot, layer, override, zone in conn.execute(_LOTS).fetchall():
        if lot in bays:
            capacities[lot] = override or int(occupancy.capacity_of(layer)) or bays[lot]
            zone_of[lot] = zone
    lots = [lot for lot in counts.columns if lot in capacities]
    values = counts[lots].to_numpy()
    found: list[Reading] = []
    for t, row in zip(counts.index.to_pydatetime(), values, strict=True):
        figures = {
            lot: (min(max(int(n), 0), capacities[lot]), capacities[lot])
            for lot, n in zip(lots, row, strict=True)
        }
        found += history.figure_samples(t, figures, zone_of)
    return found


# -- the carbon inventory's activity data --------------------------------------------

METER_HISTORY_DAYS = 365
"""How far back the demo's energy meters are filled: the raw readings' default retention
(an older reading is never rolled up, so the inventory would not keep it)."""
LIGHTING_MWH = {"baseline": 1_300.0, "now": 950.0}
"""Street lighting billed to the town hall, a year (illustrative: about 3,000 luminaires;
the baseline before a partial LED retrofit)."""
FLEET_LITRES = {
    "baseline": {"diesel": 18_000.0, "petrol": 4_000.0},
    "now": {"diesel": 16_000.0, "petrol": 3_000.0},
}
"""The municipal fleet's fuel, a year (illustrative: a dozen cars, vans and utility trucks)."""
NIGHT_HOURS = (14.9, 13.8, 12.3, 10.9, 9.6, 9.0, 9.3, 10.3, 11.7, 13.1, 14.4, 15.1)
"""Hours street lights burn a day, by month, at 43.75° N (sunset to sunrise, rounded)."""
BASELINE_YEAR = 2019
BASELINE_USE = {"electricity_energy": 1.2, "gas_volume": 1.25}
"""The buildings' baseline use relative to today's (before insulation and LED works)."""
TOWN_HALL = "town-hall"

_METERS = """
SELECT d.device_id, d.quantities[1], a.kind, coalesce((a.properties->>'capacity')::float, 0),
       (SELECT max(r.time) FROM readings r WHERE r.device_id = d.device_id)
FROM devices d JOIN assets a USING (asset_id)
WHERE d.kind = 'energy_meter' AND cardinality(d.quantities) = 1 ORDER BY d.device_id
"""


def _meter_days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=k) for k in range((last - first).days + 1)]


def fill_meter_history(
    conn: psycopg.Connection, seed: int, now: datetime, days: int = METER_HISTORY_DAYS
) -> int:
    """Write each demo energy meter's daily consumption (a reading at 12:00 UTC, the
    energy of the day) from ``days`` before ``now`` (or after its newest reading) up to
    yesterday; return how many readings were written."""
    from simulator.meters import daily, yearly

    yesterday = (now - timedelta(days=1)).date()
    readings: list[Reading] = []
    for device, quantity, kind, capacity, newest in conn.execute(_METERS).fetchall():
        if yearly(kind, capacity, quantity) is None:
            continue
        first = (now - timedelta(days=days)).date()
        if newest is not None:
            first = max(first, newest.date() + timedelta(days=1))
        span = _meter_days(first, yesterday)
        values = daily(seed, device, kind, capacity, quantity, span)
        readings.extend(
            Reading(device, quantity, datetime.combine(day, time(12), UTC), round(float(v), 3))
            for day, v in zip(span, values, strict=True)
        )
    writer = ReadingWriter(migrations.readings_storage(conn))
    for k in range(0, len(readings), 10_000):
        writer.write(conn, readings[k : k + 10_000])
    log.info("filled %d past energy meter readings", len(readings))
    return len(readings)


def _invoice_rows(seed: int, month: date, baseline: bool) -> list[str]:
    """The town hall's street lighting and fleet fuel of ``month``, as CSV rows."""
    era = "baseline" if baseline else "now"
    rng = seeded_rng(seed, f"invoices:{month:%Y-%m}")
    lighting = LIGHTING_MWH[era] * NIGHT_HOURS[month.month - 1] / sum(NIGHT_HOURS)
    rows = [
        f"{TOWN_HALL},electricity,{month:%Y-%m},{lighting:.3f},MWh,public_lighting,IL-{month:%Y%m}"
    ]
    for fuel, litres in FLEET_LITRES[era].items():
        amount = litres / 12 * rng.lognormal(0.0, 0.1)
        rows.append(f"{TOWN_HALL},{fuel},{month:%Y-%m},{amount:.1f},l,,FL-{fuel}-{month:%Y%m}")
    return rows


def _baseline_building_rows(conn: psycopg.Connection, seed: int) -> list[str]:
    """The buildings' 2019 invoices: today's model scaled by :data:`BASELINE_USE`."""
    from simulator.meters import daily, yearly

    rows = []
    for device, quantity, kind, capacity, _ in conn.execute(_METERS).fetchall():
        if yearly(kind, capacity, quantity) is None:
            continue
        asset = device.rsplit("-meter-", 1)[0]
        days = _meter_days(date(BASELINE_YEAR, 1, 1), date(BASELINE_YEAR, 12, 31))
        values = daily(seed, device, kind, capacity, quantity, days) * BASELINE_USE[quantity]
        carrier, unit = (
            ("electricity", "kWh") if quantity == "electricity_energy" else ("natural_gas", "m3")
        )
        for m in range(1, 13):
            total = sum(v for d, v in zip(days, values, strict=True) if d.month == m)
            rows.append(
                f"{asset},{carrier},{BASELINE_YEAR}-{m:02d},{total:.1f},{unit},,"
                f"{carrier[:2].upper()}-{asset}-{BASELINE_YEAR}{m:02d}"
            )
    return rows


def import_demo_invoices(
    conn: psycopg.Connection, seed: int, now: datetime, directory: Path, table: FactorTable
) -> int:
    """Import the demo's invoices as a town would (``smartcity carbon import``): the
    baseline year's (buildings, street lighting, fleet) and, month by month since January
    of last year, street lighting and fleet fuel (the buildings have meters). A file
    imported before is skipped; return how many files were imported."""
    header = "asset_id,carrier,period,quantity,unit,sector,reference"
    if conn.execute("SELECT 1 FROM assets WHERE asset_id = %s", (TOWN_HALL,)).fetchone() is None:
        return 0
    directory.mkdir(parents=True, exist_ok=True)
    files: list[tuple[Path, list[str]]] = []
    baseline = _baseline_building_rows(conn, seed)
    for m in range(1, 13):
        baseline += _invoice_rows(seed, date(BASELINE_YEAR, m, 1), baseline=True)
    files.append((directory / f"invoices-{BASELINE_YEAR}.csv", baseline))
    month = date(now.year - 1, 1, 1)
    this_month = date(now.year, now.month, 1)
    while month < this_month:
        files.append((directory / f"invoices-{month:%Y-%m}.csv", _invoice_rows(seed, month, False)))
        month = date(month.year + month.month // 12, month.month % 12 + 1, 1)
    imported = 0
    for path, rows in files:
        path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
        try:
            import_csv(conn, path, table, "demo")
        except AlreadyImported:
            continue
        imported += 1
    log.info("imported %d demo invoice files of %d", imported, len(files))
    return imported


def fill_demo_history(
    conn: psycopg.Connection, seed: int, now: datetime, carbon_dir: Path, table: FactorTable
) -> None:
    """Everything a demo start fills before its live simulator takes over: the lots'
    past weeks (:func:`fill_lot_history`), the energy meters' past year
    (:func:`fill_meter_history`) and the invoices (:func:`import_demo_invoices`, written
    to ``carbon_dir``)."""
    fill_lot_history(conn, seed, now)
    fill_meter_history(conn, seed, now)
    import_demo_invoices(conn, seed, now, carbon_dir, table)

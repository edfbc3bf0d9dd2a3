"""An inventory as documents: the JSON answer (sectors as the Covenant of Mayors' BEI
rows, scopes, months, assets, the factors used, the change from the baseline) and the CSV
of its lines, one per consumption, each with the factor that turned it into tonnes."""

from __future__ import annotations

import csv
import io
from typing import Any

from carbon.inventory import Inventory, Totals
from carbon.sectors import SECTORS

GASES = (
    "CO2 only, with the Covenant of Mayors' standard (IPCC 2006) factors; CH4 and N2O are"
    " not counted (a few per cent of fuels' emissions at most)"
)
DIGITS = 6
"""Rounding of tonnes and MWh in documents: a gram and a watt-hour."""

CSV_COLUMNS = (
    "year",
    "month",
    "asset_id",
    "asset_name",
    "sector",
    "scope",
    "carrier",
    "source",
    "quantity",
    "unit",
    "mwh",
    "factor_t_co2_per_mwh",
    "factor_year",
    "factor_confirmed",
    "factor_source",
    "t_co2e",
)


def _totals(totals: Totals) -> dict[str, float]:
    return {
        "mwh": round(totals.mwh, DIGITS),
        "t_co2e": round(totals.t_co2e, DIGITS),
        "scope1_t_co2e": round(totals.scope1_t_co2e, DIGITS),
        "scope2_t_co2e": round(totals.scope2_t_co2e, DIGITS),
    }


def _change_pct(now: float, then: float) -> float | None:
    return None if then == 0 else round(100.0 * (now - then) / then, 2)


def document(inventory: Inventory, baseline: Inventory | None = None) -> dict[str, Any]:
    """The inventory as a JSON-ready dict; with ``baseline``, each sector and the total
    carry the baseline's tonnes and the change in per cent (null where the baseline
    has none)."""
    base_sectors = {} if baseline is None else baseline.by_sector()
    sectors = []
    carriers_of = inventory.by_sector_and_carrier()
    for sector, totals in inventory.by_sector().items():
        info = SECTORS[sector]
        then = base_sectors.get(sector, Totals()).t_co2e
        sectors.append(
            {
                "sector": sector.value,
                "title": info.title,
                "covenant_category": info.covenant,
                "gpc": info.gpc,
                **_totals(totals),
                "carriers": [
                    {
                        "carrier": c.value,
                        "mwh": round(t.mwh, DIGITS),
                        "t_co2e": round(t.t_co2e, DIGITS),
                    }
                    for (s, c), t in carriers_of.items()
                    if s is sector
                ],
                **(
                    {}
                    if baseline is None
                    else {
                        "baseline_t_co2e": round(then, DIGITS),
                        "change_pct": _change_pct(totals.t_co2e, then),
                    }
                ),
            }
        )
    months = inventory.by_month()
    assets_months: dict[str, dict[str, float]] = {}
    for (asset_id, month), totals in sorted(inventory.asset_months.items()):
        assets_months.setdefault(asset_id, {})[f"{month:%Y-%m}"] = round(totals.t_co2e, DIGITS)
    assets = []
    for asset_id, totals in inventory.by_asset().items():
        asset = inventory.assets[asset_id]
        assets.append(
            {
                "asset_id": asset_id,
                "name": asset.name,
                "kind": asset.kind,
                "sector": asset.sector.value,
                "lon": asset.lon,
                "lat": asset.lat,
                **_totals(totals),
                "months": assets_months[asset_id],
            }
        )
    out: dict[str, Any] = {
        "year": inventory.year,
        "unit": "t CO2e",
        "gases": GASES,
        "months_are": "UTC calendar months",
        "factors_version": inventory.factors_version,
        "factors": [
            {
                "carrier": f.carrier.value,
                "year": f.year,
                "t_co2_per_mwh": f.t_co2_per_mwh,
                "scope": int(f.scope),
                "source": f.source,
                "confirmed": f.confirmed,
            }
            for f in inventory.factors
        ],
        "total": _totals(inventory.total),
        "scopes": [
            {"scope": int(scope), "mwh": round(t.mwh, DIGITS), "t_co2e": round(t.t_co2e, DIGITS)}
            for scope, t in inventory.by_scope().items()
        ],
        "sectors": sectors,
        "months": [{"month": f"{m:%Y-%m}", **_totals(t)} for m, t in months.items()],
        "assets": assets,
    }
    if baseline is not None:
        out["baseline"] = {
            "year": baseline.year,
            "factors": [
                {"carrier": f.carrier.value, "year": f.year, "t_co2_per_mwh": f.t_co2_per_mwh}
                for f in baseline.factors
            ],
            "total": _totals(baseline.total),
            "change_pct": _change_pct(inventory.total.t_co2e, baseline.total.t_co2e),
        }
    return out


def csv_text(inventory: Inventory) -> str:
    """Every line of the inventory as CSV (header :data:`CSV_COLUMNS`), by asset, month
    and carrier."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for line in sorted(inventory.lines, key=lambda x: (x.asset_id, x.month, x.carrier, x.source)):
        writer.writerow(
            (
                inventory.year,
                f"{line.month:%Y-%m}",
                line.asset_id,
                inventory.assets[line.asset_id].name,
                line.sector.value,
                int(line.scope),
                line.carrier.value,
                line.source.value,
                repr(line.quantity),
                line.unit,
                round(line.mwh, DIGITS),
                line.factor.t_co2_per_mwh,
                line.factor.year,
                str(line.factor.confirmed).lower(),
                line.factor.source,
                round(line.t_co2e, DIGITS),
            )
        )
    return out.getvalue()

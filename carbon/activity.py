"""Activity data from files: fleet fuel logs and energy invoices as CSV, checked whole.

A file is UTF-8 (a spreadsheet's byte-order mark is allowed), comma-separated, or
semicolon-separated with decimal commas as Romanian spreadsheets write them. Its header
names the columns, in any order:

============  ========  ===================================================================
column        required  content
============  ========  ===================================================================
asset_id      yes       the twin asset that consumed it (a vehicle, a building, a depot)
carrier       yes       ``electricity``, ``natural_gas``, ``diesel``, ``petrol``, ``lpg``,
                        ``district_heat``
period        yes       the month consumed: ``2025-03``, or a day (``2025-03-14``, a fill)
quantity      yes       a number of ``unit``, not below 0
unit          yes       a unit the factor table converts for the carrier (``kWh``, ``m3``,
                        ``l``, ``Gcal``...)
sector        no        an inventory sector (``carbon.sectors.Sector``), when not the asset's
reference     no        invoice or receipt number, kept with the row
============  ========  ===================================================================

:func:`parse_csv` returns every row it could read and every problem, by line and reason;
the importer (``carbon.importer``) stores nothing unless there is no problem at all.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from carbon.factors import Carrier, FactorTable
from carbon.sectors import Sector

REQUIRED = ("asset_id", "carrier", "period", "quantity", "unit")
OPTIONAL = ("sector", "reference")
FIRST_YEAR, LAST_YEAR = 1990, 2100
"""Years a period may name: the Covenant's earliest baseline year, and a typo's guard."""


@dataclass(frozen=True, slots=True)
class ActivityRow:
    """A consumption read from a file: ``quantity`` ``unit`` of ``carrier`` by an asset
    in the month starting ``month``."""

    line: int
    asset_id: str
    carrier: Carrier
    month: date
    quantity: float
    unit: str
    sector: Sector | None = None
    reference: str | None = None


@dataclass(frozen=True, slots=True)
class RowProblem:
    """Why a line of a file cannot be imported (line 1 is the header)."""

    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


@dataclass(frozen=True, slots=True)
class ParsedFile:
    """The rows of a file that could be read, and the problems of the others."""

    rows: tuple[ActivityRow, ...]
    problems: tuple[RowProblem, ...]


_CARRIERS = {c.value: c for c in Carrier}
_SECTORS = {s.value: s for s in Sector}


def parse_csv(text: str, table: FactorTable) -> ParsedFile:
    """Every row of a CSV text, or the reason it cannot be read (units are checked
    against ``table``'s conversions). Assets are not checked here: that needs the twin."""
    text = text.removeprefix("\ufeff")
    first = text.split("\n", 1)[0]
    delimiter = ";" if ";" in first and "," not in first else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    rows: list[ActivityRow] = []
    problems: list[RowProblem] = []
    try:
        header = next(reader, None)
    except csv.Error as exc:
        return ParsedFile((), (RowProblem(1, f"unreadable header ({exc})"),))
    if header is None or not any(cell.strip() for cell in header):
        return ParsedFile((), (RowProblem(1, _HEADER_HELP),))
    columns = [cell.strip().lower() for cell in header]
    header_problem = _header_problem(columns)
    if header_problem:
        return ParsedFile((), (RowProblem(1, header_problem),))
    line = reader.line_num
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            problems.append(RowProblem(reader.line_num, f"unreadable CSV ({exc})"))
            break  # the reader cannot resynchronise after a broken quote
        line = reader.line_num
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) != len(columns):
            problems.append(
                RowProblem(line, f"{len(cells)} fields where the header has {len(columns)}")
            )
            continue
        row = _row(
            line, dict(zip(columns, (c.strip() for c in cells), strict=True)), table, delimiter
        )
        if isinstance(row, RowProblem):
            problems.append(row)
        else:
            rows.append(row)
    if not rows and not problems:
        problems.append(RowProblem(line + 1, "no data rows after the header"))
    return ParsedFile(tuple(rows), tuple(problems))


_HEADER_HELP = "the first line must be a header naming the columns " + ", ".join(REQUIRED)


def _header_problem(columns: Sequence[str]) -> str | None:
    missing = [c for c in REQUIRED if c not in columns]
    unknown = [c for c in columns if c not in REQUIRED and c not in OPTIONAL]
    repeated = sorted({c for c in columns if columns.count(c) > 1})
    if missing:
        return f"the header lacks {', '.join(missing)} ({_HEADER_HELP})"
    if unknown:
        return f"unknown columns {', '.join(map(repr, unknown))}; allowed: " + ", ".join(
            REQUIRED + OPTIONAL
        )
    if repeated:
        return f"repeated columns {', '.join(repeated)}"
    return None


def _row(
    line: int, cells: dict[str, str], table: FactorTable, delimiter: str
) -> ActivityRow | RowProblem:
    asset_id = cells["asset_id"]
    if not asset_id:
        return RowProblem(line, "asset_id is empty")
    carrier = _CARRIERS.get(cells["carrier"].lower())
    if carrier is None:
        return RowProblem(
            line, f"unknown carrier {cells['carrier']!r}; known: {', '.join(_CARRIERS)}"
        )
    month = _month(cells["period"])
    if month is None:
        return RowProblem(
            line,
            f"period {cells['period']!r} is not a month (YYYY-MM) or a day (YYYY-MM-DD)"
            f" between {FIRST_YEAR} and {LAST_YEAR}",
        )
    quantity = _number(cells["quantity"], decimal_comma=delimiter == ";")
    if quantity is None:
        return RowProblem(line, f"quantity {cells['quantity']!r} is not a number")
    if quantity < 0:
        return RowProblem(line, f"quantity {quantity:g} is below 0 (credit notes are not counted)")
    unit = cells["unit"]
    known_units = sorted(u.unit for u in table.units if u.carrier is carrier)
    if unit not in known_units:
        return RowProblem(
            line,
            f"unit {unit!r} is not one of {carrier.value}'s: {', '.join(known_units) or 'none'}",
        )
    sector: Sector | None = None
    if cells.get("sector"):
        sector = _SECTORS.get(cells["sector"].lower())
        if sector is None:
            return RowProblem(
                line, f"unknown sector {cells['sector']!r}; known: {', '.join(_SECTORS)}"
            )
    return ActivityRow(
        line, asset_id, carrier, month, quantity, unit, sector, cells.get("reference") or None
    )


def _month(text: str) -> date | None:
    parts = text.split("-")
    if len(parts) not in (2, 3) or not all(p.isdigit() and p.isascii() for p in parts):
        return None
    if len(parts[0]) != 4 or len(parts[1]) != 2 or (len(parts) == 3 and len(parts[2]) != 2):
        return None
    try:
        day = date(int(parts[0]), int(parts[1]), int(parts[2]) if len(parts) == 3 else 1)
    except ValueError:
        return None
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        return None
    return day.replace(day=1)


def _number(text: str, *, decimal_comma: bool) -> float | None:
    if decimal_comma:
        text = text.replace(".", "").replace(",", ".") if "," in text else text
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None

"""Import a CSV of consumptions (fleet fuel, invoices) whole or not at all.

The file is parsed entirely (``carbon.activity``), its assets are checked against the
twin, and only a file without a single bad row is stored, in one transaction. A file
imported before (same content) is refused: its consumption would count twice.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import psycopg

from carbon import store
from carbon.activity import RowProblem, parse_csv
from carbon.errors import AlreadyImported, ImportRefused
from carbon.factors import FactorTable

MAX_FILE_BYTES = 50 * 1024 * 1024
"""A consumption file larger than this is not a year of invoices: refused before reading."""


@dataclass(frozen=True, slots=True)
class ImportReport:
    """What an import stored."""

    import_id: int
    file_name: str
    rows: int
    months: tuple[str, str]
    """The first and last month of its rows (``YYYY-MM``)."""


def import_csv(
    conn: psycopg.Connection,
    path: Path,
    table: FactorTable,
    imported_by: str | None = None,
) -> ImportReport:
    """Store every row of the CSV file at ``path``, or none.

    Raises:
        ImportRefused: a row cannot be read, or names an asset the twin lacks (every
            bad line is listed with its reason).
        AlreadyImported: the same content was imported before.
    """
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise ImportRefused(path.name, [f"the file is larger than {MAX_FILE_BYTES} bytes"])
        data = path.read_bytes()
    except OSError as exc:
        raise ImportRefused(path.name, [f"cannot be read ({exc.strerror or exc})"]) from exc
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ImportRefused(
            path.name, [f"line {line}: not UTF-8 (save the file as CSV UTF-8)"]
        ) from exc
    parsed = parse_csv(text, table)
    digest = hashlib.sha256(data).hexdigest()
    with conn.transaction():
        # serialises imports, so two copies of one file imported at once cannot both pass
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_IMPORT_LOCK_KEY,))
        earlier = store.imported_before(conn, digest)
        if earlier is not None:
            raise AlreadyImported(
                f"{path.name}: the same content was imported on {earlier[1]:%Y-%m-%d %H:%M}"
                f" as {earlier[0]}; nothing imported again"
            )
        known = store.known_assets(conn, (r.asset_id for r in parsed.rows))
        problems = list(parsed.problems) + [
            RowProblem(r.line, f"unknown asset {r.asset_id!r} (add it to the twin first)")
            for r in parsed.rows
            if r.asset_id not in known
        ]
        if problems:
            problems.sort(key=lambda p: p.line)
            raise ImportRefused(path.name, [str(p) for p in problems])
        import_id = store.insert_import(conn, path.name, digest, parsed.rows, imported_by)
    months = sorted(r.month for r in parsed.rows)
    return ImportReport(
        import_id, path.name, len(parsed.rows), (f"{months[0]:%Y-%m}", f"{months[-1]:%Y-%m}")
    )


_IMPORT_LOCK_KEY = 0x5C17_CA4B

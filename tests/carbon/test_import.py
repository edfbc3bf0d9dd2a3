"""``smartcity carbon import``: a file is stored whole or not at all, against a real
PostgreSQL; bad rows, unknown assets and a second import of the same file are refused."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import psycopg
import pytest
from typer.testing import CliRunner

from carbon.errors import AlreadyImported, ImportRefused
from carbon.factors import default_table
from carbon.importer import import_csv
from hub.cli import app
from storage import migrations

pytestmark = pytest.mark.integration

GOOD = (
    "asset_id,carrier,period,quantity,unit,reference\n"
    "town-hall,natural_gas,2019-01,2400,m3,GAZ-0119\n"
    "town-hall,electricity,2019-01,5200,kWh,EL-0119\n"
    "van-1,diesel,2019-01-17,61.5,l,BON-7\n"
)


def _town(url: str) -> psycopg.Connection:
    conn = psycopg.connect(url, autocommit=False)
    migrations.upgrade(conn)
    conn.execute(
        "INSERT INTO assets (asset_id, name, kind, lon, lat) VALUES"
        " ('town-hall', 'Primăria', 'town_hall', 24.87, 43.75),"
        " ('van-1', 'Dacia Logan TR-01-PMT', 'vehicle', 24.87, 43.75)"
    )
    conn.commit()
    return conn


def _rows(conn: psycopg.Connection) -> list[tuple]:
    return conn.execute(
        "SELECT line, asset_id, carrier, month, quantity, unit, reference"
        " FROM carbon_activity ORDER BY line"
    ).fetchall()


def test_a_good_file_is_stored_and_cannot_be_imported_twice(pg_url: str, tmp_path: Path) -> None:
    path = tmp_path / "invoices-2019.csv"
    path.write_text(GOOD, encoding="utf-8")
    with _town(pg_url) as conn:
        report = import_csv(conn, path, default_table(), "ana")
        assert (report.rows, report.months) == (3, ("2019-01", "2019-01"))
        assert _rows(conn) == [
            (2, "town-hall", "natural_gas", date(2019, 1, 1), 2400.0, "m3", "GAZ-0119"),
            (3, "town-hall", "electricity", date(2019, 1, 1), 5200.0, "kWh", "EL-0119"),
            (4, "van-1", "diesel", date(2019, 1, 1), 61.5, "l", "BON-7"),
        ]
        copy = tmp_path / "copy.csv"
        copy.write_bytes(path.read_bytes())
        with pytest.raises(AlreadyImported, match="imported on .* as invoices-2019.csv"):
            import_csv(conn, copy, default_table())
        assert len(_rows(conn)) == 3


def test_one_bad_row_or_unknown_asset_and_nothing_is_imported(pg_url: str, tmp_path: Path) -> None:
    path = tmp_path / "fleet.csv"
    path.write_text(
        GOOD + "van-2,petrol,2019-02,40,l,BON-8\n" + "van-1,diesel,2019-02,forty,l,BON-9\n",
        encoding="utf-8",
    )
    with _town(pg_url) as conn:
        with pytest.raises(ImportRefused) as refused:
            import_csv(conn, path, default_table())
        assert refused.value.problems == [
            "line 5: unknown asset 'van-2' (add it to the twin first)",
            "line 6: quantity 'forty' is not a number",
        ]
        assert _rows(conn) == []
        assert conn.execute("SELECT count(*) FROM carbon_imports").fetchone() == (0,)


def test_a_file_that_is_not_utf8_names_its_line(pg_url: str, tmp_path: Path) -> None:
    path = tmp_path / "ansi.csv"
    path.write_bytes(GOOD.encode() + "town-hall,lpg,2019-03,5,l,Bon şedinţă\n".encode("cp1250"))
    with _town(pg_url) as conn, pytest.raises(ImportRefused, match="line 5: not UTF-8"):
        import_csv(conn, path, default_table())


def test_the_command_reports_bad_lines_and_exits_2(pg_url: str, tmp_path: Path) -> None:
    env = {"SMARTCITY_DATABASE_URL": pg_url, "SMARTCITY_DATA_DIR": str(tmp_path / "var")}
    _town(pg_url).close()
    bad = tmp_path / "bad.csv"
    bad.write_text(GOOD + "van-1,diesel,2019-02-30,10,l,\n", encoding="utf-8")
    runner = CliRunner()
    refused = runner.invoke(app, ["carbon", "import", str(bad)], env=env)
    assert refused.exit_code == 2
    assert "bad.csv: 1 bad row(s), nothing imported" in refused.output
    assert "line 5: period '2019-02-30' is not a month" in refused.output
    good = tmp_path / "good.csv"
    good.write_text(GOOD, encoding="utf-8")
    done = runner.invoke(app, ["carbon", "import", str(good), "--by", "ana"], env=env)
    assert done.exit_code == 0, done.output
    assert "good.csv: 3 rows imported (2019-01 to 2019-01)" in done.stdout

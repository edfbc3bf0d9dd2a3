"""Emission factors: lookup by carrier and year, unit conversions, and refusal of a
factor file that cannot be right. Expected values are worked by hand from the sources
(DOMAIN.md: ANRE grid factors, IPCC 2006 defaults and net calorific values)."""

import doctest
from pathlib import Path

import pytest

import carbon.factors
from carbon.errors import FactorNotFound, InvalidFactorTable
from carbon.factors import Carrier, Scope, default_table, load_table


def test_grid_factor_of_each_published_year() -> None:
    table = default_table()
    assert table.lookup("electricity", 2007).t_co2_per_mwh == pytest.approx(0.566)
    assert table.lookup(Carrier.ELECTRICITY, 2019).t_co2_per_mwh == pytest.approx(0.26465)


def test_a_year_without_its_own_factor_takes_the_latest_before_it() -> None:
    table = default_table()
    between = table.lookup("electricity", 2015)
    assert (between.year, between.t_co2_per_mwh) == (2007, pytest.approx(0.566))
    after = table.lookup("electricity", 2026)
    assert (after.year, after.t_co2_per_mwh) == (2019, pytest.approx(0.26465))


def test_a_year_before_the_first_factor_is_refused_with_the_remedy() -> None:
    with pytest.raises(FactorNotFound, match="from 2007.*SMARTCITY_CARBON_FACTORS_FILE"):
        default_table().lookup("electricity", 2006)


def test_fuel_defaults_are_the_ipcc_values_and_scope_1() -> None:
    table = default_table()
    expected = {"natural_gas": 0.202, "diesel": 0.267, "petrol": 0.249, "lpg": 0.227}
    for carrier, value in expected.items():
        factor = table.lookup(carrier, 2024)
        assert factor.t_co2_per_mwh == pytest.approx(value)
        assert factor.scope is Scope.DIRECT
        assert "IPCC 2006" in factor.source
    assert table.lookup("electricity", 2024).scope is Scope.GRID
    assert table.lookup("district_heat", 2024).scope is Scope.GRID


def test_every_factor_carries_source_version_and_whether_confirmed() -> None:
    table = default_table()
    assert {f.carrier for f in table.factors} == set(Carrier)
    for factor in table.factors:
        assert factor.source and factor.version == table.version
    # Only the two ANRE grid values are confirmed in DOMAIN.md; the rest are defaults.
    assert {(f.carrier, f.year) for f in table.factors if f.confirmed} == {
        (Carrier.ELECTRICITY, 2007),
        (Carrier.ELECTRICITY, 2019),
    }


def test_tonnes_of_litres_and_cubic_metres_by_hand() -> None:
    table = default_table()
    # 1,000 l diesel: 0.832 kg/l x 43.0 MJ/kg = 35,776 MJ = 9.938 MWh; x 0.267 = 2.653 t.
    assert table.tonnes("diesel", 1000, "l", 2024) == pytest.approx(2.6534, abs=0.001)
    # 1,000 m3 gas: 9.5 MWh x 0.202 = 1.919 t.
    assert table.tonnes("natural_gas", 1000, "m3", 2024) == pytest.approx(1.919)
    # 10 Gcal of heat: 11.63 MWh x 0.224 = 2.605 t.
    assert table.tonnes("district_heat", 10, "Gcal", 2024) == pytest.approx(2.60512)
    # 50,000 kWh in 2007 and in 2019 (the baseline recomputes with its own factor).
    assert table.tonnes("electricity", 50_000, "kWh", 2007) == pytest.approx(28.3)
    assert table.tonnes("electricity", 50_000, "kWh", 2019) == pytest.approx(13.2325)


def test_unknown_carrier_and_unit_are_refused_with_what_is_known() -> None:
    table = default_table()
    with pytest.raises(FactorNotFound, match="known: electricity"):
        table.lookup("coal", 2020)
    with pytest.raises(FactorNotFound, match="known units: l"):
        table.conversion("diesel", "kg")


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "factors.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_town_file_replaces_the_shipped_values(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        'version = "town-1"\n'
        '[[factor]]\ncarrier = "electricity"\nyear = 2022\nt_co2_per_mwh = 0.3\n'
        'source = "supplier disclosure"\nconfirmed = true\n'
        '[[unit]]\ncarrier = "electricity"\nunit = "kWh"\nmwh_per_unit = 0.001\n'
        'source = "definition"\nconfirmed = true\n',
    )
    table = load_table(path)
    assert table.version == "town-1"
    assert table.tonnes("electricity", 1000, "kWh", 2023) == pytest.approx(0.3)
    with pytest.raises(FactorNotFound):
        table.lookup("diesel", 2023)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[[factor]]\n", "'version'"),
        ('version = "v"\n[[factor]]\ncarrier = "coal"\n', "unknown carrier 'coal'"),
        (
            'version = "v"\n[[factor]]\ncarrier = "lpg"\nyear = 2020\nt_co2_per_mwh = -1\n'
            'source = "s"\nconfirmed = true\n',
            "below 0",
        ),
        (
            'version = "v"\n[[factor]]\ncarrier = "lpg"\nyear = "2020"\n'
            't_co2_per_mwh = 0.2\nsource = "s"\nconfirmed = true\n',
            r"#1 needs 'year'",
        ),
        (
            'version = "v"\n' + '[[factor]]\ncarrier = "lpg"\nyear = 2020\nt_co2_per_mwh = 0.2\n'
            'source = "s"\nconfirmed = true\n' * 2,
            "same year",
        ),
        (
            'version = "v"\n[[unit]]\ncarrier = "lpg"\nunit = "l"\nmwh_per_unit = 0\n'
            'source = "s"\nconfirmed = true\n',
            "above 0",
        ),
        ("version = \n", "cannot be read as TOML"),
    ],
)
def test_a_file_that_cannot_be_right_is_refused(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(InvalidFactorTable, match=message):
        load_table(_write(tmp_path, text))


def test_module_examples() -> None:
    failures, tried = doctest.testmod(carbon.factors)
    assert tried > 0 and failures == 0

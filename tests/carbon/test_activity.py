"""The CSV parser of consumption files: every good row read, every bad one reported with
its line and reason; a fuzzed file never raises and never loses a line."""

from __future__ import annotations

import csv
import io
from datetime import date

from hypothesis import given, settings
from hypothesis import strategies as st

from carbon.activity import parse_csv
from carbon.factors import Carrier, default_table
from carbon.sectors import Sector

TABLE = default_table()
HEADER = "asset_id,carrier,period,quantity,unit,sector,reference\n"


def test_good_rows_are_read_with_their_line() -> None:
    parsed = parse_csv(
        HEADER
        + "van-1,diesel,2025-03-14,52.4,l,,B-123\n"
        + "\n"  # a blank line is skipped, the next keeps its own number
        + "town-hall,natural_gas,2025-03,1200,m3,municipal_buildings,\n",
        TABLE,
    )
    assert parsed.problems == ()
    first, second = parsed.rows
    assert (first.line, first.asset_id, first.carrier, first.month) == (
        2,
        "van-1",
        Carrier.DIESEL,
        date(2025, 3, 1),
    )
    assert (first.quantity, first.unit, first.sector, first.reference) == (52.4, "l", None, "B-123")
    assert (second.line, second.sector, second.reference) == (4, Sector.MUNICIPAL_BUILDINGS, None)


def test_semicolons_and_decimal_commas_of_a_romanian_spreadsheet() -> None:
    parsed = parse_csv(
        "\ufeffasset_id;carrier;period;quantity;unit\n"
        "school-1;electricity;2024-11;1.234,5;kWh\n"
        "school-1;electricity;2024-12;980;kWh\n",
        TABLE,
    )
    assert parsed.problems == ()
    assert [r.quantity for r in parsed.rows] == [1234.5, 980.0]


def test_bad_rows_are_reported_by_line_and_reason() -> None:
    parsed = parse_csv(
        HEADER
        + "van-1,diesel,2025-03-14,52.4,l,,\n"  # 2: good
        + "van-1,coal,2025-03,1,t,,\n"  # 3
        + "van-1,diesel,2025-13,1,l,,\n"  # 4
        + "van-1,diesel,2025-03,-5,l,,\n"  # 5
        + "van-1,diesel,2025-03,lots,l,,\n"  # 6
        + "van-1,diesel,2025-03,5,kWh,,\n"  # 7
        + "van-1,diesel,2025-03,5,l,roads,\n"  # 8
        + ",diesel,2025-03,5,l,,\n"  # 9
        + "van-1,diesel,2025-03,5\n"  # 10
        + "van-1,diesel,1989-12,5,l,,\n"  # 11
        + "van-1,petrol,2025-03,nan,l,,\n",  # 12
        TABLE,
    )
    assert [r.line for r in parsed.rows] == [2]
    reasons = {p.line: p.reason for p in parsed.problems}
    assert sorted(reasons) == list(range(3, 13))
    assert reasons[3].startswith("unknown carrier 'coal'")
    assert "not a month" in reasons[4] and "not a month" in reasons[11]
    assert reasons[5].startswith("quantity -5 is below 0")
    assert reasons[6] == "quantity 'lots' is not a number"
    assert reasons[7] == "unit 'kWh' is not one of diesel's: l"
    assert reasons[8].startswith("unknown sector 'roads'")
    assert reasons[9] == "asset_id is empty"
    assert reasons[10] == "4 fields where the header has 7"
    assert reasons[12] == "quantity 'nan' is not a number"
    assert str(parsed.problems[0]) == "line 3: " + reasons[3]


def test_a_header_that_cannot_be_used_refuses_the_file_at_line_1() -> None:
    for text, reason in [
        ("", "the first line must be a header"),
        ("asset,carrier,period,quantity,unit\n", "the header lacks asset_id"),
        ("asset_id,carrier,period,quantity,unit,cost\nx,lpg,2025-01,1,l,3\n", "unknown columns"),
        ("asset_id,asset_id,carrier,period,quantity,unit\n", "repeated columns asset_id"),
    ]:
        parsed = parse_csv(text, TABLE)
        assert parsed.rows == () and parsed.problems[0].line == 1
        assert parsed.problems[0].reason.startswith(reason), parsed.problems[0].reason


def test_a_header_alone_is_a_problem() -> None:
    parsed = parse_csv(HEADER, TABLE)
    assert parsed.rows == () and parsed.problems[0].reason == "no data rows after the header"


def test_a_broken_quote_stops_the_file_with_its_line() -> None:
    parsed = parse_csv(HEADER + 'van-1,diesel,2025-03,5,l,,"B-1\n', TABLE)
    assert parsed.rows == ()
    assert parsed.problems[0].reason.startswith("unreadable CSV")


CELLS = st.one_of(
    st.sampled_from(["van-1", "diesel", "lpg", "2025-03", "2025-02-30", "12.5", "-1", "l", "m3"]),
    st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=8),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(CELLS, min_size=0, max_size=9), max_size=12))
def test_fuzzed_files_never_raise_and_every_line_is_a_row_or_a_problem(
    rows: list[list[str]],
) -> None:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n", quoting=csv.QUOTE_ALL)  # a bare CR ends a line
    writer.writerow(["asset_id", "carrier", "period", "quantity", "unit", "sector", "reference"])
    writer.writerows(rows)
    parsed = parse_csv(out.getvalue(), TABLE)
    seen = [r.line for r in parsed.rows] + [p.line for p in parsed.problems]
    assert len(seen) == len(set(seen))  # no line both read and refused
    records = [r for r in rows if any(cell.strip() for cell in r)]
    assert len(seen) == max(len(records), 1)  # each record once; an empty file once
    for row in parsed.rows:
        assert row.quantity >= 0 and row.asset_id and row.month.day == 1
    if not parsed.problems:
        assert parsed.rows  # a file with nothing to import is reported, not accepted

"""Downloads of public series and layers over real PostgreSQL: values against a
recomputation of the fill, Parquet equal to CSV, ETag/304 and Last-Modified, 404 for
what is not published, 400 problem+json for bad parameters."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pyarrow.parquet as pq
import pyogrio
import pytest
from fastapi.testclient import TestClient

from auth.principal import Role
from harness.credentials import key_headers
from tests.opendata.conftest import EXTRA_COUNTERS, YEAR, mean

pytestmark = pytest.mark.integration

RIVER = "/opendata/datasets/river-levels/series"
PARKING = "/opendata/datasets/parking-occupancy/series"


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_hourly_csv_is_the_rollups_values(client: TestClient) -> None:
    answer = client.get(f"{RIVER}.csv", params={"start": "2025-03-01", "end": "2025-03-03"})
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/csv")
    rows = _rows(answer.text)
    levels = [r for r in rows if r["quantity"] == "water_level"]
    assert len(levels) == 48
    first = datetime(2025, 3, 1, tzinfo=UTC)
    for i, row in enumerate(levels):
        hour = int((first - YEAR[0]) / timedelta(hours=1)) + i
        assert row["device_id"] == "gauge-tr-magurele"
        assert row["start"] == (first + timedelta(hours=i)).strftime("%Y-%m-%dT%H:%M:%SZ")
        assert (int(row["count"]), float(row["mean"])) == (4, mean(300.0, hour))
        assert (float(row["min"]), float(row["max"])) == (
            mean(300.0, hour) - 1,
            mean(300.0, hour) + 1,
        )
    # no water temperature was filled: the quantity has no rows, and no bay is there
    assert {r["device_id"] for r in rows} == {"gauge-tr-magurele"}


def test_daily_csv_merges_the_hours(client: TestClient) -> None:
    answer = client.get(
        f"{PARKING}.csv", params={"start": "2025-06-01", "end": "2025-06-03", "resolution": "day"}
    )
    rows = _rows(answer.text)
    assert len(rows) == 2 * (EXTRA_COUNTERS + 1)
    seven = [r for r in rows if r["device_id"] == "counter-07"]
    # a day of 24 hours: mean of base + 0..23, min base - 1, max base + 23 + 1
    assert [(r["start"], int(r["count"]), float(r["mean"])) for r in seven] == [
        ("2025-06-01T00:00:00Z", 96, 7 + 11.5),
        ("2025-06-02T00:00:00Z", 96, 7 + 11.5),
    ]
    assert (float(seven[0]["min"]), float(seven[0]["max"])) == (6.0, 31.0)


def test_parquet_holds_the_csv_rows_in_row_groups(client: TestClient) -> None:
    params = {"start": "2025-01-01", "end": "2025-02-01"}
    text = client.get(f"{PARKING}.csv", params=params).text
    answer = client.get(f"{PARKING}.parquet", params=params)
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/vnd.apache.parquet"
    parquet = pq.ParquetFile(io.BytesIO(answer.content))
    assert parquet.metadata.num_row_groups > 1  # 41 × 744 rows in groups of 5,000
    table = parquet.read().to_pylist()
    rows = _rows(text)
    assert len(table) == len(rows) == (EXTRA_COUNTERS + 1) * 31 * 24
    for got, want in zip(table[::997], rows[::997], strict=True):
        assert got["device_id"] == want["device_id"]
        assert got["start"].strftime("%Y-%m-%dT%H:%M:%SZ") == want["start"]
        assert got["mean"] == float(want["mean"])


def test_etag_last_modified_and_304(client: TestClient) -> None:
    params = {"start": "2025-03-01", "end": "2025-03-02"}
    answer = client.get(f"{RIVER}.csv", params=params)
    tag, modified = answer.headers["etag"], answer.headers["last-modified"]
    assert client.get(f"{RIVER}.csv", params=params).headers["etag"] == tag  # a stable URL
    again = client.get(f"{RIVER}.csv", params=params, headers={"If-None-Match": tag})
    assert again.status_code == 304
    assert again.content == b""
    since = client.get(f"{RIVER}.csv", params=params, headers={"If-Modified-Since": modified})
    assert since.status_code == 304
    other = client.get(f"{RIVER}.csv", params={**params, "end": "2025-03-03"})
    assert other.headers["etag"] != tag
    assert client.get(f"{RIVER}.parquet", params=params).headers["etag"] != tag


def test_unpublished_datasets_answer_404(client: TestClient, town: str) -> None:
    params = {"start": "2025-03-01", "end": "2025-03-02"}
    for path in (
        "/opendata/datasets/energy-consumption/series.csv",  # not public by default
        "/opendata/datasets/parking-bays/series.csv",  # never
        "/opendata/datasets/no-such-thing/series.parquet",
        "/opendata/datasets/layer-sensors/features.geojson",  # an internal layer
        "/opendata/datasets/layer-assets/features.gpkg",
    ):
        answer = client.get(path, params=params)
        assert answer.status_code == 404, (path, answer.text)
        assert answer.headers["content-type"] == "application/problem+json"
    assert (
        client.get(
            "/opendata/datasets/carbon-inventory/inventory.csv", params={"year": 2025}
        ).status_code
        == 404
    )
    admin = key_headers(town, Role.ADMIN)
    put = client.put(
        f"{RIVER.rsplit('/', 1)[0]}/publication", json={"public": False}, headers=admin
    )
    assert put.status_code == 204
    assert client.get(f"{RIVER}.csv", params=params).status_code == 404


# The parameters are refused before the database is asked: once, on the system server.
@pytest.mark.parametrize("pg_server", ["system"], indirect=True)
@pytest.mark.parametrize(
    ("params", "says"),
    [
        ({"start": "2025-03-02", "end": "2025-03-01"}, "must be after start"),
        ({"start": "2025-01-01", "end": "2026-01-03"}, "at most 366 days"),
        ({"start": "2025-01-01", "end": "2025-01-02", "resolution": "minute"}, "resolution"),
        ({"start": "2025-01-01T00:00:00", "end": "2025-01-02"}, "no time zone"),
        ({"start": "yesterday", "end": "2025-01-02"}, "start"),
        ({"end": "2025-01-02"}, "start"),
    ],
)
def test_bad_parameters_are_400_problems(
    client: TestClient, params: dict[str, str], says: str
) -> None:
    answer = client.get(f"{RIVER}.csv", params=params)
    assert answer.status_code == 400, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert says in answer.json()["detail"]


def test_unknown_format_is_a_400_problem(client: TestClient) -> None:
    answer = client.get(f"{RIVER}.xlsx", params={"start": "2025-01-01", "end": "2025-01-02"})
    assert answer.status_code == 400
    assert answer.headers["content-type"] == "application/problem+json"


def test_a_public_layer_as_geojson_and_geopackage(client: TestClient, tmp_path) -> None:
    geojson = client.get("/opendata/datasets/layer-parcels/features.geojson")
    assert geojson.status_code == 200
    features = geojson.json()["features"]
    assert len(features) == 16
    assert {f["properties"]["cadastral_number"] for f in features} == {
        f"3000{i}" for i in range(16)
    }
    lon, lat = features[0]["geometry"]["coordinates"][0][0]
    assert 24 < lon < 26 and 43 < lat < 45  # CRS84
    gpkg = client.get("/opendata/datasets/layer-parcels/features.gpkg")
    assert gpkg.status_code == 200
    path = tmp_path / "parcels.gpkg"
    path.write_bytes(gpkg.content)
    frame = pyogrio.read_dataframe(path)
    assert len(frame) == 16
    assert frame.crs.to_epsg() == 3844
    tag = gpkg.headers["etag"]
    again = client.get(
        "/opendata/datasets/layer-parcels/features.gpkg", headers={"If-None-Match": tag}
    )
    assert again.status_code == 304


def test_downloads_are_rate_limited_and_a_304_costs_nothing(town: str, tmp_path) -> None:
    from api.app import create_app
    from settings import Settings

    settings = Settings(data_dir=tmp_path / "data", rate_limit_heavy="2/minute")
    params = {"start": "2025-03-01", "end": "2025-03-02"}
    with TestClient(create_app(settings, town)) as limited:
        tag = limited.get(f"{RIVER}.csv", params=params).headers["etag"]
        for _ in range(3):  # revalidations are free
            cached = limited.get(f"{RIVER}.csv", params=params, headers={"If-None-Match": tag})
            assert cached.status_code == 304
        assert limited.get(f"{RIVER}.parquet", params=params).status_code == 200
        refused = limited.get(f"{RIVER}.csv", params=params)
    assert refused.status_code == 429
    assert refused.headers["content-type"] == "application/problem+json"
    assert int(refused.headers["retry-after"]) > 0

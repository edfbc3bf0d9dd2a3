"""The API's memory stays bounded under repeated heavy requests, eight at once, against a
real ``smartcity serve`` on the test town (``harness/heavy_load.py``; the long run on a
larger town is ``bench/memory_bench.py``, in BENCHMARKS.md)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from auth.principal import Role
from gis_layers.rasters import register
from harness import heavy_load
from harness.credentials import key_headers
from harness.live import serving

SECONDS = 60
BOUND_MIB = 1200
"""The server and its helpers together, after every kind of heavy request many times."""
GROWTH = 1.10
"""The last third of the run may peak at most this much above the second's."""
UNLIMITED = {
    "SMARTCITY_RATE_LIMIT_HEAVY": "1000000/minute",
    "SMARTCITY_RATE_LIMIT_FLOOD_LEVELS": "1000000/minute",
    "SMARTCITY_RATE_LIMIT_FLOOD_LEVELS_PROCESS": "1000000/minute",
}


# The API process's memory is the hub's, whichever server answers; a minute a run, so
# once, on the system server.
pytestmark = pytest.mark.parametrize("pg_server", ["system"], indirect=True)


@pytest.fixture
def town(demo_db: str, demo_files: Path) -> Iterator[str]:
    with psycopg.connect(demo_db) as conn:
        register(conn, demo_files.with_name("dem.tif"), name="terrain")
    yield demo_db


def test_memory_plateaus_under_eight_heavy_requests_at_once(town: str, tmp_path: Path) -> None:
    with serving(town, settings=UNLIMITED | {"SMARTCITY_DATA_DIR": str(tmp_path)}) as (url, server):
        planner = key_headers(town, Role.PLANNER)
        report = heavy_load.run(url, server.pid, SECONDS, clients=8, sample_s=1.0, headers=planner)
    summary = report.summary()
    print(f"memory under heavy requests: {summary}")
    assert not report.failures, report.failures
    assert {kind for kind, status in report.answers if status == 200} == set(heavy_load.KINDS)
    assert {status for _, status in report.answers} <= {200, 404}, summary["answers"]
    _, second, last = summary["rss_mib_peak_by_third"]  # type: ignore[misc]
    assert last <= second * GROWTH, summary
    assert summary["rss_mib_peak"] <= BOUND_MIB, summary

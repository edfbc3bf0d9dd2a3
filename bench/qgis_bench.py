"""QGIS drawing 100,000 parcels from the hub: vector tiles, OGC API - Features, local file.

Run from the repository root (PostgreSQL on 127.0.0.1:5432; PyQGIS from Debian's
``python3-qgis``, which ``scripts/test-deps.sh`` installs):

    .venv/bin/python bench/qgis_bench.py

Generates the 100,000 parcels of ``bench/features_bench.py`` (Stereo 70) into a
GeoPackage, imports them into a scratch database through our importer and publishes
them (the cadastre is open data: QGIS reads it without credentials, as a planner with
no key configured does; ``features_bench.load_parcels``), serves them with
``smartcity serve`` as its own process, and has ``bench/qgis_render.py`` (its docstring
gives the method) time QGIS drawing them from the three sources, ``--repeats`` times,
each time in a fresh QGIS process (the server's tile cache stays warm after the first:
the first run is reported apart). Prints one JSON document and a markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from features_bench import generate_parcels, load_parcels, write_geopackages  # noqa: E402
from scratch_db import scratch_database  # noqa: E402

from harness.live import served  # noqa: E402

QGIS_PYTHON = "/usr/bin/python3"
SOURCES = ("tiles", "features", "geopackage")


def render(base: str, geopackage: Path, out: Path) -> dict[str, object]:
    """One fresh QGIS process's timings."""
    run = subprocess.run(
        [QGIS_PYTHON, str(ROOT / "bench" / "qgis_render.py"), base, str(geopackage), str(out)],
        capture_output=True,
        text=True,
        check=True,
        timeout=3600,
    )
    return dict(json.loads(run.stdout.strip().splitlines()[-1]))


def summary(runs: list[dict[str, object]]) -> dict[str, dict[str, float]]:
    """Per source, medians over runs (and over the five street views)."""
    table: dict[str, dict[str, float]] = {}
    for source in SOURCES:
        per = [run[source] for run in runs]
        table[source] = {
            "town_cold_ms": statistics.median(r["town"]["cold_ms"] for r in per),  # type: ignore[index]
            "town_warm_ms": statistics.median(r["town"]["warm_ms"] for r in per),  # type: ignore[index]
            "street_cold_ms": statistics.median(
                v
                for r in per
                for v in r["street"]["cold_ms"]  # type: ignore[index]
            ),
            "street_warm_ms": statistics.median(
                v
                for r in per
                for v in r["street"]["warm_ms"]  # type: ignore[index]
            ),
            "town_drawn": statistics.median(r["town"]["drawn"] for r in per),  # type: ignore[index]
        }
    return table


def markdown(table: dict[str, dict[str, float]]) -> str:
    """The summary as the table of BENCHMARKS.md."""
    rows = [
        ("whole town, first draw (ms)", "town_cold_ms"),
        ("whole town, drawn again (ms)", "town_warm_ms"),
        ("street view, arriving (ms, median of 5 places)", "street_cold_ms"),
        ("street view, drawn again (ms)", "street_warm_ms"),
    ]
    lines = [f"| QGIS draw | {' | '.join(SOURCES)} |", "|---" * (1 + len(SOURCES)) + "|"]
    for label, key in rows:
        lines.append(f"| {label} | " + " | ".join(f"{table[s][key]:,.0f}" for s in SOURCES) + " |")
    return "\n".join(lines)


def main() -> None:
    """Data, server, QGIS runs; everything started here stops here."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--parcels", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    out: dict[str, object] = {"loadavg_at_start": os.getloadavg()}
    with (
        tempfile.TemporaryDirectory(prefix="qgis-bench-") as tmp,
        scratch_database(f"qgis_bench_{os.getpid()}") as url,
    ):
        workdir = Path(tmp)
        stereo, _ = write_geopackages(generate_parcels(args.parcels), workdir)
        out["parcels"] = load_parcels(url, stereo)
        with served(url) as base:
            first = render(base, stereo, Path("/tmp"))
            print(f"first run (server tile cache cold): {json.dumps(first)}", flush=True)
            runs = [render(base, stereo, workdir) for _ in range(args.repeats)]
    out["first_run_cold_server"] = first
    out["runs"] = runs
    out["summary"] = summary(runs)
    out["loadavg_at_end"] = os.getloadavg()
    print(json.dumps(out, indent=2))
    print(markdown(out["summary"]))  # type: ignore[arg-type]


if __name__ == "__main__":
    main()

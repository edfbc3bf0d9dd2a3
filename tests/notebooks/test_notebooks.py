"""The notebooks run top to bottom against a served demo hub, each in a kernel of this
Python (jupytext reads the ``py:percent`` file, nbclient executes it), and the figures
they compute are checked against the hub's own answers, read here over HTTP.

Each notebook ends with a cell tagged ``summary`` displaying its key figures as JSON.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import httpx
import jupytext
import numpy as np
import pytest
import rasterio
from nbclient import NotebookClient

from harness.headless_chromium import CHROMIUM, chromium
from hub.demo_history import LIGHTING_MWH
from tests.notebooks.conftest import DemoHub

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"
CELL_TIMEOUT_S = 180
# virtual milliseconds the map page gets before it is looked at (SwiftShader WebGL)
BUDGET_MS = 10_000

pytestmark = [
    pytest.mark.integration,
    # one demo hub on the system server for the module: building it is most of the time
    pytest.mark.parametrize("pg_server", ["system"], indirect=True),
]


def run_notebook(name: str, hub: DemoHub, workdir: Path) -> dict[str, Any]:
    """Execute ``notebooks/<name>.py`` in ``workdir`` against ``hub``; return what its
    ``summary`` cell displayed. A failing cell fails with its traceback."""
    notebook = jupytext.read(NOTEBOOKS / f"{name}.py")
    python_path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)
    env = os.environ | {
        "SMARTCITY_API_URL": hub.url,
        "SMARTCITY_API_KEY": hub.key,
        "PYTHONPATH": python_path,  # the kernel imports this tree's packages
        "MPLBACKEND": "agg",
    }
    client = NotebookClient(
        notebook,
        timeout=CELL_TIMEOUT_S,
        kernel_name="python3",
        resources={"metadata": {"path": str(workdir)}},
    )
    client.execute(env=env)
    summaries = [
        output["data"]["application/json"]
        for cell in notebook.cells
        if "summary" in cell.get("metadata", {}).get("tags", [])
        for output in cell.get("outputs", [])
        if "application/json" in output.get("data", {})
    ]
    assert len(summaries) == 1, f"{name}: one summary cell displaying JSON expected"
    return summaries[0]


def read(hub: DemoHub, path: str, **params: Any) -> Any:
    """The hub's JSON answer to ``GET path``, as the notebooks' key reads it."""
    answer = httpx.get(f"{hub.url}{path}", params=params, headers={"X-API-Key": hub.key})
    return answer.raise_for_status().json()


@pytest.fixture(scope="module")
def planner_run(
    demo_hub: DemoHub, tmp_path_factory: pytest.TempPathFactory
) -> tuple[dict[str, Any], Path]:
    """The planner's notebook run once: its summary and its working folder."""
    workdir = tmp_path_factory.mktemp("planner")
    return run_notebook("planner", demo_hub, workdir), workdir


def test_the_planners_notebook(planner_run: tuple[dict[str, Any], Path], demo_hub: DemoHub) -> None:
    summary, workdir = planner_run
    listed = {c["id"] for c in read(demo_hub, "/collections")["collections"]}
    assert set(summary["layers"]) == listed
    parcels = read(demo_hub, "/collections/parcels/items", limit=10_000)
    assert summary["parcels"] == parcels["numberMatched"] == len(parcels["features"]) > 0
    buildings = read(demo_hub, "/collections/buildings/items", limit=10_000)["features"]
    # every resident counted in a zone: none lost by the spatial join
    assert summary["residents"] == sum(b["properties"]["residents"] for b in buildings) > 0
    parcel_ha = sum(p["properties"]["area_m2"] for p in parcels["features"]) / 10_000
    assert 0 < summary["parcel_ha"] <= parcel_ha * 1.001
    assert summary["zones"] == len(read(demo_hub, "/twin/zones")["zones"])
    assert summary["lots"] == len(read(demo_hub, "/parking/lots")["lots"]) > 0

    assert Path(summary["map"]) == workdir / "out" / "planner-map.html"


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed")
def test_the_planners_map_draws_offline(
    planner_run: tuple[dict[str, Any], Path], tmp_path: Path
) -> None:
    """The saved page, opened from its file by a browser that reaches no host: no
    request fails, no script error, and the zones are drawn in their colours."""
    _, workdir = planner_run
    page = workdir / "out" / "planner-map.html"
    with chromium(tmp_path) as cdp:
        cdp.navigate(page.as_uri())
        cdp.settle(BUDGET_MS)
        # WebGL's performance warnings are no fault; a failed request or script is
        errors = [m for m in cdp.messages() if not m.startswith(("log.warning", "console.warn"))]
        assert errors == []
        shot = tmp_path / "planner-map.png"
        shot.write_bytes(cdp.screenshot())
    with rasterio.open(shot) as png:
        pixels = np.moveaxis(png.read()[:3], 0, -1).astype(int).reshape(-1, 3)
    colours, counts = np.unique(pixels, axis=0, return_counts=True)
    background = colours[counts.argmax()]
    drawn = np.abs(pixels - background).sum(axis=1) > 30
    assert drawn.mean() > 0.05, f"{drawn.mean():.1%} of the page drawn (saved in {shot})"


def test_the_emergency_notebook(demo_hub: DemoHub, tmp_path: Path) -> None:
    summary = run_notebook("emergency", demo_hub, tmp_path)

    gauge = read(demo_hub, "/river/gauges")["gauges"][0]
    assert summary["gauge"] == gauge["device_id"]
    assert summary["level_now_cm"] == gauge["level"]["cm"]
    scenarios = summary["scenarios"]
    thresholds = gauge["thresholds_cm"]
    assert [scenarios[k]["level_cm"] for k in ("attention", "flood", "danger")] == [
        thresholds["attention"],
        thresholds["flood"],
        thresholds["danger"],
    ]
    assert len(scenarios) == 6
    # higher water never covers less: the model floods every cell a lower level floods
    assert summary["area_never_shrinks"] is True
    assert scenarios["flood"]["flooded_ha"] > 0 and scenarios["flood"]["parcels"] > 0
    assert scenarios["danger + 2 m"]["buildings"] >= scenarios["attention"]["buildings"]
    flood = read(demo_hub, "/river/flood", level_cm=thresholds["flood"])
    assert scenarios["flood"]["flooded_ha"] == pytest.approx(
        flood["summary"]["flooded_area_m2"] / 10_000
    )
    assert summary["open_alerts"] == read(demo_hub, "/river/alerts", state="open")["count"]


def test_the_parking_notebook(demo_hub: DemoHub, tmp_path: Path) -> None:
    summary = run_notebook("parking", demo_hub, tmp_path)

    lots = read(demo_hub, "/parking/lots")["lots"]
    assert summary["lots"] == len(lots) > 0
    assert summary["utilisation_cells"] == {lot["lot_id"]: 168 for lot in lots}
    low, high = summary["occupancy_range"]
    assert 0 <= low < high <= 1
    assert summary["forecast_hours"] == 6
    lot = next(x for x in lots if x["lot_id"] == summary["busiest"])
    assert summary["capacity"] == lot["capacity"] > 0
    assert all(0 <= v <= summary["capacity"] for v in summary["forecast_range"])
    # a week of origins every sixth hour, six hours each (a few at its edges dropped)
    assert 6 * 20 <= summary["backtest_forecasts"] <= 6 * 28
    for mae in summary["mae_model"] + summary["mae_naive"]:
        assert math.isfinite(mae) and 0 <= mae < summary["capacity"] / 2
    assert 0.5 <= summary["inside_80"] <= 1


def test_the_carbon_notebook(demo_hub: DemoHub, tmp_path: Path) -> None:
    summary = run_notebook("carbon", demo_hub, tmp_path)

    inventory = read(demo_hub, "/carbon/inventory", year=summary["year"])
    assert summary["total_t_co2e"] == inventory["total"]["t_co2e"]
    assert summary["sector_sum_t_co2e"] == pytest.approx(summary["total_t_co2e"], abs=1e-3)
    assert summary["csv_lines"] > 0
    assert summary["csv_sum_t_co2e"] == pytest.approx(summary["total_t_co2e"], abs=0.01)
    assert summary["baseline_t_co2e"] > 0
    # last year's lighting as the demo billed it, at 150 W for 4,100 h a luminaire
    assert summary["luminaires"] == round(LIGHTING_MWH["now"] * 1000 / (0.150 * 4100))
    saved = [s["tco2e_saved"] for s in summary["scenarios"].values()]
    assert len(saved) == 4 and all(t > 0 for t in saved)
    assert summary["totals_t_co2e_saved"] == pytest.approx(sum(saved))

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pytest
from shapely.geometry import Polygon, box


@pytest.fixture
def parcels_gpkg(tmp_path: Path) -> Path:
    """Nine 100 m x 100 m parcels in Stereo 70 around (489700, 250200), one a bow-tie."""
    cells = [
        box(489500 + 100 * i, 250000 + 100 * j, 489600 + 100 * i, 250100 + 100 * j)
        for i in range(3)
        for j in range(3)
    ]
    cells[4] = Polygon([(489600, 250100), (489700, 250200), (489700, 250100), (489600, 250200)])
    frame = gpd.GeoDataFrame(
        {
            "cadastral_number": [f"2050{i}" for i in range(9)],
            "land_use": ["CC"] * 9,
            "levels": list(range(9)),
        },
        geometry=cells,
        crs="EPSG:3844",
    )
    path = tmp_path / "parcels.gpkg"
    frame.to_file(path, layer="parcels")
    return path

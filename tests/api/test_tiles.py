"""OGC API - Tiles: Mapbox Vector Tiles of a layer, checked against the layer itself.

A tile's features are compared with the lots that meet the tile as computed here with
shapely in Web Mercator; GDAL's MVT driver (what QGIS reads vector tiles with) must read
the same polygons with the same areas, which also checks the rings' winding order.
"""

from __future__ import annotations

import gzip
from itertools import pairwise
from pathlib import Path

import mapbox_vector_tile
import morecantile
import pyogrio
import pytest
import shapely
from fastapi.testclient import TestClient

from gis_layers.vector_tiles import EXTENT, MARGIN, MEDIA_TYPE
from tests.api.lots import WGS, lots_client  # noqa: F401  (fixture)

TMS = morecantile.tms.get("WebMercatorQuad")
MERCATOR = WGS.to_crs("EPSG:3857")


def _tile_over_the_lots(zoom: int) -> morecantile.Tile:
    """The tile under the middle of the lots, where some lots cross its edges."""
    minx, miny, maxx, maxy = WGS.total_bounds
    return TMS.tile((minx + maxx) / 2, (miny + maxy) / 2, zoom)


def _with_margin(tile: morecantile.Tile) -> shapely.Polygon:
    left, bottom, right, top = TMS.xy_bounds(tile)
    margin = (right - left) * MARGIN / EXTENT
    return shapely.box(left - margin, bottom - margin, right + margin, top + margin)


def _url(tile: morecantile.Tile) -> str:
    return f"/collections/lots/tiles/WebMercatorQuad/{tile.z}/{tile.y}/{tile.x}"


def test_tileset_metadata_leads_to_tiles(lots_client: TestClient) -> None:  # noqa: F811
    collection = lots_client.get("/collections/lots").json()
    tilesets_href = next(
        x["href"] for x in collection["links"] if x["rel"].endswith("tilesets-vector")
    )
    tileset = lots_client.get(tilesets_href).json()["tilesets"][0]
    assert tileset["dataType"] == "vector" and tileset["crs"].endswith("/3857")
    template = next(x for x in tileset["links"] if x["rel"] == "item")
    assert template["templated"] is True and template["type"] == MEDIA_TYPE
    scheme = next(x["href"] for x in tileset["links"] if x["rel"].endswith("tiling-scheme"))
    definition = lots_client.get(scheme).json()
    assert definition["id"] == "WebMercatorQuad" and len(definition["tileMatrices"]) >= 23
    tile = _tile_over_the_lots(17)
    href = template["href"].format(tileMatrix=tile.z, tileRow=tile.y, tileCol=tile.x)
    response = lots_client.get(href)
    assert response.status_code == 200 and response.headers["content-type"] == MEDIA_TYPE
    assert response.content


def test_a_tile_holds_the_lots_that_meet_it(lots_client: TestClient, tmp_path: Path) -> None:  # noqa: F811
    tile = _tile_over_the_lots(17)
    left, bottom, right, top = TMS.xy_bounds(tile)
    meets = MERCATOR[MERCATOR.intersects(_with_margin(tile))]
    inside = MERCATOR[MERCATOR.within(shapely.box(left, bottom, right, top))]
    assert 0 < len(inside) < len(meets) < len(MERCATOR), "the tile should cut some lots"

    body = lots_client.get(_url(tile)).content
    layer = mapbox_vector_tile.decode(body)["lots"]
    assert layer["extent"] == EXTENT
    by_id = {f["id"]: f for f in layer["features"]}
    assert sorted(by_id) == [i + 1 for i in meets.index]
    first = meets.index[0]
    properties = by_id[first + 1]["properties"]
    assert properties["land_use"] == WGS.land_use[first]
    assert properties["levels"] == WGS.levels[first]

    # MVT 2.1 §4.3.4.4: an exterior ring has positive area by the surveyor's formula in
    # tile coordinates (y down)
    raw = mapbox_vector_tile.decode(body, default_options={"y_coord_down": True})["lots"]
    for feature in raw["features"]:
        ring = feature["geometry"]["coordinates"][0]
        doubled = sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in pairwise(ring))
        assert doubled > 0, feature["id"]

    # GDAL reads the tile (QGIS does the same): lots wholly inside keep their area
    path = tmp_path / f"{tile.z}" / f"{tile.x}" / f"{tile.y}.pbf"
    path.parent.mkdir(parents=True)
    path.write_bytes(body)
    read = pyogrio.read_dataframe(path, layer="lots", CLIP="NO")  # keep the margin
    assert len(read) == len(meets)
    read = read.set_index(read["mvt_id"].astype(int) - 1) if "mvt_id" in read else read
    unit = (right - left) / EXTENT
    for index in inside.index:
        original = inside.geometry[index].area
        assert read.geometry[index].area == pytest.approx(original, rel=0.02, abs=4 * unit**2)


def test_small_lots_are_left_out_at_low_zoom(lots_client: TestClient) -> None:  # noqa: F811
    """At zoom 10 a 40 m lot spans a quarter of a screen pixel: the tile is empty."""
    response = lots_client.get(_url(_tile_over_the_lots(10)))
    assert response.status_code == 200 and response.content == b""
    # at zoom 15 they are a few pixels and all there
    layer = mapbox_vector_tile.decode(lots_client.get(_url(_tile_over_the_lots(15))).content)
    tile = _tile_over_the_lots(15)
    assert len(layer["lots"]["features"]) == int(MERCATOR.intersects(_with_margin(tile)).sum())


@pytest.mark.parametrize(
    "path",
    [
        "/collections/lots/tiles/WebMercatorQuad/23/0/0",
        "/collections/lots/tiles/WebMercatorQuad/3/8/0",
        "/collections/lots/tiles/WebMercatorQuad/3/0/-1",
        "/collections/lots/tiles/WorldCRS84Quad/3/0/0",
        "/collections/nowhere/tiles/WebMercatorQuad/3/0/0",
        "/tileMatrixSets/Nope",
    ],
)
def test_tiles_outside_the_scheme_are_404(lots_client: TestClient, path: str) -> None:  # noqa: F811
    response = lots_client.get(path)
    assert response.status_code == 404, response.text
    assert response.headers["content-type"] == "application/problem+json"


def test_geojson_tiles_hold_the_same_features(lots_client: TestClient) -> None:  # noqa: F811
    """``f=geojson``: for clients without an MVT parser; the same lots as the MVT,
    unclipped."""
    tile = _tile_over_the_lots(17)
    response = lots_client.get(_url(tile), params={"f": "geojson"})
    assert response.headers["content-type"] == "application/geo+json"
    collection = response.json()
    mvt = mapbox_vector_tile.decode(lots_client.get(_url(tile)).content)["lots"]
    assert sorted(f["id"] for f in collection["features"]) == sorted(
        f["id"] for f in mvt["features"]
    )
    first = collection["features"][0]
    assert shapely.geometry.shape(first["geometry"]).equals_exact(
        WGS.geometry[first["id"] - 1], 1e-9
    )
    assert lots_client.get(_url(tile), params={"f": "png"}).status_code == 400


@pytest.mark.parametrize("f", ["mvt", "geojson"])
def test_tiles_are_gzipped_for_clients_that_accept_it(lots_client: TestClient, f: str) -> None:  # noqa: F811
    url = _url(_tile_over_the_lots(15))
    plain = lots_client.get(url, params={"f": f}, headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers
    # the compression middleware names it again on large answers: a list, duplicates harmless
    assert {v.strip() for v in plain.headers["vary"].split(",")} == {"Accept-Encoding"}
    # what goes over the wire, before the client's own decompression
    with lots_client.stream(
        "GET", url, params={"f": f}, headers={"Accept-Encoding": "gzip, deflate"}
    ) as packed:
        assert packed.headers["content-encoding"] == "gzip"
        wire = b"".join(packed.iter_raw())
    assert gzip.decompress(wire) == plain.content
    assert len(wire) < len(plain.content) / 2
    # an empty tile stays empty: nothing to decompress
    empty = lots_client.get(_url(_tile_over_the_lots(10)), headers={"Accept-Encoding": "gzip"})
    assert empty.content == b"" and "content-encoding" not in empty.headers

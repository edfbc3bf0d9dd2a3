"""Cadastral parcels: lots in the street blocks, roads, waters and field strips.

Parcels never overlap: blocks are the built-up area minus the street corridors, lots
are cut from blocks, and roads, waters and fields are disjoint differences of the
territory. The number of housing lots is solved so that the total is close to the
requested target.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from demo_town.catalogue import PARKING_LOTS
from demo_town.fields import field_land_use, field_strips
from demo_town.frames import principal_frames
from demo_town.geography import CRS, Site
from demo_town.streets import StreetNetwork
from demo_town.subdivide import MIN_PIECE_M2, cut_by_grid, solve_lot_area, subdivide
from demo_town.terrain import Dem

DEFAULT_PARCELS_TARGET = 5_000
FIELD_SHARE = 0.08
"""Share of the parcel target given to agricultural strips outside the town."""
HOUSING_MAX_DEPTH_M = 70.0
ROLE_LOTS = {
    "central": (1_000.0, 55.0),
    "apartments": (3_500.0, 90.0),
    "industry": (7_000.0, 140.0),
    "port": (7_000.0, 140.0),
    "agri": (4_000.0, 200.0),
    "park": (40_000.0, np.inf),
}
"""Target lot area (m²) and maximum row depth (m) per cell role; other roles keep whole blocks."""
PARKING_PARCEL_M = (70.0, 70.0)
"""Largest extent of a parking-lot parcel along and across its block's long side."""
SLIVER_M2 = 150.0
"""Lots smaller than this become unproductive land ("N") without buildings."""
AGRI_USES = (("A", "L", "V"), (0.5, 0.3, 0.2))
LAND_GRID_M = (1_000.0, 1_000.0)
"""Roads and waters are cut into parcels by this grid."""
CADASTRAL_START = (20_000, 30_000)
MIN_HOUSING_SHARE = 0.1
COLUMNS = ["land_use", "intravilan", "role", "host", "lot", "block", "geometry"]


def build_parcels(
    site: Site,
    network: StreetNetwork,
    cells: gpd.GeoDataFrame,
    dem: Dem,
    target: int,
    rng: np.random.Generator,
) -> gpd.GeoDataFrame:
    """Build all parcels.

    Returns the public columns ``cadastral_number``, ``land_use``, ``area_m2`` and
    ``intravilan`` plus internal ones: ``role`` (cell role, "parking" for lots,
    "road", "water", "field" or "sliver"), ``host`` (place key of the institution or
    landmark standing on it), ``lot`` (parking lot asset id) and ``block`` (the street
    block the lot was cut from, or None).
    """
    corridors = shapely.union_all(
        shapely.buffer(
            network.streets.geometry.to_numpy(),
            network.streets["width_m"].to_numpy() / 2.0,
            quad_segs=4,
        )
    )
    built = shapely.union(site.town, site.port)
    water = shapely.union(site.danube.channel(), site.olt.channel()).intersection(site.study_area)
    blocks = _blocks(shapely.difference(built, corridors), cells)
    blocks = _split_hosts(blocks)
    others = _block_lots(
        blocks[blocks["role"] != "housing"], max(1.0, DEFAULT_PARCELS_TARGET / target), rng
    )
    land = _land_parcels(site, corridors, built, water)
    field_area = site.territory.difference(shapely.union_all([built, corridors, water]))
    strips = field_strips(
        field_area,
        round(FIELD_SHARE * target),
        network.grid_angle,
        (site.centre.x, site.centre.y),
        rng,
    )
    fields = _parcel_rows(strips, field_land_use(strips, dem, rng), False, "field")
    fixed = pd.concat([others, land, fields], ignore_index=True)
    wanted = target - len(fixed)
    if wanted < MIN_HOUSING_SHARE * target:
        raise ValueError(
            f"n_parcels_target={target} is too small: roads, waters, fields and public land "
            f"already take {len(fixed)} parcels; ask for a larger target"
        )
    housing = _housing_lots(blocks[blocks["role"] == "housing"], wanted, rng)
    parcels = gpd.GeoDataFrame(pd.concat([housing, fixed], ignore_index=True), crs=CRS)
    parcels["area_m2"] = shapely.area(parcels.geometry.to_numpy())
    steps = rng.integers(1, 3, len(parcels))
    first = int(rng.integers(*CADASTRAL_START))
    parcels.insert(0, "cadastral_number", (first + np.cumsum(steps)).astype(str))
    return parcels


def _blocks(area: shapely.Geometry, cells: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Street blocks with the role and host of the cell they lie in."""
    parts = shapely.get_parts(area)
    parts = parts[(shapely.get_type_id(parts) == 3) & (shapely.area(parts) >= MIN_PIECE_M2)]
    tree = shapely.STRtree(cells.geometry.to_numpy())
    block_index, cell_index = tree.query(shapely.point_on_surface(parts), predicate="intersects")
    first = np.unique(block_index, return_index=True)[1]
    block_index, cell_index = block_index[first], cell_index[first]
    return gpd.GeoDataFrame(
        {
            "role": cells["role"].to_numpy()[cell_index],
            "host": cells["host"].to_numpy()[cell_index],
            "geometry": parts[block_index],
        },
        crs=CRS,
    )


def _split_hosts(blocks: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Keep each host on its cell's largest block; carve a parking lot out of it if it has one.

    The lot is a corner of the block, at most ``PARKING_PARCEL_M`` on a side; the
    largest remaining piece keeps the host.
    """
    lots = {spec.host: spec.asset_id for spec in PARKING_LOTS}
    blocks = blocks.assign(area=blocks.area, lot=None)
    hosted = blocks["host"].notna()
    largest = blocks[hosted].sort_values("area", ascending=False).drop_duplicates("host")
    blocks.loc[hosted & ~blocks.index.isin(largest.index), "host"] = None
    to_split = largest[largest["host"].isin(lots)]
    polygons = to_split.geometry.to_numpy()
    corner = _best_corner(polygons)
    rows = []
    for (_, block), lot_part, rest in zip(
        to_split.iterrows(),
        shapely.intersection(polygons, corner),
        shapely.difference(polygons, corner),
        strict=True,
    ):
        lot_pieces = sorted(_parts(lot_part), key=lambda g: -g.area)
        rest_pieces = sorted(_parts(rest), key=lambda g: -g.area)
        for i, piece in enumerate(lot_pieces):
            is_lot = i == 0
            rows.append(
                {
                    "role": "parking" if is_lot else block["role"],
                    "host": None,
                    "lot": lots[block["host"]] if is_lot else None,
                    "geometry": piece,
                }
            )
        for i, piece in enumerate(rest_pieces):
            rows.append(
                {
                    "role": block["role"],
                    "host": block["host"] if i == 0 else None,
                    "lot": None,
                    "geometry": piece,
                }
            )
    kept = blocks.drop(index=to_split.index).drop(columns="area")
    split = gpd.GeoDataFrame(rows, columns=["role", "host", "lot", "geometry"], crs=CRS)
    return gpd.GeoDataFrame(pd.concat([kept, split], ignore_index=True), crs=CRS)


def _best_corner(polygons: np.ndarray) -> np.ndarray:
    """For each block, the corner rectangle of its frame that covers most of the block."""
    frames = principal_frames(polygons)
    index = np.arange(len(polygons))
    size_u = np.minimum(frames.length / 2.0, PARKING_PARCEL_M[0])
    size_v = np.minimum(frames.width, PARKING_PARCEL_M[1])
    options = []
    for sign_u in (-1.0, 1.0):
        for sign_v in (-1.0, 1.0):
            # Rectangles reach 1 m past the frame so no boundary sliver stays behind.
            outer_u = sign_u * (frames.length / 2.0 + 1.0)
            inner_u = sign_u * (frames.length / 2.0 - size_u)
            outer_v = sign_v * (frames.width / 2.0 + 1.0)
            inner_v = sign_v * (frames.width / 2.0 - size_v)
            options.append(
                frames.rectangles(
                    index,
                    np.minimum(outer_u, inner_u),
                    np.maximum(outer_u, inner_u),
                    np.minimum(outer_v, inner_v),
                    np.maximum(outer_v, inner_v),
                )
            )
    corners = np.stack(options, axis=1)
    covered = shapely.area(shapely.intersection(polygons[:, None], corners))
    return corners[index, np.argmax(covered, axis=1)]


def _parts(geometry: shapely.Geometry) -> list[shapely.Polygon]:
    parts = shapely.get_parts(geometry)
    return [p for p in parts if isinstance(p, shapely.Polygon) and p.area >= MIN_PIECE_M2]


def _block_lots(blocks: gpd.GeoDataFrame, scale: float, rng: np.random.Generator) -> pd.DataFrame:
    """Subdivide non-housing blocks by their role's rule; parking lots stay whole.

    Roles without a rule (institutions, landmarks) keep whole blocks.
    """
    rules = [
        (np.inf, np.inf) if pd.notna(lot) else ROLE_LOTS.get(role, (np.inf, np.inf))
        for role, lot in zip(blocks["role"], blocks["lot"], strict=True)
    ]
    lot_area = np.array([area for area, _ in rules]) * scale
    depth = np.array([d for _, d in rules])
    return _lots_from_blocks(blocks, lot_area, depth, rng)


def _housing_lots(blocks: gpd.GeoDataFrame, wanted: int, rng: np.random.Generator) -> pd.DataFrame:
    """Subdivide housing blocks into about ``wanted`` lots.

    The layout's lot count overestimates the real one (irregular blocks lose corners),
    so the target is corrected once with the observed ratio; both passes draw from the
    same seed to stay deterministic.
    """
    frames = principal_frames(blocks.geometry.to_numpy())
    depth = np.full(len(blocks), HOUSING_MAX_DEPTH_M)
    seed = int(rng.integers(2**63))

    def lots_for(aim: int) -> pd.DataFrame:
        lot_area = np.full(len(blocks), solve_lot_area(frames, aim, depth))
        return _lots_from_blocks(blocks, lot_area, depth, np.random.default_rng(seed))

    first_pass = lots_for(wanted)
    return lots_for(max(1, round(wanted * wanted / len(first_pass))))


def _lots_from_blocks(
    blocks: gpd.GeoDataFrame, lot_area: np.ndarray, depth: np.ndarray, rng: np.random.Generator
) -> pd.DataFrame:
    """Lots cut from blocks, with their land use and the block's role, host and lot."""
    polygons = blocks.geometry.to_numpy()
    lots, source = subdivide(polygons, lot_area, depth, rng)
    role = blocks["role"].to_numpy()[source]
    use = np.full(len(lots), "CC", dtype=object)
    agri = role == "agri"
    use[agri] = rng.choice(AGRI_USES[0], size=int(agri.sum()), p=AGRI_USES[1])
    sliver = (shapely.area(lots) < SLIVER_M2) & np.isin(role, ["housing", "central"])
    use[sliver] = "N"
    role = np.where(sliver, "sliver", role)
    return pd.DataFrame(
        {
            "land_use": use,
            "intravilan": True,
            "role": role,
            "host": blocks["host"].to_numpy()[source],
            "lot": blocks["lot"].to_numpy()[source],
            "block": polygons[source],
            "geometry": lots,
        }
    )


def _land_parcels(
    site: Site, corridors: shapely.Geometry, built: shapely.Geometry, water: shapely.Geometry
) -> pd.DataFrame:
    """Road parcels ("DR") inside and outside the built-up area and river parcels ("HR")."""
    roads = corridors.intersection(site.territory).difference(water)
    pieces = [
        _parcel_rows(
            cut_by_grid(roads.intersection(built), LAND_GRID_M, 0.0, (0.0, 0.0)), "DR", True, "road"
        ),
        _parcel_rows(
            cut_by_grid(roads.difference(built), LAND_GRID_M, 0.0, (0.0, 0.0)), "DR", False, "road"
        ),
        _parcel_rows(
            cut_by_grid(water.intersection(site.territory), LAND_GRID_M, 0.0, (0.0, 0.0)),
            "HR",
            False,
            "water",
        ),
    ]
    return pd.concat(pieces, ignore_index=True)


def _parcel_rows(
    geometries: np.ndarray, land_use: str | np.ndarray, intravilan: bool, role: str
) -> pd.DataFrame:
    """Parcels that are not cut from street blocks."""
    return pd.DataFrame(
        {
            "land_use": land_use,
            "intravilan": intravilan,
            "role": role,
            "host": None,
            "lot": None,
            "block": None,
            "geometry": geometries,
        },
        columns=COLUMNS,
    )

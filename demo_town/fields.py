"""Agricultural land outside the built-up area: long strips grouped in field blocks.

Field blocks (Romanian *tarla*) follow the town grid's orientation and are cut into
strips like the post-1991 land restitution parcels. Land use follows the terrain:
mostly pasture on the floodplain, mostly arable land on the terrace.
"""

from __future__ import annotations

import numpy as np
import shapely

from demo_town.frames import principal_frames
from demo_town.subdivide import cut_by_grid, solve_lot_area, subdivide
from demo_town.terrain import Dem

FIELD_BLOCK_M = (800.0, 600.0)
FLOODPLAIN_TOP_M = 27.0
"""Fields whose centre lies below this elevation are on the floodplain."""
FLOODPLAIN_USES = (("P", "A", "N"), (0.7, 0.25, 0.05))
TERRACE_USES = (("A", "V", "L", "P"), (0.8, 0.07, 0.06, 0.07))


def field_strips(
    area: shapely.Geometry,
    wanted: int,
    angle: float,
    origin: tuple[float, float],
    rng: np.random.Generator,
) -> np.ndarray:
    """Cut ``area`` into field blocks and those into about ``wanted`` strips."""
    blocks = cut_by_grid(area, FIELD_BLOCK_M, angle, origin)
    no_depth_limit = np.full(len(blocks), np.inf)
    strip_area = solve_lot_area(principal_frames(blocks), wanted, no_depth_limit)
    strips, _ = subdivide(blocks, np.full(len(blocks), strip_area), no_depth_limit, rng)
    return strips


def field_land_use(strips: np.ndarray, dem: Dem, rng: np.random.Generator) -> np.ndarray:
    """Romanian land-use category of each strip, drawn according to its terrain."""
    x, y = shapely.get_coordinates(shapely.point_on_surface(strips)).T
    on_floodplain = dem.sample(x, y) < FLOODPLAIN_TOP_M
    low = rng.choice(FLOODPLAIN_USES[0], size=len(strips), p=FLOODPLAIN_USES[1])
    high = rng.choice(TERRACE_USES[0], size=len(strips), p=TERRACE_USES[1])
    return np.where(on_floodplain, low, high).astype(object)

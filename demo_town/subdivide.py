"""Cutting land into lots: street blocks into rows of lots, large areas into grid pieces.

A block is cut along its long side into rows no deeper than ``max_depth`` and each row
into lots of about ``lot_area``, so that most lots front a street, as in a Romanian
town's parcelling. The result never overlaps because every lot is the intersection of
its block with one rectangle of a gap-free rectangle grid.
"""

from __future__ import annotations

import numpy as np
import shapely

from demo_town.frames import Frames, principal_frames

LOT_WIDTH_JITTER = (0.75, 1.25)
EDGE_MARGIN_M = 2.0
"""Outer rectangles reach this far beyond the frame so no sliver of the block is lost."""
MIN_PIECE_M2 = 20.0


def lot_layout(
    frames: Frames, lot_area: np.ndarray, max_depth: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Rows per block and lots per row for the given target lot areas and depths."""
    rows = np.maximum(1, np.ceil(frames.width / max_depth)).astype(int)
    depth = frames.width / rows
    with np.errstate(divide="ignore", invalid="ignore"):
        lots = np.where(np.isinf(lot_area), 1, np.round(frames.length * depth / lot_area))
    return rows, np.maximum(1, lots).astype(int)


def solve_lot_area(frames: Frames, wanted: int, max_depth: np.ndarray) -> float:
    """Target lot area for which the layout gives about ``wanted`` lots in total."""
    low, high = 10.0, 1e7
    for _ in range(60):
        middle = np.sqrt(low * high)
        rows, lots = lot_layout(frames, np.full(len(frames.length), middle), max_depth)
        if (rows * lots).sum() > wanted:
            low = middle
        else:
            high = middle
    return float(np.sqrt(low * high))


def subdivide(
    polygons: np.ndarray,
    lot_area: np.ndarray,
    max_depth: np.ndarray,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Cut polygons into lots; return the lots and the index of the polygon each came from."""
    frames = principal_frames(polygons)
    rows, lots = lot_layout(frames, lot_area, max_depth)
    whole = np.flatnonzero(rows * lots == 1)
    index, u0, u1, v0, v1 = [], [], [], [], []
    for i in np.flatnonzero(rows * lots > 1):
        half_l, half_w = frames.length[i] / 2.0, frames.width[i] / 2.0
        widths = rng.uniform(*LOT_WIDTH_JITTER, lots[i])
        u_edges = -half_l + np.concatenate([[0.0], np.cumsum(widths)]) * (
            frames.length[i] / widths.sum()
        )
        v_edges = np.linspace(-half_w, half_w, rows[i] + 1)
        u_edges[[0, -1]] += (-EDGE_MARGIN_M, EDGE_MARGIN_M)
        v_edges[[0, -1]] += (-EDGE_MARGIN_M, EDGE_MARGIN_M)
        uu0, vv0 = np.meshgrid(u_edges[:-1], v_edges[:-1])
        uu1, vv1 = np.meshgrid(u_edges[1:], v_edges[1:])
        index.append(np.full(uu0.size, i))
        u0.append(uu0.ravel())
        u1.append(uu1.ravel())
        v0.append(vv0.ravel())
        v1.append(vv1.ravel())
    if not index:
        return polygons[whole], whole
    source = np.concatenate(index)
    rectangles = frames.rectangles(source, *(np.concatenate(edges) for edges in (u0, u1, v0, v1)))
    pieces, piece_index = _polygon_parts(shapely.intersection(polygons[source], rectangles))
    return (
        np.concatenate([polygons[whole], pieces]),
        np.concatenate([whole, source[piece_index]]),
    )


def cut_by_grid(
    polygon: shapely.Geometry,
    cell: tuple[float, float],
    angle: float,
    origin: tuple[float, float],
) -> np.ndarray:
    """Cut a (multi)polygon by a grid of ``cell`` rectangles rotated by ``angle``."""
    if polygon.is_empty:
        return np.empty(0, dtype=object)
    cos, sin = np.cos(angle), np.sin(angle)
    coords = shapely.get_coordinates(polygon) - origin
    u = coords[:, 0] * cos + coords[:, 1] * sin
    v = -coords[:, 0] * sin + coords[:, 1] * cos
    us = np.arange(np.floor(u.min() / cell[0]), np.ceil(u.max() / cell[0]) + 1) * cell[0]
    vs = np.arange(np.floor(v.min() / cell[1]), np.ceil(v.max() / cell[1]) + 1) * cell[1]
    u0, v0 = (a.ravel() for a in np.meshgrid(us[:-1], vs[:-1]))
    u1, v1 = (a.ravel() for a in np.meshgrid(us[1:], vs[1:]))
    frame = Frames(
        centre=np.array([origin], dtype=float),
        axis=np.array([[cos, sin]]),
        normal=np.array([[-sin, cos]]),
        length=np.zeros(1),
        width=np.zeros(1),
    )
    grid = frame.rectangles(np.zeros(u0.size, dtype=int), u0, u1, v0, v1)
    shapely.prepare(polygon)
    inside = shapely.contains(polygon, grid)
    touching = shapely.intersects(polygon, grid) & ~inside
    pieces, _ = _polygon_parts(shapely.intersection(polygon, grid[touching]))
    return np.concatenate([grid[inside], pieces])


def _polygon_parts(geometries: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Polygon parts of at least ``MIN_PIECE_M2``, with the index of their source geometry."""
    parts, index = shapely.get_parts(geometries, return_index=True)
    keep = (shapely.get_type_id(parts) == 3) & (shapely.area(parts) >= MIN_PIECE_M2)
    return parts[keep], index[keep]

"""Local frames of polygons (their minimum rotated rectangle) and rectangles drawn in them.

Lots, building footprints and parking bays are all laid out along the long side of
the polygon that contains them; coordinates in a frame are ``u`` along the long side
and ``v`` across it, both from the frame's centre.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely


@dataclass(frozen=True, eq=False)
class Frames:
    """One frame per polygon: centre, unit long axis, unit normal, and side lengths."""

    centre: np.ndarray
    axis: np.ndarray
    normal: np.ndarray
    length: np.ndarray
    width: np.ndarray

    def points(self, index: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
        """Map frame coordinates of points in frames ``index`` to Stereo 70, shape (n, 2)."""
        return (
            self.centre[index]
            + self.axis[index] * np.asarray(u)[:, None]
            + self.normal[index] * np.asarray(v)[:, None]
        )

    def rectangles(
        self,
        index: np.ndarray,
        u0: np.ndarray,
        u1: np.ndarray,
        v0: np.ndarray,
        v1: np.ndarray,
    ) -> np.ndarray:
        """Rectangles [u0, u1] x [v0, v1] in frames ``index``, as an array of Polygons.

        Corners are computed from the edge values alone, so rectangles that share an
        edge value share those corners exactly and neither overlap nor leave gaps.
        """
        corners = [(u0, v0), (u1, v0), (u1, v1), (u0, v1), (u0, v0)]
        ring = np.stack([self.points(index, u, v) for u, v in corners], axis=1)
        return shapely.polygons(ring)


def principal_frames(polygons: np.ndarray) -> Frames:
    """Frames from the minimum rotated rectangles of non-degenerate polygons."""
    envelope = shapely.oriented_envelope(polygons)
    ring = shapely.get_coordinates(shapely.get_exterior_ring(envelope)).reshape(-1, 5, 2)
    first = ring[:, 1] - ring[:, 0]
    second = ring[:, 2] - ring[:, 1]
    first_len = np.hypot(*first.T)
    second_len = np.hypot(*second.T)
    first_is_long = first_len >= second_len
    long_side = np.where(first_is_long[:, None], first, second)
    length = np.where(first_is_long, first_len, second_len)
    width = np.where(first_is_long, second_len, first_len)
    axis = long_side / length[:, None]
    normal = np.column_stack([-axis[:, 1], axis[:, 0]])
    return Frames(
        centre=(ring[:, 0] + ring[:, 2]) / 2.0,
        axis=axis,
        normal=normal,
        length=length,
        width=width,
    )

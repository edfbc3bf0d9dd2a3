"""Smooth 2-D value noise for gentle terrain undulations.

Hand-written because it is a dozen lines of numpy; noise libraries add compiled
dependencies for far more than we need.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, eq=False)
class ValueNoise:
    """Random values on a coarse lattice, interpolated with a smoothstep fade.

    The field is continuous with a continuous gradient and stays within
    ``[-amplitude, amplitude]``.
    """

    origin: tuple[float, float]
    cell_m: float
    lattice: np.ndarray

    @classmethod
    def create(
        cls,
        rng: np.random.Generator,
        bounds: tuple[float, float, float, float],
        cell_m: float,
        amplitude: float,
    ) -> ValueNoise:
        """Draw a lattice covering ``bounds`` (xmin, ymin, xmax, ymax) with ``cell_m`` spacing."""
        xmin, ymin, xmax, ymax = bounds
        nx = int(np.ceil((xmax - xmin) / cell_m)) + 2
        ny = int(np.ceil((ymax - ymin) / cell_m)) + 2
        lattice = rng.uniform(-amplitude, amplitude, (ny, nx))
        return cls(origin=(xmin, ymin), cell_m=cell_m, lattice=lattice)

    def __call__(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Evaluate the noise at points (x, y); points outside the lattice are clamped."""
        ny, nx = self.lattice.shape
        gx = np.clip((np.asarray(x) - self.origin[0]) / self.cell_m, 0.0, nx - 1.000001)
        gy = np.clip((np.asarray(y) - self.origin[1]) / self.cell_m, 0.0, ny - 1.000001)
        ix = gx.astype(np.intp)
        iy = gy.astype(np.intp)
        fx = _fade(gx - ix)
        fy = _fade(gy - iy)
        v = self.lattice
        bottom = v[iy, ix] * (1.0 - fx) + v[iy, ix + 1] * fx
        top = v[iy + 1, ix] * (1.0 - fx) + v[iy + 1, ix + 1] * fx
        return bottom * (1.0 - fy) + top * fy


def _fade(t: np.ndarray) -> np.ndarray:
    """Smoothstep, so the interpolated field has no creases at lattice lines."""
    return t * t * (3.0 - 2.0 * t)

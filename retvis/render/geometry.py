"""Where a voxel array lives in space: the grid's (possibly skewed) box.

An :class:`~retvis.core.grid.EnergyGrid` of n points per axis puts point ``(i, j, k)`` at
``origin + ((i, j, k) / m) @ box`` with ``m = n - 1`` when the end point is included and
``m = n`` otherwise. A :class:`GridFrame` keeps that affine map so that the energy grid,
a saliency map (same shape) and a feature map of a lower resolution (its voxels mapped
onto the grid's index space by the layer's receptive-field centres) are all drawn in the
real geometry of the (super)cell, non-orthogonal cells included.

Contours and slices are computed on an index-space :class:`pyvista.ImageData` and then
mapped by the affine transform (exact: linear interpolation commutes with an affine
map); VTK's contour filters ignore an image's direction matrix, its volume mapper does
not, so volumes use an image with a direction matrix.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyvista as pv
from numpy.typing import NDArray

from ..core.grid import EnergyGrid
from ..errors import SpecError


@dataclass(frozen=True, eq=False)
class GridFrame:
    """The affine map from grid indices to Cartesian space.

    Attributes
    ----------
    box : NDArray[np.float64]
        Shape (3, 3); rows are the vectors spanned by the grid, Å.
    origin : NDArray[np.float64]
        Shape (3,); position of point (0, 0, 0), Å.
    n : int
        Points per axis of the energy grid.
    divisor : int
        ``m``: index ``i`` sits at fraction ``i / m`` of the box.
    periodic : bool
        The grid tiles a periodic supercell without its end point, so the value at index
        ``n`` equals the value at index 0 and the drawn volume can be closed by wrapping.
    """

    box: NDArray[np.float64]
    origin: NDArray[np.float64]
    n: int
    divisor: int
    periodic: bool

    @classmethod
    def of(cls, grid: EnergyGrid) -> GridFrame:
        """The frame of an energy grid."""
        n = grid.spec.n
        endpoint = grid.spec.endpoint
        return cls(
            box=np.asarray(grid.box, dtype=np.float64).reshape(3, 3),
            origin=np.asarray(grid.origin, dtype=np.float64).reshape(3),
            n=n,
            divisor=n - 1 if endpoint else n,
            periodic=grid.spec.mode == "supercell" and not endpoint,
        )

    def matrix(self, offset: float = 0.0, stride: float = 1.0) -> NDArray[np.float64]:
        """4x4 affine matrix taking (sub-)grid indices to Cartesian positions, Å.

        Index ``j`` of an array whose voxel ``j`` is centred on grid index
        ``offset + stride * j`` lands at ``origin + ((offset + stride * j) / m) @ box``.
        """
        a = np.eye(4)
        a[:3, :3] = self.box.T * (stride / self.divisor)
        a[:3, 3] = self.origin + (offset / self.divisor) * self.box.sum(axis=0)
        return a

    def corners(self) -> NDArray[np.float64]:
        """The 8 corners of the box, shape (8, 3), Å, in binary order (a fastest)."""
        f = np.array([[i & 1, (i >> 1) & 1, (i >> 2) & 1] for i in range(8)], dtype=float)
        return self.origin + f @ self.box


def check_cube(values: NDArray, name: str = "array") -> NDArray[np.float32]:
    """Return ``values`` as a float32 (d, d, d) array, or raise SpecError."""
    v = np.asarray(values)
    if v.ndim != 3 or len(set(v.shape)) != 1:
        raise SpecError(f"{name} must have shape (d, d, d), got {v.shape}")
    return np.ascontiguousarray(v, dtype=np.float32)


def wrap_periodic(values: NDArray[np.float32]) -> NDArray[np.float32]:
    """Append the first plane after the last along each axis: (n,)*3 -> (n + 1,)*3."""
    return np.pad(values, [(0, 1)] * 3, mode="wrap")


def index_image(values: NDArray[np.float32], name: str) -> pv.ImageData:
    """An index-space image (unit spacing, origin 0) holding ``values`` as point data."""
    img = pv.ImageData(dimensions=values.shape)
    img.point_data[name] = values.ravel(order="F")
    img.set_active_scalars(name)
    return img


def world_image(
    values: NDArray[np.float32],
    name: str,
    frame: GridFrame,
    offset: float = 0.0,
    stride: float = 1.0,
) -> pv.ImageData:
    """An image placed in Cartesian space with a direction matrix (for volume rendering).

    Parameters
    ----------
    values : NDArray[np.float32]
        Shape (d, d, d), axis order a, b, c.
    name : str
        Name of the point-data array.
    frame : GridFrame
        Geometry.
    offset, stride : float
        Voxel ``j`` is centred on grid index ``offset + stride * j``.
    """
    a = frame.matrix(offset, stride)
    cols = a[:3, :3]
    lengths = np.linalg.norm(cols, axis=0)
    img = pv.ImageData(dimensions=values.shape)
    img.spacing = tuple(float(x) for x in lengths)
    img.origin = tuple(float(x) for x in a[:3, 3])
    img.direction_matrix = cols / lengths
    img.point_data[name] = values.ravel(order="F")
    img.set_active_scalars(name)
    return img


def contour_world(
    image: pv.ImageData, levels, frame: GridFrame, offset: float = 0.0, stride: float = 1.0
) -> pv.PolyData:
    """Isosurfaces of an index-space image, mapped into Cartesian space with normals.

    Parameters
    ----------
    image : pyvista.ImageData
        From :func:`index_image`.
    levels : sequence of float
        Contour values, in the units of the image's scalars.
    frame, offset, stride
        As in :func:`world_image`.
    """
    levels = [float(x) for x in levels]
    if not levels:
        return pv.PolyData()
    surf = image.contour(levels, compute_normals=False, method="flying_edges")
    if surf.n_points == 0:
        return surf
    surf = surf.transform(frame.matrix(offset, stride), inplace=False)
    return surf.compute_normals(cell_normals=False, split_vertices=False)


def index_slice(
    image: pv.ImageData,
    axis: int,
    index: int,
    frame: GridFrame,
    offset: float = 0.0,
    stride: float = 1.0,
) -> pv.DataSet:
    """One plane of constant index along ``axis`` (0: a, 1: b, 2: c), in Cartesian space."""
    dims = image.dimensions
    if not 0 <= index < dims[axis]:
        raise SpecError(
            f"slice index along {'abc'[axis]} must be in [0, {dims[axis] - 1}], got {index}"
        )
    voi = [0, dims[0] - 1, 0, dims[1] - 1, 0, dims[2] - 1]
    voi[2 * axis] = voi[2 * axis + 1] = int(index)
    plane = image.extract_subset(voi, rebase_coordinates=False)
    return plane.cast_to_structured_grid().transform(frame.matrix(offset, stride), inplace=False)

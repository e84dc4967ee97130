"""A saliency map (the gradient of the prediction with respect to the input grid) drawn
over the structure, in the grid's geometry.

Only the magnitude matters for "where does the model look", so ``|saliency|`` is
normalised to its maximum (0..1), volume-rendered (transparent below
:data:`SALIENCY_FLOOR`) and outlined by isosurfaces at fractions of the maximum.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyvista as pv
from numpy.typing import NDArray

from ..errors import SpecError
from .geometry import GridFrame, check_cube, contour_world, index_image, world_image, wrap_periodic
from .style import add_colorbar, add_volume, lookup_table

#: Colour map of |saliency|.
SALIENCY_CMAP = "plasma"
#: Title of its colour bar.
SALIENCY_TITLE = "saliency magnitude (of max)"
#: Default isosurface levels, fractions of the maximum |saliency|.
SALIENCY_LEVELS = (0.5,)
#: Normalised |saliency| below this is transparent in the volume.
SALIENCY_FLOOR = 0.1
#: Largest opacity of the volume.
SALIENCY_OPACITY = 0.5


@dataclass
class SaliencyLayer:
    """What :func:`add_saliency` drew.

    Attributes
    ----------
    magnitude : NDArray[np.float32]
        Shape (n, n, n); ``|saliency| / max |saliency|``, 0..1.
    scale : float
        ``max |saliency|`` in the caller's units (0 for an all-zero map).
    """

    magnitude: NDArray[np.float32]
    scale: float
    volume_actor: object | None
    iso_actor: object | None


def normalised_magnitude(saliency: NDArray) -> tuple[NDArray[np.float32], float]:
    """``|s| / max |s|`` (all zeros stay zeros) and ``max |s|``."""
    s = check_cube(saliency, "saliency")
    if not np.all(np.isfinite(s)):
        raise SpecError("the saliency map holds non-finite values")
    mag = np.abs(s)
    top = float(mag.max())
    return (mag / top if top > 0 else mag).astype(np.float32), top


def saliency_opacity(n: int = 64) -> NDArray[np.float64]:
    """Opacity over 0..1: 0 below :data:`SALIENCY_FLOOR`, then a quadratic ramp."""
    x = np.linspace(0.0, 1.0, n)
    return SALIENCY_OPACITY * np.clip((x - SALIENCY_FLOOR) / (1 - SALIENCY_FLOOR), 0, 1) ** 2


def add_saliency(
    plotter: pv.Plotter,
    saliency: NDArray,
    frame: GridFrame,
    *,
    volume: bool = True,
    levels=SALIENCY_LEVELS,
    colorbar: bool = True,
    name: str = "saliency",
) -> SaliencyLayer:
    """Draw ``|saliency|`` in the geometry of the grid it was computed on.

    Parameters
    ----------
    plotter : pyvista.Plotter
        Any plotter.
    saliency : NDArray
        Shape (n, n, n), the same shape as the energy grid (axis order a, b, c); any
        units (only relative magnitudes are shown).
    frame : GridFrame
        Geometry of the energy grid (``GridFrame.of(grid)``).
    volume : bool
        Volume rendering of the normalised magnitude.
    levels : sequence of float
        Isosurfaces at these fractions of the maximum (0..1); ``()`` for none.
    colorbar : bool
        Add a colour bar.
    name : str
        Actor name prefix.
    """
    mag, top = normalised_magnitude(saliency)
    if mag.shape[0] != frame.n:
        raise SpecError(f"saliency has {mag.shape[0]} points per axis, the grid {frame.n}")
    if any(not 0 < float(x) < 1 for x in levels):
        raise SpecError(f"saliency levels are fractions of the maximum in (0, 1), got {levels}")
    values = wrap_periodic(mag) if frame.periodic else mag
    clim = (0.0, 1.0)
    vol = iso = None
    if volume:
        vol = add_volume(
            plotter,
            world_image(values, "S", frame),
            "S",
            SALIENCY_CMAP,
            clim,
            saliency_opacity(),
            f"{name}-volume",
        )
    if len(levels) and top > 0:
        surf = contour_world(index_image(values, "S"), levels, frame)
        if surf.n_points:
            iso = plotter.add_mesh(
                surf,
                scalars="S",
                cmap=SALIENCY_CMAP,
                clim=clim,
                show_scalar_bar=False,
                smooth_shading=True,
                name=f"{name}-iso",
            )
    if colorbar:
        add_colorbar(plotter, lookup_table(SALIENCY_CMAP, clim), SALIENCY_TITLE, fmt="%.1f")
    return SaliencyLayer(mag, top, vol, iso)

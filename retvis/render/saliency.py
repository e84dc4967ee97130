"""A saliency map (the gradient of the prediction with respect to the input grid) drawn
over the structure, in the grid's geometry.

Only the magnitude matters for "where does the model look", so ``|saliency|`` is
divided by a robust scale (its :data:`SCALE_PERCENTILE` th percentile, so that a handful of
extreme voxels do not flatten the rest) and clipped to 0..1. Gradients are spread thinly
over most of the grid, so fixed fractions of that scale show either nearly nothing or
nearly everything; the thresholds are therefore quantiles of the map itself: the volume
is transparent below the level that the most salient :data:`VOLUME_TOP` of voxels exceed
and the isosurfaces enclose the most salient :data:`SALIENCY_TOP` of voxels (a wide
translucent shell and an opaque core). Colours stay the magnitude relative to the scale
(the colour bar), in a colour map chosen away from the element colours (red O, orange
Cu, grey C), so the regions stand out over the atoms.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyvista as pv
from numpy.typing import NDArray

from ..errors import SpecError
from .geometry import GridFrame, check_cube, contour_world, index_image, world_image, wrap_periodic
from .style import add_colorbar, add_volume, lookup_table

#: Colour map of |saliency| (green to yellow, bright throughout: no element colour of C,
#: H, O, N or the usual metals).
SALIENCY_CMAP = "summer"
#: Title of its colour bar.
SALIENCY_TITLE = "saliency (rel.)"
#: Percentile of |saliency| taken as 1 (values above saturate).
SCALE_PERCENTILE = 99.5
#: Default isosurfaces: each encloses this fraction of the voxels, the most salient ones.
SALIENCY_TOP = (0.15, 0.02)
#: Opacity of each default isosurface (outer shell translucent, core opaque).
SALIENCY_ISO_OPACITY = (0.35, 1.0)
#: The volume is transparent except for the most salient fraction of the voxels.
VOLUME_TOP = 0.25
#: Largest opacity of the volume.
SALIENCY_OPACITY = 0.8


@dataclass
class SaliencyLayer:
    """What :func:`add_saliency` drew.

    Attributes
    ----------
    magnitude : NDArray[np.float32]
        Shape (n, n, n); ``min(|saliency| / scale, 1)``.
    scale : float
        The :data:`SCALE_PERCENTILE` th percentile of ``|saliency|`` (its maximum when
        that is 0), in the caller's units; 0 for an all-zero map.
    floor : float
        Normalised magnitude below which the volume is transparent.
    levels : tuple of float
        Normalised magnitudes of the isosurfaces drawn.
    iso_actors : list
        One actor per level drawn (a level that gave no surface has none).
    """

    magnitude: NDArray[np.float32]
    scale: float
    volume_actor: object | None
    floor: float = 0.0
    levels: tuple[float, ...] = ()
    iso_actors: list = field(default_factory=list)

    @property
    def iso_actor(self):
        """The innermost isosurface's actor (None when none was drawn)."""
        return self.iso_actors[-1] if self.iso_actors else None


def normalised_magnitude(saliency: NDArray) -> tuple[NDArray[np.float32], float]:
    """``min(|s| / scale, 1)`` and the scale (see :class:`SaliencyLayer`)."""
    s = check_cube(saliency, "saliency")
    if not np.all(np.isfinite(s)):
        raise SpecError("the saliency map holds non-finite values")
    mag = np.abs(s)
    scale = float(np.percentile(mag, SCALE_PERCENTILE))
    if scale <= 0:
        scale = float(mag.max())
    if scale <= 0:
        return mag.astype(np.float32), 0.0
    return np.minimum(mag / scale, 1.0).astype(np.float32), scale


def top_level(magnitude: NDArray[np.float32], top: float) -> float:
    """The normalised magnitude that the most salient fraction ``top`` of voxels exceed.

    Kept inside (0, 1) so that an isosurface at it exists and the volume ramp has room.
    """
    if not 0 < top < 1:
        raise SpecError(f"a top fraction of voxels must be in (0, 1), got {top}")
    level = float(np.quantile(magnitude, 1.0 - top))
    return float(np.clip(level, 0.02, 0.98))


def saliency_opacity(floor: float, n: int = 64) -> NDArray[np.float64]:
    """Opacity over normalised magnitude 0..1: 0 below ``floor``, then a linear ramp."""
    x = np.linspace(0.0, 1.0, n)
    floor = float(np.clip(floor, 0.0, 0.95))
    return SALIENCY_OPACITY * np.clip((x - floor) / (1 - floor), 0, 1)


def _add_isosurfaces(plotter, values, levels, frame: GridFrame, name: str) -> list:
    """Isosurfaces of the normalised magnitude at ``levels`` (widest first, the innermost
    opaque); empty ones are skipped."""
    img = index_image(values, "S")
    opacities = SALIENCY_ISO_OPACITY if len(levels) == len(SALIENCY_ISO_OPACITY) else None
    actors = []
    for k, level in enumerate(levels):
        surf = contour_world(img, [level], frame)
        if not surf.n_points:
            continue
        innermost = k == len(levels) - 1
        opacity = opacities[k] if opacities else (1.0 if innermost else 0.35)
        actors.append(
            plotter.add_mesh(
                surf,
                scalars="S",
                cmap=SALIENCY_CMAP,
                clim=(0.0, 1.0),
                show_scalar_bar=False,
                smooth_shading=True,
                opacity=opacity,
                specular=0.3,
                name=f"{name}-iso-{k}",
            )
        )
    return actors


def add_saliency(
    plotter: pv.Plotter,
    saliency: NDArray,
    frame: GridFrame,
    *,
    volume: bool = True,
    top=SALIENCY_TOP,
    levels=None,
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
        Volume rendering of the normalised magnitude, transparent below the level of the
        most salient :data:`VOLUME_TOP` of voxels.
    top : sequence of float
        Isosurfaces enclosing these fractions of the voxels (the most salient ones),
        widest first; ``()`` for none. Ignored when ``levels`` is given.
    levels : sequence of float, optional
        Isosurfaces at these fractions of the scale (0..1) instead.
    colorbar : bool
        Add a colour bar.
    name : str
        Actor name prefix.
    """
    mag, scale = normalised_magnitude(saliency)
    if mag.shape[0] != frame.n:
        raise SpecError(f"saliency has {mag.shape[0]} points per axis, the grid {frame.n}")
    if levels is None:
        levels = tuple(top_level(mag, t) for t in top) if scale > 0 else ()
    elif any(not 0 < float(x) < 1 for x in levels):
        raise SpecError(f"saliency levels are fractions of the scale in (0, 1), got {levels}")
    levels = tuple(float(x) for x in levels)
    values = wrap_periodic(mag) if frame.periodic else mag
    clim = (0.0, 1.0)
    floor = top_level(mag, VOLUME_TOP) if scale > 0 else 1.0
    layer = SaliencyLayer(mag, scale, None, floor, levels)
    if volume and scale > 0:
        layer.volume_actor = add_volume(
            plotter,
            world_image(values, "S", frame),
            "S",
            SALIENCY_CMAP,
            clim,
            saliency_opacity(floor),
            f"{name}-volume",
        )
    if levels:
        layer.iso_actors += _add_isosurfaces(plotter, values, levels, frame, name)
    if colorbar:
        add_colorbar(plotter, lookup_table(SALIENCY_CMAP, clim), SALIENCY_TITLE)
    return layer

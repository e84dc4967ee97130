"""An energy grid drawn in the real geometry of its (super)cell.

Boltzmann factors ``B = exp(-V / T)`` span many decades (0 at overlaps, about 1e4 in
strong wells), so the grid is shown on a log scale, as the probe energy
``V = -T ln B`` in kelvin (a linear map of ``log B``): wells (V < 0) are bright and
opaque, free space (V = 0) and walls (V > 0) dark and transparent. One colour bar
("energy V (K)") serves the volume, the isosurfaces and the three slices.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyvista as pv
from numpy.typing import NDArray

from ..core.grid import EnergyGrid
from ..errors import SpecError
from .geometry import GridFrame, contour_world, index_image, index_slice, world_image, wrap_periodic
from .histogram import ColorbarHistogram, add_colorbar_histogram
from .style import add_colorbar, add_volume, ink

#: Colour map of the energy (reversed so that wells, the lowest energies, are bright).
ENERGY_CMAP = "inferno_r"
#: Title of the energy colour bar.
ENERGY_TITLE = "energy V (K)"
#: Energies above this are clipped, K (walls; B = 0 is V = +inf).
ENERGY_CEILING = 1000.0
#: Upper end of the colour range as a fraction of the deepest well's depth |V_min|.
WALL_FRACTION = 0.5
#: Default isosurface levels as fractions of the deepest well energy (V_min < 0).
ISO_FRACTIONS = (0.5,)
#: Largest opacity of the volume (deepest wells).
VOLUME_OPACITY = 0.9
#: Exponent of the opacity ramp in the well depth (> 1: shallow wells stay faint).
OPACITY_POWER = 1.5
#: Points of the opacity transfer function.
N_OPACITY = 64
#: Energy of the pore surface, K: the probe's accessible region is where V < 0
#: (docs/grid.md, "The pore surface").
PORE_LEVEL = 0.0
#: Colour and opacity of the pore surface (a blue apart from the energy colour map).
PORE_COLOUR = (0.30, 0.62, 0.95)
PORE_OPACITY = 0.35


def energy_from_boltzmann(
    boltzmann: NDArray, temperature: float, ceiling: float = ENERGY_CEILING
) -> NDArray[np.float32]:
    """Probe energy ``V = -T ln B`` clipped to ``ceiling``, K.

    Parameters
    ----------
    boltzmann : NDArray
        Shape (n, n, n), Boltzmann factors (dimensionless, >= 0).
    temperature : float
        K.
    ceiling : float
        Upper clip, K (B = 0 gives +inf before clipping).

    Returns
    -------
    NDArray[np.float32]
        Same shape, K.
    """
    b = np.asarray(boltzmann, dtype=np.float64)
    with np.errstate(divide="ignore"):
        v = -temperature * np.log(b)
    return np.minimum(v, ceiling).astype(np.float32)


def energy_opacity(
    clim: tuple[float, float], max_opacity: float = VOLUME_OPACITY, n: int = N_OPACITY
) -> NDArray[np.float64]:
    """Opacity transfer over ``clim``: 0 for V >= 0, rising to ``max_opacity`` at clim[0].

    The ramp is a power (OPACITY_POWER) of the well depth, so shallow wells stay faint and the
    strongest binding sites stand out.
    """
    lo, hi = clim
    v = np.linspace(lo, hi, n)
    depth = np.clip(-v / max(-lo, 1e-9), 0.0, 1.0) if lo < 0 else np.zeros(n)
    return max_opacity * depth**OPACITY_POWER


@dataclass
class GridLayer:
    """An energy grid in a plotter, with handles to change it in place.

    Use :meth:`set_slice`, :meth:`set_iso_levels`, :meth:`set_volume_visible`,
    :meth:`set_pore_surface`, then call ``plotter.render()``.

    Attributes
    ----------
    plotter : pyvista.Plotter
        Where it is drawn.
    frame : GridFrame
        Geometry.
    energy : NDArray[np.float32]
        Shape (n, n, n); clipped probe energy, K.
    clim : tuple of float
        Colour range, K.
    slice_index : list of int
        Current slice index along a, b, c (None: that slice is hidden).
    iso_levels : tuple of float
        Current isosurface energies, K.
    pore_visible : bool
        The pore surface (V = :data:`PORE_LEVEL`) is shown.
    histogram : ColorbarHistogram or None
        The energies' histogram beside the colour bar, marking the isosurfaces (and the
        pore surface when shown).
    """

    plotter: pv.Plotter
    frame: GridFrame
    energy: NDArray[np.float32]
    clim: tuple[float, float]
    name: str
    slice_index: list = field(default_factory=lambda: [None, None, None])
    iso_levels: tuple[float, ...] = ()
    iso_opacity: float = 1.0
    volume_actor: object | None = None
    iso_actor: object | None = None
    slice_meshes: list = field(default_factory=lambda: [None, None, None])
    slice_actors: list = field(default_factory=lambda: [None, None, None])
    pore_visible: bool = False
    pore_actor: object | None = None
    histogram: ColorbarHistogram | None = None
    _index_img: pv.ImageData | None = None

    @property
    def n(self) -> int:
        """Points per axis."""
        return self.energy.shape[0]

    @property
    def image(self) -> pv.ImageData:
        """Index-space image of the energy (wrapped by one plane when periodic)."""
        if self._index_img is None:
            e = wrap_periodic(self.energy) if self.frame.periodic else self.energy
            self._index_img = index_image(e, "V")
        return self._index_img

    def _mesh_kwargs(self) -> dict:
        return dict(scalars="V", cmap=ENERGY_CMAP, clim=self.clim, show_scalar_bar=False)

    def set_slice(self, axis: int, index: int | None) -> None:
        """Move (or hide with None) the slice of constant index along a (0), b (1) or c (2)."""
        if axis not in (0, 1, 2):
            raise SpecError(f"slice axis must be 0 (a), 1 (b) or 2 (c), got {axis!r}")
        actor = self.slice_actors[axis]
        if index is None:
            if actor is not None:
                actor.SetVisibility(False)
            self.slice_index[axis] = None
            return
        if not 0 <= int(index) < self.n:
            raise SpecError(
                f"slice index along {'abc'[axis]} must be in [0, {self.n - 1}], got {index}"
            )
        plane = index_slice(self.image, axis, int(index), self.frame)
        if self.slice_meshes[axis] is None:
            self.slice_meshes[axis] = plane
            self.slice_actors[axis] = self.plotter.add_mesh(
                plane,
                name=f"{self.name}-slice-{'abc'[axis]}",
                **self._mesh_kwargs(),
                lighting=False,
                pickable=False,
            )
        else:
            self.slice_meshes[axis].copy_from(plane, deep=True)
            self.slice_actors[axis].SetVisibility(True)
        self.slice_index[axis] = int(index)

    def set_iso_levels(self, levels) -> None:
        """Replace the isosurfaces by surfaces at these energies, K (empty: none)."""
        levels = tuple(float(x) for x in levels)
        self.iso_levels = levels
        surf = contour_world(self.image, levels, self.frame)
        if self.iso_actor is not None:
            self.plotter.remove_actor(self.iso_actor, render=False)
            self.iso_actor = None
        if surf.n_points:
            self.iso_actor = self.plotter.add_mesh(
                surf,
                name=f"{self.name}-iso",
                **self._mesh_kwargs(),
                smooth_shading=True,
                opacity=self.iso_opacity,
                specular=0.2,
            )
        self._mark_histogram()

    def set_pore_surface(self, visible: bool) -> None:
        """Show or hide the pore surface: the isosurface at :data:`PORE_LEVEL`, bounding
        the region where the probe's energy is negative (built on first show)."""
        if visible and self.pore_actor is None:
            surf = contour_world(self.image, [PORE_LEVEL], self.frame)
            if surf.n_points:
                self.pore_actor = self.plotter.add_mesh(
                    surf,
                    name=f"{self.name}-pore",
                    color=PORE_COLOUR,
                    opacity=PORE_OPACITY,
                    smooth_shading=True,
                    pickable=False,
                    show_scalar_bar=False,
                )
        elif self.pore_actor is not None:
            self.pore_actor.SetVisibility(bool(visible))
        self.pore_visible = bool(visible)
        self._mark_histogram()

    def update(self, *, iso_levels=None, slices=None, pore_surface=None) -> list[str]:
        """Change only what differs from what is drawn; returns what changed ("iso",
        "slice-a".., "pore").

        Parameters
        ----------
        iso_levels : sequence of float, optional
            Isosurface energies, K.
        slices : sequence of 3 (int or None), optional
            Slice index along a, b, c (None hides that slice).
        pore_surface : bool, optional
            Show the pore surface.
        """
        changed = []
        if iso_levels is not None and tuple(float(x) for x in iso_levels) != self.iso_levels:
            self.set_iso_levels(iso_levels)
            changed.append("iso")
        if slices is not None:
            if len(slices) != 3:
                raise SpecError(f"slices must give 3 indices (a, b, c), got {slices!r}")
            for axis, index in enumerate(slices):
                if index != self.slice_index[axis]:
                    self.set_slice(axis, index)
                    changed.append(f"slice-{'abc'[axis]}")
        if pore_surface is not None and bool(pore_surface) != self.pore_visible:
            self.set_pore_surface(pore_surface)
            changed.append("pore")
        return changed

    def _mark_histogram(self) -> None:
        """Mark the isosurface levels (and the pore surface when shown) on the histogram."""
        if self.histogram is None:
            return
        marks = [(v, ink(self.plotter)) for v in self.iso_levels]
        if self.pore_visible:
            marks.append((PORE_LEVEL, PORE_COLOUR))
        self.histogram.set_marks(marks)

    def set_volume_visible(self, visible: bool) -> None:
        """Show or hide the volume rendering (built on first show)."""
        if visible and self.volume_actor is None:
            e = wrap_periodic(self.energy) if self.frame.periodic else self.energy
            img = world_image(e, "V", self.frame)
            self.volume_actor = add_volume(
                self.plotter,
                img,
                "V",
                ENERGY_CMAP,
                self.clim,
                energy_opacity(self.clim),
                f"{self.name}-volume",
            )
        elif self.volume_actor is not None:
            self.volume_actor.SetVisibility(bool(visible))

    def add_colorbar(self, histogram: bool = True, **kwargs) -> None:
        """Add the shared colour bar (``kwargs`` go to ``plotter.add_scalar_bar``) and,
        beside it, the histogram of the energies over its range."""
        lut = pv.LookupTable(cmap=ENERGY_CMAP)
        lut.scalar_range = self.clim
        bar = add_colorbar(self.plotter, lut, ENERGY_TITLE, **kwargs)
        if histogram:
            self.histogram = add_colorbar_histogram(
                self.plotter, bar, self.energy, self.clim, name=f"{self.name}-histogram"
            )
            self._mark_histogram()


def energy_clim(
    energy: NDArray[np.float32], wall_fraction: float = WALL_FRACTION
) -> tuple[float, float]:
    """Colour range of an energy grid, K: deepest well to ``wall_fraction * |V_min|``.

    Walls above the upper limit saturate (dark); free space (V = 0) then sits at
    ``1 / (1 + wall_fraction)`` of the way from bright to dark, so wells stand out.
    """
    lo = min(float(energy.min()), -1.0)
    return lo, -wall_fraction * lo


def default_iso_levels(clim: tuple[float, float]) -> tuple[float, ...]:
    """The isosurface energies drawn by default, K: :data:`ISO_FRACTIONS` of ``clim[0]``
    (the deepest well)."""
    return tuple(f * clim[0] for f in ISO_FRACTIONS)


def add_energy_grid(
    plotter: pv.Plotter,
    grid: EnergyGrid,
    *,
    volume: bool = True,
    iso_levels=None,
    slices=None,
    pore_surface: bool = False,
    colorbar: bool = True,
    histogram: bool = True,
    ceiling: float = ENERGY_CEILING,
    name: str = "grid",
) -> GridLayer:
    """Draw an energy grid into a plotter in its real (super)cell geometry.

    Parameters
    ----------
    plotter : pyvista.Plotter
        Any plotter.
    grid : EnergyGrid
        The grid; ``grid.boltzmann`` has shape (n, n, n).
    volume : bool
        Volume rendering (wells bright and opaque, walls transparent).
    iso_levels : sequence of float, optional
        Isosurface energies, K. Default: :data:`ISO_FRACTIONS` of the deepest well.
        Pass ``()`` for none.
    slices : sequence of 3 (int or None), optional
        Slice index along a, b, c (None hides that slice). Default: none.
    pore_surface : bool
        Draw the pore surface (:meth:`GridLayer.set_pore_surface`).
    colorbar : bool
        Add the energy colour bar.
    histogram : bool
        With the colour bar, the histogram of the energies beside it.
    ceiling : float
        Energies above this are clipped, K.
    name : str
        Actor name prefix.

    Returns
    -------
    GridLayer
    """
    frame = GridFrame.of(grid)
    energy = energy_from_boltzmann(grid.boltzmann, grid.spec.temperature, ceiling)
    clim = energy_clim(energy)
    layer = GridLayer(plotter, frame, energy, clim, name)
    if volume:
        layer.set_volume_visible(True)
    if iso_levels is None:
        iso_levels = default_iso_levels(clim)
    if len(iso_levels):
        layer.set_iso_levels(iso_levels)
    if slices is not None:
        if len(slices) != 3:
            raise SpecError(f"slices must give 3 indices (a, b, c), got {slices!r}")
        for axis, index in enumerate(slices):
            if index is not None:
                layer.set_slice(axis, index)
    if pore_surface:
        layer.set_pore_surface(True)
    if colorbar:
        layer.add_colorbar(histogram)
    return layer

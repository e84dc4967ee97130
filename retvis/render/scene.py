"""Whole scenes, built the same way for the GUI, off-screen screenshots and tests.

Each ``show_*`` function draws into a plotter it is given (a ``pyvista.Plotter``, an
off-screen one, or the GUI's ``QtInteractor``), frames the camera and returns the
handles of what it drew. :func:`new_plotter` and :func:`save_screenshot` are for callers
without a window (CLI, tests, benchmarks).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyvista as pv
from numpy.typing import NDArray

from ..core.grid import EnergyGrid, grid_cell
from ..core.structure import Structure
from ..errors import SpecError
from .camera import frame_camera
from .features import FeatureGallery, add_feature_gallery, check_maps, gallery_layout, pick_channels
from .geometry import GridFrame
from .grid import GridLayer, add_energy_grid
from .picture import capture, check_size, write_png
from .saliency import SaliencyLayer, add_saliency
from .structure import StructureActors, add_structure
from .style import new_theme

#: Default window size, pixels (width, height).
DEFAULT_SIZE = (1280, 800)


def parse_size(text: str) -> tuple[int, int]:
    """``"1280x800"`` -> (1280, 800)."""
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise SpecError(f"size must look like 1280x800, got {text!r}") from None
    return check_size(w, h)


def new_plotter(
    size: tuple[int, int] = DEFAULT_SIZE, *, off_screen: bool = True, **kwargs
) -> pv.Plotter:
    """A plotter with RetVis's theme (dark background, no MSAA) and one headlight.

    One headlight instead of VTK's five-light kit costs about a quarter less per frame in
    software OpenGL (``benchmarks/render.py``) and looks the same on these scenes.
    ``kwargs`` go to :class:`pyvista.Plotter` (e.g. ``shape`` and ``groups`` from
    :meth:`~retvis.render.features.GalleryLayout.plotter_kwargs`).
    """
    plotter = pv.Plotter(
        off_screen=off_screen,
        window_size=tuple(int(v) for v in size),
        theme=new_theme(),
        lighting="none",
        **kwargs,
    )
    for renderer in plotter.renderers:
        renderer.add_light(pv.Light(light_type="headlight"))
    return plotter


def show_structure(plotter: pv.Plotter, structure: Structure, **kwargs) -> StructureActors:
    """The structure's unit cell (``kwargs`` go to :func:`add_structure`)."""
    actors = add_structure(plotter, structure, **kwargs)
    frame_camera(
        plotter, kwargs.get("box", structure.lattice), kwargs.get("origin"), colorbar=False
    )
    actors.fit_bond_width(plotter)
    return actors


def centre_slices(grid: EnergyGrid) -> tuple[int, int, int]:
    """Slice indices through the middle of the grid along a, b, c."""
    n = grid.spec.n
    return (n // 2, n // 2, n // 2)


def show_grid(
    plotter: pv.Plotter,
    structure: Structure,
    grid: EnergyGrid,
    *,
    volume: bool = False,
    iso_levels=None,
    slices: tuple | None = "centre",
    pore_surface: bool = False,
    atoms: bool = True,
    **structure_kwargs,
) -> tuple[StructureActors | None, GridLayer]:
    """An energy grid over the structure, in the grid's (super)cell.

    Parameters
    ----------
    volume : bool
        Volume rendering (off by default: several times slower than the rest in
        software OpenGL, see ``benchmarks/render.py``).
    iso_levels : sequence of float, optional
        Isosurface energies, K (default: half the deepest well).
    slices : "centre", tuple of 3 (int or None), or None
        Slice indices along a, b, c.
    pore_surface : bool
        Draw the pore surface (where the probe's energy is 0,
        :meth:`~retvis.render.grid.GridLayer.set_pore_surface`).
    atoms : bool
        Draw the structure too.
    """
    if isinstance(slices, str):
        if slices != "centre":
            raise SpecError(f"slices must be 'centre', 3 indices or None, got {slices!r}")
        slices = centre_slices(grid)
    actors = None
    if atoms:
        actors = add_structure(
            plotter,
            grid_cell(structure, grid.spec),
            box=grid.box,
            origin=grid.origin,
            **structure_kwargs,
        )
    layer = add_energy_grid(
        plotter,
        grid,
        volume=volume,
        iso_levels=iso_levels,
        slices=slices,
        pore_surface=pore_surface,
    )
    frame_camera(plotter, grid.box, grid.origin)
    if actors is not None:
        actors.fit_bond_width(plotter)
    return actors, layer


def show_saliency(
    plotter: pv.Plotter,
    structure: Structure,
    grid: EnergyGrid,
    saliency: NDArray,
    **kwargs,
) -> tuple[StructureActors, SaliencyLayer]:
    """``|saliency|`` (shape (n, n, n), on ``grid``) over the structure in the grid's box.

    ``kwargs`` go to :func:`~retvis.render.saliency.add_saliency`.
    """
    actors = add_structure(
        plotter, grid_cell(structure, grid.spec), box=grid.box, origin=grid.origin
    )
    layer = add_saliency(plotter, saliency, GridFrame.of(grid), **kwargs)
    frame_camera(plotter, grid.box, grid.origin)
    actors.fit_bond_width(plotter)
    return actors, layer


def features_plotter(
    maps: NDArray,
    size: tuple[int, int] = DEFAULT_SIZE,
    channels: list[int] | None = None,
    off_screen: bool = True,
) -> pv.Plotter:
    """A plotter laid out for the gallery of these maps (shape (C, d, d, d)): the layout
    whose cells are closest to square at this ``size`` (width, height) px
    (:func:`~retvis.render.features.gallery_layout`)."""
    maps = check_maps(maps)
    n = len(pick_channels(maps) if channels is None else channels)
    layout = gallery_layout(n, size[0] / size[1])
    return new_plotter(size, off_screen=off_screen, **layout.plotter_kwargs())


def show_features(
    plotter: pv.Plotter, maps: NDArray, grid: EnergyGrid, layer: str, **kwargs
) -> FeatureGallery:
    """A gallery of a layer's channels (see :func:`add_feature_gallery`)."""
    return add_feature_gallery(plotter, maps, GridFrame.of(grid), layer, **kwargs)


def save_screenshot(
    plotter: pv.Plotter,
    path: str | Path,
    title: str | None = None,
    subtitle: str = "",
    *,
    caption: bool = True,
    transparent: bool = False,
) -> NDArray[np.uint8]:
    """Render and write a PNG atomically; returns the image, shape (height, width, 3),
    or (height, width, 4) with ``transparent``, uint8.

    ``title`` and ``subtitle`` (:func:`~retvis.render.picture.scene_caption`) are drawn
    in a band above the scene unless ``caption`` is False, and written into the PNG as
    its ``Title`` and ``Description`` texts, so a picture says what it shows.
    ``transparent``: background pixels get alpha 0.
    """
    band = (title, subtitle) if caption and title else None
    img = capture(plotter, caption=band, transparent=transparent)
    write_png(path, img, title or "", subtitle)
    return img

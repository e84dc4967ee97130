"""What the 3D viewer draws: thin calls into ``retvis.render`` (the scenes live there).

Every function takes a PyVista plotter (a ``QtInteractor`` is one) and plain data, and
is called on the GUI thread only.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from ..render import (
    gallery_layout,
    show_features,
    show_grid,
    show_saliency,
    show_structure,
)
from ..render.elements import element_rgb
from ..render.features import pick_channels
from ..render.structure_extras import EXTRAS as STRUCTURE_EXTRAS
from ..render.structure_extras import add_extras

__all__ = [
    "STRUCTURE_EXTRAS",
    "draw_structure",
    "draw_grid",
    "update_grid",
    "draw_saliency",
    "draw_features",
    "gallery_kwargs",
    "element_rgb",
]


def draw_structure(plotter, structure, cells: int = 1, extras=()):
    """``cells`` x ``cells`` x ``cells`` unit cells: atoms in element colours, bonds, cell
    edges, and any of :data:`STRUCTURE_EXTRAS` (atom labels, an element legend,
    coordination polyhedra around metals); returns what was drawn
    (:class:`~retvis.render.structure.StructureActors`) and, per extra drawn, how many
    items it drew."""
    region = {} if cells == 1 else {"box": structure.lattice * cells}
    actors = show_structure(plotter, structure, **region)
    return actors, add_extras(plotter, structure, actors, extras)


def draw_grid(plotter, grid, structure, state=None):
    """The energy grid over the structure in the grid's box: the isosurface, slices and
    pore surface of ``state`` (a :class:`~retvis.gui.widgets.grid_controls.GridViewState`;
    None: the defaults, without the pore surface) and the energy histogram beside the
    colour bar; returns the :class:`~retvis.render.grid.GridLayer`."""
    if state is None:
        return show_grid(plotter, structure, grid)[1]
    return show_grid(
        plotter,
        structure,
        grid,
        iso_levels=None if state.level is None else (state.level,),
        slices=state.slices,
        pore_surface=state.pore_surface,
    )[1]


def update_grid(layer, state) -> list[str]:
    """Bring a drawn grid (``GridLayer``) to ``state`` (a ``GridViewState``), changing only
    what differs; returns what changed."""
    return layer.update(
        iso_levels=(state.level,), slices=state.slices, pore_surface=state.pore_surface
    )


def draw_saliency(plotter, grid, structure, saliency: NDArray[np.float32]) -> None:
    """``|saliency|`` (n, n, n) over the structure, in the grid's box."""
    show_saliency(plotter, structure, grid, saliency)


def gallery_kwargs(maps: NDArray[np.float32], aspect: float | None = None) -> dict:
    """Plotter layout (``shape``, ``groups``...) for the gallery of maps (C, d, d, d) in
    a view of this width / height (None: the fixed wide layout)."""
    return gallery_layout(len(pick_channels(maps)), aspect).plotter_kwargs()


def draw_features(
    plotter, maps: NDArray[np.float32], grid, layer: str, enlarged: int, structure=None
) -> None:
    """A layer's channels (C, d, d, d): the most active ones small, ``enlarged`` big."""
    channels = pick_channels(maps)
    if enlarged not in channels:  # keep the panel count (and so the layout) unchanged
        channels = sorted(channels[:-1] + [enlarged])
    show_features(
        plotter, maps, grid, layer, channels=channels, enlarged=enlarged, structure=structure
    )

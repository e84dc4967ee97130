"""What a chemist turns on over a drawn structure: atom labels, an element legend and
coordination polyhedra around metal atoms.

Each function takes the :class:`~retvis.render.structure.StructureActors` that
:func:`~retvis.render.structure.add_structure` returned, draws into the same plotter and
appends its actor to ``actors.extras``.
"""

from __future__ import annotations

import numpy as np
import pyvista as pv
from numpy.typing import NDArray
from scipy.spatial import ConvexHull, QhullError

from ..core.structure import Structure
from .elements import NON_METALS, element_rgb, species_table
from .measure import atom_label
from .structure import StructureActors
from .style import ink

#: Most atom labels drawn; beyond it only one image of each atom is labelled, and beyond
#: that none (VTK's label placer takes seconds for tens of thousands).
MAX_LABELS = 2_000
#: Opacity of the coordination polyhedra.
POLYHEDRON_OPACITY = 0.45
#: Fewest ligands around a metal for a polyhedron (three make a triangle, not a solid).
MIN_LIGANDS = 4
#: What :func:`add_extras` can draw over a structure.
EXTRAS = ("labels", "legend", "polyhedra")


def labelled_atoms(actors: StructureActors, limit: int = MAX_LABELS) -> NDArray[np.intp]:
    """Drawn atoms to label: all of them, or one image of each structure atom when that
    is more than ``limit``; empty when even that is more."""
    k = len(actors.positions)
    if k <= limit:
        return np.arange(k)
    _, first = np.unique(actors.atom, return_index=True)
    return np.sort(first) if len(first) <= limit else np.zeros(0, dtype=np.intp)


def add_atom_labels(
    plotter: pv.Plotter, structure: Structure, actors: StructureActors, name: str = "structure"
) -> int:
    """Label drawn atoms with their CIF-style label (``Cu12``: element and position in the
    file, :func:`~retvis.render.measure.atom_label`); returns how many were labelled."""
    which = labelled_atoms(actors)
    if len(which) == 0:
        return 0
    labels = [atom_label(structure, int(actors.atom[k])) for k in which]
    actor = plotter.add_point_labels(
        actors.positions[which],
        labels,
        font_size=11,
        bold=False,
        text_color=ink(plotter),
        shape=None,
        show_points=False,
        always_visible=False,
        name=f"{name}-labels",
        render=False,
        reset_camera=False,
    )
    actors.extras.append(actor)
    return len(which)


def legend_entries(species) -> list[tuple[str, tuple[float, float, float]]]:
    """(symbol, colour in 0..1) of each element drawn, metals first, then by symbol."""
    symbols, _ = species_table(species)
    symbols = sorted(symbols, key=lambda s: (s in NON_METALS, s))
    return [(s, tuple(c / 255.0 for c in element_rgb(s))) for s in symbols]


def add_element_legend(
    plotter: pv.Plotter, actors: StructureActors, name: str = "structure"
) -> list[str]:
    """A legend of the drawn elements in their colours (top right); returns the symbols."""
    entries = legend_entries(actors.species)
    if not entries:
        return []
    text = np.array(ink(plotter))
    back = 0.85 * np.array(plotter.background_color.float_rgb) + 0.15 * text
    actor = plotter.add_legend(
        labels=[[s, c] for s, c in entries],
        bcolor=tuple(back),
        size=(0.09, min(0.05 * len(entries), 0.6)),
        name=f"{name}-legend",
        loc="upper right",
        face="circle",
    )
    # the text in the view's ink, each symbol in its element's colour (VTK colours an
    # entry's text and symbol alike unless the symbol carries its own colours)
    for i, (_, colour) in enumerate(entries):
        symbol = pv.wrap(actor.GetEntrySymbol(i))
        rgb = np.round(np.array(colour) * 255).astype(np.uint8)
        symbol.cell_data["rgb"] = np.tile(rgb, (symbol.n_cells, 1))
        symbol.cell_data.active_scalars_name = "rgb"
        actor.SetEntryColor(i, *text)
    actor.SetScalarVisibility(True)
    actors.extras.append(actor)
    return [s for s, _ in entries]


def coordination(actors: StructureActors) -> dict[int, NDArray[np.intp]]:
    """Drawn metal atom inside the drawn region -> its bonded non-metal neighbours
    (drawn atoms, beyond the faces included), for metals with at least
    :data:`MIN_LIGANDS`. Metals beyond the faces are left out: only their bonds into the
    region are drawn."""
    pairs = actors.pairs
    metal = np.array([s not in NON_METALS for s in actors.species], dtype=bool)
    metal[actors.inside :] = False
    out: dict[int, NDArray[np.intp]] = {}
    if len(pairs) == 0 or not metal.any():
        return out
    both = np.concatenate([pairs, pairs[:, ::-1]])
    ligand = np.array([s in NON_METALS for s in actors.species], dtype=bool)
    both = both[metal[both[:, 0]] & ligand[both[:, 1]]]
    order = np.argsort(both[:, 0], kind="stable")
    both = both[order]
    centres, starts = np.unique(both[:, 0], return_index=True)
    for c, ligands in zip(centres, np.split(both[:, 1], starts[1:]), strict=True):
        if len(ligands) >= MIN_LIGANDS:
            out[int(c)] = ligands
    return out


def polyhedron_faces(points: NDArray[np.float64]) -> NDArray[np.intp]:
    """Triangles (m, 3) of the convex hull of ligand positions (indices into
    ``points``); a flat set (square-planar metals) gives its polygon as a fan."""
    try:
        return ConvexHull(points).simplices.astype(np.intp)
    except QhullError:
        centre = points.mean(axis=0)
        _, _, vt = np.linalg.svd(points - centre)
        u, v = (points - centre) @ vt[0], (points - centre) @ vt[1]
        ring = np.argsort(np.arctan2(v, u))
        return np.array([[ring[0], ring[i], ring[i + 1]] for i in range(1, len(ring) - 1)])


def add_polyhedra(plotter: pv.Plotter, actors: StructureActors, name: str = "structure") -> int:
    """Translucent coordination polyhedra around drawn metal atoms, in the metal's colour
    (the hull of its bonded non-metal neighbours); returns how many were drawn."""
    shells = coordination(actors)
    if not shells:
        return 0
    points, faces, colours = [], [], []
    offset = 0
    for centre, ligands in shells.items():
        tri = polyhedron_faces(actors.positions[ligands])
        points.append(actors.positions[ligands])
        faces.append(np.column_stack([np.full(len(tri), 3), tri + offset]))
        colours.append(np.tile(element_rgb(actors.species[centre]), (len(tri), 1)))
        offset += len(ligands)
    mesh = pv.PolyData(np.concatenate(points), faces=np.concatenate(faces).ravel())
    mesh.cell_data["rgb"] = np.concatenate(colours).astype(np.uint8)
    actor = plotter.add_mesh(
        mesh,
        scalars="rgb",
        rgb=True,
        opacity=POLYHEDRON_OPACITY,
        show_edges=True,
        edge_color=ink(plotter),
        line_width=1,
        pickable=False,
        show_scalar_bar=False,
        name=f"{name}-polyhedra",
        render=False,
        reset_camera=False,
    )
    actors.extras.append(actor)
    return len(shells)


def add_extras(
    plotter: pv.Plotter, structure: Structure, actors: StructureActors, extras=()
) -> dict[str, int]:
    """Draw any of :data:`EXTRAS` over a drawn structure; returns, per extra drawn, how
    many items it drew (polyhedra, labels, legend entries)."""
    counts = {}
    if "polyhedra" in extras:
        counts["polyhedra"] = add_polyhedra(plotter, actors)
    if "labels" in extras:
        counts["labels"] = add_atom_labels(plotter, structure, actors)
    if "legend" in extras:
        counts["legend"] = len(add_element_legend(plotter, actors))
    return counts

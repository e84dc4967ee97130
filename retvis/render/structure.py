"""Atoms, bonds and the unit cell of a crystal structure, drawn into any PyVista plotter.

Atoms are one :class:`pyvista.PolyData` of centres, drawn as sphere impostors of each
atom's radius (or glyphed with one sphere mesh), coloured by element (Jmol palette). Bonds are a distance criterion on
covalent radii, drawn as shaded lines (or tubes) coloured half by each atom. The unit cell (and, when the
drawn region is a supercell, its outline) is a wireframe parallelepiped, so skewed cells
look skewed.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pyvista as pv
from numpy.typing import NDArray
from scipy.spatial import cKDTree

from ..core.structure import Structure
from ..errors import LimitError, SpecError
from .elements import ELEMENTS, UNKNOWN, species_table
from .style import ink

#: Ball radius in the ball-and-stick style, as a fraction of the covalent radius.
BALL_SCALE = 0.5
#: Smallest ball radius, Å (keeps hydrogen visible).
MIN_BALL = 0.22
#: Two atoms are bonded when ``0.4 Å < d < r_i + r_j + BOND_TOLERANCE`` (Jmol's rule).
BOND_TOLERANCE = 0.45
#: Bond (tube) radius, Å.
BOND_RADIUS = 0.11
#: Bond width in pixels when drawn as shaded lines.
BOND_LINE_WIDTH = 4
#: Most atoms drawn in one scene.
MAX_DRAWN_ATOMS = 200_000
#: Fractional tolerance for atoms on the faces of the drawn region.
FACE_TOLERANCE = 1e-3


@dataclass
class StructureActors:
    """What :func:`add_structure` put into a plotter.

    Attributes
    ----------
    atoms, bonds, cell : vtkActor or None
        The actors (None where not drawn).
    positions : NDArray[np.float64]
        Shape (k, 3); centres of the drawn atoms, Å.
    species : list of str
        Element of each drawn atom.
    n_bonds : int
        Number of bonds drawn.
    atom : NDArray[np.intp]
        Shape (k,); the structure's atom each drawn atom is an image of.
    pairs : NDArray[np.intp]
        Shape (n_bonds, 2); the drawn bonds, indices into ``positions``.
    inside : int
        The first ``inside`` drawn atoms are in the drawn region; the rest are the atoms
        beyond its faces bonded to them (:func:`atoms_and_bonds`).
    extras : list
        Actors drawn over the structure afterwards (labels, legend, polyhedra:
        :mod:`retvis.render.structure_extras`), shown and hidden with it.
    """

    atoms: object
    bonds: object | None
    cell: object | None
    positions: NDArray[np.float64]
    species: list[str]
    n_bonds: int
    atom: NDArray[np.intp]
    pairs: NDArray[np.intp] = field(default_factory=lambda: np.zeros((0, 2), dtype=np.intp))
    inside: int = 0
    extras: list = field(default_factory=list)

    def fit_bond_width(self, plotter: pv.Plotter) -> None:
        """Make line bonds about ``2 * BOND_RADIUS`` wide at the current zoom.

        Line widths are in pixels; call again after a large zoom change.
        """
        from .camera import pixels_per_angstrom

        if self.bonds is not None and self.bonds.prop.render_lines_as_tubes:
            px = 2.0 * BOND_RADIUS * pixels_per_angstrom(plotter)
            self.bonds.prop.line_width = float(np.clip(px, 1.5, 10.0))

    def set_visible(self, visible: bool) -> None:
        """Show or hide every actor of the structure."""
        for actor in (self.atoms, self.bonds, self.cell, *self.extras):
            if actor is not None:
                actor.SetVisibility(bool(visible))


def atoms_in_region(
    structure: Structure,
    box: NDArray[np.float64] | None = None,
    origin: NDArray[np.float64] | None = None,
    tolerance: float = FACE_TOLERANCE,
) -> tuple[NDArray[np.float64], NDArray[np.intp]]:
    """Every periodic image of every atom inside a parallelepiped.

    Parameters
    ----------
    structure : Structure
        The crystal.
    box : NDArray[np.float64], optional
        Shape (3, 3); rows span the region, Å. Default: the unit cell.
    origin : NDArray[np.float64], optional
        Shape (3,); a corner of the region, Å. Default: 0.
    tolerance : float
        Fractional slack on the faces, so atoms on a face appear on both opposite faces.

    Returns
    -------
    positions : NDArray[np.float64]
        Shape (k, 3), Å.
    atom : NDArray[np.intp]
        Shape (k,); index of the original atom of each image.
    """
    lat = structure.lattice
    box = lat if box is None else np.asarray(box, dtype=np.float64).reshape(3, 3)
    origin = np.zeros(3) if origin is None else np.asarray(origin, dtype=np.float64).reshape(3)
    if structure.n_atoms == 0:
        return np.zeros((0, 3)), np.zeros(0, dtype=np.intp)
    corners = origin + np.array(list(itertools.product((0, 1), repeat=3)), float) @ box
    cf = corners @ np.linalg.inv(lat)
    lo = np.floor(cf.min(axis=0) - tolerance).astype(int) - 1
    hi = np.ceil(cf.max(axis=0) + tolerance).astype(int)
    n_img = int(np.prod(hi - lo + 1))
    if n_img * structure.n_atoms > 8 * MAX_DRAWN_ATOMS:
        raise LimitError(
            f"the region holds about {n_img * structure.n_atoms} atoms; "
            f"at most {MAX_DRAWN_ATOMS} are drawn"
        )
    shifts = np.array(
        list(itertools.product(*(range(a, b + 1) for a, b in zip(lo, hi, strict=True)))), float
    )
    base = structure.frac @ lat
    pos_list, idx_list = [], []
    for s in shifts:
        p = base + s @ lat
        keep = in_region(p, box, origin, tolerance)
        if keep.any():
            pos_list.append(p[keep])
            idx_list.append(np.flatnonzero(keep))
    if not pos_list:
        return np.zeros((0, 3)), np.zeros(0, dtype=np.intp)
    pos = np.concatenate(pos_list)
    idx = np.concatenate(idx_list)
    if len(pos) > MAX_DRAWN_ATOMS:
        raise LimitError(f"{len(pos)} atoms in the drawn region; at most {MAX_DRAWN_ATOMS}")
    return pos, idx


def find_bonds(
    positions: NDArray[np.float64], species, tolerance: float = BOND_TOLERANCE
) -> NDArray[np.intp]:
    """Pairs of atoms closer than the sum of their covalent radii plus ``tolerance``.

    Parameters
    ----------
    positions : NDArray[np.float64]
        Shape (k, 3), Cartesian, Å (images already expanded: no periodicity here).
    species : sequence of str
        Element of each atom.
    tolerance : float
        Å added to the sum of covalent radii.

    Returns
    -------
    NDArray[np.intp]
        Shape (n_bonds, 2); ``i < j``.
    """
    if len(positions) < 2:
        return np.zeros((0, 2), dtype=np.intp)
    symbols, index = species_table(species)
    rcov = np.array([ELEMENTS.get(s, UNKNOWN)[3] for s in symbols])[index]
    tree = cKDTree(positions)
    pairs = tree.query_pairs(2.0 * rcov.max() + tolerance, output_type="ndarray")
    if len(pairs) == 0:
        return np.zeros((0, 2), dtype=np.intp)
    d = np.linalg.norm(positions[pairs[:, 0]] - positions[pairs[:, 1]], axis=1)
    ok = (d > 0.4) & (d < rcov[pairs[:, 0]] + rcov[pairs[:, 1]] + tolerance)
    return pairs[ok].astype(np.intp)


def atoms_and_bonds(
    structure: Structure,
    box: NDArray[np.float64] | None = None,
    origin: NDArray[np.float64] | None = None,
    beyond: bool = True,
) -> tuple[NDArray[np.float64], NDArray[np.intp], NDArray[np.intp]]:
    """The atoms of a region and their bonds, none cut at the region's faces.

    With ``beyond`` (as VESTA's and iRASPA's "bonded atoms beyond the boundary"), every
    atom outside the region that is bonded to one inside is drawn too, with that bond: a
    linker that crosses a face keeps every bond of its atoms inside. Without it, only the
    atoms inside and the bonds between them (:func:`atoms_in_region`).

    Returns
    -------
    positions : NDArray[np.float64]
        Shape (k, 3), Å; the atoms inside first.
    atom : NDArray[np.intp]
        Shape (k,); index of the original atom of each image.
    bonds : NDArray[np.intp]
        Shape (n_bonds, 2), indices into ``positions``.
    """
    lat = structure.lattice
    box = lat if box is None else np.asarray(box, dtype=np.float64).reshape(3, 3)
    origin = np.zeros(3) if origin is None else np.asarray(origin, dtype=np.float64).reshape(3)
    if not beyond or structure.n_atoms == 0:
        pos, atom = atoms_in_region(structure, box, origin)
        return pos, atom, find_bonds(pos, [structure.species[i] for i in atom])
    symbols, _ = species_table(structure.species)
    reach = 2.0 * max(ELEMENTS.get(e, UNKNOWN)[3] for e in symbols) + BOND_TOLERANCE
    volume = abs(np.linalg.det(box))
    widths = np.array([volume / np.linalg.norm(np.cross(box[(i + 1) % 3], box[(i + 2) % 3]))
                       for i in range(3)])  # fmt: skip
    f = reach / widths  # the margin as a fraction of each box vector
    pos, atom = atoms_in_region(structure, box * (1 + 2 * f)[:, None], origin - f @ box)
    inside = in_region(pos, box, origin)
    pairs = find_bonds(pos, [structure.species[i] for i in atom])
    pairs = pairs[inside[pairs[:, 0]] | inside[pairs[:, 1]]]
    keep = inside.copy()
    keep[pairs.ravel()] = True
    order = np.concatenate([np.flatnonzero(inside), np.flatnonzero(keep & ~inside)])
    new = np.full(len(pos), -1, dtype=np.intp)
    new[order] = np.arange(len(order))
    return pos[order], atom[order], new[pairs].reshape(-1, 2)


def in_region(
    positions: NDArray[np.float64],
    box: NDArray[np.float64],
    origin: NDArray[np.float64] | None = None,
    tolerance: float = FACE_TOLERANCE,
) -> NDArray[np.bool_]:
    """Which positions (k, 3) lie in the parallelepiped with rows ``box`` and corner
    ``origin`` (Å), faces included to ``tolerance`` (fractional)."""
    origin = np.zeros(3) if origin is None else np.asarray(origin, dtype=np.float64).reshape(3)
    u = (np.asarray(positions, dtype=np.float64) - origin) @ np.linalg.inv(box)
    return np.all((u >= -tolerance) & (u <= 1 + tolerance), axis=1)


def cell_edges(box: NDArray[np.float64], origin: NDArray[np.float64] | None = None) -> pv.PolyData:
    """The 12 edges of a parallelepiped as line cells.

    Parameters
    ----------
    box : NDArray[np.float64]
        Shape (3, 3); rows are the edge vectors, Å.
    origin : NDArray[np.float64], optional
        Shape (3,); corner, Å.
    """
    box = np.asarray(box, dtype=np.float64).reshape(3, 3)
    origin = np.zeros(3) if origin is None else np.asarray(origin, dtype=np.float64)
    f = np.array([[i & 1, (i >> 1) & 1, (i >> 2) & 1] for i in range(8)], float)
    pts = origin + f @ box
    edges = [(i, i | (1 << b)) for i in range(8) for b in range(3) if not i & (1 << b)]
    lines = np.hstack([[2, a, b] for a, b in edges])
    return pv.PolyData(pts, lines=lines)


def _sphere_resolution(n_atoms: int) -> int:
    if n_atoms < 3_000:
        return 16
    if n_atoms < 20_000:
        return 10
    return 6


def add_structure(
    plotter: pv.Plotter,
    structure: Structure,
    *,
    box: NDArray[np.float64] | None = None,
    origin: NDArray[np.float64] | None = None,
    style: Literal["ball_and_stick", "spacefill"] = "ball_and_stick",
    bonds: bool = True,
    cell: bool = True,
    opacity: float = 1.0,
    atoms_as: Literal["splats", "glyphs"] = "splats",
    bonds_as: Literal["lines", "tubes"] = "lines",
    name: str = "structure",
    beyond: bool = True,
) -> StructureActors:
    """Draw a structure into a plotter (its active renderer).

    Parameters
    ----------
    plotter : pyvista.Plotter
        Any plotter (``pyvistaqt.QtInteractor`` included).
    structure : Structure
        The crystal.
    box, origin : NDArray[np.float64], optional
        Region drawn: every atom image inside the parallelepiped with rows ``box`` (Å)
        and corner ``origin`` (Å), e.g. an energy grid's supercell. Default: the unit
        cell.
    style : {"ball_and_stick", "spacefill"}
        Ball radius: ``max(BALL_SCALE * covalent radius, MIN_BALL)``, or the van der
        Waals radius.
    bonds : bool
        Draw bonds (only in the ball-and-stick style).
    cell : bool
        Draw the unit cell, and the region's outline when it differs.
    opacity : float
        Opacity of atoms and bonds, 0..1.
    atoms_as : {"splats", "glyphs"}
        ``"splats"``: one point per atom drawn as a shaded sphere impostor of the atom's
        radius (VTK's point-Gaussian mapper; 8x faster than glyphs under software
        OpenGL, see ``benchmarks/render.py``). ``"glyphs"``: one sphere mesh glyphed onto
        every atom (real triangles, e.g. for mesh export).
    bonds_as : {"lines", "tubes"}
        ``"lines"``: shaded lines :data:`BOND_LINE_WIDTH` pixels wide (fast);
        ``"tubes"``: tubes of radius :data:`BOND_RADIUS` Å (real geometry, slower).
    name : str
        Prefix of the actor names (a second call with the same name replaces them).
    beyond : bool
        With bonds, also draw the atoms outside the region bonded to atoms inside, so no
        bond is cut at a face (:func:`atoms_and_bonds`).

    Returns
    -------
    StructureActors
    """
    if atoms_as not in ("splats", "glyphs"):
        raise SpecError(f"unknown atoms_as {atoms_as!r}; valid: 'splats', 'glyphs'")
    if bonds_as not in ("lines", "tubes"):
        raise SpecError(f"unknown bonds_as {bonds_as!r}; valid: 'lines', 'tubes'")
    if style not in ("ball_and_stick", "spacefill"):
        raise SpecError(f"unknown structure style {style!r}; valid: 'ball_and_stick', 'spacefill'")
    draw_bonds = bonds and style == "ball_and_stick"
    pos, atom, pairs = atoms_and_bonds(structure, box, origin, beyond=draw_bonds and beyond)
    species = [structure.species[i] for i in atom]
    rgb, radius = atom_colours_and_radii(species, style)
    look = {"opacity": opacity, "show_scalar_bar": False}
    atoms_actor = _add_atoms(plotter, pos, rgb, radius, atoms_as, name=f"{name}-atoms", **look)
    bonds_actor = None
    if not draw_bonds:
        pairs = np.zeros((0, 2), dtype=np.intp)
    elif len(pairs):
        bonds_actor = _add_bonds(plotter, pos, pairs, rgb, bonds_as, name=f"{name}-bonds", **look)
    cell_actor = _add_cell(plotter, structure, box, origin, f"{name}-cell") if cell else None
    region = structure.lattice if box is None else np.asarray(box, dtype=np.float64)
    inside = int(in_region(pos, region.reshape(3, 3), origin).sum())
    return StructureActors(
        atoms_actor, bonds_actor, cell_actor, pos, species, len(pairs), atom, pairs, inside
    )


def atom_colours_and_radii(
    species, style: str = "ball_and_stick"
) -> tuple[NDArray[np.uint8], NDArray[np.float64]]:
    """Jmol colour (k, 3) and drawn radius (k,) of each atom of ``species``: the
    ball-and-stick radius ``max(BALL_SCALE * covalent, MIN_BALL)`` or, for
    ``"spacefill"``, the van der Waals radius."""
    symbols, index = species_table(species)
    table = np.array([ELEMENTS.get(s, UNKNOWN) for s in symbols], dtype=np.float64).reshape(-1, 5)
    rgb = table[:, :3].astype(np.uint8)[index]
    if style == "ball_and_stick":
        return rgb, np.maximum(BALL_SCALE * table[:, 3], MIN_BALL)[index]
    return rgb, table[:, 4][index]


def _add_atoms(plotter, pos, rgb, radius, atoms_as, **look):
    """The atoms as sphere splats or glyphed sphere meshes (see :func:`add_structure`)."""
    centres = pv.PolyData(pos)
    centres.point_data["radius"] = radius
    centres.point_data["rgb"] = rgb
    if atoms_as == "splats":
        actor = plotter.add_mesh(
            centres,
            style="points_gaussian",
            render_points_as_spheres=True,
            emissive=False,
            scalars="rgb",
            rgb=True,
            **look,
        )
        actor.mapper.scale_array = "radius"
        actor.mapper.scale_factor = 1.0
        return actor
    res = _sphere_resolution(len(pos))
    sphere = pv.Sphere(radius=1.0, theta_resolution=res, phi_resolution=res)
    balls = centres.glyph(scale="radius", orient=False, geom=sphere)
    return plotter.add_mesh(
        balls, scalars="rgb", rgb=True, smooth_shading=True, specular=0.3, **look
    )


def _add_bonds(plotter, pos, pairs, rgb, bonds_as, **look):
    """Each bond as two halves in its atoms' colours: shaded lines or tubes."""
    n_bonds = len(pairs)
    mid = 0.5 * (pos[pairs[:, 0]] + pos[pairs[:, 1]])
    k = np.arange(n_bonds)
    pts = np.concatenate([pos[pairs[:, 0]], mid, pos[pairs[:, 1]]])
    seg_a = np.column_stack([np.full(n_bonds, 2), k, k + n_bonds])
    seg_b = np.column_stack([np.full(n_bonds, 2), k + n_bonds, k + 2 * n_bonds])
    sticks = pv.PolyData(pts, lines=np.concatenate([seg_a, seg_b]).ravel())
    sticks.cell_data["rgb"] = np.concatenate([rgb[pairs[:, 0]], rgb[pairs[:, 1]]])
    if bonds_as == "tubes":
        tubes = sticks.tube(radius=BOND_RADIUS, n_sides=8, capping=False)
        return plotter.add_mesh(tubes, scalars="rgb", rgb=True, smooth_shading=True, **look)
    return plotter.add_mesh(
        sticks,
        scalars="rgb",
        rgb=True,
        render_lines_as_tubes=True,
        line_width=BOND_LINE_WIDTH,
        **look,
    )


def _add_cell(plotter, structure, box, origin, name):
    """The unit cell's edges and, when it differs, the drawn region's outline."""
    edges = cell_edges(structure.lattice)
    if box is not None:
        region = cell_edges(box, origin)
        if not np.allclose(region.points, edges.points, atol=1e-6):
            edges = edges.merge(region)
    return plotter.add_mesh(edges, color=ink(plotter), line_width=2, name=name, pickable=False)

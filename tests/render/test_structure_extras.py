"""Labels, element legend and metal polyhedra drawn over a structure, off-screen."""

from __future__ import annotations

import numpy as np
import pytest

from retvis.core.structure import read_structure
from retvis.render import show_structure
from retvis.render.elements import NON_METALS, element_rgb
from retvis.render.measure import describe_picks
from retvis.render.structure_extras import (
    add_atom_labels,
    add_element_legend,
    add_polyhedra,
    coordination,
    labelled_atoms,
    polyhedron_faces,
)
from tests.conftest import demo
from tests.render.pixels import chroma_mask, shot


def _pymatgen_ligands(s, i):
    """Non-metal neighbours of atom i in the periodic crystal by the bond rule the viewer
    draws (Jmol's: d < r_i + r_j + 0.45 Å), from pymatgen's neighbour search."""
    from pymatgen.core import Lattice
    from pymatgen.core import Structure as PmgStructure

    from retvis.render.elements import covalent_radius
    from retvis.render.structure import BOND_TOLERANCE

    pmg = PmgStructure(Lattice(s.lattice), list(s.species), s.frac)
    near = pmg.get_neighbors(pmg[i], 2 * 2.0 + BOND_TOLERANCE)
    ri = covalent_radius(s.species[i])
    return sorted(
        round(n.nn_distance, 4)
        for n in near
        if n.specie.symbol in NON_METALS
        and 0.4 < n.nn_distance < ri + covalent_radius(n.specie.symbol) + BOND_TOLERANCE
    )


@pytest.mark.parametrize(
    ("name", "metal", "shape"),
    [("EDUSIF_clean", "Zn", 4), ("FIQCEN_clean", "Cu", 4), ("DEKHUX_clean", "Mn", 6)],
)
def test_polyhedra_hold_every_ligand_of_each_metal_inside_the_cell(plotter, name, metal, shape):
    """MOF-5's Zn tetrahedra, HKUST-1's square-planar Cu, DEKHUX's Mn octahedra: each
    metal inside the cell gets a polyhedron of all its bonded non-metal neighbours in the
    periodic crystal (pymatgen's neighbour list), those beyond the faces included."""
    s = read_structure(demo(name))
    actors = show_structure(plotter, s)
    shells = coordination(actors)
    metals_inside = [k for k in range(actors.inside) if actors.species[k] == metal]
    assert sorted(shells) == metals_inside
    for k, ligands in shells.items():
        assert len(ligands) == shape
        got = sorted(round(float(np.linalg.norm(actors.positions[j] - actors.positions[k])), 4)
                     for j in ligands)  # fmt: skip
        np.testing.assert_allclose(got, _pymatgen_ligands(s, int(actors.atom[k])), atol=1e-3)
    before = shot(plotter)
    assert add_polyhedra(plotter, actors) == len(shells)
    after = shot(plotter)
    # translucent faces in the metal's colour cover more of the picture
    more = (
        chroma_mask(after, element_rgb(metal)).sum() - chroma_mask(before, element_rgb(metal)).sum()
    )
    assert more > 0.002 * after.shape[0] * after.shape[1]


def test_a_flat_set_of_ligands_is_drawn_as_its_polygon():
    square = np.array([[1.0, 0, 0], [0, 1, 0], [-1, 0, 0], [0, -1, 0]])
    tri = polyhedron_faces(square)
    assert tri.shape == (2, 3)
    area = sum(0.5 * np.linalg.norm(np.cross(*(square[t[1:]] - square[t[0]]))) for t in tri)
    assert area == pytest.approx(2.0)
    cube = np.array(np.meshgrid([0, 1], [0, 1], [0, 1])).reshape(3, -1).T.astype(float)
    assert len(polyhedron_faces(cube)) == 12


def test_labels_and_legend(plotter):
    s = read_structure(demo("DEKHUX_clean"))
    actors = show_structure(plotter, s)
    plain = shot(plotter)
    assert add_atom_labels(plotter, s, actors) == len(actors.positions)
    assert add_element_legend(plotter, actors) == ["Mn", "C", "H", "N", "O"]
    img = shot(plotter)
    h, w = img.shape[:2]
    corner = (slice(0, h // 2), slice(w * 2 // 3, w))
    for e in ("Mn", "N", "O"):  # each element's swatch, new in the legend's corner
        new = chroma_mask(img[corner], element_rgb(e)) & ~chroma_mask(plain[corner], element_rgb(e))
        assert new.sum() >= 4, e
    assert np.abs(img.astype(int) - plain).max(axis=2).astype(bool).mean() > 0.01
    assert len(actors.extras) == 2
    actors.set_visible(False)
    assert not any(a.GetVisibility() for a in actors.extras)


def test_too_many_atoms_label_one_image_each_or_none():
    from retvis.render.structure import StructureActors

    atom = np.repeat(np.arange(5), 3)
    actors = StructureActors(None, None, None, np.zeros((15, 3)), ["C"] * 15, 0, atom)
    assert len(labelled_atoms(actors, limit=20)) == 15
    one_each = labelled_atoms(actors, limit=10)
    assert sorted(atom[one_each].tolist()) == list(range(5))
    assert len(labelled_atoms(actors, limit=4)) == 0


def test_a_picked_atom_gives_its_charge_when_charges_are_known():
    s = read_structure(demo("EDUSIF_clean"))
    pos = s.frac @ s.lattice
    q = np.linspace(-1, 1, s.n_atoms)
    text = describe_picks(s, pos, np.arange(s.n_atoms), [3], q)
    assert f"charge {q[3]:+.3f} e" in text
    assert "charge" not in describe_picks(s, pos, np.arange(s.n_atoms), [3])

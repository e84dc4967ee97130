"""Structures drawn off-screen: element colours, skewed cells, bonds."""

from __future__ import annotations

import numpy as np
import pytest

from retvis.core.structure import Structure
from retvis.errors import SpecError
from retvis.render import add_structure, show_structure
from retvis.render.elements import element_rgb
from retvis.render.structure import atoms_in_region, cell_edges, find_bonds
from tests.render.pixels import chroma_mask, shot


@pytest.mark.parametrize("atoms_as", ["splats", "glyphs"])
def test_hkust1_shows_copper_and_oxygen_colours(plotter, hkust1, atoms_as):
    show_structure(plotter, hkust1, atoms_as=atoms_as)
    img = shot(plotter)
    assert img.shape == (400, 640, 3)
    n_px = img.shape[0] * img.shape[1]
    cu = chroma_mask(img, element_rgb("Cu")).sum()
    o = chroma_mask(img, element_rgb("O")).sum()
    n = chroma_mask(img, element_rgb("N")).sum()  # HKUST-1 has no nitrogen
    assert cu > 0.002 * n_px, f"Cu colour on {cu} pixels"
    assert o > 0.001 * n_px, f"O colour on {o} pixels"
    assert n < 0.0002 * n_px, f"N colour on {n} pixels, but HKUST-1 has no N"


def test_render_is_not_blank(plotter, hkust1):
    show_structure(plotter, hkust1)
    img = shot(plotter)
    bg = img[0, 0].astype(int)
    differs = np.abs(img.astype(int) - bg).max(axis=2) > 30
    assert differs.mean() > 0.05


def test_unit_cell_images_cover_every_atom_once_inside(hkust1):
    pos, idx = atoms_in_region(hkust1)
    assert set(idx.tolist()) == set(range(hkust1.n_atoms))
    u = pos @ np.linalg.inv(hkust1.lattice)
    assert np.all(u > -2e-3) and np.all(u < 1 + 2e-3)
    # only atoms on a face are repeated
    interior = np.all((u > 1e-2) & (u < 1 - 1e-2), axis=1)
    assert len(np.unique(idx[interior])) == interior.sum()


def test_supercell_region_holds_eight_cells(hkust1):
    pos, idx = atoms_in_region(hkust1, 2 * hkust1.lattice)
    inner, _ = atoms_in_region(hkust1)
    assert len(pos) >= 8 * hkust1.n_atoms
    assert len(pos) < 8 * len(inner)


def test_cell_edges_follow_a_skewed_lattice(hkust1):
    edges = cell_edges(hkust1.lattice)
    assert edges.n_cells == 12
    lengths = np.linalg.norm(
        np.diff(edges.points[edges.lines.reshape(-1, 3)[:, 1:]], axis=1), axis=2
    ).ravel()
    assert np.allclose(np.sort(lengths), 18.6273, atol=1e-3)  # 12 edges of a rhombohedron
    assert np.allclose(edges.points.max(axis=0), hkust1.lattice.sum(axis=0))


def test_bonds_of_hkust1_are_chemical(hkust1):
    pos, idx = atoms_in_region(hkust1)
    species = [hkust1.species[i] for i in idx]
    pairs = find_bonds(pos, species)
    kinds = {tuple(sorted((species[i], species[j]))) for i, j in pairs}
    assert {("C", "C"), ("C", "H"), ("C", "O"), ("Cu", "O")} <= kinds
    assert ("H", "H") not in kinds
    d = np.linalg.norm(pos[pairs[:, 0]] - pos[pairs[:, 1]], axis=1)
    assert d.min() > 0.9 and d.max() < 3.1


def test_two_atom_structure_in_a_triclinic_cell(plotter):
    lat = np.array([[5.0, 0, 0], [2.0, 4.5, 0], [1.0, 1.5, 4.0]])
    s = Structure("pair", lat, [[0.5, 0.5, 0.5], [0.5, 0.5, 0.77]], ("Zn", "O"))
    actors = add_structure(plotter, s)
    assert len(actors.positions) == 2 and actors.n_bonds == 1
    assert np.allclose(actors.positions[0], lat.sum(axis=0) / 2)


def test_unknown_style_is_refused(plotter, hkust1):
    with pytest.raises(SpecError, match="valid"):
        add_structure(plotter, hkust1, style="cartoon")


def test_mof5_keeps_every_bond_of_its_atoms_at_the_cell_faces(plotter):
    """MOF-5 (EDUSIF) drawn in its unit cell: every atom inside has all the bonds it has
    in the periodic crystal (the neighbours beyond a face drawn too, as VESTA and iRASPA
    do); without them, every bond across a face was cut."""
    from scipy.spatial import cKDTree

    from retvis.core.structure import read_structure
    from retvis.render.elements import ELEMENTS
    from retvis.render.structure import BOND_TOLERANCE, atoms_and_bonds
    from tests.conftest import demo

    s = read_structure(demo("EDUSIF_clean"))
    pos, atom, bonds = atoms_and_bonds(s)
    inside, _ = atoms_in_region(s)
    n_in = len(inside)
    np.testing.assert_allclose(pos[:n_in], inside)
    # the periodic crystal's bonds of each atom: every image within reach, brute force
    r = np.array([ELEMENTS[e][3] for e in s.species])
    shifts = np.array(np.meshgrid(*[[-1, 0, 1]] * 3, indexing="ij")).reshape(3, -1).T
    images = ((s.frac[None] + shifts[:, None]) @ s.lattice).reshape(-1, 3)
    owner = np.tile(np.arange(s.n_atoms), len(shifts))
    tree = cKDTree(images)
    degree = np.zeros(s.n_atoms, int)
    for i, p in enumerate(s.frac @ s.lattice):
        near = np.array(tree.query_ball_point(p, 2 * r.max() + BOND_TOLERANCE))
        d = np.linalg.norm(images[near] - p, axis=1)
        degree[i] = ((d > 0.4) & (d < r[i] + r[owner[near]] + BOND_TOLERANCE)).sum()
    drawn = np.bincount(bonds.ravel(), minlength=len(pos))[:n_in]
    np.testing.assert_array_equal(drawn, degree[atom[:n_in]])
    crossing = (bonds >= n_in).any(axis=1).sum()
    cut = len(find_bonds(inside, [s.species[i] for i in atom[:n_in]]))
    assert crossing > 0 and len(bonds) == cut + crossing
    actors = add_structure(plotter, s)
    assert actors.n_bonds == len(bonds) and len(actors.positions) == len(pos)


def test_measured_distances_and_angles_match_pymatgens_across_the_cell_faces():
    """Picked MOF-5 atoms (images drawn beyond the faces included): the viewer's
    distance and angle equal pymatgen's for the same atoms and images, to 0.01 Å and
    0.1 degree."""
    from pymatgen.core import Lattice
    from pymatgen.core import Structure as PmgStructure

    from retvis.core.structure import read_structure
    from retvis.render.measure import angle, describe_picks, distance
    from retvis.render.structure import atoms_and_bonds
    from tests.conftest import demo

    s = read_structure(demo("EDUSIF_clean"))
    pos, atom, bonds = atoms_and_bonds(s)
    n_in = len(atoms_in_region(s)[0])
    pmg = PmgStructure(Lattice(s.lattice), list(s.species), s.frac)
    inv = np.linalg.inv(s.lattice)

    def image(k):  # the lattice translation of drawn atom k from its cell atom
        return np.rint(pos[k] @ inv - s.frac[atom[k]]).astype(int)

    # a bond that crosses a face, and a second bond at its inside atom: an angle
    a, b = next(tuple(sorted(e)) for e in bonds if (e >= n_in).any() and (e < n_in).any())
    c = next(int(o) for e in bonds for o in e if a in e and o not in (a, b))
    for p, q in ((a, b), (a, c)):
        want = pmg.get_distance(int(atom[p]), int(atom[q]), jimage=image(q) - image(p))
        assert abs(distance(pos[p], pos[q]) - want) < 0.01
    frac = [pos[k] @ inv for k in (b, a, c)]
    want = PmgStructure(Lattice(s.lattice), [s.species[atom[k]] for k in (b, a, c)], frac)
    assert abs(angle(pos[b], pos[a], pos[c]) - want.get_angle(0, 1, 2)) < 0.1
    text = describe_picks(s, pos, atom, [b, a, c])
    assert text.startswith(f"{s.species[atom[c]]}{atom[c] + 1} ({s.species[atom[c]]}) at (")
    assert f"{distance(pos[a], pos[c]):.3f} Å" in text and "angle" in text

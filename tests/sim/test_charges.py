"""EQeq framework charges (needs the optional pyeqeq package) and the P1 CIF hand-over."""

import numpy as np
import pytest

from retvis.core.structure import Structure, read_structure
from retvis.sim.charges import image_cells, p1_cif
from tests.conftest import demo


def test_p1_cif_reads_back_to_the_same_atoms(tmp_path):
    s = read_structure(demo("VOGTIV_clean_h"))  # triclinic
    path = tmp_path / "p1.cif"
    path.write_text(p1_cif(s))
    back = read_structure(path)
    assert back.species == s.species
    np.testing.assert_allclose(back.lattice, s.lattice, atol=1e-5)
    d = back.frac - s.frac
    np.testing.assert_allclose(d - np.round(d), 0.0, atol=1e-7)


def test_image_count_covers_the_image_length():
    s = read_structure(demo("FIQCEN_clean"))  # widths 15.2 Å
    assert image_cells(s) == 6
    assert image_cells(s, 10.0) == 2  # never below EQeq's default


def test_eqeq_charges_are_neutral_and_follow_the_atom_order():
    pytest.importorskip("pyeqeq_eqeq")
    from retvis.sim.charges import eqeq_charges

    s = read_structure(demo("PEKKAS_clean"))  # 39 atoms, In-O-C
    q = eqeq_charges(s, cells=2)
    assert q.shape == (s.n_atoms,) and abs(q.sum()) < 1e-6
    sp = np.array(s.species)
    assert q[sp == "In"].min() > 0.5 and q[sp == "O"].max() < 0
    perm = np.random.default_rng(0).permutation(s.n_atoms)
    t = Structure(s.name, s.lattice, s.frac[perm], tuple(sp[perm]))
    np.testing.assert_allclose(eqeq_charges(t, cells=2), q[perm], atol=2e-3)

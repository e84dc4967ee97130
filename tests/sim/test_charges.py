"""EQeq framework charges: RetVis' own (converged Ewald sums) and pyeqeq's (optional)."""

import numpy as np
import pytest

from retvis.core.structure import Structure, read_structure
from retvis.errors import SimulationError
from retvis.sim.charges import (
    EqeqParameters,
    _ewald_matrix,
    eqeq_ewald_charges,
    image_cells,
    p1_cif,
)
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


# --- RetVis' own EQeq (converged Ewald sums) -------------------------------------------


def _rock_salt(a=5.64):
    """NaCl, conventional cubic cell: 4 Na + 4 Cl."""
    fcc = np.array([[0, 0, 0], [0, 0.5, 0.5], [0.5, 0, 0.5], [0.5, 0.5, 0]])
    frac = np.vstack([fcc, fcc + [0.5, 0, 0]])
    return Structure("NaCl", np.eye(3) * a, frac, ("Na",) * 4 + ("Cl",) * 4)


def _madelung(lattice, frac, q, r0):
    """Madelung constant from the Coulomb part of the EQeq matrix (no overlap term)."""
    ions = Structure("ions", lattice, frac, tuple("Na" if c > 0 else "Cl" for c in q))
    hard = np.full(len(q), 1e5)  # makes the orbital-overlap term vanish beyond 0.01 Å
    m = _ewald_matrix(ions, hard)
    energy = 0.5 * q @ m @ q  # e^2 / Å, per cell
    return -energy / (len(q) / 2) * r0  # per ion pair, in units of e^2 / r0


def test_ewald_sums_give_the_madelung_constants():
    """Rock salt 1.747565 (cubic and primitive rhombohedral cell) and CsCl 1.762675."""
    s = _rock_salt()
    q = np.array([1.0] * 4 + [-1.0] * 4)
    assert _madelung(s.lattice, s.frac, q, 5.64 / 2) == pytest.approx(1.747565, abs=1e-6)
    prim = np.array([[0, 0.5, 0.5], [0.5, 0, 0.5], [0.5, 0.5, 0]]) * 5.64  # 60° cell
    frac = np.array([[0, 0, 0], [0.5, 0.5, 0.5]])
    assert _madelung(prim, frac, np.array([1.0, -1.0]), 5.64 / 2) == pytest.approx(
        1.747565, abs=1e-6
    )
    r0 = 4.12 * np.sqrt(3) / 2
    cscl = _madelung(np.eye(3) * 4.12, [[0, 0, 0], [0.5, 0.5, 0.5]], np.array([1.0, -1.0]), r0)
    assert cscl == pytest.approx(1.762675, abs=1e-6)


#: A made-up element table, so these tests need no pyeqeq data.
_TABLE = EqeqParameters(
    electronegativity={"Na": 2.9, "Cl": 8.3, "C": 6.26, "O": 7.54, "In": -36.9},
    hardness={"Na": 4.6, "Cl": 9.35, "C": 10.0, "O": 12.16, "In": 25.97},
    charge_center={"Na": 1, "Cl": 0, "C": 0, "O": 0, "In": 3},
)


def test_own_eqeq_does_not_depend_on_the_cell_chosen():
    """Neutral; the same charges for a supercell, a permutation and a rotation."""
    s = read_structure(demo("PEKKAS_clean"))  # hexagonal, In-O-C
    q = eqeq_ewald_charges(s, params=_TABLE)
    assert abs(q.sum()) < 1e-12
    sp = np.array(s.species)
    assert q[sp == "In"].min() > 0.5 and q[sp == "O"].max() < 0
    # 1 x 2 x 1 supercell: every atom and its copy keep the charge
    lat2 = s.lattice * np.array([[1], [2], [1]])
    frac2 = np.vstack([s.frac, s.frac + [0, 1, 0]]) / [1, 2, 1]
    q2 = eqeq_ewald_charges(Structure("x2", lat2, frac2, s.species * 2), params=_TABLE)
    np.testing.assert_allclose(q2, np.concatenate([q, q]), atol=1e-7)
    perm = np.random.default_rng(0).permutation(s.n_atoms)
    t = Structure("perm", s.lattice, s.frac[perm], tuple(sp[perm]))
    np.testing.assert_allclose(eqeq_ewald_charges(t, params=_TABLE), q[perm], atol=1e-9)
    c, si = np.cos(0.7), np.sin(0.7)
    rot = np.array([[c, -si, 0], [si, c, 0], [0, 0, 1]])
    r = Structure("rot", s.lattice @ rot.T, s.frac, s.species)
    np.testing.assert_allclose(eqeq_ewald_charges(r, params=_TABLE), q, atol=1e-9)


def test_own_eqeq_refuses_an_element_it_has_no_data_for():
    s = _rock_salt()
    t = Structure("NaBr", s.lattice, s.frac, ("Na",) * 4 + ("Br",) * 4, path=None)
    with pytest.raises(SimulationError, match="no ionization data for Br"):
        eqeq_ewald_charges(t, params=_TABLE)


def test_own_eqeq_is_the_limit_pyeqeq_approaches():
    """pyeqeq's charges converge to RetVis' as its image count grows (4-digit rounding)."""
    pytest.importorskip("pyeqeq_eqeq")
    from retvis.sim.charges import eqeq_charges

    s = read_structure(demo("PEKKAS_clean"))  # hexagonal, widths 7.8-11.5 Å
    q = eqeq_ewald_charges(s)
    assert np.abs(eqeq_charges(s, cells=2) - q).max() > 0.05  # pyeqeq's default: off
    assert np.abs(eqeq_charges(s, cells=14) - q).max() < 1e-3


def test_the_ewald_matrix_does_not_depend_on_its_splitting(monkeypatch):
    """The real-space cutoff only splits the work between the k-d tree pairs and the
    reciprocal sum: the matrix is the same to 1e-9 whether it is cut at the tolerance's
    16 Å floor or at 2.5 or 4 cell cube roots (23 and 37 Å for PEKKAS), up to the one
    constant the left-out k = 0 term shifts every element by (pi / (alpha^2 V), which
    depends on the splitting and does not change the charges of a neutral cell)."""
    import retvis.core.charges as charges

    s = read_structure(demo("PEKKAS_clean"))
    hard = np.array([_TABLE.hardness[e] for e in s.species])
    got = {}
    for f in (1.0, 2.5, 4.0):
        monkeypatch.setattr(charges, "EWALD_MATRIX_CUTOFF", f)
        got[f] = _ewald_matrix(s, hard)
    scale = np.abs(got[1.0]).max()
    for f in (2.5, 4.0):
        d = got[f] - got[1.0]
        np.testing.assert_allclose(d, d.mean(), atol=1e-9 * scale)


# --- the matrix-free solver of large cells -------------------------------------------


def test_the_mesh_operator_applies_the_ewald_matrix():
    """Particle-mesh Ewald plus the sparse real-space pairs give what the converged
    matrix gives, for neutral charge vectors (the left-out k = 0 term shifts every
    matrix element by one constant, which such vectors do not see); triclinic and
    hexagonal cells."""
    from retvis.core.charges import _EwaldOperator

    rng = np.random.default_rng(0)
    for name in ("PEKKAS_clean", "VOGTIV_clean_h"):
        s = read_structure(demo(name))
        hard = rng.uniform(4.0, 14.0, s.n_atoms)
        op = _EwaldOperator(s, hard, 1e-12)
        q = rng.normal(size=s.n_atoms)
        q -= q.mean()
        want = _ewald_matrix(s, hard) @ q
        np.testing.assert_allclose(op(q), want, atol=1e-6 * np.abs(want).max())


def test_iterative_eqeq_gives_the_dense_solve(monkeypatch):
    """Above ITERATIVE_ATOMS the charges come from conjugate gradients on the operator:
    the dense solve's charges within 1e-6 e, neutral or at a set total charge."""
    import retvis.core.charges as charges

    s = read_structure(demo("PEKKAS_clean"))
    dense = {t: eqeq_ewald_charges(s, t, params=_TABLE) for t in (0.0, 1.0)}
    monkeypatch.setattr(charges, "ITERATIVE_ATOMS", 0)
    for total, want in dense.items():
        got = eqeq_ewald_charges(s, total, params=_TABLE)
        assert got.sum() == pytest.approx(total, abs=1e-9)
        np.testing.assert_allclose(got, want, atol=1e-6)

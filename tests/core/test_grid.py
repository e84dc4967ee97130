import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from retvis.core.forcefield import load_forcefield
from retvis.core.grid import GridSpec, compute_grid, grid_cell, lj_energies, probe_energies
from retvis.core.structure import Structure, read_structure
from retvis.errors import ForceFieldError, SpecError
from tests.conftest import demo
from tests.core.reference_grid import reference_boltzmann

SMALL = ["PEKKAS_clean", "VOGTIV_clean_h", "DITYEM_clean"]


def _assert_close_where_meaningful(got, ref, rtol=1e-6):
    mask = ref > 1e-6
    assert mask.sum() > 0.03 * ref.size  # some accessible volume to compare
    np.testing.assert_allclose(got[mask], ref[mask], rtol=rtol)
    # where the reference underflows, ours must be (near) zero too
    assert np.all(got[~mask] <= 1e-5)


@pytest.mark.parametrize("name", SMALL)
@pytest.mark.parametrize(
    "spec",
    [GridSpec.seed(n=12), GridSpec(n=12), GridSpec(n=10, mode="cubic", box_length=16.0)],
    ids=["seed", "periodic", "cubic"],
)
def test_grid_matches_plain_reference(name, spec):
    s = read_structure(demo(name))
    got = compute_grid(s, spec).boltzmann
    assert got.dtype == np.float32 and got.shape == (spec.n,) * 3
    # the engine computes on the spec's cell (canonical by default), so does the reference
    _assert_close_where_meaningful(got, reference_boltzmann(grid_cell(s, spec), spec))


def test_threads_give_identical_grids():
    s = read_structure(demo("FIQCEN_clean"))
    a = compute_grid(s, GridSpec(), threads=1).boltzmann
    b = compute_grid(s, GridSpec(), threads=2).boltzmann
    # threads split the atoms, so float64 sums are added in another order
    np.testing.assert_allclose(a, b, rtol=1e-6)


def test_boltzmann_factors_are_nonnegative_and_finite_on_demo(demo_cifs):
    for f in demo_cifs[:8]:
        b = compute_grid(read_structure(f)).boltzmann
        assert np.all(np.isfinite(b)) and b.min() >= 0.0
        assert b.max() > 1.0  # every MOF has attractive wells for a 50 K probe


def _one_atom(a=30.0, el="C", pos=(0.5, 0.5, 0.5)):
    return Structure("one", np.eye(3) * a, [pos], [el])


def test_single_atom_reproduces_lennard_jones():
    ff = load_forcefield()
    spec = GridSpec()
    s = _one_atom()
    eps = math.sqrt(ff.epsilon["C"] * spec.probe_epsilon)
    sig = 0.5 * (ff.sigma["C"] + spec.probe_sigma)
    for r in [2.5, 3.0, 3.5, 4.0, 6.0, 9.99]:
        p = np.array([[15.0 + r, 15.0, 15.0]])
        expect = 4 * eps * ((sig / r) ** 12 - (sig / r) ** 6)
        assert lj_energies(s, p, spec)[0] == pytest.approx(expect, rel=1e-12)
    # beyond the cutoff: no contribution (other images are 20 Å away or more)
    assert lj_energies(s, np.array([[15.0 + 10.01, 15.0, 15.0]]), spec)[0] == 0.0


def test_close_contact_gives_zero_and_no_neighbour_gives_one():
    s = _one_atom(pos=(0.0, 0.0, 0.0))  # the atom sits on grid point (0, 0, 0)
    g = compute_grid(s, GridSpec(n=8))
    assert g.boltzmann[0, 0, 0] == 0.0
    assert np.isinf(g.energy[0, 0, 0])
    # the 30 Å cell needs no replication; the point at the centre is 26 Å from any atom
    assert g.supercell == (1, 1, 1)
    assert g.boltzmann[4, 4, 4] == 1.0


def test_missing_forcefield_element_is_reported():
    s = Structure("x", np.eye(3) * 12, [[0, 0, 0]], ["Og"])
    with pytest.raises(ForceFieldError, match="Og"):
        compute_grid(s)


def test_spec_validation_and_roundtrip():
    with pytest.raises(SpecError, match="grid size"):
        GridSpec(n=1)
    with pytest.raises(SpecError, match="mode"):
        GridSpec(mode="sphere")
    spec = GridSpec(n=32, endpoint=True)
    assert GridSpec.from_dict(spec.to_dict()) == spec
    assert spec.key() != GridSpec().key()
    with pytest.raises(SpecError, match="unknown grid settings"):
        GridSpec.from_dict({**spec.to_dict(), "bogus": 1})


_base = read_structure(demo("VOGTIV_clean_h"))


@settings(max_examples=10, deadline=None)
@given(shift=st.tuples(*[st.integers(-3, 3)] * 3), seed=st.integers(0, 2**31 - 1))
def test_lattice_translation_and_permutation_leave_grid_unchanged(shift, seed):
    spec = GridSpec(n=10)
    ref = compute_grid(_base, spec).boltzmann
    perm = np.random.default_rng(seed).permutation(_base.n_atoms)
    moved = Structure(
        "moved",
        _base.lattice,
        _base.frac[perm] + np.array(shift, float),
        [_base.species[i] for i in perm],
    )
    np.testing.assert_allclose(compute_grid(moved, spec).boltzmann, ref, rtol=1e-5, atol=1e-7)


@settings(max_examples=15, deadline=None)
@given(
    frac=st.lists(st.tuples(*[st.floats(0, 1, allow_nan=False)] * 3), min_size=1, max_size=6),
    a=st.floats(6.0, 14.0),
)
def test_boltzmann_factor_is_bounded_below_by_zero(frac, a):
    s = Structure("rand", np.diag([a, a * 1.1, a * 0.9]), frac, ["O"] * len(frac))
    b = compute_grid(s, GridSpec(n=6)).boltzmann
    assert np.all(np.isfinite(b)) and np.all(b >= 0)


@pytest.mark.parametrize("probe", ["sphere", "CO2"])
def test_a_strongly_skewed_cell_costs_what_its_reduced_cell_costs(probe):
    """PEKKAS (39 atoms) written in a cell skewed by a unimodular matrix with entries up
    to 40 (widths down to 0.02 Å): its grids, canonical and as read, take well under a
    second and a few MB beyond the process (capped at 500 MB more: the as-read cell's
    periodic images once took 3 GB), and equal the grids of the reduced cell."""
    import time

    from tests.conftest import memory_cap

    s = read_structure(demo("PEKKAS_clean"))
    u = np.array([[1, 0, 0], [30, 1, 0], [20, 40, 1]])
    skew = Structure("skew", u @ s.lattice, s.frac @ np.linalg.inv(u), s.species)
    assert skew.widths.min() < 0.05
    q = np.zeros(s.n_atoms)
    q[:2] = 0.5, -0.5
    for cell in ("canonical", "as-read"):
        spec = GridSpec(n=16, probe=probe, cell=cell)
        t0 = time.process_time()
        with memory_cap(500 * 2**20):
            got = compute_grid(skew, spec, charges=q)
        assert time.process_time() - t0 < 5.0
        if cell == "canonical":
            want = compute_grid(s, spec, charges=q).boltzmann
            np.testing.assert_array_equal(got.boltzmann, want)
        else:  # the skewed cell's own grid points, energies of the same crystal
            frac = got.points().reshape(-1, 3)[::37] @ np.linalg.inv(s.lattice)
            sphere = spec.replace(cell="as-read")
            ref = probe_energies(s, (frac - np.floor(frac)) @ s.lattice, sphere, charges=q)
            np.testing.assert_allclose(
                got.boltzmann.reshape(-1)[::37], np.exp(-ref / 298.0), rtol=2e-3, atol=1e-7
            )


def test_the_cheaper_grid_path_is_chosen_and_both_give_one_grid(monkeypatch):
    """Small dense cells gather at the points (a pair term costs about 4.7 times as much
    in the scatter kernel), large open cells scatter their atoms (gathering pays per
    point and per atom image); either way the grid is the same."""
    import retvis.core.grid as grid

    small = grid_cell(read_structure(demo("PEKKAS_clean")), GridSpec())  # 39 atoms, 1.3 nm^3
    big = Structure(
        "big", np.eye(3) * 60.0, np.random.default_rng(0).random((900, 3)), ("C",) * 900
    )
    m = GridSpec().n
    assert grid._gather_is_cheaper(small, m**3, m**3, 10.0)
    assert not grid._gather_is_cheaper(big, m**3, m**3, 10.0)
    spec = GridSpec(cell="as-read")
    got = {}
    for choice in (True, False):
        monkeypatch.setattr(grid, "_gather_is_cheaper", lambda *a, c=choice: c)
        got[choice] = compute_grid(small, spec).boltzmann
    np.testing.assert_allclose(got[True], got[False], rtol=1e-6, atol=1e-12)

"""The energy grid's CO2 probe: the Ewald potential of framework charges and the
orientation-averaged Boltzmann factor of TraPPE CO2 (charges given, so no pyeqeq)."""

import math

import numpy as np
import pytest

from retvis.core.charges import COULOMB_K, ewald_potential
from retvis.core.grid import (
    CO2_AXES,
    CO2_BOND,
    CO2_SITES,
    GridSpec,
    compute_grid,
    probe_energies,
)
from retvis.core.structure import Structure, read_structure
from retvis.errors import LimitError, SpecError
from tests.conftest import demo, needs_pyeqeq


def _rock_salt(a=5.64):
    fcc = np.array([[0, 0, 0], [0, 0.5, 0.5], [0.5, 0, 0.5], [0.5, 0.5, 0]])
    frac = np.vstack([fcc, fcc + [0.5, 0, 0]])
    return Structure("NaCl", np.eye(3) * a, frac, ("Na",) * 4 + ("Cl",) * 4)


def _direct_potential(s, q, points, alpha=0.3, reach=4):
    """Ewald potential summed the slow way: explicit images, every k-vector."""
    from scipy.special import erfc

    phi = np.zeros(len(points))
    for shift in np.array(np.meshgrid(*[range(-reach, reach + 1)] * 3)).reshape(3, -1).T:
        d = np.linalg.norm(points[:, None] - (s.cart + shift @ s.lattice)[None], axis=2)
        phi += (q * erfc(alpha * d) / d).sum(axis=1)
    rec = 2 * np.pi * np.linalg.inv(s.lattice).T
    hkl = np.array(np.meshgrid(*[range(-12, 13)] * 3)).reshape(3, -1).T
    hkl = hkl[np.any(hkl != 0, axis=1)]
    k = hkl @ rec
    k2 = (k * k).sum(axis=1)
    w = 4 * np.pi / s.volume * np.exp(-k2 / (4 * alpha**2)) / k2
    sk = (q[None] * np.exp(-1j * k @ s.cart.T)).sum(axis=1)
    phi += (w[None] * (sk[None] * np.exp(1j * points @ k.T))).real.sum(axis=1)
    return phi


def test_the_potential_at_an_ion_gives_the_madelung_constant():
    s = _rock_salt()
    q = np.array([1.0] * 4 + [-1.0] * 4)
    cutoff, tol = 6.0, 1e-6
    alpha = math.sqrt(-math.log(tol)) / cutoff
    phi = ewald_potential(s, q, s.cart, tol=tol, cutoff=cutoff)
    others = phi - 2 * alpha / math.sqrt(math.pi) * q  # the ion's own smeared charge out
    np.testing.assert_allclose(others * q * (5.64 / 2), -1.747565, atol=2e-5)


def test_the_potential_matches_a_direct_ewald_sum_in_a_triclinic_cell():
    s = read_structure(demo("VOGTIV_clean_h"))
    rng = np.random.default_rng(0)
    q = rng.normal(size=s.n_atoms)
    q -= q.mean()
    points = rng.random((40, 3)) @ s.lattice
    far = (
        np.array(
            [
                np.linalg.norm(((s.frac - f + 0.5) % 1 - 0.5) @ s.lattice, axis=1).min()
                for f in points @ np.linalg.inv(s.lattice)
            ]
        )
        > 0.5
    )
    ref = _direct_potential(s, q, points)
    got = ewald_potential(s, q, points)
    scale = np.abs(ref).max()
    assert np.abs(got - ref)[far].max() < 1e-4 * scale
    # the splitting is an internal choice: another cutoff, the same potential
    np.testing.assert_allclose(ewald_potential(s, q, points, cutoff=9.0), got, atol=2e-5 * scale)


def test_co2_probe_is_the_orientational_average_of_three_sites():
    """Against the energies put together here from the sphere probe and the potential."""
    s = read_structure(demo("PEKKAS_clean"))
    q = np.where(np.array(s.species) == "O", -0.5, 0.0)
    q[np.array(s.species) != "O"] = -q.sum() / np.sum(np.array(s.species) != "O")
    points = np.random.default_rng(1).random((30, 3)) @ s.lattice
    spec = GridSpec(probe="CO2")
    got = probe_energies(s, points, spec, charges=q)
    w = np.zeros(len(points))
    for axis in CO2_AXES:
        u = 0.0
        for site, at in (
            ("C", points),
            ("O", points + CO2_BOND * axis),
            ("O", points - CO2_BOND * axis),
        ):
            eps, sig, charge = CO2_SITES[site]
            sphere = spec.replace(probe="sphere", probe_epsilon=eps, probe_sigma=sig)
            frac = at @ np.linalg.inv(s.lattice)
            at = (frac - np.floor(frac)) @ s.lattice
            u = u + probe_energies(s, at, sphere) + COULOMB_K * charge * ewald_potential(s, q, at)
        w += np.exp(-u / spec.temperature)
    with np.errstate(divide="ignore"):
        ref = -spec.temperature * np.log(w / len(CO2_AXES))
    finite = np.isfinite(ref)
    assert finite.sum() > 5
    np.testing.assert_allclose(got[finite], ref[finite], rtol=1e-9, atol=1e-6)
    assert np.all(np.isinf(got[~finite]))


def test_co2_probe_energies_follow_the_lattice_not_the_cell_chosen():
    """The same points in a 1 x 2 x 1 supercell (charges copied) get the same energies."""
    s = read_structure(demo("PEKKAS_clean"))
    sp = np.array(s.species)
    q = np.where(sp == "In", 1.2, np.where(sp == "O", -0.6, 0.0))
    q[sp == "C"] = -q.sum() / np.sum(sp == "C")
    lat2 = s.lattice * np.array([[1], [2], [1]])
    frac2 = np.vstack([s.frac, s.frac + [0, 1, 0]]) / [1, 2, 1]
    big = Structure("x2", lat2, frac2, s.species * 2)
    points = np.random.default_rng(2).random((60, 3)) @ s.lattice
    spec = GridSpec(probe="CO2")
    a = probe_energies(s, points, spec, charges=q)
    b = probe_energies(big, points, spec, charges=np.concatenate([q, q]))
    ok = np.isfinite(a)
    assert ok.sum() > 10 and np.array_equal(ok, np.isfinite(b))
    np.testing.assert_allclose(b[ok], a[ok], rtol=1e-5, atol=0.05)  # K
    # and the charges matter: without them the energies change
    c = probe_energies(s, points, spec, charges=np.zeros_like(q))
    assert np.abs(c[ok] - a[ok]).max() > 10.0


def test_co2_grid_is_a_boltzmann_factor_grid_and_the_spec_names_its_probe():
    s = read_structure(demo("PEKKAS_clean"))
    q = np.zeros(s.n_atoms)
    g = compute_grid(s, GridSpec(n=12, probe="CO2"), charges=q)
    assert g.boltzmann.shape == (12, 12, 12) and np.all(np.isfinite(g.boltzmann))
    assert g.boltzmann.min() == 0.0 and g.boltzmann.max() > 1.0
    sphere = GridSpec(n=12)
    assert "probe" not in sphere.to_dict()  # old specs, caches and model cards unchanged
    co2 = GridSpec(n=12, probe="CO2")
    assert GridSpec.from_dict(co2.to_dict()) == co2 and co2.key() != sphere.key()
    with pytest.raises(SpecError, match="probe must be one of"):
        GridSpec(probe="N2")


def test_a_structure_eqeq_cannot_charge_is_a_recorded_failure_with_its_reason(tmp_path):
    """Uranium has no EQeq data (and without pyeqeq there are no data at all): the
    CO2-probe grid fails with a reason naming EQeq; the sphere grid is unaffected."""
    from retvis.core.batch import grid_outcome

    cif = tmp_path / "UO2.cif"
    cif.write_text(
        "data_UO2\n_cell_length_a 9\n_cell_length_b 9\n_cell_length_c 9\n"
        "_cell_angle_alpha 90\n_cell_angle_beta 90\n_cell_angle_gamma 90\n"
        "_symmetry_space_group_name_H-M 'P 1'\nloop_\n_atom_site_label\n"
        "_atom_site_type_symbol\n_atom_site_fract_x\n_atom_site_fract_y\n_atom_site_fract_z\n"
        "U1 U 0 0 0\nO1 O 0.2 0 0\nO2 O -0.2 0 0\n"
    )
    out = grid_outcome(0, cif, GridSpec(n=8, probe="CO2"))
    assert out.status == "failed" and out.kind == "simulation" and "EQeq" in out.reason
    assert grid_outcome(0, cif, GridSpec(n=8)).status == "ok"


def test_without_pyeqeq_a_co2_spec_says_why_it_cannot_be_computed(monkeypatch):
    """The CO2 probe's charges need pyeqeq's element data (an optional extra): without
    it the spec gives one reason with the install command, before any batch starts."""
    import sys

    monkeypatch.setitem(sys.modules, "pyeqeq", None)  # as if it were not installed
    co2, sphere = GridSpec(n=8, probe="CO2"), GridSpec(n=8)
    reason = co2.unavailable()
    assert reason and "pyeqeq" in reason and "pip install" in reason
    assert sphere.unavailable() is None
    sphere.require_available("model 'x'")  # no error
    with pytest.raises(SpecError, match=r"^model 'x' cannot be used here: the CO2 probe"):
        co2.require_available("model 'x'")


@needs_pyeqeq
def test_charges_eqeq_gets_wrong_are_a_recorded_failure_not_an_overflowed_grid():
    """RUBTAK04 (a UiO-66 deposition of the demo set) is where EQeq breaks down: an O at
    -14.4 e, and CO2 Boltzmann factors past float32 that made a model refuse the whole
    batch. It is now a failure of that structure, with the reason; the sphere is fine."""
    from retvis.core.batch import grid_outcome

    out = grid_outcome(0, demo("RUBTAK04_clean"), GridSpec(n=8, probe="CO2"))
    assert out.status == "failed" and out.kind == "simulation"
    assert "EQeq charges are unphysical (O atom" in out.reason and "-14.4 e" in out.reason
    assert grid_outcome(0, demo("RUBTAK04_clean"), GridSpec(n=8)).status == "ok"


def test_a_grid_whose_boltzmann_factors_overflow_is_refused():
    """Charges of +/-20 e (given, not EQeq's) put the probe's energy far below -88 kT:
    compute_grid refuses the grid with the energy it reached instead of returning inf."""
    s = read_structure(demo("PEKKAS_clean"))
    q = np.zeros(s.n_atoms)
    q[0], q[1] = 20.0, -20.0
    with pytest.raises(LimitError, match=r"^PEKKAS_clean\.cif: the probe's energy falls to -\d+ K"):
        compute_grid(s, GridSpec(n=8, probe="CO2"), charges=q)
    assert np.isfinite(compute_grid(s, GridSpec(n=8, probe="CO2"), charges=q / 100).boltzmann).all()


def test_the_reciprocal_grid_is_the_fourier_sum_at_displaced_grid_points():
    """ewald_reciprocal_grid against the reciprocal sum evaluated directly, k by k, at
    grid points plus offsets, in a triclinic cell, with weights of both signs."""
    from retvis.core.charges import ewald_reciprocal_grid, ewald_splitting

    s = read_structure(demo("VOGTIV_clean_h"))
    rng = np.random.default_rng(3)
    q = rng.normal(size=s.n_atoms)
    q -= q.mean()
    alpha, kmax = ewald_splitting(1e-6, 4.0)
    weights = np.array([[0.7, -0.35, -0.35], [1.0, 2.0, 0.0]])
    d = rng.normal(size=3)
    offsets = np.array([[[0, 0, 0], d, -d], [[0, 0, 0], [0.3, -0.2, 0.1], [5.0, 1.0, 2.0]]])
    m = 7
    got = ewald_reciprocal_grid(s, q, m, weights, offsets, alpha, kmax)
    assert got.shape == (2, m, m, m)

    rec = 2 * np.pi * np.linalg.inv(s.lattice).T
    half = np.ceil(kmax * np.linalg.norm(s.lattice, axis=1) / (2 * np.pi)).astype(int)
    hkl = np.stack(np.meshgrid(*(np.arange(-x, x + 1) for x in half), indexing="ij"), -1).reshape(
        -1, 3
    )
    k = hkl @ rec
    k2 = (k * k).sum(axis=1)
    keep = (k2 > 0) & (k2 <= kmax**2)
    k, k2 = k[keep], k2[keep]
    w = 4 * np.pi / s.volume * np.exp(-k2 / (4 * alpha**2)) / k2
    sk = q @ np.exp(-1j * s.cart @ k.T)
    idx = rng.integers(0, m, size=(12, 3))
    for c in range(2):
        for i, j, kk in idx:
            g = np.array([i, j, kk]) / m @ s.lattice
            want = sum(
                weights[c, t] * (w * sk * np.exp(1j * k @ (g + offsets[c, t]))).real.sum()
                for t in range(3)
            )
            assert got[c, i, j, kk] == pytest.approx(want, abs=1e-9 * np.abs(sk).max())


def test_the_co2_grid_path_matches_the_direct_sums_within_the_stated_tolerance():
    """co2_grid_energies (what compute_grid runs) against probe_energies (every site of
    every orientation summed directly) at every point of a grid: energies within 1 K where
    |V| < 5,000 K, Boltzmann factors within 1 % where they exceed 1e-3; a point the grid
    path blocks is one the direct sums put far out of reach. Two threads, same numbers."""
    from retvis.core.grid import co2_grid_energies

    s = read_structure(demo("PEKKAS_clean"))
    sp = np.array(s.species)
    q = np.where(sp == "In", 1.2, np.where(sp == "O", -0.6, 0.0))
    q[sp == "C"] = -q.sum() / np.sum(sp == "C")
    spec = GridSpec(probe="CO2")
    m = 12
    index = [np.arange(m), np.arange(0, m, 2), np.array([1, 5, 11])]
    got = co2_grid_energies(s, m, index, spec, charges=q)
    assert got.shape == (m, m // 2, 3)
    frac = np.stack(np.meshgrid(*(i / m for i in index), indexing="ij"), -1).reshape(-1, 3)
    want = probe_energies(s, frac @ s.lattice, spec, charges=q).reshape(got.shape)
    reach = np.isfinite(want) & (np.abs(want) < 5000)
    assert reach.sum() > 20
    assert np.isfinite(got[reach]).all()
    assert np.abs(got[reach] - want[reach]).max() < 1.0
    b_got, b_want = np.exp(-got / 298.0), np.exp(-want / 298.0)
    big = b_want > 1e-3
    assert big.sum() > 10
    np.testing.assert_allclose(b_got[big], b_want[big], rtol=1e-2)
    blocked = ~np.isfinite(got)
    assert blocked.any() and np.all(want[blocked] > 5000)
    threaded = co2_grid_energies(s, m, index, spec, threads=2, charges=q)
    np.testing.assert_array_equal(threaded, got)

"""Same crystal, same grid, same prediction: every setting of a CIF maps to one cell."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.invariance import SETTINGS, write_settings
from retvis.core.canonical import automorphisms, canonicalize
from retvis.core.grid import GridSpec, compute_grid, grid_cell
from retvis.core.structure import Structure, read_structure
from tests.conftest import DEMO

# MOF-5 (Fm-3m, CoRE writes its primitive cell), UiO-66 (Fm-3m), XAGCIS (Pa-3) and a
# monoclinic one (C2/c): the cases of the table
CASES = ["EDUSIF_clean", "RUBTAK04_clean", "XAGCIS_clean", "FIJDIM11_clean"]


@pytest.fixture(scope="module")
def settings(tmp_path_factory):
    out = tmp_path_factory.mktemp("settings")
    rng = np.random.default_rng(0)
    return {name: write_settings(DEMO / f"{name}.cif", out, rng) for name in CASES}


@pytest.mark.parametrize("name", CASES)
def test_every_setting_gets_the_same_grid_and_crystal(settings, name):
    files = settings[name]
    assert set(files) == set(SETTINGS)
    grids = {
        k: compute_grid(read_structure(f, min_distance=0), GridSpec()) for k, f in files.items()
    }
    ref = grids["deposited"]
    for k, g in grids.items():
        assert g.meta["crystal"] == ref.meta["crystal"], k
        assert g.supercell == ref.supercell, k
        # equal to the precision of the file's coordinates: pymatgen's conventional and
        # primitive cells are symmetrised copies (atoms moved by ~1e-4 Å in CoRE files),
        # which moves energies near the repulsive walls by a few kelvin
        assert ((g.boltzmann > 0) == (ref.boltzmann > 0)).mean() > 0.999, k
        both = (g.boltzmann > 1e-6) & (ref.boltzmann > 1e-6)
        de = np.abs(np.log(g.boltzmann[both]) - np.log(ref.boltzmann[both])) * 298.0
        assert de.max() < 20.0 and np.median(de) < 0.1, (k, de.max())
        if k in ("super211", "shift", "random_shift", "permuted", "niggli"):
            # the same atoms written differently: the same cell to rounding
            np.testing.assert_allclose(g.boltzmann, ref.boltzmann, rtol=1e-4, atol=1e-6, err_msg=k)
        assert g.density == pytest.approx(ref.density, rel=1e-6)
    # as read, the settings differ (this is what the canonical cell removes)
    as_read = [
        compute_grid(read_structure(f, min_distance=0), GridSpec(cell="as-read"))
        for f in files.values()
    ]
    assert len({g.supercell for g in as_read} | {g.boltzmann.shape for g in as_read}) > 1 or any(
        not np.allclose(g.boltzmann, as_read[0].boltzmann) for g in as_read
    )


def test_shipped_model_predicts_the_same_for_every_setting(settings):
    from retvis.ml.weights import load_model

    model = load_model("ch4-coremof")
    assert model.spec.cell == "canonical"
    for name in CASES[:2]:
        preds = []
        for f in settings[name].values():
            g = compute_grid(read_structure(f, min_distance=0), model.spec)
            preds.append(float(model.predict(g.boltzmann, density=g.density)[0][0]))
        preds = np.array(preds)
        assert (preds.max() - preds.min()) / max(preds.mean(), 1.0) <= 0.005, (name, preds)


def test_different_crystals_get_different_digests():
    digests = {canonicalize(read_structure(f)).crystal for f in sorted(DEMO.glob("*.cif"))}
    assert len(digests) == len(list(DEMO.glob("*.cif")))


def test_automorphisms_of_a_cubic_and_a_triclinic_cell():
    assert len(automorphisms(np.eye(3) * 10.0)) == 48
    tri = np.array([[10.0, 0, 0], [1.3, 11.0, 0], [0.7, 2.1, 12.5]])
    assert len(automorphisms(tri)) == 2  # the identity and the inversion
    assert (automorphisms(tri)[0] == np.eye(3)).all()


def test_a_cell_without_symmetry_falls_back_with_a_note():
    """spglib finds nothing in a random P1 cell of isolated atoms far apart: still a
    canonical cell (Niggli-reduced), a note, and a grid."""
    rng = np.random.default_rng(1)
    lat = np.array([[14.0, 0, 0], [2.0, 15.0, 0], [1.0, 3.0, 16.0]])
    s = Structure("random", lat, rng.random((6, 3)), ("C", "O", "N", "H", "Cu", "Zn"))
    c = canonicalize(s)
    assert c.spacegroup.startswith("P1") or c.note
    g = compute_grid(s, GridSpec(n=8))
    assert g.meta["crystal"] == c.crystal
    # the same atoms shifted and with permuted axes: the same crystal
    shifted = Structure("shifted", lat[[2, 0, 1]], (s.frac[:, [2, 0, 1]] + 0.37) % 1.0, s.species)
    assert canonicalize(shifted).crystal == c.crystal


def test_grid_cell_is_what_the_grid_is_drawn_in():
    s = read_structure(DEMO / "EDUSIF_clean.cif")
    g = compute_grid(s, GridSpec(n=8))
    cell = grid_cell(s, GridSpec(n=8))
    assert cell.n_atoms == 4 * s.n_atoms  # the conventional F-centred cell of the primitive
    np.testing.assert_allclose(g.box, cell.lattice * np.array(g.supercell)[:, None])
    assert grid_cell(s, GridSpec(n=8, cell="as-read")) is s


def test_old_specs_read_as_the_cell_they_were_computed_on():
    assert GridSpec.from_dict({"n": 25}).cell == "as-read"
    assert GridSpec().cell == "canonical"
    assert GridSpec.from_dict(GridSpec().to_dict()) == GridSpec()
    assert GridSpec.seed().cell == "as-read"
    assert "cell" not in GridSpec(cell="as-read").to_dict()


@pytest.mark.parametrize("name", ["FIJDIM11_clean", "XAGCIS_clean"])
def test_projection_once_per_orbit_is_the_full_group_average(name):
    """symmetrize averages one atom per orbit and carries it round the orbit; that must be
    the average over every atom (the reference), whatever orbit labels it is given."""
    import spglib

    from benchmarks.canonical import full_average
    from retvis.core.canonical import SYMPREC, atomic_numbers, symmetrize

    s = read_structure(DEMO / f"{name}.cif", min_distance=0)
    d = spglib.get_symmetry_dataset((s.lattice, s.frac, atomic_numbers(s.species)), symprec=SYMPREC)
    lat, types = np.asarray(d.std_lattice), np.asarray(d.std_types)
    rng = np.random.default_rng(0)
    # idealised positions plus noise of 2e-3 Å: far from symmetric, within tolerance
    noisy = np.asarray(d.std_positions) + rng.normal(0, 2e-3, (len(types), 3)) @ np.linalg.inv(lat)
    ops = spglib.get_symmetry_from_database(d.hall_number)
    ref = full_average(lat, noisy, types, ops["rotations"], ops["translations"])
    assert ref is not noisy
    good = np.asarray(d.crystallographic_orbits)[_first_input_atom(d)]
    for orbits in (good, np.arange(len(types)), None):
        got = symmetrize(lat, noisy, types, (ops["rotations"], ops["translations"]), orbits)
        diff = got - ref
        diff -= np.round(diff)
        assert np.abs(diff @ lat).max() < 1e-9
    # not a symmetry of these atoms: unchanged
    moved = noisy.copy()
    moved[0] += 0.2
    assert symmetrize(lat, moved, types, (ops["rotations"], ops["translations"]), good) is moved


def _first_input_atom(d) -> np.ndarray:
    prim = np.asarray(d.mapping_to_primitive)
    first = {int(p): j for j, p in reversed(list(enumerate(prim)))}
    return np.array([first[int(p)] for p in d.std_mapping_to_primitive])

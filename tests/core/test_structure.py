import numpy as np
import pytest

from retvis.core.structure import (
    Structure,
    read_structure,
    read_structure_pymatgen,
    supercell_factors,
)
from retvis.errors import StructureError
from tests.conftest import demo


def _same_sites(a: Structure, b: Structure, tol_angstrom: float) -> None:
    assert a.n_atoms == b.n_atoms
    assert sorted(a.species) == sorted(b.species)
    np.testing.assert_allclose(a.parameters, b.parameters, atol=1e-6)
    d = a.frac[:, None, :] - b.frac[None, :, :]
    d -= np.round(d)
    dist = np.sqrt(((d @ a.lattice) ** 2).sum(-1))
    j = dist.argmin(axis=1)
    assert len(set(j.tolist())) == a.n_atoms, "site matching is not one-to-one"
    assert dist.min(axis=1).max() < tol_angstrom
    assert all(a.species[i] == b.species[j[i]] for i in range(a.n_atoms))


def test_gemmi_reader_matches_pymatgen_on_every_demo_cif(demo_cifs):
    # pymatgen snaps coordinates within 1e-4 (fractional) of 1/3, 2/3...; the file's
    # own values, which gemmi keeps, differ from those by at most a few 1e-3 Å.
    for f in demo_cifs:
        _same_sites(read_structure(f), read_structure_pymatgen(f), tol_angstrom=5e-3)


def test_hkust1_composition_and_density():
    s = read_structure(demo("FIQCEN_clean"))
    assert s.composition == {"Cu": 12, "H": 24, "C": 72, "O": 48}
    assert s.formula == "C72H24Cu12O48"
    assert s.density == pytest.approx(0.879, abs=0.005)  # HKUST-1, g/cm3
    assert s.parameters[3] == pytest.approx(60.0)
    assert len(s.digest) == 64


def test_supercell_factors_follow_the_minimum_image_rule():
    s = read_structure(demo("FIQCEN_clean"))  # widths 15.2 Å
    assert supercell_factors(s, 10.0) == (2, 2, 2)
    assert supercell_factors(s, 7.0) == (1, 1, 1)
    s = read_structure(demo("VOGTIV_clean_h"))
    assert all(k * w >= 20.0 for k, w in zip(supercell_factors(s, 10.0), s.widths, strict=True))


def test_fractional_coordinates_are_wrapped():
    s = Structure("x", np.eye(3) * 10, [[1.25, -0.5, 0.999999]], ["C"])
    assert np.all((s.frac >= 0) & (s.frac < 1))
    np.testing.assert_allclose(s.frac[0, :2], [0.25, 0.5])


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "file is empty"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 32, "PNG image"),
        (b"data_x\n_cell_length_a 10\n", "no unit cell|malformed"),
        (b"data_x\nloop_\n_atom_site_label\n_atom_site_fract_x\nC1 0.1\n", "no unit cell"),
    ],
)
def test_bad_files_raise_clear_errors(tmp_path, content, message):
    f = tmp_path / "bad.cif"
    f.write_bytes(content)
    with pytest.raises(StructureError, match=message) as exc:
        read_structure(f)
    assert exc.value.path == f
    assert "bad.cif" in str(exc.value)


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(StructureError, match="file not found"):
        read_structure(tmp_path / "nope.cif")
    with pytest.raises(StructureError, match="folder"):
        read_structure(tmp_path)


def test_partial_occupancy_is_refused(tmp_path):
    text = demo("SENWAL_clean").read_text()
    assert "_atom_site_occupancy" in text
    lines = text.splitlines()
    # set the first atom's occupancy to 0.5
    header_end = next(
        i for i, ln in enumerate(lines) if ln.strip().startswith("_atom_site_occupancy")
    )
    cols = [ln.strip() for ln in lines[: header_end + 1] if ln.strip().startswith("_atom_site_")]
    k = cols.index("_atom_site_occupancy")
    i = header_end + 1
    while lines[i].strip().startswith("_"):
        i += 1
    parts = lines[i].split()
    parts[k] = "0.5"
    lines[i] = " ".join(parts)
    f = tmp_path / "disordered.cif"
    f.write_text("\n".join(lines))
    with pytest.raises(StructureError, match="partial occupancy"):
        read_structure(f)


def test_an_overlap_just_under_the_limit_is_not_printed_as_the_limit(tmp_path):
    # two hydrogens 0.497 Å apart (as in CURATED COF 20650N2): "0.50 Å" would read as
    # no overlap at all next to "closer than 0.5 Å"
    f = tmp_path / "close.cif"
    f.write_text(
        "data_close\n_cell_length_a 10\n_cell_length_b 10\n_cell_length_c 10\n"
        "_cell_angle_alpha 90\n_cell_angle_beta 90\n_cell_angle_gamma 90\n"
        "_symmetry_space_group_name_H-M 'P 1'\n"
        "loop_\n_atom_site_label\n_atom_site_type_symbol\n"
        "_atom_site_fract_x\n_atom_site_fract_y\n_atom_site_fract_z\n"
        "H1 H 0.1 0.1 0.1\nH2 H 0.1497 0.1 0.1\nC1 C 0.5 0.5 0.5\n"
    )
    with pytest.raises(StructureError, match=r"H1-H2 0\.497 Å"):
        read_structure(f)

"""Reader edge cases a hostile or careless file can hold: a space group given only by its
number, several structures in one file, occupancies no crystal has."""

from __future__ import annotations

import pytest

from retvis.core.structure import read_structure, read_structure_pymatgen
from retvis.errors import StructureError
from tests.conftest import demo
from tests.core.test_structure import _same_sites

FCC = """data_{name}
_cell_length_a 10.0
_cell_length_b 10.0
_cell_length_c 10.0
_cell_angle_alpha 90
_cell_angle_beta 90
_cell_angle_gamma 90
{symmetry}
loop_
_atom_site_label
_atom_site_type_symbol
_atom_site_fract_x
_atom_site_fract_y
_atom_site_fract_z
Cu1 Cu 0.0 0.0 0.0
O1 O 0.25 0.25 0.25
"""


@pytest.mark.parametrize("tag", ["_space_group_IT_number", "_symmetry_Int_Tables_number"])
def test_a_space_group_given_only_by_its_number_is_expanded(tmp_path, tag):
    """Fm-3m by number alone: 12 atoms, as with its H-M symbol and as pymatgen reads it,
    not the 2 listed sites."""
    f = tmp_path / "by_number.cif"
    f.write_text(FCC.format(name="n", symmetry=f"{tag} 225"))
    h = tmp_path / "by_symbol.cif"
    h.write_text(FCC.format(name="h", symmetry="_symmetry_space_group_name_H-M 'F m -3 m'"))
    ours = read_structure(f, min_distance=0)
    assert ours.n_atoms == read_structure(h, min_distance=0).n_atoms == 12
    _same_sites(ours, read_structure_pymatgen(f), tol_angstrom=1e-4)


def test_a_space_group_number_out_of_range_is_refused(tmp_path):
    f = tmp_path / "sg999.cif"
    f.write_text(FCC.format(name="x", symmetry="_space_group_IT_number 999"))
    with pytest.raises(StructureError, match="space group number 999"):
        read_structure(f, min_distance=0)


def test_two_structures_in_one_file_are_refused_with_their_names(tmp_path):
    text = demo("PEKKAS_clean").read_text()
    f = tmp_path / "two.cif"
    f.write_text(text + "\n" + text.replace("data_PEKKAS_clean", "data_other", 1))
    with pytest.raises(StructureError, match="2 structures in one file") as exc:
        read_structure(f)
    assert "data_other" in exc.value.reason and exc.value.path == f


@pytest.mark.parametrize("occ", ["-0.50", "7.00", "1.20"])
def test_an_occupancy_outside_zero_to_one_is_refused_as_such(tmp_path, occ):
    f = tmp_path / "occ.cif"
    f.write_text(demo("PEKKAS_clean").read_text().replace("Uiso   1.00", f"Uiso   {occ}", 2))
    with pytest.raises(StructureError, match=r"occupancy outside \[0, 1\] for 2 site"):
        read_structure(f)

"""GCMC with RASPA3: protocol, unit parsing and physics checks on real and tiny cells."""

import json
import math

import numpy as np
import pytest

from retvis.core.structure import Structure, read_structure
from retvis.errors import SpecError
from retvis.sim.gcmc import MOLAR_VOLUME_STP, Protocol, run_gcmc
from retvis.sim.units import parse_pressure, parse_temperature
from tests.conftest import REPO, demo

FAST = Protocol(init_cycles=20, cycles=60)
K_B = 1.380649e-23


@pytest.mark.parametrize(
    "text, pa",
    [
        ("5.8bar", 5.8e5),
        ("580kPa", 5.8e5),
        ("580000Pa", 5.8e5),
        ("580000 Pa", 5.8e5),
        ("0.58MPa", 5.8e5),
        ("0.15 bar", 1.5e4),
        ("1atm", 101325.0),
        ("2e5", 2e5),
    ],
)
def test_parse_pressure_units(text, pa):
    assert parse_pressure(text) == pytest.approx(pa)


@pytest.mark.parametrize("text", ["5.8psi", "bar", "-1bar", "0bar", "nan bar", ""])
def test_parse_pressure_rejects(text):
    with pytest.raises(SpecError):
        parse_pressure(text)


def test_parse_temperature():
    assert parse_temperature("298K") == 298.0
    assert parse_temperature("273.15") == 273.15
    with pytest.raises(SpecError, match="kelvin"):
        parse_temperature("25C")


def test_protocol_defaults_follow_method_and_identity_is_stable():
    p = Protocol()
    assert (p.guest, p.temperature, p.pressure, p.init_cycles, p.cycles, p.cutoff, p.seed) == (
        "CH4",
        298.0,
        5.8e5,
        1000,
        2000,
        12.8,
        1,
    )
    assert p.identity() == Protocol().identity()
    assert p.identity().startswith("CH4-298K-5.8bar-1000+2000c-s1-")
    assert Protocol.from_dict(p.to_dict()) == p
    others = {
        Protocol(seed=2).identity(),
        Protocol(pressure=1e5).identity(),
        Protocol(cycles=10).identity(),
        Protocol(cutoff=12.0).identity(),
    }
    assert p.identity() not in others and len(others) == 4


def test_whole_numbers_name_the_same_protocol_as_the_committed_labels():
    # integers from Python callers are stored as floats: 298 and 298.0 are one protocol,
    # the one the shipped datasets were labelled under
    meta = {
        g: json.loads((REPO / "resources" / "datasets" / f"{d}.meta.json").read_text())
        for g, d in (("CH4", "ch4_298K_5.8bar"), ("CO2", "co2_298K_0.15bar"))
    }
    ch4 = Protocol(temperature=298, pressure=580000, cutoff=12.8)
    co2 = Protocol(guest="CO2", temperature=298, pressure=15000, charges=True)
    assert ch4.identity() == meta["CH4"]["protocol_identity"]
    assert co2.identity() == meta["CO2"]["protocol_identity"]
    assert isinstance(co2.pressure, float) and isinstance(co2.temperature, float)
    with pytest.raises(SpecError, match="pressure"):
        Protocol(pressure=True)


def test_protocol_validation_lists_known_guests():
    with pytest.raises(SpecError, match="CH4, CO2"):
        Protocol(guest="N2")
    with pytest.raises(SpecError):
        Protocol(temperature=-1.0)
    with pytest.raises(SpecError):
        Protocol(cycles=0)
    with pytest.raises(SpecError, match="uncharged"):
        Protocol(charges=True)


def test_units_of_a_real_uptake_agree_with_density():
    """cm3(STP)/cm3 = mol/kg x density x molar volume: checks RASPA's box (angles!)."""
    s = read_structure(demo("VOGTIV_clean_h"))  # triclinic: a radians/degrees slip shows
    r = run_gcmc(s, FAST)
    assert r.uptake_mol_kg > 0.5 and math.isfinite(r.uptake_err_mol_kg)
    assert 0 < r.uptake_err_mol_kg < r.uptake_mol_kg
    expected = r.uptake_mol_kg * s.density * MOLAR_VOLUME_STP / 1000.0
    assert r.uptake_cm3_cm3 == pytest.approx(expected, rel=1e-6)
    assert r.supercell == (4, 2, 2) and r.n_atoms == s.n_atoms
    assert r.protocol == FAST.identity()


def test_nearly_empty_triclinic_box_holds_the_ideal_gas():
    """One helium atom in a big 60-degree cell: CH4 at 5.8 bar is almost an ideal gas."""
    L = 31.2
    lat = np.array([[L, 0, 0], [L / 2, L * math.sqrt(3) / 2, 0], [0, 0, L]])
    s = Structure("empty", lat, [[0.0, 0.0, 0.0]], ("He",))
    p = Protocol(init_cycles=100, cycles=2000)
    r = run_gcmc(s, p)
    n_ideal = p.pressure * s.volume * 1e-30 / (K_B * p.temperature)
    assert r.supercell == (1, 1, 1)
    assert r.molecules_per_cell == pytest.approx(
        n_ideal, rel=0.05, abs=3 * r.uptake_err_mol_kg * s.mass / 1000
    )


def test_co2_without_charges_runs_with_rotation_moves():
    s = read_structure(demo("SENWAL_clean"))
    r = run_gcmc(s, Protocol(guest="CO2", pressure=1.5e4, init_cycles=10, cycles=40))
    assert r.protocol.startswith("CO2-298K-0.15bar-10+40c-s1-")
    assert math.isfinite(r.uptake_mol_kg) and r.uptake_mol_kg >= 0


def test_charged_protocol_needs_charges():
    s = read_structure(demo("SENWAL_clean"))
    p = Protocol(guest="CO2", charges=True, init_cycles=1, cycles=1)
    with pytest.raises(SpecError, match="no framework charges"):
        run_gcmc(s, p)
    with pytest.raises(SpecError, match="80 finite charges"):
        run_gcmc(s, p, np.zeros(3))


def test_the_grid_co2_probe_is_the_co2_the_labels_simulate():
    """The grid's CO2 probe reads the labels' TraPPE CO2 (``retvis.core.guests``)."""
    from retvis.core.grid import CO2_BOND, CO2_SITES
    from retvis.sim.gcmc import GUESTS

    sites = GUESTS["CO2"].sites
    for s in sites:
        kind = "C" if s.name.startswith("C") else "O"
        eps, sig, q = CO2_SITES[kind]
        assert (s.epsilon, s.sigma, s.charge) == (eps, sig, q)
    bonds = sorted(abs(s.position[2]) for s in sites)
    assert bonds == [0.0, CO2_BOND, CO2_BOND]

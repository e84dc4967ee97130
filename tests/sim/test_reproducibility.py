"""The same protocol and seed give the same label; another seed agrees within errors."""

import pytest

from retvis.core.structure import read_structure
from retvis.sim.gcmc import Protocol, run_gcmc
from tests.conftest import demo


@pytest.mark.slow
def test_same_seed_reproduces_and_other_seed_agrees_within_block_error():
    s = read_structure(demo("SENWAL_clean"))
    p = Protocol(init_cycles=200, cycles=600)
    a = run_gcmc(s, p)
    b = run_gcmc(s, p)
    assert abs(a.uptake_mol_kg - b.uptake_mol_kg) <= max(a.uptake_err_mol_kg, 1e-12)
    c = run_gcmc(s, Protocol(init_cycles=200, cycles=600, seed=2))
    assert c.protocol != a.protocol
    # two independent estimates: their difference within the combined 95 % half-widths
    tol = 1.5 * (a.uptake_err_mol_kg**2 + c.uptake_err_mol_kg**2) ** 0.5
    assert abs(a.uptake_mol_kg - c.uptake_mol_kg) <= tol

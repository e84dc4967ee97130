"""Widom insertion: Henry coefficients, checked against GCMC in the low-pressure limit.

In the Henry regime the GCMC uptake is ``K_H * f``; at 0.1 bar, CH4 in SENWAL (a
CoRE MOF) is well inside it (its uptake at 5.8 bar is still ~95 % of ``K_H * P``).
A wrong density unit or a weight that is not ``<exp(-U/kT)>`` misses by orders of
magnitude or by the ratio of the two.
"""

from __future__ import annotations

import csv
import math

import pytest

from retvis.cli import main
from retvis.core.structure import read_structure
from retvis.errors import DataError
from retvis.sim.gcmc import (
    GAS_CONSTANT,
    Protocol,
    WidomProtocol,
    protocol_from_dict,
    run_gcmc,
    run_widom,
)
from retvis.sim.labels import WIDOM_COLUMNS, LabelTable
from tests.conftest import demo

FAST = WidomProtocol(cycles=300)


def test_henry_coefficient_is_the_low_pressure_slope_of_gcmc():
    s = read_structure(demo("SENWAL_clean"))
    w = run_widom(s, FAST)
    assert w.henry_mol_kg_pa > 0 and w.henry_err_mol_kg_pa < 0.1 * w.henry_mol_kg_pa
    pressure = 1e4  # Pa
    g = run_gcmc(s, Protocol(pressure=pressure, init_cycles=200, cycles=1000))
    expected = w.henry_mol_kg_pa * pressure
    tol = 1.5 * math.hypot(g.uptake_err_mol_kg, w.henry_err_mol_kg_pa * pressure)
    assert abs(g.uptake_mol_kg - expected) <= tol + 0.03 * expected, (g, w)
    # the excess chemical potential is -RT ln <W>
    mu = -GAS_CONSTANT * 298.0 * math.log(w.rosenbluth_weight) / 1000
    assert w.excess_mu_kj_mol == pytest.approx(mu)
    assert w.supercell == g.supercell and w.protocol == FAST.identity()


def test_same_seed_reproduces_and_protocols_round_trip():
    s = read_structure(demo("PEKKAS_clean"))
    a, b = run_widom(s, FAST), run_widom(s, FAST)
    assert a.henry_mol_kg_pa == b.henry_mol_kg_pa
    for p in (FAST, WidomProtocol(guest="CO2", charges=True), Protocol()):
        assert protocol_from_dict(p.to_dict()) == p
    ids = {FAST.identity(), WidomProtocol(cycles=301).identity(), Protocol().identity()}
    assert len(ids) == 3 and FAST.identity().startswith("widom-CH4-298K-300c-s1-")


def test_label_cli_widom_table_resume_and_wrong_table(tmp_path, capsys):
    bad = tmp_path / "broken.cif"
    bad.write_text("data_x\n_cell_length_a 10\n")
    out = tmp_path / "henry.csv"
    args = ["label", str(demo("SENWAL_clean")), str(demo("PEKKAS_clean")), str(bad)]
    args += ["-o", str(out), "--widom", "--cycles", "300", "-q"]
    assert main(args) == 1  # one failure
    with open(out, newline="") as fh:
        reader = csv.DictReader(fh)
        assert reader.fieldnames == WIDOM_COLUMNS
        rows = {r["name"]: r for r in reader}
    assert rows["broken"]["status"] == "failed" and rows["broken"]["henry_mol_kg_pa"] == ""
    for n in ("SENWAL_clean", "PEKKAS_clean"):
        assert rows[n]["status"] == "ok" and float(rows[n]["henry_mol_kg_pa"]) > 0
        assert rows[n]["protocol"] == FAST.identity() and rows[n]["guest"] == "CH4"
    names, values, errors = LabelTable(out, WIDOM_COLUMNS).labels(column="henry_mol_kg_pa")
    assert sorted(names) == ["PEKKAS_clean", "SENWAL_clean"] and (errors > 0).all()
    before = out.read_bytes()
    assert main(args) == 0  # nothing left to run: the failure is recorded, not retried
    assert out.read_bytes() == before
    capsys.readouterr()
    # an uptake run pointed at this table is refused with what it is
    with pytest.raises(DataError, match="Henry-coefficient"):
        LabelTable(out).rows()
    assert main(["label", str(demo("SENWAL_clean")), "-o", str(out), "-q"]) == 2
    assert "Henry-coefficient" in capsys.readouterr().err

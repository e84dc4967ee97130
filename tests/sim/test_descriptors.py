"""Zeo++ descriptors in a child process, on real demo CIFs."""

import pytest

from retvis.sim.descriptors import (
    DESCRIPTORS,
    iter_descriptors,
    read_descriptor_csv,
    write_descriptor_csv,
    zeo_descriptors,
)
from tests.conftest import core_mof_table, demo


def test_descriptors_match_core_mof_published_values(tmp_path):
    r = zeo_descriptors(demo("CUNXIS_clean"))
    assert r.status == "ok", r.reason
    assert set(r.values) == set(DESCRIPTORS)
    ref = core_mof_table()["CUNXIS_clean"]  # CoRE MOF 2019 computed these with Zeo++ too
    assert r.values["lcd"] == pytest.approx(float(ref["LCD"]), abs=0.02)
    assert r.values["pld"] == pytest.approx(float(ref["PLD"]), abs=0.02)
    assert r.values["density_g_cm3"] == pytest.approx(float(ref["cm3_g"]), rel=1e-4)
    assert r.values["void_fraction"] == pytest.approx(float(ref["AV_VF"]), abs=0.02)
    assert r.values["cell_mass_amu"] == pytest.approx(1527.4, rel=1e-3)


def test_a_zeo_crash_is_a_recorded_failure_not_our_exit(tmp_path):
    # Zeo++ calls exit() on this CoRE MOF CIF; the parent (this test) must survive it
    results = {
        r.name: r for r in iter_descriptors([demo("EDUSIF_clean"), demo("PEKKAS_clean")], jobs=2)
    }
    assert results["EDUSIF_clean"].status == "failed"
    assert "exited with status" in results["EDUSIF_clean"].reason
    assert results["PEKKAS_clean"].status == "ok"
    write_descriptor_csv(results.values(), tmp_path / "d.csv")
    table = read_descriptor_csv(tmp_path / "d.csv")
    assert list(table) == ["PEKKAS_clean"]
    assert table["PEKKAS_clean"]["lcd"] == pytest.approx(results["PEKKAS_clean"].values["lcd"])


def test_timeout_is_recorded():
    r = zeo_descriptors(demo("PIGXUZ_clean"), timeout=0.05)
    assert r.status == "timeout" and "longer than" in r.reason

"""Zeo++ descriptors in a child process, on real demo CIFs."""

import pytest

from retvis.core.descriptor_table import DESCRIPTORS, read_descriptor_csv, write_descriptor_csv
from retvis.sim.descriptors import iter_descriptors, zeo_descriptors
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


def test_cli_rerun_keeps_finished_rows_and_computes_only_new_files(tmp_path, capsys):
    """`retvis descriptors` resumes: rows already in -o are kept as they are (a failed
    one too, unless --retry-failed), only the new files are computed."""
    from retvis.cli import main

    out = tmp_path / "d.csv"
    first = [str(demo("CUNXIS_clean")), str(demo("EDUSIF_clean"))]  # EDUSIF: Zeo++ exit()
    assert main(["descriptors", *first, "-o", str(out), "-q", "-j", "2"]) == 1
    before = out.read_text().splitlines()
    assert [r.split(",")[:2] for r in before[1:]] == [["CUNXIS_clean", "ok"],
                                                     ["EDUSIF_clean", "failed"]]  # fmt: skip
    capsys.readouterr()
    argv = ["descriptors", *first, str(demo("PEKKAS_clean")), "-o", str(out), "-j", "2"]
    assert main(argv) == 1
    said = capsys.readouterr().out
    assert "2 of 3 already in" in said and "2 structures described" in said and "1 failed" in said
    after = out.read_text().splitlines()
    assert before[1] in after and before[2] in after and len(after) == 4
    assert read_descriptor_csv(out)["PEKKAS_clean"]["lcd"] > 0
    # --retry-failed runs the failed row again (Zeo++ fails on it again: still recorded)
    capsys.readouterr()
    assert main([*argv, "--retry-failed"]) == 1
    assert "2 of 3 already in" in capsys.readouterr().out


def test_cli_refuses_to_resume_into_a_file_that_is_not_a_descriptors_table(tmp_path, capsys):
    from retvis.cli import main

    out = tmp_path / "labels.csv"
    out.write_text("name,uptake\nA,1\n")
    assert main(["descriptors", str(demo("CUNXIS_clean")), "-o", str(out), "-q"]) == 2
    assert "not a descriptors table" in capsys.readouterr().err
    assert out.read_text() == "name,uptake\nA,1\n"  # untouched


def test_the_timeout_counts_cpu_seconds_as_in_label(tmp_path):
    """--timeout is CPU seconds in both descriptors and label (a crowded machine does not
    cut a structure short); the wall-clock cap is --wall-timeout. PIGXUZ as a
    3 x 3 x 3 supercell (7,992 atoms) keeps Zeo++ busy for minutes."""
    import numpy as np

    from retvis.core.structure import Structure, read_structure
    from retvis.sim.charges import p1_cif

    s = read_structure(demo("PIGXUZ_clean"))
    k = np.stack(np.meshgrid(*(np.arange(3),) * 3, indexing="ij"), -1).reshape(-1, 3)
    frac = ((s.frac[None] + k[:, None]) / 3).reshape(-1, 3)
    cif = tmp_path / "big.cif"
    cif.write_text(p1_cif(Structure("big", s.lattice * 3, frac, s.species * 27)))
    r = zeo_descriptors(cif, timeout=1, wall_timeout=120)
    assert r.status == "timeout" and "more than 1 s of CPU time" in r.reason
    assert r.seconds < 30

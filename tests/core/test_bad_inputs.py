"""Every bad input gets the message it must produce (issue 8).

The committed corpus and its expected messages are ``tests/data/bad/MANIFEST.csv``
(made by ``tests/data/bad/make_corpus.py``). Large and pathological inputs are made here
in ``tmp_path``: a 200,000-atom cell, a symmetry expansion past the limit, a 100 MiB
file, a zip bomb, a folder of 10,000 files, symlink loops, a FIFO, a device, an
unreadable file, very long and non-UTF-8 file names, unicode paths.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from retvis.core.batch import (
    available_memory,
    check_batch_memory,
    estimate_batch_bytes,
    iter_grids,
)
from retvis.core.grid import GridSpec, compute_grid
from retvis.core.labels import read_label_table, read_labels
from retvis.core.structure import MAX_ATOMS, close_pairs, read_structure
from retvis.errors import DataError, LimitError, RetvisError, StructureError
from tests.conftest import demo

BAD = Path(__file__).resolve().parents[1] / "data" / "bad"
MANIFEST = list(csv.DictReader((BAD / "MANIFEST.csv").open(encoding="utf-8")))
SMALL = GridSpec(n=8)


def cases(*stages):
    return [pytest.param(r, id=r["file"]) for r in MANIFEST if r["stage"] in stages]


def test_manifest_covers_the_corpus():
    files = {p.name for p in BAD.iterdir()} - {"MANIFEST.csv", "make_corpus.py"}
    assert files == {r["file"] for r in MANIFEST}
    assert len(MANIFEST) >= 40
    assert all(r["message"] for r in MANIFEST)


@pytest.mark.parametrize("row", cases("read"))
def test_read_structure_refuses_with_the_manifest_message(row):
    path = BAD / row["file"]
    with pytest.raises(RetvisError) as exc:
        read_structure(path)
    assert exc.value.kind == row["kind"]
    assert row["message"] in exc.value.reason
    assert exc.value.path == path and path.name in str(exc.value)


@pytest.mark.parametrize("row", cases("grid"))
def test_grid_stage_refuses_with_the_manifest_message(row):
    s = read_structure(BAD / row["file"])
    with pytest.raises(RetvisError) as exc:
        compute_grid(s, SMALL)
    assert exc.value.kind == row["kind"]
    assert row["message"] in exc.value.reason


@pytest.mark.parametrize("row", cases("ok"))
def test_inputs_that_must_work(row):
    s = read_structure(BAD / row["file"])
    assert s.formula == row["message"]
    g = compute_grid(s, SMALL)
    assert np.all(np.isfinite(g.boltzmann)) and g.boltzmann.min() >= 0


def test_oxidation_states_and_deuterium_read_as_the_element():
    plain = read_structure(demo("FIQCEN_clean"))
    for name in ("oxidation_state_labels.cif", "deuterium.cif"):
        s = read_structure(BAD / name)
        assert s.species == plain.species  # Cu2+ -> Cu, O2- -> O, D -> H
        np.testing.assert_array_equal(s.frac, plain.frac)


@pytest.mark.parametrize("row", cases("labels"))
def test_labels_reader_refuses_with_the_manifest_message(row):
    with pytest.raises(RetvisError) as exc:
        read_labels(BAD / row["file"])
    assert exc.value.kind == row["kind"]
    assert row["message"] in exc.value.reason


def test_labels_reader_reads_a_good_table(tmp_path):
    f = tmp_path / "labels.csv"
    f.write_bytes(b"\xef\xbb\xbfname,uptake_mol_kg\nA,1.5\n\nB,0\n")
    assert read_labels(f) == {"A": 1.5, "B": 0.0}
    f.write_text("name,co2,ch4\nA,1,2\n")
    assert read_labels(f, column="ch4") == {"A": 2.0}
    with pytest.raises(RetvisError, match="no column 'n2'; valid: \\['co2', 'ch4'\\]"):
        read_labels(f, column="n2")


def test_labels_reader_reads_a_gcmc_table_with_status(tmp_path):
    """What `retvis label` writes: only ``ok`` rows, retried names are not duplicates."""
    f = tmp_path / "gcmc.csv"
    f.write_text(
        "name,status,reason,uptake_mol_kg,uptake_err_mol_kg,n_atoms\n"
        "A,ok,,1.5,0.1,100\n"
        "B,timeout,killed,,,50\n"
        "B,ok,,0,0,50\n"
        "C,crashed,exit status 1,,,20\n"
    )
    assert read_labels(f, "uptake_mol_kg") == {"A": 1.5, "B": 0.0}
    table = read_label_table(f, "uptake_mol_kg")
    assert table.skipped == 2 and table.column == "uptake_mol_kg"
    with pytest.raises(DataError, match="among numeric columns \\['uptake_mol_kg', 'uptake_err"):
        read_labels(f)
    # a status other than ok in the only row: no labels, and why
    f.write_text("name,status,uptake\nA,failed,\n")
    with pytest.raises(DataError, match="no labels: none of the 1 rows has status 'ok'"):
        read_labels(f)


def test_labels_reader_negative_values_only_when_allowed(tmp_path):
    f = tmp_path / "dh.csv"
    f.write_text("name,value,err\nA,-20.5,0.3\nB,3,0.1\n")
    with pytest.raises(DataError, match="row 2 \\(A\\): negative value -20.5") as exc:
        read_labels(f)  # 'value' preferred over the other numeric column
    assert exc.value.path == f
    table = read_label_table(f, allow_negative=True)
    assert table.names == ["A", "B"] and table.values.tolist() == [-20.5, 3.0]


def test_labels_reader_refuses_a_file_over_the_size_limit(tmp_path, monkeypatch):
    import retvis.core.labels as L

    f = tmp_path / "big.csv"
    f.write_text("name,uptake\n" + "".join(f"m{i},1\n" for i in range(100)))
    monkeypatch.setattr(L, "MAX_LABELS_BYTES", 512)
    with pytest.raises(DataError, match="larger than"):
        read_labels(f)


@pytest.mark.parametrize("row", cases("weights"))
def test_weights_loader_refuses_foreign_and_tampered_files(row, tmp_path, capsys):
    weights = pytest.importorskip("retvis.ml.weights", reason="retvis.ml.weights not merged")
    folder = tmp_path / "model"
    folder.mkdir()
    data = (BAD / row["file"]).read_bytes()
    (folder / "member_0.pt").write_bytes(data)
    sha = weights.sha256_file(folder / "member_0.pt") if "foreign" in row["file"] else "0" * 64
    card = {
        "format": weights.MODEL_FORMAT,
        "format_version": weights.FORMAT_VERSION,
        "architecture": {"name": "RetNet", "n": 25, "dropout": 0.3},
        "members": [{"file": "member_0.pt", "sha256": sha}],
        "standardization": {"mean": 0.0, "std": 1.0},
        "gridspec": GridSpec().to_dict(),
        "target": {"name": "uptake", "units": "mol/kg"},
    }
    (folder / "model.json").write_text(json.dumps(card))
    with pytest.raises(RetvisError) as exc:
        weights.load_model(folder)
    assert exc.value.kind == row["kind"]
    assert row["message"] in exc.value.reason
    assert "FOREIGN PICKLE EXECUTED" not in capsys.readouterr().out


# ---- generated inputs -------------------------------------------------------------------

HEAD = (
    "data_big\n_cell_length_a {a}\n_cell_length_b {a}\n_cell_length_c {a}\n"
    "_cell_angle_alpha 90\n_cell_angle_beta 90\n_cell_angle_gamma 90\n"
    "_symmetry_space_group_name_H-M '{sg}'\n"
    "loop_\n_atom_site_label\n_atom_site_type_symbol\n_atom_site_fract_x\n"
    "_atom_site_fract_y\n_atom_site_fract_z\n"
)


def _grid_cif(path: Path, k: int, a: float, sg: str = "P1") -> Path:
    """A cubic cell with k^3 carbon atoms on a grid."""
    t = (np.arange(k) + 0.5) / k
    x, y, z = (v.ravel() for v in np.meshgrid(t, t, t, indexing="ij"))
    with open(path, "w") as fh:
        fh.write(HEAD.format(a=a, sg=sg))
        for i in range(len(x)):
            fh.write(f"C{i} C {x[i]:.6f} {y[i]:.6f} {z[i]:.6f}\n")
    return path


def test_200000_atom_cell_is_refused_by_the_limit_before_it_is_built(tmp_path):
    # "atom sites listed" is raised on the CIF loop's length, before gemmi builds sites
    f = _grid_cif(tmp_path / "huge.cif", 59, 200.0)  # 205,379 atoms, 1.1 Å apart
    with pytest.raises(LimitError, match=f"205379 atom sites listed; the limit is {MAX_ATOMS}"):
        read_structure(f)


def test_symmetry_expansion_past_the_limit_is_refused_before_expanding(tmp_path):
    f = _grid_cif(tmp_path / "fm3m.cif", 13, 400.0, sg="F m -3 m")  # 2197 sites x 192 ops
    with pytest.raises(LimitError, match="2197 sites x 192 symmetry operations would give up"):
        read_structure(f)


def test_cell_just_under_a_lowered_limit_reads_and_over_it_is_refused(tmp_path):
    f = _grid_cif(tmp_path / "c.cif", 5, 20.0)  # 125 atoms
    assert read_structure(f, max_atoms=125).n_atoms == 125
    with pytest.raises(LimitError, match="125 atom sites listed; the limit is 124"):
        read_structure(f, max_atoms=124)


def test_file_over_the_size_limit_is_refused_without_reading(tmp_path):
    f = tmp_path / "sparse.cif"
    with open(f, "wb") as fh:
        fh.truncate(100 * 2**20)  # sparse: no disk used
    with pytest.raises(LimitError, match="file is 100 MiB; CIFs larger than 64 MiB"):
        read_structure(f)


def test_zip_bomb_named_cif_is_never_decompressed(tmp_path):
    f = tmp_path / "bomb.cif"
    with zipfile.ZipFile(f, "w", zipfile.ZIP_DEFLATED) as z:
        with z.open("bomb.cif", "w", force_zip64=True) as member:
            zeros = bytes(2**20)
            for _ in range(128):  # 128 MiB of zeros, ~130 kB compressed
                member.write(zeros)
    assert f.stat().st_size < 2**20
    with pytest.raises(StructureError, match="not a CIF file: it is a zip archive"):
        read_structure(f)


def test_symlink_loop_and_dangling_link(tmp_path):
    (tmp_path / "a.cif").symlink_to(tmp_path / "b.cif")
    (tmp_path / "b.cif").symlink_to(tmp_path / "a.cif")
    with pytest.raises(StructureError, match="cannot read file: Too many levels of symbolic"):
        read_structure(tmp_path / "a.cif")
    (tmp_path / "dangling.cif").symlink_to(tmp_path / "nowhere.cif")
    with pytest.raises(StructureError, match="file not found \\(broken symbolic link\\)"):
        read_structure(tmp_path / "dangling.cif")
    # a folder that links to itself is not followed when collecting
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "loop").symlink_to(tmp_path / "sub")
    shutil.copy(demo("PEKKAS_clean"), tmp_path / "sub" / "PEKKAS_clean.cif")
    outcomes = list(iter_grids([tmp_path], SMALL, jobs=2))
    by_name = {o.path.name: o for o in outcomes}
    assert by_name["PEKKAS_clean.cif"].status == "ok"
    assert "Too many levels" in by_name["a.cif"].reason
    assert len(outcomes) == 4  # a, b, dangling, PEKKAS: the loop folder is not entered


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this platform")
def test_fifo_and_device_are_refused_without_blocking(tmp_path):
    os.mkfifo(tmp_path / "pipe.cif")
    with pytest.raises(StructureError, match="not a regular file"):
        read_structure(tmp_path / "pipe.cif")  # opening it would block forever
    if Path("/dev/zero").exists():
        (tmp_path / "zero.cif").symlink_to("/dev/zero")
        with pytest.raises(StructureError, match="not a regular file"):
            read_structure(tmp_path / "zero.cif")


def test_unreadable_file(tmp_path):
    f = tmp_path / "secret.cif"
    shutil.copy(demo("PEKKAS_clean"), f)
    f.chmod(0)
    try:
        if os.access(f, os.R_OK):  # root ignores permission bits
            pytest.skip(
                "running as root: chmod 000 does not make a file unreadable; "
                "test_file_that_fails_to_read covers the read error"
            )
        with pytest.raises(StructureError, match="cannot read file: Permission denied"):
            read_structure(f)
    finally:
        f.chmod(0o644)


@pytest.mark.skipif(not Path("/proc/self/mem").exists(), reason="needs Linux /proc")
def test_file_that_fails_to_read(tmp_path):
    # reading /proc/self/mem at offset 0 fails with EIO, for root too: a real read error
    (tmp_path / "eio.cif").symlink_to("/proc/self/mem")
    with pytest.raises(StructureError, match="cannot read file: Input/output error"):
        read_structure(tmp_path / "eio.cif")


def test_folder_named_cif_and_missing_file(tmp_path):
    (tmp_path / "dir.cif").mkdir()
    with pytest.raises(StructureError, match="is a folder"):
        read_structure(tmp_path / "dir.cif")
    with pytest.raises(StructureError, match="file not found"):
        read_structure(tmp_path / "missing.cif")


def test_very_long_file_names(tmp_path):
    with pytest.raises(StructureError, match="cannot read file: File name too long"):
        read_structure(tmp_path / ("x" * 300 + ".cif"))
    ok = tmp_path / ("M" * 250 + ".cif")  # the longest names a file system takes
    shutil.copy(demo("PEKKAS_clean"), ok)
    assert read_structure(ok).name == "M" * 250


def test_unicode_paths(tmp_path):
    d = tmp_path / "Données ☃ 日本語"
    d.mkdir()
    f = d / "MOF-été_銅.cif"
    shutil.copy(demo("PEKKAS_clean"), f)
    s = read_structure(f)
    assert s.name == "MOF-été_銅"
    assert [o.status for o in iter_grids([d], SMALL, jobs=1)] == ["ok"]


@pytest.mark.skipif(sys.platform != "linux", reason="file names are bytes on Linux only")
def test_non_utf8_file_name(tmp_path):
    raw = os.fsencode(tmp_path) + b"/bad\xff\xfename.cif"
    with open(raw, "wb") as fh:
        fh.write(b"")
    name = os.fsdecode(raw)
    with pytest.raises(StructureError, match="file is empty"):
        read_structure(name)


def test_folder_of_10000_files_fails_fast_one_by_one(tmp_path):
    d = tmp_path / "many"
    d.mkdir()
    for i in range(10_000):
        with open(os.path.join(d, f"junk_{i:05d}.cif"), "wb") as fh:
            fh.write(b"" if i % 2 else b"\x00\x01junk")
    (d / "notes.txt").write_text("not collected")
    outcomes = list(iter_grids([d], SMALL, jobs=2))
    assert len(outcomes) == 10_000
    assert all(o.status == "failed" and o.kind == "structure" for o in outcomes)
    assert {o.reason for o in outcomes} == {
        "file is empty",
        "not a CIF file: it contains binary data",
    }


# ---- overlap check and limits -----------------------------------------------------------


def test_close_pairs_matches_brute_force_on_a_skewed_cell():
    rng = np.random.default_rng(8)
    lattice = np.array([[7.0, 0, 0], [-3.5, 6.1, 0], [1.2, -0.8, 5.3]])
    frac = rng.random((150, 3))
    i, j, d = close_pairs(lattice, frac, 1.2)
    # brute force over the 5^3 nearest images
    dmin = np.full((150, 150), np.inf)
    for shift in np.stack(np.meshgrid(*[np.arange(-2, 3)] * 3, indexing="ij"), -1).reshape(-1, 3):
        dist = np.linalg.norm((frac[:, None] - frac[None] + shift) @ lattice, axis=-1)
        if not shift.any():
            np.fill_diagonal(dist, np.inf)  # an atom and itself
        dmin = np.minimum(dmin, dist)
    bi, bj = np.nonzero(np.triu(dmin <= 1.2))
    assert set(zip(i.tolist(), j.tolist(), strict=True)) == set(
        zip(bi.tolist(), bj.tolist(), strict=True)
    )
    np.testing.assert_allclose(np.sort(d), np.sort(dmin[bi, bj]), rtol=1e-12)


def test_overlap_check_is_fast_on_a_large_cell(tmp_path):
    f = _grid_cif(tmp_path / "big.cif", 27, 40.0)  # 19,683 atoms, 1.48 Å apart
    s = read_structure(f)
    assert s.n_atoms == 19683
    i, _, _ = close_pairs(s.lattice, s.frac, 0.5)
    assert len(i) == 0


def test_overlap_check_can_be_turned_off():
    s = read_structure(BAD / "overlapping_atoms.cif", min_distance=0)
    assert s.n_atoms == 157


def test_demo_cifs_pass_the_overlap_check(demo_cifs):
    for f in demo_cifs:
        read_structure(f)  # raises on overlaps


def test_batch_memory_estimate_and_limit():
    e = estimate_batch_bytes(1000, 25, jobs=2)
    assert e.result_bytes == 1000 * 25**3 * 4
    assert e.working_bytes == 2 * 25**3 * 256
    assert e.total() == e.result_bytes + e.working_bytes
    assert e.total(keep_results=False) == e.working_bytes
    check_batch_memory(e, available=2**30)  # 62.5 MB of voxels fits in 1 GiB
    with pytest.raises(LimitError, match="12000 grids of 64\\^3 with 16 jobs need about"):
        check_batch_memory(estimate_batch_bytes(12000, 64, 16), available=8 * 2**30)


def test_batch_that_cannot_fit_is_refused_before_any_work(demo_cifs):
    need = estimate_batch_bytes(len(demo_cifs), 256, len(demo_cifs)).working_bytes  # ~86 GB
    if need < available_memory():
        pytest.skip("this machine has enough memory for 20 grids of 256^3 at once")
    with pytest.raises(LimitError, match="20 grids of 256\\^3 with 20 jobs .* use fewer jobs"):
        next(iter_grids(demo_cifs, GridSpec(n=256), jobs=len(demo_cifs)))


def test_grid_size_limit_is_a_clear_error():
    from retvis.errors import SpecError

    with pytest.raises(SpecError, match="grid size n must be an integer in \\[2, 256\\]"):
        GridSpec(n=1000)

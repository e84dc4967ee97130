import csv
import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from retvis.errors import DataError, SpecError
from retvis.ml import data as D


def test_augmentations_preserve_the_voxel_histogram_and_are_equally_likely(demo_set):
    vs = D.open_voxels(demo_set)
    x = np.asarray(vs.voxels[3])
    ref = np.sort(x.ravel())
    rng = np.random.default_rng(0)
    seen = Counter()
    for _ in range(2000):
        y = D.augment(x, rng)
        assert y.shape == x.shape
        np.testing.assert_array_equal(np.sort(y.ravel()), ref)
        seen[_kind(x, y)] += 1
    # four kinds, each with probability 1/4 (binomial sd ~ 19 for 2000 draws)
    assert set(seen) == {"identity", "rotate", "flip", "transpose"}
    assert all(abs(c - 500) < 100 for c in seen.values()), seen


def _kind(x, y):
    if np.array_equal(x, y):
        return "identity"
    for ax in range(3):
        if np.array_equal(np.flip(x, ax), y):
            return "flip"
    for i, j in [(0, 1), (0, 2), (1, 2)]:
        if np.array_equal(np.swapaxes(x, i, j), y):
            return "transpose"
        for k in (1, -1):
            if np.array_equal(np.rot90(x, k, (i, j)), y):
                return "rotate"
    raise AssertionError("not one of the four augmentations")


def test_batches_are_standardized_and_augmented_in_place_safely(demo_set):
    vs = D.open_voxels(demo_set)
    rows = np.arange(len(vs.names))
    std = D.standardization(vs.voxels, rows)
    allv = np.asarray(vs.voxels, dtype=np.float64)
    assert std.mean == pytest.approx(allv.mean(), rel=1e-9)
    assert std.std == pytest.approx(allv.std(), rel=1e-9)
    logs = D.standardization(vs.voxels, rows, log=True)  # of ln(max(B, 1e-6))
    lv = np.log(np.maximum(allv.astype(np.float32), np.float32(D.LOG_FLOOR)))
    assert logs.log and logs.mean == pytest.approx(lv.mean(), rel=1e-6)
    assert logs.std == pytest.approx(lv.std(), rel=1e-6)
    y = np.arange(len(rows), dtype=float)
    rng = np.random.default_rng(1)
    got = 0
    for xb, yb, pos in D.iter_batches(
        vs.voxels, rows, y, 7, std, rng, shuffle=True, augmented=True
    ):
        assert xb.shape[1:] == (1, 25, 25, 25) and xb.dtype == np.float32
        np.testing.assert_array_equal(yb, y[pos])
        for k, p in enumerate(pos):
            back = xb[k, 0] * np.float32(std.std) + np.float32(std.mean)
            np.testing.assert_allclose(
                np.sort(back.ravel()), np.sort(vs.voxels[p].ravel()), rtol=1e-5, atol=1e-4
            )
        got += len(pos)
    assert got == len(rows)


def test_a_periodic_shift_is_the_grid_of_the_translated_framework():
    """Why --shift is an exact symmetry: rolling a supercell grid by k voxels gives, to the
    last bit, the grid of the framework moved by k/n of the supercell."""
    import dataclasses

    from retvis.core.grid import GridSpec, compute_grid
    from retvis.core.structure import read_structure
    from tests.conftest import DEMO

    s = read_structure(DEMO / "DEKHUX_clean.cif")
    as_read = GridSpec(n=25, cell="as-read")  # on the cell as written: a shift moves it
    g = compute_grid(s, as_read, threads=2)
    k = np.random.default_rng(5).integers(25, size=3)
    assert k.any()
    rolled = D.periodic_shift(g.boltzmann, np.random.default_rng(5))  # draws the same k
    moved = dataclasses.replace(s, frac=(s.frac + k * np.array(g.supercell) / 25) % 1.0)
    np.testing.assert_array_equal(rolled, compute_grid(moved, as_read, threads=2).boltzmann)
    assert not np.array_equal(rolled, g.boltzmann)
    # on the canonical cell (the default) the moved framework is the same crystal: the
    # same grid, so a model needs no shift augmentation to be origin-independent
    np.testing.assert_allclose(
        compute_grid(moved, GridSpec(n=25)).boltzmann,
        compute_grid(s, GridSpec(n=25)).boltzmann,
        rtol=1e-4,
        atol=1e-6,
    )


def test_shifted_batches_hold_rolled_grids(demo_set):
    vs = D.open_voxels(demo_set)
    rows = np.arange(len(vs.names))
    y = np.zeros(len(rows))
    draws = np.random.default_rng(2)  # the same stream: one roll per sample, in order
    batches = D.iter_batches(
        vs.voxels, rows, y, 8, D.Standardization(0.0, 1.0), np.random.default_rng(2), shifted=True
    )
    n_moved = 0
    for xb, _, pos in batches:
        for k, p in enumerate(pos):
            want = D.periodic_shift(np.asarray(vs.voxels[p]), draws)
            np.testing.assert_array_equal(xb[k, 0], want)
            n_moved += not np.array_equal(want, vs.voxels[p])
    assert n_moved >= len(rows) - 1


def _write(path, text):
    path.write_text(text)
    return path


def test_labels_errors_are_clear(tmp_path):
    with pytest.raises(DataError, match="row 3: duplicated name 'A' \\(first in row 2\\)"):
        D.read_labels(_write(tmp_path / "a.csv", "name,value\nA,1\nA,2\n"))
    with pytest.raises(DataError, match="row 3 \\(B\\): value is 'nan', not finite"):
        D.read_labels(_write(tmp_path / "b.csv", "name,value\nA,1\nB,nan\nC,inf\n"))
    with pytest.raises(DataError, match="row 3 \\(B\\): value is empty"):
        D.read_labels(_write(tmp_path / "c.csv", "name,value\nA,1\nB,\n"))
    with pytest.raises(DataError, match="no 'name' column"):
        D.read_labels(_write(tmp_path / "d.csv", "id,value\nA,1\n"))
    with pytest.raises(DataError, match="numeric columns"):
        D.read_labels(_write(tmp_path / "e.csv", "name,x,y\nA,1,2\n"))
    # GCMC tables: status column, a chosen value column, failed rows skipped
    lab = D.read_labels(
        _write(tmp_path / "f.csv", "name,uptake_mol_kg,status\nA,1.5,ok\nB,,failed\nC,2.5,ok\n"),
        "uptake_mol_kg",
    )
    assert lab.names == ["A", "C"] and lab.skipped == 1
    np.testing.assert_array_equal(lab.values, [1.5, 2.5])


def test_labels_negative_values_need_allow_negative(tmp_path):
    f = _write(tmp_path / "dh.csv", "name,dH_kJ_mol\nA,-18.5\nB,-22\n")
    with pytest.raises(DataError, match="row 2 \\(A\\): negative dH_kJ_mol -18.5.*allow-negative"):
        D.read_labels(f)
    lab = D.read_labels(f, allow_negative=True)
    assert lab.column == "dH_kJ_mol" and lab.names == ["A", "B"]
    np.testing.assert_array_equal(lab.values, [-18.5, -22.0])


def test_labels_of_the_shipped_gcmc_table():
    """The real CH4 table of `retvis label`: many numeric columns, one status column."""
    table = Path(__file__).resolve().parents[2] / "resources/datasets/ch4_298K_5.8bar.csv"
    with pytest.raises(DataError, match="numeric columns \\['uptake_mol_kg', 'uptake_err"):
        D.read_labels(table)  # which of the uptakes, errors, timings? must be named
    lab = D.read_labels(table, "uptake_mol_kg")
    with table.open(encoding="utf-8", newline="") as fh:
        every = list(csv.DictReader(fh))
    rows = [r for r in every if r["status"] == "ok"]
    assert len(rows) > 100 and lab.skipped == len(every) - len(rows)
    assert lab.names == [r["name"] for r in rows]
    np.testing.assert_array_equal(lab.values, [float(r["uptake_mol_kg"]) for r in rows])
    assert lab.values.dtype == np.float64 and lab.values.min() >= 0


def test_labels_of_two_gcmc_protocols_are_refused(tmp_path):
    """A `retvis label` table holding two protocols' labels names them, not a duplicate."""
    text = (
        "name,status,uptake_mol_kg,protocol,raspalib\n"
        "A,ok,1.0,CO2-298K-0.15bar-q-aaa,3.1.0\n"
        "B,failed,,CO2-298K-0.15bar-q-bbb,3.1.0\n"
        "A,ok,1.1,CO2-298K-0.15bar-q-ccc,3.1.0\n"
    )
    with pytest.raises(DataError, match="under 2 protocols \\(CO2-298K-0.15bar-q-aaa, "):
        D.read_labels(_write(tmp_path / "p.csv", text), "uptake_mol_kg")
    one = text.replace("q-ccc", "q-aaa").replace("A,ok,1.1", "C,ok,1.1")
    lab = D.read_labels(_write(tmp_path / "q.csv", one), "uptake_mol_kg")  # failed rows: ignored
    assert lab.names == ["A", "C"]


def test_labels_status_rows_failed_then_retried(tmp_path):
    """A retried material has a failed row then an ok row: not a duplicate."""
    text = (
        "name,status,reason,uptake_mol_kg,uptake_err_mol_kg\n"
        "A,ok,,1.0,0.1\n"
        "B,timeout,killed after 3600 s,,\n"
        "C,crashed,exit status 1,,\n"
        "B,OK ,,2.0,0.2\n"
    )
    lab = D.read_labels(_write(tmp_path / "g.csv", text), "uptake_mol_kg")
    assert lab.names == ["A", "B"] and lab.skipped == 2
    np.testing.assert_array_equal(lab.values, [1.0, 2.0])
    # two ok rows of a name are a duplicate, named by row
    with pytest.raises(DataError, match="row 6: duplicated name 'A' \\(first in row 2\\)"):
        D.read_labels(_write(tmp_path / "h.csv", text + "A,ok,,3.0,0.1\n"), "uptake_mol_kg")
    # only failed rows: no labels, and says why
    with pytest.raises(DataError, match="none of the 2 rows has status 'ok'"):
        D.read_labels(_write(tmp_path / "i.csv", "name,status,value\nA,failed,\nB,timeout,\n"))


def test_labels_column_choice(tmp_path):
    # 'value' first, even among other numeric columns
    lab = D.read_labels(_write(tmp_path / "a.csv", "name,err,value\nA,0.1,1\n"))
    assert lab.column == "value"
    # the only column besides name and status, whatever it holds (errors name the row)
    lab = D.read_labels(_write(tmp_path / "b.csv", "name,status,uptake\nA,ok,1\nB,failed,x\n"))
    assert lab.column == "uptake" and lab.skipped == 1
    with pytest.raises(DataError, match="row 3 \\(B\\): uptake is not a number: 'high'"):
        D.read_labels(_write(tmp_path / "c.csv", "name,uptake\nA,1\nB,high\n"))
    # the only numeric column among text ones
    lab = D.read_labels(_write(tmp_path / "d.csv", "name,formula,uptake,note\nA,CuO,1,ok\n"))
    assert lab.column == "uptake"
    # a typo in the wanted column does not make another numeric column chosen silently
    with pytest.raises(DataError, match="numeric columns \\['uptake', 'err'\\]"):
        D.read_labels(_write(tmp_path / "e.csv", "name,uptake,err\nA,1,0.1\nB,1..2,0.1\n"))
    # an unknown column lists the valid ones; a custom name column
    with pytest.raises(DataError, match="no column 'co2'; valid: \\['uptake', 'err'\\]"):
        D.read_labels(tmp_path / "e.csv", "co2")
    lab = D.read_labels(_write(tmp_path / "f.csv", "refcode,value\nA,1\n"), name_column="refcode")
    assert lab.names == ["A"]
    with pytest.raises(DataError, match="duplicated column name"):
        D.read_labels(_write(tmp_path / "g.csv", "name,value,value\nA,1,2\n"))


def test_labels_file_checks(tmp_path):
    lab = D.read_labels(_write(tmp_path / "bom.csv", "\ufeffname,value\r\nA,1\r\n\r\nB,2\r\n"))
    assert lab.names == ["A", "B"] and lab.path == tmp_path / "bom.csv"
    (tmp_path / "bin.csv").write_bytes(b"name,value\nA,\x001\n")
    with pytest.raises(DataError, match="binary data"):
        D.read_labels(tmp_path / "bin.csv")
    with pytest.raises(DataError, match="cannot read labels") as exc:
        D.read_labels(tmp_path / "nowhere.csv")
    assert exc.value.path == tmp_path / "nowhere.csv"


def test_join_by_name_missing_and_excluded(demo_set, tmp_path):
    vs = D.open_voxels(demo_set)
    text = "name,value\n" + "".join(f"{n},{i}\n" for i, n in enumerate(vs.names[:5]))
    lab = D.read_labels(_write(tmp_path / "l.csv", text + "NOT_A_MOF,1\n"))
    with pytest.raises(DataError, match="NOT_A_MOF"):
        D.join(vs, lab)
    ds = D.join(vs, lab, missing="drop", exclude={vs.names[0]})
    assert ds.names == vs.names[1:5]
    rows, y = ds.select(vs.names[2:4])
    np.testing.assert_array_equal(rows, [2, 3])
    np.testing.assert_array_equal(y, [2.0, 3.0])
    assert len(ds.digest()) == 64


def test_voxel_folder_errors(tmp_path):
    np.save(tmp_path / "voxels.npy", np.zeros((2, 4, 4, 4), np.float32))
    (tmp_path / "names.json").write_text(json.dumps(["a"]))
    with pytest.raises(DataError, match="1 names for 2 grids"):
        D.open_voxels(tmp_path)
    (tmp_path / "names.json").write_text(json.dumps(["a", "a"]))
    with pytest.raises(DataError, match="duplicated"):
        D.open_voxels(tmp_path)
    with pytest.raises(DataError, match="voxels.npy"):
        D.open_voxels(tmp_path / "nowhere")


def test_splits_are_seeded_disjoint_and_saved(tmp_path):
    names = [f"m{i}" for i in range(100)]
    a = D.make_split(names, seed=3)
    b = D.make_split(list(reversed(names)), seed=3)
    assert a == b
    assert (len(a["train"]), len(a["val"]), len(a["test"])) == (80, 10, 10)
    assert set(a["train"]) | set(a["val"]) | set(a["test"]) == set(names)
    assert not set(a["train"]) & set(a["test"])
    assert D.make_split(names, seed=4)["test"] != a["test"]
    D.save_split(a, tmp_path / "s.json")
    assert D.load_split(tmp_path / "s.json") == a


def test_sqrt_inv_weights_follow_the_inverse_square_root_of_the_label_density():
    y = np.r_[np.zeros(40), np.full(10, 10.0)]  # a crowded cluster and one 4x rarer
    np.testing.assert_array_equal(D.label_weights(y, "none"), np.ones(50))
    w = D.label_weights(y, "sqrt-inv")
    assert w.mean() == pytest.approx(1.0)
    assert w[-1] / w[0] == pytest.approx(2.0, rel=1e-6)  # sqrt(40 / 10)
    # a sparse top above a crowded middle weighs more than any label in the middle
    rng = np.random.default_rng(0)
    y = np.r_[rng.normal(3.0, 1.0, 300), [9.0, 9.5]]
    w = D.label_weights(y, "sqrt-inv")
    assert w[-2:].min() > 3 * w[np.abs(y - 3.0) < 0.5].max()
    np.testing.assert_array_equal(D.label_weights(np.full(5, 2.0), "sqrt-inv"), np.ones(5))
    with pytest.raises(SpecError, match="unknown reweighting 'inverse'"):
        D.label_weights(y, "inverse")


def test_voxels_folders_carry_each_frameworks_density(demo_set, tmp_path):
    vs = D.open_voxels(demo_set)
    assert vs.densities.shape == (len(vs.names),)
    assert (vs.densities > 0.2).all() and (vs.densities < 4.0).all()  # g/cm³
    rows = np.array([7, 2, 19, 2, 0])  # any order, repeats allowed
    x, dens = vs.take(rows)
    np.testing.assert_array_equal(x, np.asarray(vs.voxels)[rows])
    np.testing.assert_array_equal(dens, vs.densities[rows])
    older = tmp_path / "older"
    older.mkdir()
    for f in ("voxels.npy", "names.json", "gridspec.json"):
        (older / f).symlink_to(demo_set / f)
    assert D.open_voxels(older).densities is None  # written before grids carried it
    assert D.open_voxels(older).take(rows)[1] is None
    (older / "densities.json").write_text("[1.0, 2.0]")
    with pytest.raises(DataError, match=f"2 densities for {len(vs.names)} grids"):
        D.open_voxels(older)

"""``retvis grid`` over the whole bad-input corpus mixed with good CIFs: every bad file is a
row of failures.csv with its manifest message, and every good one gets its grid."""

from __future__ import annotations

import csv
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from retvis.cli import main
from tests.conftest import demo

BAD = Path(__file__).resolve().parents[1] / "data" / "bad"
MANIFEST = [
    r
    for r in csv.DictReader((BAD / "MANIFEST.csv").open(encoding="utf-8"))
    if r["stage"] in ("read", "grid", "ok")
]
GOOD = ["PEKKAS_clean", "VOGTIV_clean_h", "FIQCEN_clean"]
# made at run time: (file name, how, message)
GENERATED = {
    "loop_a.cif": "Too many levels of symbolic links",
    "broken_link.cif": "file not found (broken symbolic link)",
    "pipe.cif": "not a regular file",
    "bad\udcff\udcfename.cif": "file is empty",
}


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("badcli")
    inputs = [BAD / r["file"] for r in MANIFEST]
    gen = tmp / "generated"
    gen.mkdir()
    (gen / "loop_a.cif").symlink_to(gen / "loop_b.cif")
    (gen / "loop_b.cif").symlink_to(gen / "loop_a.cif")
    (gen / "broken_link.cif").symlink_to(gen / "nowhere.cif")
    os.mkfifo(gen / "pipe.cif")
    with open(os.fsencode(gen) + b"/bad\xff\xfename.cif", "wb"):
        pass
    uni = tmp / "données 日本"
    uni.mkdir()
    shutil.copy(demo("PEKKAS_clean"), uni / "MOF-été_銅.cif")
    inputs += [gen / name for name in GENERATED] + [uni / "MOF-été_銅.cif"]
    inputs += [demo(g) for g in GOOD]
    out = tmp / "out"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("RETVIS_CACHE", str(tmp / "cache"))
        rc = main(["grid", *map(str, inputs), "-o", str(out), "--n", "8", "-j", "2", "-q"])
    failures = {
        Path(r["path"]).name: r
        for r in csv.DictReader((out / "failures.csv").open(encoding="utf-8"))
    }
    names = json.loads((out / "names.json").read_text())
    return rc, failures, names, np.load(out / "voxels.npy")


def test_batch_completes_around_the_failures(run):
    rc, failures, names, voxels = run
    n_ok = sum(r["stage"] == "ok" for r in MANIFEST) + len(GOOD) + 1
    n_bad = sum(r["stage"] != "ok" for r in MANIFEST) + len(GENERATED)
    assert rc == 1
    assert len(failures) == n_bad
    assert len(names) == n_ok and voxels.shape == (n_ok, 8, 8, 8)
    assert set(GOOD) | {"MOF-été_銅"} <= set(names)
    assert np.all(np.isfinite(voxels)) and voxels.min() >= 0
    assert all(v.max() > 0 for v in voxels)  # every stored grid was written


@pytest.mark.parametrize("row", [pytest.param(r, id=r["file"]) for r in MANIFEST])
def test_failures_csv_has_the_manifest_message(run, row):
    _, failures, names, _ = run
    if row["stage"] == "ok":
        assert row["file"] not in failures
        assert Path(row["file"]).stem in names
        return
    rec = failures[row["file"]]
    assert rec["kind"] == row["kind"]
    assert row["message"] in rec["reason"]


@pytest.mark.parametrize("name", GENERATED)
def test_failures_csv_has_generated_inputs(run, name):
    _, failures, _, _ = run
    key = name.replace("\udcff\udcfe", "\\xff\\xfe")  # undecodable bytes as \xNN
    assert GENERATED[name] in failures[key]["reason"]


def test_no_cif_files_is_an_error(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    rc = main(["grid", str(tmp_path / "empty"), "-o", str(tmp_path / "out"), "-q"])
    assert rc == 2
    assert "no CIF files in" in capsys.readouterr().err


def test_grid_refuses_to_start_without_disk_for_the_voxels(tmp_path):
    from retvis.cli.grid_cmd import _check_disk
    from retvis.errors import LimitError

    _check_disk(tmp_path, 2**20)
    with pytest.raises(LimitError, match="the grids need up to .* GiB of disk in .* is free"):
        _check_disk(tmp_path, 2**60)

"""Every format RetVis writes carries a version (retvis.core.formats): files written
before versions are read through one upgrade path per format, and a file from a newer
RetVis is refused with its name instead of being misread or set aside."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from retvis.cli import main
from retvis.core import formats
from retvis.core.cache import GridCache
from retvis.core.grid import GridSpec, compute_grid
from retvis.core.structure import read_structure
from retvis.errors import DataError
from retvis.ml.data import open_voxels
from retvis.screen import read_meta, screen
from tests.conftest import DEMO, demo


def test_a_record_without_a_version_is_upgraded_and_a_newer_one_is_refused(tmp_path):
    assert formats.upgraded({}, "retvis-grid-cache", tmp_path)["density"] != 0  # NaN filled
    got = formats.upgraded({"format_version": 1, "x": 1}, "retvis-voxels", tmp_path)
    assert got == {"x": 1, "format": "retvis-voxels", "format_version": 1}
    with pytest.raises(DataError, match="newer than this RetVis reads") as e:
        formats.upgraded({"format_version": 99}, "retvis-screen", tmp_path / "x.json")
    assert e.value.path == tmp_path / "x.json"
    with pytest.raises(DataError, match="must be an integer"):
        formats.version_of({"format_version": "1"}, "retvis-screen", None)


def test_grid_cache_entries_carry_their_version_and_a_newer_one_is_computed_again(tmp_path):
    cache = GridCache(tmp_path / "c")
    s = read_structure(demo("PEKKAS_clean"))
    g = compute_grid(s, GridSpec(n=12))
    path = cache.put(s.digest, g)
    with np.load(path) as z:
        assert int(z["format_version"]) == formats.CURRENT["retvis-grid-cache"]
        entry = {k: z[k] for k in z.files}
    assert cache.get(s.digest, g.spec, s.name).density == g.density
    np.savez(path, **{**entry, "format_version": np.int64(99)})
    assert cache.get(s.digest, g.spec, s.name) is None


def test_voxels_folders_carry_their_version_and_need_their_files(tmp_path):
    out = tmp_path / "grids"
    cifs = [str(demo(n)) for n in ("PEKKAS_clean", "SENWAL_clean")]
    assert main(["grid", *cifs, "-o", str(out), "--n", "12", "-q"]) == 0
    record = json.loads((out / "voxels.json").read_text())
    assert record == formats.stamp("retvis-voxels")
    assert open_voxels(out).spec["n"] == 12
    (out / "gridspec.json").unlink()  # version 1 writes it: its loss is damage
    with pytest.raises(DataError, match="gridspec.json is missing"):
        open_voxels(out)
    (out / "voxels.json").unlink()  # a folder from before versions (or made by hand)
    assert open_voxels(out).spec is None
    (out / "voxels.json").write_text(json.dumps({"format": "retvis-voxels", "format_version": 9}))
    with pytest.raises(DataError, match="newer than this RetVis reads"):
        open_voxels(out)


def test_a_newer_screen_output_is_refused_and_left_alone(trained_model, tmp_path):
    out = tmp_path / "results.parquet"
    files = [DEMO / "PEKKAS_clean.cif", DEMO / "SENWAL_clean.cif"]
    screen(files, trained_model, out, workers=0)
    meta = out / "_screen.json"
    record = json.loads(meta.read_text())
    assert record["format_version"] == formats.CURRENT["retvis-screen"]
    old = {k: v for k, v in record.items() if k != "format_version"}
    meta.write_text(json.dumps({**old, "version": 1}))  # as written before versions
    assert read_meta(out)["format_version"] == 1
    before = sorted(p.name for p in out.iterdir())
    meta.write_text(json.dumps({**record, "format_version": 7}))
    with pytest.raises(DataError, match="newer than this RetVis reads"):
        screen(files, trained_model, out, workers=0)
    assert sorted(p.name for p in out.iterdir()) == before  # nothing set aside
    shutil.rmtree(out)

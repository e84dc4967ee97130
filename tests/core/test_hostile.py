"""The hostile-input corpus (``tests/data/hostile/``, MANIFEST.csv): each case behaves
as its manifest says, under a memory cap, so a regression fails here and not the machine."""

from __future__ import annotations

import csv
import hashlib
import time
from pathlib import Path

import numpy as np
import pytest

from retvis.core.archive import extract_cifs
from retvis.core.grid import GridSpec, compute_grid
from retvis.core.project import Project
from retvis.core.structure import read_structure
from retvis.errors import RetvisError
from tests.conftest import demo, memory_cap

HERE = Path(__file__).resolve().parents[1] / "data" / "hostile"
with open(HERE / "MANIFEST.csv", newline="", encoding="utf-8") as _fh:
    ROWS = list(csv.DictReader(_fh))


def _id(row):
    return row["file"]


def test_the_manifest_covers_the_corpus():
    files = {p.name for p in HERE.iterdir()} - {"MANIFEST.csv", "make_corpus.py", "__pycache__"}
    assert files == {r["file"] for r in ROWS}
    assert {r["stage"] for r in ROWS} == {"read", "grid", "archive", "project"}


def _expect_error(fn, text: str):
    with pytest.raises(RetvisError) as err:
        fn()
    assert text in str(err.value), str(err.value)
    return err.value


@pytest.mark.parametrize("row", [r for r in ROWS if r["stage"] == "read"], ids=_id)
def test_read(row):
    f = HERE / row["file"]
    with memory_cap(int(row["cap_mb"]) * 2**20):
        if row["expect"].startswith("atoms="):
            assert read_structure(f).n_atoms == int(row["expect"].split("=")[1])
        else:
            err = _expect_error(lambda: read_structure(f), row["expect"].split("=", 1)[1])
            assert err.path == f  # the file is named


@pytest.mark.parametrize("probe", ["sphere", "CO2"])
@pytest.mark.parametrize("row", [r for r in ROWS if r["stage"] == "grid"], ids=_id)
def test_grid(row, probe):
    spec = GridSpec(n=16, probe=probe)
    s = read_structure(HERE / row["file"])
    kind, _, name = row["expect"].partition("=")
    want = compute_grid(read_structure(demo(name)), spec).boltzmann if name else None
    t0 = time.process_time()
    with memory_cap(int(row["cap_mb"]) * 2**20):
        got = compute_grid(s, spec)
    assert time.process_time() - t0 < (1.0 if name else 10.0)
    assert np.isfinite(got.boltzmann).all()
    if want is not None:  # the same crystal in another cell: the same grid (to the
        # CIF's 12 decimals of the skewed coordinates)
        np.testing.assert_allclose(got.boltzmann, want, rtol=1e-5, atol=1e-9)


@pytest.mark.parametrize("row", [r for r in ROWS if r["stage"] == "archive"], ids=_id)
def test_archive(row, tmp_path):
    bad_part, ok_part = row["expect"].removeprefix("members=").split(";ok=")
    bad = dict(b.split(":", 1) for b in bad_part.split("|"))
    ok = [m for m in ok_part.split("|") if m]
    cache = tmp_path / "cache"
    with memory_cap(int(row["cap_mb"]) * 2**20):
        got = extract_cifs(HERE / row["file"], cache)
    assert {m for m, _ in got.failures} == set(bad)
    for member, reason in got.failures:
        assert bad[member] in reason, reason
    for member in ok:
        assert (got.folder / member).read_text() == demo("PEKKAS_clean").read_text()
    left = {p.relative_to(got.folder).as_posix() for p in got.folder.rglob("*") if p.is_file()}
    assert left == set(ok)  # nothing partial, nothing outside


@pytest.mark.parametrize("row", [r for r in ROWS if r["stage"] == "project"], ids=_id)
def test_project(row, tmp_path):
    f = tmp_path / row["file"]
    f.write_bytes((HERE / row["file"]).read_bytes())
    before = hashlib.sha256(f.read_bytes()).hexdigest()
    text, _, unchanged = row["expect"].removeprefix("error=").partition(";")

    def open_it():
        with Project(f) as p:
            p.records()

    with memory_cap(int(row["cap_mb"]) * 2**20):
        err = _expect_error(open_it, text)
    assert str(err).startswith(f"{f.name}: ")  # the file is named
    if unchanged:
        assert hashlib.sha256(f.read_bytes()).hexdigest() == before
        assert sorted(p.name for p in tmp_path.iterdir()) == [f.name]  # no -wal, -shm

"""The session's project without Qt: the untitled autosave, opening (unfinished rows
cancelled), save-as, removal, labels in and the training folder out."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from retvis.app.materials import Materials
from retvis.app.session import NOT_FINISHED, ProjectSession, autosave_dir
from retvis.core.grid import GridSpec, compute_grid
from retvis.core.labels import read_label_table
from retvis.core.project import MaterialRecord, ProjectError
from retvis.core.structure import read_structure
from retvis.errors import DataError
from tests.conftest import demo


def rec(digest, name, status="ok", **kw):
    return MaterialRecord(digest=digest, name=name, path=f"/x/{name}.cif", status=status, **kw)


def test_autosave_open_save_as_remove_and_discard(tmp_path):
    spec = GridSpec()
    s = ProjectSession(Materials())
    assert s.title == "untitled" and s.project is None
    s.save([None], spec)  # nothing to save: no file yet
    assert s.project is None
    recs = s.materials.add(
        [rec("a", "A_clean"), rec("b", "B", status="running"), rec("c", "C", pred_mean=2.0)]
    )
    s.save(recs, spec)
    path = s.project.path
    assert path.parent == autosave_dir() and s.title.startswith("untitled-")
    copy = s.save_as(tmp_path / "mine", spec)
    assert copy == tmp_path / "mine.retvis" and s.title == "mine.retvis"
    s.remove(["c"])
    assert "c" not in s.materials and [r.digest for r in s.project.records()] == ["a", "b"]
    assert s.close() == copy

    other = ProjectSession(Materials())
    got = other.open(copy, model_ref=None)
    by = {r.digest: r for r in got}
    assert by["b"].status == "cancelled" and by["b"].reason == NOT_FINISHED
    assert by["a"].pred_note == "no model" and len(other.materials) == 2
    # a damaged file is refused and the open session is left as it was
    bad = tmp_path / "bad.retvis"
    bad.write_bytes(b"not a database" * 100)
    with pytest.raises(ProjectError):
        other.open(bad, None)
    assert other.project.path == copy and len(other.materials) == 2

    # a clean close deletes an untitled autosave unless it holds the user's labels
    assert s.discard_untitled(path) and not path.exists()
    assert not other.discard_untitled(copy) and copy.exists()  # a named project stays
    third = ProjectSession(Materials())
    third.materials.add([rec("d", "D", label=1.0)])
    third.save(third.materials.records(), spec)
    kept = third.close()
    assert not third.discard_untitled(kept) and kept.exists()


def test_labels_in_and_the_training_folder_out(tmp_path):
    spec = GridSpec(n=12)
    s = ProjectSession(Materials())
    names = ["PEKKAS_clean", 'SENWAL, "copy"', "DITYEM_clean"]
    s.materials.add([rec(str(i), n) for i, n in enumerate(names)])
    table = tmp_path / "labels.csv"
    with table.open("w", newline="") as fh:  # retvis label's columns; "_clean" may be dropped
        csv.writer(fh).writerows(
            [["name", "uptake_mol_kg", "uptake_err_mol_kg"], ["PEKKAS", 1.5, 0.1],
             [names[1], 2.25, 0.1]]
        )  # fmt: skip
    assert s.import_labels(table, spec) == 2
    assert s.materials.record("0").label == 1.5 and s.materials.record("0").label_source == (
        "labels.csv"
    )
    assert s.project is not None  # labels are the user's: saved at once
    assert s.set_label("DITYEM_clean", 0.5, "GCMC", spec) == 1
    bad = tmp_path / "bad.csv"
    bad.write_text("name,value\nPEKKAS,-1\n")
    with pytest.raises(DataError, match="bad.csv"):
        s.import_labels(bad, spec)

    assert s.export_labelled(tmp_path / "none", {})[0] == 0
    grids = {
        "0": compute_grid(read_structure(demo("PEKKAS_clean")), spec),
        "1": compute_grid(read_structure(demo("SENWAL_clean")), spec),
        "2": compute_grid(read_structure(demo("DITYEM_clean")), GridSpec(n=10)),
    }
    n, message = s.export_labelled(tmp_path / "train", grids)
    assert n == 2 and "1 skipped" in message  # other grid settings
    out = read_label_table(tmp_path / "train" / "labels.csv", "value")
    assert dict(zip(out.names, out.values, strict=True)) == {names[0]: 1.5, names[1]: 2.25}
    x = np.load(tmp_path / "train" / "voxels.npy")
    np.testing.assert_array_equal(x[1], grids["1"].boltzmann)

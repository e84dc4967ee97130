"""The session's model and its predictions without Qt: loading a model once per card
version, which predictions a newly chosen model makes stale, the notes rows show while
there is no number, which grids go to the model, and how its answers land."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from retvis.app.materials import Materials
from retvis.app.models import load_predictor, model_info_job, model_key, predict_job
from retvis.app.predictions import OTHER_SPEC_NOTE, PREDICT_BATCH, Predictions
from retvis.core.grid import GridSpec, compute_grid
from retvis.core.project import MaterialRecord
from retvis.core.structure import read_structure
from retvis.errors import RetvisError
from tests.conftest import demo

NAMES = ["PEKKAS_clean", "SENWAL_clean", "DITYEM_clean"]


def test_a_model_changed_on_disk_is_loaded_again_under_a_new_key(tmp_path):
    from retvis.paths import models_dir

    folder = tmp_path / "m"
    shutil.copytree(models_dir() / "ch4-coremof", folder)
    ref = str(folder)
    first = load_predictor(ref)
    assert load_predictor(ref) is first  # loaded once while unchanged
    key = model_key(ref)
    card = json.loads((folder / "model.json").read_text())
    card["calibration"]["b"] *= 2.0
    (folder / "model.json").write_text(json.dumps(card))
    assert model_key(ref) != key
    assert load_predictor(ref) is not first
    assert load_predictor(ref).calibration[1] == pytest.approx(card["calibration"]["b"])
    with pytest.raises(RetvisError):
        model_key(str(tmp_path / "no-such-model"))


@pytest.fixture(scope="module")
def ch4():
    """The shipped CH4 model's description and three demo MOFs' grids of its settings."""
    info = model_info_job("ch4-coremof")
    grids = {}
    for name in NAMES:
        grids[name] = compute_grid(read_structure(demo(name)), info["spec"])
    return info, grids


def _materials(names, **kw):
    m = Materials()
    m.add(MaterialRecord(digest=n, name=n, path=f"/x/{n}.cif", status="ok", **kw) for n in names)
    return m


def test_choosing_loading_and_predicting(ch4):
    info, grids = ch4
    m = _materials(NAMES)
    m.update("PEKKAS_clean", pred_mean=1.0, pred_model="old-model@abc")
    p = Predictions(m)
    cleared = p.select("ch4-coremof")  # another model's number is stale at once
    assert [r.name for r in cleared] == ["PEKKAS_clean"] and m.record(NAMES[0]).pred_mean is None
    assert {r.pred_note for r in m.records()} == {"loading model…"}
    assert not p.queue(NAMES) and not m.predicting  # nothing queued before it loads
    assert p.spec(GridSpec(n=16)) == GridSpec(n=16)  # the user's settings until then
    assert p.loaded(info) == []
    todo = p.owed()
    assert todo == NAMES and {r.pred_note for r in m.records()} == {""}
    assert p.spec(GridSpec(n=16)) == info["spec"]
    assert not p.queue(todo) and m.predicting == set(NAMES)
    taken = p.take(grids, p.spec(GridSpec()))
    assert taken.batch.keys == NAMES and not taken.missing and not p.waiting
    b = taken.batch
    result = predict_job("ch4-coremof", b.keys, b.x, b.densities)
    changed = p.apply(result)
    assert [r.name for r in changed] == NAMES and not m.predicting
    np.testing.assert_allclose([m.record(n).pred_mean for n in NAMES], result["mean"])
    assert all(m.record(n).pred_model == info["key"] for n in NAMES)
    assert m.rank(NAMES[int(np.argmax(result["mean"]))]) == 1
    # a late answer of a model no longer selected is dropped
    p.select("co2-coremof")
    assert p.apply(result) == [] and all(r.pred_mean is None for r in m.records())


def test_grids_of_other_settings_missing_grids_and_failures(ch4):
    info, grids = ch4
    m = _materials(NAMES)
    p = Predictions(m)
    p.select("ch4-coremof")
    p.loaded(info)
    other = dict(grids)
    other["SENWAL_clean"] = compute_grid(read_structure(demo("SENWAL_clean")), GridSpec(n=8))
    del other["DITYEM_clean"]
    p.queue(NAMES + NAMES[:1])  # a digest queued twice is predicted once
    taken = p.take(other, info["spec"])
    assert taken.batch.keys == ["PEKKAS_clean"] and taken.missing == ["DITYEM_clean"]
    assert m.record("SENWAL_clean").pred_note == OTHER_SPEC_NOTE
    assert "SENWAL_clean" not in m.predicting
    p.apply_error("out of memory")
    assert m.record("PEKKAS_clean").pred_note == "prediction failed: out of memory"
    assert not m.predicting
    assert p.failed("no such file").startswith("model failed to load")
    assert p.queue([f"d{i}" for i in range(PREDICT_BATCH)])  # a full batch: send now
    p.select(None)
    assert {r.pred_note for r in m.records()} == {"no model"} and not p.waiting

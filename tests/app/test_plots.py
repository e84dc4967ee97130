"""The Plots panel's data without Qt or a display: the uptake scatter's points, the point
under the mouse, and what a model folder records (shipped models, a real training run)."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from retvis.app.materials import Materials
from retvis.app.plots import X_AXES, model_records, nearest_point, scatter_points
from retvis.core.project import MaterialRecord
from retvis.errors import DataError
from retvis.ml.weights import read_card
from retvis.paths import resources_dir


def rec(digest, name, pred=None, **kw):
    return MaterialRecord(digest=digest, name=name, path=f"/x/{name}.cif", status="ok",
                          pred_mean=pred, **kw)  # fmt: skip


def loaded_card(folder):
    """A card as the app holds it once loaded (``load_model`` adds ``path``)."""
    return {**read_card(folder), "path": str(folder)}


def test_scatter_points_are_the_predicted_materials_with_a_value_on_x():
    m = Materials()
    m.add([rec("a", "MOF-5", 2.5, volume=17_000.0, n_atoms=424),
           rec("b", "hkust", None, volume=18_000.0),  # no prediction yet
           rec("c", "ZIF-8", 1.0, volume=None, label=0.9),  # no volume
           rec("d", "UiO-66", 3.0, volume=9_000.0, label=float("nan"))])  # fmt: skip
    pts = scatter_points(m, "volume")
    assert pts.digests == ("a", "d") and pts.names == ("MOF-5", "UiO-66")
    np.testing.assert_array_equal(pts.x, [17_000.0, 9_000.0])
    np.testing.assert_array_equal(pts.y, [2.5, 3.0])
    assert pts.x.dtype == np.float64 and pts.index() == {"a": 0, "d": 1}
    assert scatter_points(m, "label").digests == ("c",)  # nan is no value
    ranked = scatter_points(m, "rank")  # the table's rank, 1 for the highest prediction
    assert dict(zip(ranked.digests, ranked.x, strict=True)) == {"d": 1, "a": 2, "c": 3}
    m.update("b", pred_mean=4.0)
    assert scatter_points(m, "volume").digests == ("a", "b", "d")
    with pytest.raises(DataError, match="choose one of volume"):
        scatter_points(m, "void_fraction")
    assert set(X_AXES) >= {"volume", "density", "n_atoms", "label", "rank"}


def test_density_on_x_is_the_frameworks_from_its_formula_and_cell():
    from retvis.core.structure import formula_composition, read_structure
    from tests.conftest import demo

    m = Materials()
    structures = [read_structure(demo(n)) for n in ("FIQCEN_clean", "PEKKAS_clean")]
    m.add([rec(str(i), s.name, 1.0 + i, formula=s.formula, volume=s.volume)
           for i, s in enumerate(structures)])  # fmt: skip
    m.add([rec("x", "odd", 2.0, formula="not a formula", volume=100.0)])
    pts = scatter_points(m, "density")
    assert pts.digests == ("0", "1")  # no density without a formula
    np.testing.assert_allclose(pts.x, [s.density for s in structures], rtol=1e-12)
    assert formula_composition("C72H24Cu12O48") == {"C": 72, "H": 24, "Cu": 12, "O": 48}
    assert formula_composition("AlO") == {"Al": 1, "O": 1}
    assert formula_composition("C2 H4") == {} and formula_composition("") == {}


def test_nearest_point_within_the_radius():
    xy = np.array([[10.0, 10.0], [50.0, 50.0], [53.0, 50.0]])
    assert nearest_point(xy, (52.0, 51.0), 6) == 2
    assert nearest_point(xy, (12.0, 8.0), 6) == 0
    assert nearest_point(xy, (30.0, 30.0), 6) is None
    assert nearest_point(np.empty((0, 2)), (0.0, 0.0), 6) is None


@pytest.mark.parametrize("name", ["ch4-coremof", "co2-coremof"])
def test_a_shipped_model_records_its_test_parity_and_learning_curve_not_its_loss(name):
    folder = resources_dir() / "models" / name
    card = loaded_card(folder)
    rec_ = model_records(card)
    assert rec_.name == name and rec_.units == "mol/kg" and rec_.target == card["target"]["name"]
    p = rec_.parity
    split = json.loads((folder / "split.json").read_text())
    assert list(p.names) == split["test"]  # the run's test materials, none it trained on
    assert len(p.label) == len(p.prediction) == len(p.std) == card["training_set"]["n_test"]
    assert p.metrics["r2"] == card["evaluation_test"]["retnet"]["r2"]  # with its interval
    from retvis.ml.metrics import r2_score

    assert r2_score(p.label, p.prediction) == pytest.approx(p.metrics["r2"]["value"], abs=1e-6)
    summary = card["learning_curve"]["r2"]
    for model, key in (("RetNet", "retnet"), ("RF (Zeo++ descriptors)", "rf")):
        pts = rec_.curve[model]
        assert [str(q["size"]) for q in pts] == list(summary)
        assert [q["r2"]["value"] for q in pts] == pytest.approx([v[key] for v in summary.values()])
        assert all(q["r2"]["low"] <= q["r2"]["value"] <= q["r2"]["high"] for q in pts)
    assert rec_.histories is None
    best = ", ".join(str(m["best_epoch"]) for m in card["members"])
    assert "not recorded" in rec_.missing["loss"] and f"best epochs {best}" in rec_.missing["loss"]


def test_the_backbone_records_none_and_says_so():
    rec_ = model_records(loaded_card(resources_dir() / "models" / "retvis-backbone"))
    assert rec_.parity is None and rec_.curve is None and rec_.histories is None
    assert "test_predictions.csv" in rec_.missing["parity"]
    assert "retvis learning-curve" in rec_.missing["curve"]
    assert "history.jsonl" in rec_.missing["loss"]
    bare = model_records({"name": "x"})
    assert bare.missing["parity"] == "the model's folder is unknown"


def test_a_training_run_records_its_loss_and_after_evaluate_its_parity(
    trained_model, demo_set, tmp_path
):
    from retvis.ml.evaluate import evaluate_run

    run = tmp_path / "run"
    shutil.copytree(trained_model.parent, run)
    card = loaded_card(run / "model")
    rec_ = model_records(card)
    assert len(rec_.histories) == len(card["members"])
    for h, m in zip(rec_.histories, card["members"], strict=True):
        assert [r["epoch"] for r in h] == list(range(1, m["epochs_run"] + 1))
        assert h[-1]["best_epoch"] == m["best_epoch"]
        assert all(r["train_loss"] > 0 for r in h)
    assert rec_.parity is None and "retvis evaluate" in rec_.missing["parity"]
    assert rec_.curve is None
    res = evaluate_run(run, demo_set, demo_set / "labels.csv", split="test", n_boot=200)
    p = model_records(card).parity
    assert p.source == run / "eval_test" / "predictions.csv"
    assert list(p.names) == json.loads((run / "split.json").read_text())["test"]
    assert p.metrics["n"] == res["n"] == len(p.label)
    assert p.metrics["r2"]["value"] == pytest.approx(res["metrics"]["r2"]["value"], abs=1e-9)


def test_unreadable_records_are_missing_with_the_file_and_the_problem(tmp_path):
    src = resources_dir() / "models" / "ch4-coremof"
    folder = tmp_path / "ch4"
    folder.mkdir()
    for f in ("model.json", "learning_curve.json"):
        shutil.copy(src / f, folder / f)
    lines = (src / "test_predictions.csv").read_text().splitlines()
    lines[3] = lines[3].rsplit(",", 2)[0] + ",lots,0.1"
    (folder / "test_predictions.csv").write_text("\n".join(lines) + "\n")
    (folder / "learning_curve.json").write_text('{"retnet": [{"size": 25}]}')
    (folder / "history.jsonl").write_text('{"event": "epoch", "member": 0, "epoch": 1}\n')
    rec_ = model_records({**json.loads((folder / "model.json").read_text()), "path": str(folder)})
    assert rec_.parity is None and rec_.curve is None and rec_.histories is None
    assert rec_.missing["parity"] == (
        "Cannot read test_predictions.csv: line 4: prediction 'lots' is not a number"
    )
    assert rec_.missing["curve"].startswith("Cannot read learning_curve.json: a retnet point")
    assert rec_.missing["loss"].startswith("Cannot read history.jsonl: line 1: an epoch record")

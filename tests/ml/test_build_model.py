"""installer/build_model.py, the recipe of the shipped models, end to end on the demo set.

Labels are CoRE MOF 2019's void fractions of the 20 demo CIFs (a real property of
real structures); two epochs are enough to check what the recipe writes: a model the
app loads, the plots, and a card that states the test metrics beside the Random
Forest's, the learning curve and the data it saw.
"""

from __future__ import annotations

import csv
import importlib.util
import json
import re

import numpy as np
import pytest

from tests.conftest import DEMO, REPO, core_mof_table, needs_pyeqeq


def _build_model():
    spec = importlib.util.spec_from_file_location("build_model", REPO / "installer/build_model.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _void_fraction_labels(tmp_path, n=None):
    table = core_mof_table()
    labels = tmp_path / "vf.csv"
    with open(labels, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["name", "status", "uptake_mol_kg", "path"])
        for f in sorted(DEMO.glob("*.cif"))[:n]:
            w.writerow([f.stem, "ok", table[f.stem]["AV_VF"], f])
        w.writerow(["GONE_clean", "failed", "", DEMO / "GONE_clean.cif"])  # not ok: skipped
    return labels


@pytest.mark.slow
def test_recipe_writes_a_loadable_model_with_a_complete_card(tmp_path, capsys):
    from retvis.gui.widgets.model_picker import card_html
    from retvis.ml.weights import load_model

    labels = _void_fraction_labels(tmp_path)
    dest = tmp_path / "model"
    argv = ["--labels", str(labels), "--name", "vf", "--target-name", "void fraction"]
    argv += ["--units", "1", "--work", str(tmp_path / "work"), "--dest", str(dest)]
    argv += ["--ensemble", "2", "--curve-ensemble", "1", "--epochs", "2", "--threads", "2"]
    argv += ["--test-fraction", "0.35", "--per-volume"]  # as the shipped CH4 model
    assert _build_model().main(argv) == 0
    assert "vf: test R2" in capsys.readouterr().out

    for f in ("model.json", "member_0.pt", "member_1.pt", "split.json", "loss.png",
              "parity.png", "parity_rf.png", "learning_curve.json", "learning_curve.png"):  # fmt: skip
        assert (dest / f).is_file(), f
    card = json.loads((dest / "model.json").read_text())
    assert card["target"]["per_volume"] is True and "learned per volume" in card["description"]
    split = json.loads((dest / "split.json").read_text())
    ts = card["training_set"]
    assert ts["n_labels_at_training"] == 20 and ts["n_refused_by_reader"] == 0
    assert ts["n_train"] == len(split["train"]) and ts["labels"] == str(labels)
    ev = card["evaluation_test"]
    rf = ev["random_forest_same_split"]  # on the test materials Zeo++ could describe
    assert ev["retnet"]["n"] == len(split["test"]) == rf["n"] + rf["n_no_descriptors"]
    assert ev["mean_ensemble_std"] > 0
    # the default sizes of a small set: only the whole training split, and that point is
    # the ensemble just trained (reused, not trained again), so it scores as the card does
    n_train = len(split["train"])
    assert set(card["learning_curve"]["r2"]) == {str(n_train)}
    how = card["learning_curve"]["how"]
    assert f"the point at {n_train} is this model itself (an ensemble of 2)" in how
    assert "an ensemble of 1 at each size" in how
    r2_curve = card["learning_curve"]["r2"][str(n_train)]["retnet"]
    assert r2_curve == pytest.approx(ev["retnet"]["r2"]["value"], abs=1e-6)
    assert f"trained on 20 GCMC labels ({len(split['train'])} train" in card["maturity"]

    model = load_model(dest)  # what the app and `retvis predict` do
    assert len(model.card["members"]) == 2
    text = re.sub(r"<[^>]+>", " ", card_html(card))
    assert "Random Forest on the same split" in text and "Learning curve" in text
    grids = tmp_path / "work" / "grids"
    rho = json.loads((grids / "densities.json").read_text())[:3]
    mean, std = model.predict(np.load(grids / "voxels.npy")[:3], density=rho)
    assert mean.shape == (3,) and np.all(np.isfinite(mean)) and np.all(std >= 0)

    # --curve-only finishes an interrupted curve on the same split: sizes already
    # trained are reused, not trained again
    lc = tmp_path / "work" / "lc"
    stamp = (lc / f"retnet_{n_train}" / "metrics.json").stat().st_mtime_ns
    assert _build_model().main(argv + ["--curve-only", "--sizes", f"6,{n_train}"]) == 0
    assert (lc / f"retnet_{n_train}" / "metrics.json").stat().st_mtime_ns == stamp
    assert (lc / "retnet_6" / "model").is_dir()  # the new size was trained
    curve_r2 = json.loads((dest / "model.json").read_text())["learning_curve"]["r2"]
    assert set(curve_r2) == {"6", str(n_train)}


@pytest.mark.slow
def test_recipe_fine_tunes_from_a_shipped_model(tmp_path):
    """--init-from reaches the training run and the card says so (e.g. CO2 from CH4)."""
    dest = tmp_path / "model"
    argv = ["--labels", str(_void_fraction_labels(tmp_path)), "--name", "vf"]
    argv += ["--target-name", "void fraction", "--units", "1", "--work", str(tmp_path / "w")]
    argv += ["--dest", str(dest), "--ensemble", "1", "--epochs", "1", "--threads", "2"]
    argv += ["--test-fraction", "0.35", "--no-learning-curve"]
    argv += ["--init-from", "ch4-coremof", "--freeze-conv"]
    assert _build_model().main(argv) == 0
    card = json.loads((dest / "model.json").read_text())
    assert card["training_set"]["init_from"] == "ch4-coremof"
    assert card["training_set"]["freeze_conv"] is True
    assert "fine-tuned from ch4-coremof (fully connected head only)." in card["description"]


@pytest.mark.slow
@needs_pyeqeq
def test_recipe_trains_on_co2_probe_grids(tmp_path):
    """--probe CO2 reaches the grids (TraPPE CO2, EQeq charges): the model's grid spec
    and input scale are the CO2 probe's, and the card says so."""
    from retvis.ml.weights import load_model

    dest = tmp_path / "model"
    argv = ["--labels", str(_void_fraction_labels(tmp_path, n=8)), "--name", "vf"]
    argv += ["--target-name", "void fraction", "--units", "1", "--work", str(tmp_path / "w")]
    argv += ["--dest", str(dest), "--ensemble", "1", "--epochs", "1", "--threads", "2"]
    argv += ["--test-fraction", "0.35", "--no-learning-curve", "--probe", "CO2"]
    assert _build_model().main(argv) == 0
    card = json.loads((dest / "model.json").read_text())
    assert card["gridspec"]["probe"] == "CO2" and card["standardization"]["log"] is True
    assert "energy grid of a TraPPE CO2 probe with EQeq framework charges" in card["description"]
    assert card["training_set"]["n_labels_at_training"] == 8
    assert load_model(dest).spec.probe == "CO2"

"""Post-training calibration: ``y = a + b * prediction`` fitted on the validation split,
saved in the card, and applied by every prediction the model makes."""

import csv
import json
import shutil

import numpy as np
import pytest

from retvis.errors import WeightsError
from retvis.ml import data as D
from retvis.ml.config import MIN_CALIBRATION
from retvis.ml.metrics import point_metrics
from retvis.ml.train import TrainConfig, train_run
from retvis.ml.weights import fit_calibration, load_model, read_card
from tests.conftest import REPO


def test_fit_recovers_a_line_and_refuses_what_it_cannot_fit():
    rng = np.random.default_rng(0)
    pred = rng.uniform(0, 8, 200)
    cal = fit_calibration(-0.2 + 1.15 * pred + rng.normal(0, 0.01, 200), pred)
    assert cal["a"] == pytest.approx(-0.2, abs=0.01) and cal["b"] == pytest.approx(1.15, abs=0.01)
    assert cal["n"] == 200 and cal["fitted_on"] == "validation"
    few = fit_calibration(pred[: MIN_CALIBRATION - 1], pred[: MIN_CALIBRATION - 1])
    assert "b" not in few and "validation structures" in few["skipped"]
    assert "not positive" in fit_calibration(-pred, pred)["skipped"]
    assert "constant" in fit_calibration(pred, np.ones(200))["skipped"]


@pytest.fixture(scope="module")
def rotated_set(demo_set, tmp_path_factory):
    """The 20 demo grids and their three 90° rotations about z (80 grids, labels kept), so
    that a split has enough validation structures to fit a calibration on."""
    out = tmp_path_factory.mktemp("rot80")
    x = np.load(demo_set / "voxels.npy")
    names = json.loads((demo_set / "names.json").read_text())
    dens = json.loads((demo_set / "densities.json").read_text())
    grids = np.concatenate([np.rot90(x, k, axes=(1, 2)) for k in range(4)])
    np.save(out / "voxels.npy", np.ascontiguousarray(grids, dtype=np.float32))
    all_names = [f"{n}_r{k}" for k in range(4) for n in names]
    (out / "names.json").write_text(json.dumps(all_names))
    (out / "densities.json").write_text(json.dumps(dens * 4))
    shutil.copyfile(demo_set / "gridspec.json", out / "gridspec.json")
    labels = {r["name"]: r["value"] for r in csv.DictReader(open(demo_set / "labels.csv"))}
    with open(out / "labels.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["name", "value"])
        for k in range(4):
            w.writerows([f"{n}_r{k}", labels[n]] for n in names)
    return out


@pytest.mark.parametrize("calibrate", [True, False])
def test_training_fits_the_calibration_on_validation_and_the_model_applies_it(
    rotated_set, tmp_path, calibrate
):
    cfg = TrainConfig(epochs=2, batch_size=16, augment=False, units="1", val_fraction=0.3,
                      test_fraction=0.1, calibrate=calibrate)  # fmt: skip
    final = train_run(rotated_set, rotated_set / "labels.csv", tmp_path / "run", cfg)
    model = load_model(final["model"])
    split = json.loads((tmp_path / "run" / "split.json").read_text())
    vs = D.open_voxels(rotated_set)
    labels = {
        r["name"]: float(r["value"]) for r in csv.DictReader(open(rotated_set / "labels.csv"))
    }
    x, _ = vs.take([vs.index()[n] for n in split["val"]])
    y = np.array([labels[n] for n in split["val"]])
    mean, std = model.predict(x)
    metrics = final["metrics"]
    # the recorded validation metrics are those of the saved model's own predictions
    assert metrics["val"]["r2"] == pytest.approx(point_metrics(y, mean)["r2"], abs=1e-6)
    cal = model.card["calibration"]
    if not calibrate:
        assert cal is None and "val_uncalibrated" not in metrics and model.calibration == (0, 1)
        return
    assert cal["n"] == len(split["val"]) >= MIN_CALIBRATION and cal["b"] > 0
    a, b = cal["a"], cal["b"]
    raw = (mean - a) / b
    # least squares over all lines can only lower the validation error of the identity
    assert metrics["val"]["rmse"] <= metrics["val_uncalibrated"]["rmse"] + 1e-9
    assert metrics["val_uncalibrated"]["r2"] == pytest.approx(point_metrics(y, raw)["r2"], abs=1e-6)
    np.testing.assert_allclose(np.polyfit(raw, y, 1), [b, a], rtol=1e-4, atol=1e-6)


def test_a_card_calibration_maps_every_prediction_and_the_saliency(demo_set, tmp_path):
    folder = tmp_path / "m"
    shutil.copytree(REPO / "resources" / "models" / "ch4-coremof", folder)
    card = json.loads((folder / "model.json").read_text())
    card["calibration"] = None  # the networks' raw predictions
    (folder / "model.json").write_text(json.dumps(card))
    x = np.load(demo_set / "voxels.npy")[:4]
    dens = json.loads((demo_set / "densities.json").read_text())[:4]
    base = load_model(folder)
    mean0, std0 = base.predict(x, density=dens)
    sal0 = base.saliency(x[0], density=dens[0])
    card["calibration"] = {"a": 0.5, "b": 2.0, "n": 96, "fitted_on": "validation"}
    (folder / "model.json").write_text(json.dumps(card))
    model = load_model(folder)
    mean, std = model.predict(x, density=dens)
    np.testing.assert_allclose(mean, 0.5 + 2.0 * mean0, rtol=1e-6)
    np.testing.assert_allclose(std, 2.0 * std0, rtol=1e-6)
    np.testing.assert_allclose(model.saliency(x[0], density=dens[0]), 2.0 * sal0, rtol=1e-5)
    for bad in ({"a": 0.0, "b": -1.0}, {"a": float("nan"), "b": 1.0}, {"b": 1.0}):
        card["calibration"] = bad
        (folder / "model.json").write_text(json.dumps(card))
        with pytest.raises(WeightsError, match="bad calibration"):
            read_card(folder)


def test_evaluate_calibrate_fits_an_older_model_once_from_its_raw_predictions(
    rotated_set, tmp_path, capsys
):
    """``retvis evaluate --calibrate`` gives a model trained without calibration the line
    training would have fitted; run twice, it refits from the raw predictions (no stacking)."""
    from retvis.cli import main

    cfg = TrainConfig(epochs=2, batch_size=16, augment=False, units="1", val_fraction=0.3,
                      test_fraction=0.1, calibrate=False)  # fmt: skip
    run = tmp_path / "run"
    train_run(rotated_set, rotated_set / "labels.csv", run, cfg)
    split = json.loads((run / "split.json").read_text())
    vs = D.open_voxels(rotated_set)
    x, _ = vs.take([vs.index()[n] for n in split["val"]])
    labels = {
        r["name"]: float(r["value"]) for r in csv.DictReader(open(rotated_set / "labels.csv"))
    }
    y = np.array([labels[n] for n in split["val"]])
    raw, _ = load_model(run).predict(x)
    want = fit_calibration(y, raw)
    args = ["evaluate", str(run), str(rotated_set), str(rotated_set / "labels.csv"), "--calibrate"]
    for _ in range(2):
        assert main(args) == 0
        cal = read_card(run / "model")["calibration"]
        assert cal["a"] == pytest.approx(want["a"], rel=1e-6, abs=1e-9)
        assert cal["b"] == pytest.approx(want["b"], rel=1e-6)
    np.testing.assert_allclose(
        load_model(run).predict(x)[0], want["a"] + want["b"] * raw, rtol=1e-6
    )
    out = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert out[0]["event"] == "calibration" and out[1]["event"] == "evaluation"

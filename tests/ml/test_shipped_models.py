"""The shipped models, from CIF to prediction, on structures of their own test splits.

A model card's metrics come from predictions on grids computed when it was built;
``test_predictions.csv`` beside the weights records them. Here four of those CIFs per
model (``tests/data/<guest>_test_split``) go through the whole chain a user's structure
takes: reader, (for CO2) EQeq charges, the model's energy grid, the ensemble, the density
that turns its per-volume output into mol/kg, the calibration. A change anywhere in it
that moves a prediction fails this test.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import needs_pyeqeq

DATA = Path(__file__).resolve().parents[1] / "data"


@pytest.mark.parametrize(
    ("name", "folder", "probe"),
    [
        ("ch4-coremof", "ch4_test_split", "sphere"),
        pytest.param("co2-coremof", "co2_test_split", "CO2", marks=needs_pyeqeq),
    ],
)
def test_a_shipped_model_reproduces_its_recorded_test_predictions_from_the_cifs(
    name, folder, probe
):
    from retvis.core.grid import compute_grid
    from retvis.core.structure import read_structure
    from retvis.ml.weights import load_model
    from retvis.paths import models_dir

    model = load_model(name)
    assert model.spec.probe == probe and model.per_volume
    with open(models_dir() / name / "test_predictions.csv", newline="") as fh:
        recorded = {r["name"]: r for r in csv.DictReader(fh)}
    split = (models_dir() / name / "split.json").read_text()

    cifs = sorted((DATA / folder).glob("*.cif"))
    assert len(cifs) == 4
    names = [f.stem for f in cifs]
    assert all(n in recorded and f'"{n}"' in split for n in names)
    structures = [read_structure(f) for f in cifs]
    grids = np.stack([compute_grid(s, model.spec).boltzmann for s in structures])
    mean, std = model.predict(grids, density=[s.density for s in structures])

    want = np.array([float(recorded[n]["prediction"]) for n in names])
    want_std = np.array([float(recorded[n]["std"]) for n in names])
    np.testing.assert_allclose(mean, want, rtol=2e-3, atol=2e-3)
    np.testing.assert_allclose(std, want_std, rtol=2e-2, atol=2e-3)
    # one grid at a time (as the app predicts them; a batch of one runs doubled) and
    # batches of three and one give the same numbers as the batch of four
    for k, s in enumerate(structures):
        m1, s1 = model.predict(grids[k], density=s.density)
        np.testing.assert_allclose([m1[0], s1[0]], [mean[k], std[k]], rtol=1e-5, atol=1e-6)
    m3, _ = model.predict(grids, batch_size=3, density=[s.density for s in structures])
    np.testing.assert_allclose(m3, mean, rtol=1e-5, atol=1e-6)
    # and these four, spread over the labels' range, come out in the GCMC order
    labels = np.array([float(recorded[n]["label"]) for n in names])
    assert list(np.argsort(mean)) == list(np.argsort(labels))


@pytest.mark.parametrize("name", ["ch4-coremof", "co2-coremof"])
def test_the_recorded_test_predictions_give_the_cards_metrics(name):
    """``test_predictions.csv`` is what the card's test metrics were computed from."""
    from sklearn.metrics import mean_absolute_error, r2_score

    from retvis.ml.weights import load_model
    from retvis.paths import models_dir

    card = load_model(name).card
    with open(models_dir() / name / "test_predictions.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    y = np.array([float(r["label"]) for r in rows])
    p = np.array([float(r["prediction"]) for r in rows])
    assert len(rows) == card["training_set"]["n_test"]
    # ``retvis evaluate`` (on the CPU) wrote them and the card's evaluation; the
    # training's own test figures (``metrics``, on the training device: cuDNN's TF32
    # convolutions on a GPU) agree to a few 1e-5
    ev = card["evaluation_test"]["retnet"]
    assert r2_score(y, p) == pytest.approx(ev["r2"]["value"], abs=1e-6)
    assert mean_absolute_error(y, p) == pytest.approx(ev["mae"]["value"], abs=1e-6)
    assert r2_score(y, p) == pytest.approx(card["metrics"]["test"]["r2"], abs=1e-3)

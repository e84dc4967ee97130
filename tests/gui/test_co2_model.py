"""Switching the app to the shipped CO2 model: its grids, its predictions, its units.

The app opens on the CH4 model (a Lennard-Jones sphere's grid); choosing co2-coremof in
the toolbar must compute every grid again with the CO2 probe and EQeq charges, and the
table must then show what the model recorded for these structures of its test split
(``test_predictions.csv``), in its own units.
"""

from __future__ import annotations

import csv
import importlib.util
from pathlib import Path

import numpy as np
import pytest

DATA = Path(__file__).resolve().parents[1] / "data" / "co2_test_split"

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("pyeqeq") is None,
    reason="the CO2 probe's EQeq charges need pyeqeq's element data (.ci/test installs it)",
)


def test_choosing_the_co2_model_recomputes_grids_and_predicts_its_recorded_values(
    qtbot, make_window, drop, all_finished
):
    from PySide6.QtCore import Qt

    from retvis.gui.materials_model import COL
    from retvis.paths import models_dir

    cifs = sorted(DATA.glob("*.cif"))
    with open(models_dir() / "co2-coremof" / "test_predictions.csv", newline="") as fh:
        recorded = {r["name"]: float(r["prediction"]) for r in csv.DictReader(fh)}

    win = make_window(workers=2)
    drop(win, cifs)
    qtbot.waitUntil(lambda: all_finished(win, len(cifs)), timeout=120_000)
    assert win.grid_spec.probe != "CO2"  # the CH4 model's sphere

    picker = win.model_picker
    qtbot.waitUntil(lambda: picker.combo.findData("co2-coremof") >= 0, timeout=60_000)
    i = picker.combo.findData("co2-coremof")
    picker.combo.setCurrentIndex(i)
    picker.combo.activated.emit(i)  # what a user's click in the list sends

    def predicted_by_co2():
        recs = win.model.records()
        return len(recs) == len(cifs) and all(
            r.pred_mean is not None and r.pred_model.startswith("co2-coremof@") for r in recs
        )

    qtbot.waitUntil(predicted_by_co2, timeout=180_000)
    assert win.grid_spec.probe == "CO2"
    assert all(g.spec.probe == "CO2" for g in win._grids.values())
    got = {r.name: r.pred_mean for r in win.model.records()}
    names = sorted(got)
    np.testing.assert_allclose(
        [got[n] for n in names], [recorded[n] for n in names], rtol=2e-3, atol=2e-3
    )
    header = win.model.headerData(COL["uptake"], Qt.Orientation.Horizontal)
    assert header == "CO2 uptake (mol/kg)"  # the conditions are in its tooltip
    tip = win.model.headerData(
        COL["uptake"], Qt.Orientation.Horizontal, Qt.ItemDataRole.ToolTipRole
    )
    assert "0.15 bar" in tip

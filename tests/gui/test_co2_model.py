"""Switching the app to the shipped CO2 model: its grids, its predictions, its units.

The app opens on the CH4 model (a Lennard-Jones sphere's grid); choosing co2-coremof in
the toolbar must compute every grid again with the CO2 probe and EQeq charges, and the
table must then show what the model recorded for these structures of its test split
(``test_predictions.csv``), in its own units.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from tests.conftest import needs_pyeqeq

DATA = Path(__file__).resolve().parents[1] / "data" / "co2_test_split"

pytestmark = needs_pyeqeq


def test_choosing_the_co2_model_recomputes_grids_and_predicts_its_recorded_values(
    qtbot, make_window, drop, all_finished
):
    """RUBTAK04 (demo set) joins them: its EQeq charges are unphysical, so it fails
    under the CO2 model with that reason, and is computed and predicted again when the
    CH4 model is chosen back."""
    from PySide6.QtCore import Qt

    from retvis.gui.materials_model import COL
    from retvis.paths import demo_dir, models_dir

    test_split = sorted(DATA.glob("*.cif"))
    cifs = [*test_split, demo_dir() / "RUBTAK04_clean.cif"]
    with open(models_dir() / "co2-coremof" / "test_predictions.csv", newline="") as fh:
        recorded = {r["name"]: float(r["prediction"]) for r in csv.DictReader(fh)}

    win = make_window(workers=2)
    drop(win, cifs)
    qtbot.waitUntil(lambda: all_finished(win, len(cifs)), timeout=120_000)
    assert win.grid_spec.probe != "CO2"  # the CH4 model's sphere

    assert all(r.status == "ok" for r in win.model.records())
    picker = win.model_picker

    def choose(name):
        qtbot.waitUntil(lambda: picker.combo.findData(name) >= 0, timeout=60_000)
        i = picker.combo.findData(name)
        picker.combo.setCurrentIndex(i)
        picker.combo.activated.emit(i)  # what a user's click in the list sends

    def predicted_by(name, n):
        def done():
            recs = [r for r in win.model.records() if r.status not in ("queued", "running")]
            ok = [r for r in recs if r.status == "ok"]
            return (
                len(recs) == len(cifs)
                and len(ok) == n
                and all(r.pred_mean is not None and r.pred_model.startswith(f"{name}@") for r in ok)
            )

        return done

    choose("co2-coremof")
    qtbot.waitUntil(predicted_by("co2-coremof", len(test_split)), timeout=180_000)
    assert win.grid_spec.probe == "CO2"
    assert all(g.spec.probe == "CO2" for g in win.memory.grids.values())
    bad = next(r for r in win.model.records() if r.name == "RUBTAK04_clean")
    assert bad.status == "failed" and "EQeq charges are unphysical" in bad.reason
    got = {r.name: r.pred_mean for r in win.model.records() if r.status == "ok"}
    names = sorted(got)
    assert len(names) == len(test_split)
    np.testing.assert_allclose(
        [got[n] for n in names], [recorded[n] for n in names], rtol=2e-3, atol=2e-3
    )
    # a picked atom gives its EQeq charge, the one the CO2 probe's grid used
    from retvis.core.charges import eqeq_ewald_charges

    first = next(r for r in win.model.records() if r.status == "ok")
    win.table.select_digest(first.digest)
    v = win.viewer
    qtbot.waitUntil(lambda: v._charges is not None and v._actors is not None, timeout=30_000)
    v._on_pick(v._actors.positions[0])
    q = eqeq_ewald_charges(v._structure)[v._actors.atom[0]]
    assert f"charge {q:+.3f} e" in v.message.text()
    header = win.model.headerData(COL["uptake"], Qt.Orientation.Horizontal)
    assert header == "CO2 uptake (mol/kg)"  # the conditions are in its tooltip
    tip = win.model.headerData(
        COL["uptake"], Qt.Orientation.Horizontal, Qt.ItemDataRole.ToolTipRole
    )
    assert "0.15 bar" in tip

    # back to CH4: RUBTAK04's failure was the CO2 probe's, so it is computed again
    choose("ch4-coremof")
    qtbot.waitUntil(predicted_by("ch4-coremof", len(cifs)), timeout=180_000)
    assert win.grid_spec.probe != "CO2"

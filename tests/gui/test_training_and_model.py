"""Train through the dialog (a real `retvis train` child), stop it, and use the model.

One run covers: JSON lines read live, the Stop button (STOP file), registration of the
model, predictions with ensemble spread in the table, ranks, the model card, feature
maps, saliency and fingerprints. Labels are the structures' real framework densities
(g/cm³), so the model learns a genuine property of the grids; it learns them per volume,
so the app's predictions and saliency go through each grid's density.
"""

from __future__ import annotations

import csv

import numpy as np
import pytest


def test_train_stop_register_predict_inspect(
    qtbot, make_window, drop, all_finished, demo_cifs, tmp_path
):
    from retvis.core.structure import read_structure

    labels = tmp_path / "density.csv"
    with labels.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["name", "density"])
        for p in demo_cifs:
            w.writerow([p.stem, read_structure(p).density])

    win = make_window(workers=2)
    drop(win, demo_cifs)
    qtbot.waitUntil(lambda: all_finished(win, len(demo_cifs)), timeout=90_000)
    assert win.projects.import_labels(labels) == len(demo_cifs)
    # the labels reader of the CLI: a NaN, a negative value or a name twice is refused
    # with the file and row, not matched silently
    from retvis.errors import DataError

    for body, why in (("x,nan", "row 2"), ("x,-1", "negative"), ("x,1\nx,2", "duplicated")):
        bad = tmp_path / "bad.csv"
        bad.write_text(f"name,value\n{body}\n")
        with pytest.raises(DataError, match=f"bad.csv.*{why}"):
            win.projects.import_labels(bad)

    dlg = win.simulations.training_dialog()
    qtbot.addWidget(dlg)
    dlg.epochs.setValue(200)
    dlg.batch.setValue(8)
    dlg.units.setText("g/cm3")
    dlg.target_name.setText("density")
    dlg.name.setText("density test")
    dlg.per_volume.setChecked(True)  # predicting and saliency then need each grid's density
    assert dlg.start(), dlg.status.text()
    # live JSON lines: wait for two epochs, then Stop (writes RUN_DIR/STOP)
    qtbot.waitUntil(
        lambda: sum(r.get("event") == "epoch" for r in dlg.records) >= 2, timeout=150_000
    )
    assert dlg.curves.history[0][0]["train_loss"] > 0
    with qtbot.waitSignal(dlg.model_registered, timeout=90_000) as sig:
        dlg.stop_button.click()
    assert sig.args == ["density-test"]
    assert dlg.final["status"] == "cancelled" and dlg.final["model"]
    assert not (dlg.run_dir / "STOP").exists()
    import json
    from pathlib import Path

    card = json.loads((Path(dlg.final["model"]) / "model.json").read_text())
    assert card["target"]["per_volume"] is True
    # calibrated by default; 2 validation structures are too few, which the card says
    assert dlg.calibrate.isChecked() and "2 validation structures" in card["calibration"]["skipped"]
    epochs_run = sum(r.get("event") == "epoch" for r in dlg.records)
    assert 2 <= epochs_run < 200

    # the registered model is selected and predicts every computed row
    assert win.predictions.ref == "density-test"
    qtbot.waitUntil(
        lambda: all(r.pred_mean is not None for r in win.model.records()), timeout=120_000
    )
    recs = win.model.records()
    assert all(np.isfinite(r.pred_mean) and r.pred_std is not None for r in recs)
    assert sorted(win.model.rank(r.digest) for r in recs) == list(range(1, len(recs) + 1))
    assert win.session.project.models()[-1]["name"] == "density-test"  # the most recently used
    assert win.model_picker.card_button.isEnabled()
    from PySide6.QtCore import Qt

    from retvis.gui.materials_model import COL

    header = win.model.headerData(COL["uptake"], Qt.Orientation.Horizontal)
    assert header == "density (g/cm3)"
    tip = win.model.headerData(
        COL["uptake"], Qt.Orientation.Horizontal, Qt.ItemDataRole.ToolTipRole
    )
    assert tip.startswith("Predicted density")
    win.models.show_model_card()

    # feature maps (gallery), saliency and fingerprints of the selected material
    win.show_viewer()
    key = next(r.digest for r in recs if r.name == "FIQCEN_clean")
    win.table.select_digest(key)
    win.viewer.mode.setCurrentText("Feature maps")
    qtbot.waitUntil(lambda: ("feature_maps", "conv1") in win.viewer._fields, timeout=60_000)
    maps = win.viewer._fields[("feature_maps", "conv1")]
    assert maps.ndim == 4 and maps.shape[0] == 12
    assert win.viewer.active_plotter() is not win.viewer.plotter  # the gallery layout
    img = win.viewer.screenshot()
    assert img.std() > 10
    # a tall, narrow view lays the gallery out again, the enlarged channel on top across
    # the width; a wide one puts it on the left
    for size, tall in (((480, 900), True), ((1200, 560), False)):
        win.viewer.window().resize(*size)

        def laid_out(tall=tall):
            rows, cols = win.viewer.active_plotter().shape
            return (rows > cols) == tall

        qtbot.waitUntil(laid_out, timeout=10_000)
        assert win.viewer.screenshot().std() > 10
    win.viewer.mode.setCurrentText("Saliency")
    qtbot.waitUntil(lambda: ("saliency", "") in win.viewer._fields, timeout=60_000)
    assert win.viewer._fields[("saliency", "")].shape == (25, 25, 25)
    assert "saliency" in win.viewer.message.text()
    qtbot.waitUntil(lambda: win.fingerprints.has_plot, timeout=60_000)
    # the plot (drawn on the model's worker thread) shows bars in matplotlib's first colour
    from PySide6.QtGui import QImage

    label = win.fingerprints.image
    qtbot.waitUntil(lambda: not label.pixmap().isNull(), timeout=5_000)
    shown = label.pixmap().deviceIndependentSize()
    assert shown.width() <= label.width() + 1 and shown.height() <= label.height() + 1, "clipped"
    qimg = label.pixmap().toImage().convertToFormat(QImage.Format.Format_RGB888)
    w, h = qimg.width(), qimg.height()
    px = np.frombuffer(qimg.constBits(), np.uint8).reshape(h, qimg.bytesPerLine())
    px = px[:, : 3 * w].reshape(h, w, 3).astype(int)
    assert w > 100 and h > 100 and px.std() > 10
    blue = (np.abs(px - np.array([31, 119, 180])).max(axis=2) < 30).mean()
    assert blue > 0.002, f"no bar-coloured pixels ({blue:.4f})"


def test_training_dialog_fine_tunes_an_installed_model(qtbot, demo_set):
    """The "Start from" box lists the installed models; the run starts from the one chosen
    (the dialog on its own: the window's Train action is tested above)."""
    import json
    from pathlib import Path

    from retvis.gui.widgets.training_dialog import TrainingDialog

    dlg = TrainingDialog()
    qtbot.addWidget(dlg)
    dlg.show()
    from retvis.errors import SpecError
    from retvis.ml.config import TrainConfig

    # the dialog's defaults and bounds are retvis train's
    assert dlg.epochs.value() == TrainConfig().epochs
    assert dlg.batch.value() == TrainConfig().batch_size
    with pytest.raises(SpecError):
        TrainConfig(batch_size=dlg.batch.minimum() - 1).validate()
    TrainConfig(batch_size=dlg.batch.minimum()).validate()
    sources = [dlg.init_from.itemData(i) for i in range(dlg.init_from.count())]
    # the backbone first, the default; random weights one choice away
    assert sources[:2] == ["backbone", None] and "ch4-coremof" in sources
    assert dlg.init_from.currentText() == "RetVis backbone (pretrained)"
    assert (
        "--from-scratch" not in dlg.train_args(Path("v"), Path("l")) and dlg.freeze_conv.isEnabled()
    )
    dlg.init_from.setCurrentIndex(1)
    assert "--from-scratch" in dlg.train_args(Path("v"), Path("l"))
    assert not dlg.freeze_conv.isEnabled()
    dlg.init_from.setCurrentIndex(sources.index("ch4-coremof"))
    assert dlg.freeze_conv.isEnabled()
    dlg.freeze_conv.setChecked(True)
    dlg.from_folder.setChecked(True)
    dlg.voxels.setText(str(demo_set))
    dlg.labels.setText(str(demo_set / "labels.csv"))  # void fractions of the demo CIFs
    dlg.epochs.setValue(2)
    dlg.units.setText("1")
    dlg.name.setText("vf tuned")
    with qtbot.waitSignal(dlg.model_registered, timeout=180_000):
        assert dlg.start(), dlg.status.text()
    card = json.loads((Path(dlg.final["model"]) / "model.json").read_text())
    assert card["training_set"]["init_from"] == "ch4-coremof"
    assert card["training_set"]["freeze_conv"] is True

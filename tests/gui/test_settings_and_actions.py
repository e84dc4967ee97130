"""Settings persist in QSettings; shortcuts are wired; the About box credits the sources."""

from __future__ import annotations

from retvis.core.grid import GridSpec


def test_settings_shortcuts_and_about(qtbot, make_window, no_shipped_model):
    """Settings round-trip through the INI file and apply to the window; invalid values
    are refused; the shortcuts are wired; the About box credits the sources."""
    from PySide6.QtGui import QKeySequence

    from retvis.gui.settings import AppSettings
    from retvis.gui.widgets.about import ABOUT_HTML
    from retvis.gui.widgets.settings_dialog import SettingsDialog

    win = make_window(workers=1)
    dlg = SettingsDialog(win.settings, win)
    qtbot.addWidget(dlg)
    dlg.n.setValue(16)
    dlg.workers.setValue(3)
    dlg.cache.setChecked(False)
    new = dlg.result_settings()
    assert new.spec == GridSpec(n=16) and new.workers == 3 and not new.use_cache
    win.apply_settings(new)
    assert win.grid_runner.workers == 3
    assert win.grid_spec == GridSpec(n=16)  # no model loaded: the user's spec
    loaded = AppSettings.load()  # read back from the INI file in the user data folder
    assert loaded.spec == GridSpec(n=16) and loaded.workers == 3 and loaded.use_cache is False
    dlg.probe.setCurrentIndex(dlg.probe.findData("CO2"))  # the CO2 probe has no ε, σ
    assert not dlg.eps.isEnabled() and not dlg.sigma.isEnabled()
    assert dlg.result_settings().spec == GridSpec(n=16, probe="CO2")
    dlg._defaults()
    assert dlg.result_settings().spec == GridSpec() and dlg.eps.isEnabled()

    # the smallest values the dialog offers are still valid: positive numbers
    dlg = SettingsDialog(win.settings, win)
    qtbot.addWidget(dlg)
    dlg.cutoff.setValue(1.0)
    dlg.temperature.setValue(1.0)
    dlg.accept()
    assert dlg.result() == 1

    keys = {a.text().replace("&", ""): a.shortcut().toString() for a in win.actions()}
    assert keys["Open Files…"] == QKeySequence("Ctrl+O").toString()
    assert keys["Export Table…"] == "Ctrl+E"
    assert keys["Find"] == QKeySequence("Ctrl+F").toString()
    assert keys["Cancel"] == "Esc"
    assert keys["Quit"] == QKeySequence("Ctrl+Q").toString()
    assert keys["About RetVis"] == "F1"
    for credit in (
        "Sarikas",
        "University of Crete",
        "2024",
        "CoRE MOF 2019",
        "CC-BY 4.0",
        "RASPA3",
        "Zeo++",
    ):
        assert credit in ABOUT_HTML


def test_log_file_in_user_log_dir(tmp_path):
    import logging

    from retvis.gui.app import setup_logging
    from retvis.paths import log_dir

    path = setup_logging()
    assert path.parent == log_dir()
    logging.getLogger("retvis.gui.test").warning("hello from the test")
    for h in logging.getLogger("retvis").handlers:
        h.flush()
    assert "hello from the test" in path.read_text()
    root = logging.getLogger("retvis")
    for h in list(root.handlers):  # do not leak the handler into other tests
        if getattr(h, "baseFilename", "") == str(path):
            root.removeHandler(h)
            h.close()


def test_model_card_shows_test_metrics_against_the_baseline():
    """The shipped card: RetNet's test R² with its interval beside the Random Forest's."""
    import json
    import re

    from retvis.gui.widgets.model_picker import card_html
    from retvis.paths import models_dir

    card = json.loads((models_dir() / "ch4-coremof" / "model.json").read_text())
    text = re.sub(r"<[^>]+>", " ", card_html(card))
    ev = card["evaluation_test"]
    r2 = ev["retnet"]["r2"]
    assert f"R² {r2['value']:.3f} [{r2['low']:.2f}, {r2['high']:.2f}]" in text
    rf = ev["random_forest_same_split"]["metrics"]["r2"]
    assert f"Random Forest on the same split: R² {rf['value']:.3f}" in text
    assert "Learning curve" in text
    q = card["training_set"]["label_quantiles"]  # where the top-end note starts
    assert f"95 % below {q['p95']:.3g}" in text and f"median {q['p50']:.3g}" in text
    # the grid settings in words, not as the card's JSON
    import html as html_mod

    row = card_html(card).split("Grid settings</th>", 1)[1].split("</tr>", 1)[0]
    row = html_mod.unescape(row)
    assert "25³ points, sphere probe (ε 50 K, σ 2.5 Å), 10 Å cutoff, 298 K, UFF" in row
    assert "{" not in row


def test_model_card_says_when_a_model_learned_per_volume():
    import html

    from retvis.gui.widgets.model_picker import card_html

    target = {"name": "CH4 uptake", "units": "mol/kg"}
    assert "per volume" not in card_html({"target": target})
    text = html.unescape(card_html({"target": {**target, "per_volume": True}}))
    assert "divided by its structure's density" in text


def test_model_card_shows_its_calibration():
    import html

    from retvis.gui.widgets.model_picker import card_html

    assert "Calibrated" not in card_html({"target": {}, "calibration": None})
    cal = {"a": -0.194, "b": 1.151, "n": 96, "fitted_on": "validation"}
    text = html.unescape(card_html({"target": {}, "calibration": cal}))
    assert "y = -0.194 + 1.15 x" in text and "96 validation structures" in text


def test_model_card_shows_its_external_evaluations():
    import html

    from retvis.gui.widgets.model_picker import card_html

    r2 = {"value": 0.512, "low": 0.31, "high": 0.66}
    m = {"r2": r2, "mae": {"value": 0.874}, "spearman": {"value": 0.81}}
    card = {
        "target": {"units": "mol/kg"},
        "evaluations_external": {"cofs": {"n": 77, "metrics": m}},
    }
    text = html.unescape(card_html(card))
    assert "Tested on cofs" in text and "R² 0.512 [0.31, 0.66]" in text
    assert "MAE 0.874 mol/kg" in text and "Spearman 0.81" in text and "n = 77" in text


def test_a_flagged_prediction_shows_a_warning_and_its_reason(qtbot):
    from PySide6.QtCore import Qt

    from retvis.core.project import MaterialRecord
    from retvis.gui.materials_model import COL, MaterialsModel

    m = MaterialsModel()
    m.add([MaterialRecord("a", "ok_one", "/x/a.cif"), MaterialRecord("b", "odd_one", "/x/b.cif")])
    note = "negative prediction: outside what the model learned"
    m.update_many(
        {
            "a": dict(status="ok", pred_mean=2.0, pred_std=0.1),
            "b": dict(status="ok", pred_mean=-3.0, pred_std=2.0, pred_note=note),
        }
    )
    col = COL["uptake"]
    a, b = m.index(m.row_of("a"), col), m.index(m.row_of("b"), col)
    assert m.data(a) == "2.000 ± 0.100"
    assert m.data(b) == "-3.000 ± 2.000 ⚠"
    assert m.data(b, Qt.ItemDataRole.ToolTipRole) == note

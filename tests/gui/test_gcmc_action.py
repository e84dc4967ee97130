"""Run > Simulate Uptake runs the real `retvis label` child; labels land in the table."""

from __future__ import annotations

import pytest


def test_gcmc_labels_the_selected_row(qtbot, make_window, drop, all_finished, demo_dir):
    from retvis.gui.widgets.gcmc_dialog import label_command_available

    if not label_command_available():
        pytest.skip("no `retvis label` command in this RetVis (the sim package)")
    win = make_window()
    drop(win, [demo_dir / "PEKKAS_clean.cif"])  # 39 atoms: seconds with few cycles
    qtbot.waitUntil(lambda: all_finished(win, 1), timeout=60_000)
    win.table.selectRow(0)
    assert win.act_gcmc.isEnabled()
    dlg = win.gcmc_dialog()
    qtbot.addWidget(dlg)
    dlg.init_cycles.setValue(20)
    dlg.cycles.setValue(40)
    with qtbot.waitSignal(dlg.labelled, timeout=180_000) as sig:
        assert dlg.start()
    name, value, source = sig.args
    assert name == "PEKKAS_clean" and value >= 0 and source.startswith("GCMC CH4")
    rec = win.model.records()[0]
    assert rec.label == value and rec.label_source == source
    qtbot.waitUntil(lambda: not dlg.process.running(), timeout=60_000)
    assert "Finished 1 of 1" in dlg.status.text()

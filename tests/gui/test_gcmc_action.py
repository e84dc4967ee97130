"""Run > Simulate Uptake runs the real `retvis label` child; labels land in the table."""

from __future__ import annotations


def test_gcmc_labels_the_selected_row(qtbot, make_window, drop, all_finished, demo_dir):
    from retvis.paths import data_dir
    from retvis.sim.gcmc import Protocol
    from retvis.sim.labels import LabelTable

    win = make_window()
    drop(win, [demo_dir / "PEKKAS_clean.cif"])  # 39 atoms: seconds with few cycles
    qtbot.waitUntil(lambda: all_finished(win, 1), timeout=60_000)
    win.table.selectRow(0)
    assert win.act_gcmc.isEnabled()
    dlg = win.gcmc_dialog()
    qtbot.addWidget(dlg)
    dlg.init_cycles.setValue(20)
    dlg.cycles.setValue(40)
    dlg.charges.setChecked(True)  # CH4 has no charges: refused before anything runs
    assert not dlg.start() and "no difference for the uncharged CH4" in dlg.status.text()
    dlg.charges.setChecked(False)
    # one table per protocol; a row of another protocol in it is not this run's label
    ident = Protocol(init_cycles=20, cycles=40).identity()
    table = data_dir() / "labels" / f"{ident}.csv"
    table.parent.mkdir(parents=True, exist_ok=True)
    LabelTable(table).append({"name": "PEKKAS_clean", "status": "ok", "uptake_mol_kg": 99.0,
                              "uptake_err_mol_kg": 0.1, "protocol": "CH4-other"})  # fmt: skip
    with qtbot.waitSignal(dlg.labelled, timeout=180_000) as sig:
        assert dlg.start()
    assert dlg.out == table
    name, value, source = sig.args
    assert name == "PEKKAS_clean" and 0 <= value < 99 and source == f"GCMC {ident}"
    rec = win.model.records()[0]
    assert rec.label == value and rec.label_source == source
    qtbot.waitUntil(lambda: not dlg.process.running(), timeout=60_000)
    assert "Finished 1 of 1" in dlg.status.text()

"""Run > Simulate Uptake runs the real `retvis label` child; labels land in the table."""

from __future__ import annotations


def test_gcmc_and_active_learning_from_the_app(qtbot, make_window, drop, all_finished, demo_dir):
    """Run > Simulate Uptake on the selected row, then Run > Active Learning on four demo
    MOFs, in one window."""
    names = ["PEKKAS_clean", "SENWAL_clean", "ODIXEG_clean", "DEKHUX_clean"]
    win = make_window()
    drop(win, [demo_dir / f"{n}.cif" for n in names])
    qtbot.waitUntil(lambda: all_finished(win, 4), timeout=120_000)
    _gcmc_labels_the_selected_row(qtbot, win)
    _active_learning_runs_two_rounds(qtbot, win, names)


def _gcmc_labels_the_selected_row(qtbot, win):
    from retvis.paths import data_dir
    from retvis.sim.gcmc import Protocol
    from retvis.sim.labels import LabelTable

    pekkas = next(r for r in win.model.records() if r.name == "PEKKAS_clean")
    win.table.select_digest(pekkas.digest)  # 39 atoms: seconds with few cycles
    assert [r.name for r in win.table.selected_records()] == ["PEKKAS_clean"]
    assert win.act_gcmc.isEnabled()
    dlg = win.simulations.gcmc_dialog()
    qtbot.addWidget(dlg)
    # a guest brings its usual pressure and, when it is charged, framework charges
    for guest, bar, charged in (("CO2", 0.15, True), ("Xe", 1.0, False), ("CH4", 5.8, False)):
        dlg.guest.setCurrentText(guest)
        assert (dlg.pressure.value(), dlg.charges.isChecked()) == (bar, charged), guest
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
    rec = win.model.record(pekkas.digest)
    assert rec.label == value and rec.label_source == source
    qtbot.waitUntil(lambda: not dlg.process.running(), timeout=60_000)
    assert "Finished 1 of 1" in dlg.status.text()


def _active_learning_runs_two_rounds(qtbot, win, names):
    """Budget 4 in batches of 2, short GCMC: the real `retvis learn` child runs two
    rounds; the labels land in the table, the second round was chosen by the surrogate,
    and the plot shows both rounds."""
    import numpy as np

    from retvis.app.learn import LearningRun

    win.table.clearSelection()  # one selected row is not a pool: all rows
    assert win.act_learn.isEnabled()
    dlg = win.simulations.learning_dialog()
    qtbot.addWidget(dlg)
    assert dlg.goal.currentData() == "best"
    dlg.budget.setValue(4)
    dlg.batch.setValue(2)
    dlg.init_cycles.setValue(10)
    dlg.cycles.setValue(20)
    marked = []  # the table's "simulating" rows at each poll
    dlg.simulating.connect(
        lambda _names: marked.append(
            {r.name for r in win.model.records() if win.model.status_of(r) == "simulating"}
        )
    )
    assert dlg.start()
    qtbot.waitUntil(lambda: not dlg.process.running(), timeout=300_000)
    assert any(marked) and not marked[-1]  # rows marked while simulated, none at the end
    run = LearningRun(dlg.run_dir, dlg.protocol)
    rounds = run.rounds()
    assert [r["rule"] for r in rounds] == ["diverse seed", "best"], dlg.log.toPlainText()
    assert set(rounds[1]["predicted"]) == set(rounds[1]["chosen"])  # the refitted surrogate
    known = run.known()
    assert len(run.done()) == 4 and len(known) >= 3
    labels = {r.name: r.label for r in win.model.records()}
    assert all(labels[n] == v for n, v in known.items())
    data = dlg.progress_data()
    assert [d["simulations"] for d in data] == [2, 4] and data[1]["best"] == max(known.values())
    dlg.canvas.draw()
    img = np.asarray(dlg.canvas.buffer_rgba())[..., :3].astype(int)
    blue = (np.abs(img - np.array([31, 119, 180])).max(axis=2) < 30).sum()
    assert blue > 50, "the best-found curve is not drawn"
    # closing the window stops a simulation still running (active learning's too)
    again = win.simulations.learning_dialog()
    qtbot.addWidget(again)
    again.budget.setValue(8)
    again.batch.setValue(2)
    assert again.start()
    assert again.process.running()
    win.close()
    assert not again.process.running()

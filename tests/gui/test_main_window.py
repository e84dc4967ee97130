"""The main window with real drops, real files and background grids."""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

import pytest

from tests.conftest import demo


def statuses(win) -> dict[str, str]:
    return {r.name: r.status for r in win.model.records()}


def test_drop_fills_table_and_grids_compute(
    qtbot, make_window, drop, all_finished, demo_cifs, tmp_path
):
    win = make_window(workers=2)
    files = demo_cifs[:6]
    drop(win, files)
    qtbot.waitUntil(lambda: len(win.model.records()) == 6, timeout=10_000)
    qtbot.waitUntil(lambda: all_finished(win, 6), timeout=60_000)
    recs = {r.name: r for r in win.model.records()}
    assert {p.stem for p in files} == set(recs)
    for r in recs.values():
        assert r.status == "ok", (r.name, r.reason)
        assert r.n_atoms > 0 and r.volume > 0 and r.formula
        assert win.memory.grids[r.digest].boltzmann.shape == (25, 25, 25)
        # the shipped model predicts (or, without one, the column says why not)
        qtbot.waitUntil(lambda r=r: _predicted(win, r.digest), timeout=120_000)
    # the progress bar reached the end and the cancel button is off again
    qtbot.waitUntil(lambda: not win.cancel_button.isEnabled(), timeout=5_000)
    assert win.progress.value() == win.progress.maximum() == 6
    # the columns are named after the model's target, briefly enough that the labels
    # column fits beside them without scrolling (the full name is the tooltip)
    from PySide6.QtCore import Qt

    from retvis.gui.materials_model import COL

    hh = win.table.horizontalHeader()
    head = win.model.headerData(COL["uptake"], Qt.Orientation.Horizontal)
    assert head == "CH4 uptake (mol/kg)"
    right = hh.sectionPosition(COL["label"]) + hh.sectionSize(COL["label"])
    assert right <= 900  # the table's share of the default 1500-px window (900:600)

    # MOF-5 as CoRE writes it (primitive cell) and its conventional cubic cell: two
    # files, one crystal; each row says so and both get the same prediction
    _one_crystal_in_two_settings(qtbot, win, drop, all_finished, tmp_path)


def _one_crystal_in_two_settings(qtbot, win, drop, all_finished, tmp_path):
    import warnings

    from pymatgen.core import Structure as PS
    from pymatgen.io.cif import CifWriter
    from pymatgen.symmetry.analyzer import SpacegroupAnalyzer
    from PySide6.QtCore import Qt

    from retvis.gui.materials_model import COL, records_to_table

    src = demo("EDUSIF_clean")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        s = PS.from_file(str(src))
    conv = tmp_path / "MOF5_conventional.cif"
    CifWriter(SpacegroupAnalyzer(s, symprec=0.01).get_conventional_standard_structure()).write_file(
        str(conv)
    )
    drop(win, [conv, demo("PEKKAS_clean")])  # EDUSIF is among the first drop
    qtbot.waitUntil(lambda: all_finished(win, 8), timeout=60_000)
    recs = {r.name: r for r in win.model.records()}
    a, b = recs["EDUSIF_clean"], recs["MOF5_conventional"]
    assert a.crystal and a.crystal == b.crystal != recs["PEKKAS_clean"].crystal
    for r, other in ((a, "MOF5_conventional"), (b, "EDUSIF_clean")):
        row = win.model.row_of(r.digest)
        idx = win.model.index(row, COL["name"])
        assert win.model.data(idx) == f"{r.name} ≡"
        assert f"same crystal as {other}" in win.model.data(idx, Qt.ItemDataRole.ToolTipRole)
    pek = win.model.index(win.model.row_of(recs["PEKKAS_clean"].digest), COL["name"])
    assert win.model.data(pek) == "PEKKAS_clean"
    qtbot.waitUntil(
        lambda: all(win.model.record(r.digest).pred_mean is not None for r in (a, b)),
        timeout=120_000,
    )
    pa, pb = (win.model.record(r.digest).pred_mean for r in (a, b))
    assert pa == pytest.approx(pb, rel=5e-3)
    table = records_to_table(win.model, win.model.records())
    assert "same crystal as MOF5_conventional" in table


def test_drops_of_copies_bad_files_folders_and_zips(
    qtbot, make_window, drop, all_finished, demo_cifs, tmp_path
):
    """One window takes, in turn: a file and its renamed copy (one row: recognised by
    content), the same file again later, a broken and an empty file among good ones
    (each failed row says why in its Error column and tooltip, the rest complete), a
    folder and a zip archive, and tests/data/bad (each refused CIF shows the manifest's
    message; the odd but usable ones are ok)."""
    import hashlib

    from PySide6.QtCore import Qt

    from retvis.gui.materials_model import COL

    win = make_window(workers=2)
    src = demo_cifs[0]
    copy = tmp_path / "renamed_copy.cif"
    copy.write_bytes(src.read_bytes())
    with qtbot.waitSignal(win.imported, timeout=60_000) as sig:
        drop(win, [src, copy])
    assert sig.args == [1, 1]
    assert "1 duplicate" in win.status_label.text()
    assert len(win.model.records()) == 1
    with qtbot.waitSignal(win.imported, timeout=60_000) as sig:
        drop(win, [src])  # dropped again later
    assert sig.args == [0, 1]
    assert len(win.model.records()) == 1

    bad = tmp_path / "broken.cif"
    bad.write_text("data_broken\n_cell_length_a 10\n")  # no b, c: not a usable cell
    empty = tmp_path / "empty.cif"
    empty.write_text("")
    good = demo_cifs[1:4]
    drop(win, [bad, *good, empty])
    qtbot.waitUntil(lambda: all_finished(win, 6), timeout=60_000)
    st = statuses(win)
    assert st["broken"] == "failed" and st["empty"] == "failed"
    assert all(st[p.stem] == "ok" for p in [src, *good])
    r = next(r for r in win.model.records() if r.name == "broken")
    assert "unit cell" in r.reason
    row = win.model.row_of(r.digest)
    assert "unit cell" in win.model.index(row, COL["reason"]).data()
    assert "unit cell" in win.model.index(row, COL["name"]).data(Qt.ItemDataRole.ToolTipRole)
    e = next(r for r in win.model.records() if r.name == "empty")
    assert "empty" in e.reason

    folder = tmp_path / "folder"
    folder.mkdir()
    for p in demo_cifs[4:6]:
        (folder / p.name).write_bytes(p.read_bytes())
    archive = tmp_path / "more.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for p in demo_cifs[6:8]:
            zf.write(p, f"sub/{p.name}")
        zf.writestr("README.txt", "not a structure")
    drop(win, [folder, archive])
    qtbot.waitUntil(lambda: all_finished(win, 10), timeout=60_000)
    st = statuses(win)
    assert all(st[p.stem] == "ok" for p in demo_cifs[:8])

    bad_dir = Path(__file__).resolve().parents[1] / "data" / "bad"
    with open(bad_dir / "MANIFEST.csv", newline="") as fh:
        manifest = [r for r in csv.DictReader(fh) if r["file"].endswith(".cif")]
    assert len(manifest) > 40
    files = [bad_dir / r["file"] for r in manifest]
    drop(win, files)
    digests = {hashlib.sha256(f.read_bytes()).hexdigest() for f in files if f.is_file()}
    n = len(digests | {r.digest for r in win.model.records()})
    qtbot.waitUntil(lambda: all_finished(win, n), timeout=120_000)
    for r in manifest:
        f = bad_dir / r["file"]
        rec = win.model.record(hashlib.sha256(f.read_bytes()).hexdigest())
        assert rec is not None, r["file"]
        if r["stage"] in ("read", "grid"):
            assert rec.status == "failed", (r["file"], rec.status)
            assert r["message"] in rec.reason, (r["file"], rec.reason)
        else:  # stage "ok": odd but usable files
            assert rec.status == "ok", (r["file"], rec.reason)


def test_cancel_mid_batch_keeps_finished(
    qtbot, make_window, drop, all_finished, demo_cifs, tmp_path
):
    from PySide6.QtCore import Qt

    win = make_window(workers=1)
    # 60 distinct files (a comment line makes each file's content unique)
    files = []
    for k in range(3):
        for p in demo_cifs:
            f = tmp_path / f"{p.stem}_{k}.cif"
            f.write_bytes(p.read_bytes() + f"\n# copy {k}\n".encode())
            files.append(f)
    drop(win, [tmp_path])
    qtbot.waitUntil(lambda: sum(r.status == "ok" for r in win.model.records()) >= 3, timeout=60_000)
    assert win.cancel_button.isEnabled()
    with qtbot.waitActive(win):
        win.activateWindow()
    win.table.setFocus()
    qtbot.keyClick(win.table, Qt.Key.Key_Escape)  # the Esc shortcut
    assert win.grid_runner._cancel.is_set()
    qtbot.waitUntil(lambda: not win.grid_runner.busy(), timeout=30_000)
    qtbot.waitUntil(lambda: all_finished(win, 60), timeout=30_000)
    st = [r.status for r in win.model.records()]
    assert st.count("ok") >= 3
    assert st.count("cancelled") > 0, "the batch finished before cancel: make it longer"
    assert set(st) <= {"ok", "cancelled"}
    ok_before = st.count("ok")
    qtbot.wait(300)  # nothing more arrives after cancel settled
    assert [r.status for r in win.model.records()].count("ok") == ok_before


def test_sort_filter_export_copy(qtbot, make_window, drop, all_finished, demo_cifs, tmp_path):
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QApplication

    from retvis.gui.materials_model import COL

    win = make_window(workers=2)
    bad = tmp_path / "zzz_bad.cif"
    bad.write_text("garbage")
    drop(win, [*demo_cifs[:5], bad])
    qtbot.waitUntil(lambda: all_finished(win, 6), timeout=60_000)
    # sort by atoms, descending
    win.table.sortByColumn(COL["n_atoms"], Qt.SortOrder.DescendingOrder)
    atoms = [r.n_atoms for r in win.proxy.visible_records() if r.n_atoms is not None]
    assert atoms == sorted(atoms, reverse=True)
    # search box
    win.filter_bar.search.setText(demo_cifs[1].stem[:6])
    assert [r.name for r in win.proxy.visible_records()] == [demo_cifs[1].stem]
    win.filter_bar.search.clear()
    # status filter
    win.filter_bar.status.setCurrentText("Failed")
    assert [r.name for r in win.proxy.visible_records()] == ["zzz_bad"]
    win.filter_bar.status.setCurrentText("All statuses")
    assert len(win.proxy.visible_records()) == 6
    # uptake range: set predictions by hand through the model (as a prediction result would)
    recs = [r for r in win.model.records() if r.status == "ok"]
    for k, r in enumerate(recs):
        win.model.update(r.digest, pred_mean=float(k), pred_std=0.1)
    win.filter_bar.lo.setValue(1.5)
    win.filter_bar.hi.setValue(3.5)
    assert sorted(r.pred_mean for r in win.proxy.visible_records()) == [2.0, 3.0]
    win.filter_bar.lo.setValue(-1)
    win.filter_bar.hi.setValue(-1)
    # rank follows the predictions (1 = highest)
    assert win.model.rank(recs[-1].digest) == 1 and win.model.rank(recs[0].digest) == len(recs)
    # export the visible rows
    out = tmp_path / "table.csv"
    assert win.projects.export_csv(out) == 6
    rows = list(csv.DictReader(out.open()))
    assert {r["name"] for r in rows} == {r.name for r in win.model.records()}
    bad_row = next(r for r in rows if r["name"] == "zzz_bad")
    assert bad_row["status"] == "failed" and bad_row["error"]
    # copy the selected rows
    win.table.selectRow(0)
    win.act_copy.trigger()
    text = QApplication.clipboard().text()
    lines = list(csv.reader(io.StringIO(text), delimiter="\t"))
    assert len(lines) == 2 and lines[0][0] == "name"


def _predicted(win, digest) -> bool:
    r = next(x for x in win.model.records() if x.digest == digest)
    return r.pred_mean is not None or bool(r.pred_note)


def test_table_is_ranked_by_default_and_remembers_the_users_order(
    qtbot, make_window, drop, all_finished, demo_cifs, no_shipped_model
):
    from PySide6.QtCore import Qt

    from retvis.gui.materials_model import COL

    win = make_window(viewer="window")  # the 3D viewer in a window of its own
    drop(win, demo_cifs[:4])
    qtbot.waitUntil(lambda: all_finished(win, 4), timeout=60_000)
    recs = win.model.records()
    # predictions arrive in bulk (as from a model): rank 1 = highest, shown first
    win.model.update_many({r.digest: {"pred_mean": float(i)} for i, r in enumerate(recs[1:])})
    ranked = [r.name for r in reversed(recs[1:])] + [recs[0].name]  # unranked last
    qtbot.waitUntil(lambda: [r.name for r in win.proxy.visible_records()] == ranked, timeout=2_000)
    # until the user selects a row, the top row is selected as the ranks arrive
    assert win.table.current_digest() == win.proxy.visible_records()[0].digest
    shown = ranked
    # the selection follows its row through a re-sort
    win.table.select_digest(recs[1].digest)
    win.model.update_many({recs[1].digest: {"pred_mean": 99.0}})
    qtbot.waitUntil(lambda: win.proxy.visible_records()[0].name == recs[1].name, timeout=2_000)
    assert win.table.current_digest() == recs[1].digest
    shown = [r.name for r in win.proxy.visible_records()]
    # the user sorts by name; the next window opens sorted the same way
    win.table.sortByColumn(COL["name"], Qt.SortOrder.DescendingOrder)
    assert [r.name for r in win.proxy.visible_records()] == sorted(shown, reverse=True)
    # the viewer's window is titled; where the user left both windows is remembered
    win.show_viewer()
    qtbot.waitExposed(win.view_area)
    assert win.view_area.isWindow() and win.view_area.windowTitle() == "RetVis — 3D viewer"
    win.view_area.setGeometry(200, 100, 400, 300)  # within a small virtual screen
    win.setGeometry(0, 30, 600, 420)
    qtbot.waitUntil(lambda: (win.view_area.width(), win.width()) == (400, 600), timeout=5_000)
    win.close()
    win2 = make_window(viewer="window")
    header = win2.table.horizontalHeader()
    assert header.sortIndicatorSection() == COL["name"]
    assert header.sortIndicatorOrder() == Qt.SortOrder.DescendingOrder
    win2.show_viewer()
    qtbot.waitExposed(win2.view_area)
    assert (win2.view_area.width(), win2.view_area.height()) == (400, 300)
    assert (win2.width(), win2.height()) == (600, 420)


def test_untitled_autosave_and_the_training_export(
    qtbot, make_window, drop, all_finished, demo_cifs, tmp_path
):
    """Each launch that loads structures autosaves an untitled project; closing cleanly
    removes it when nothing in it is the user's own, and keeps it with imported labels.
    The training folder the app writes is read back by `retvis train`'s readers with
    every name as it is (it once wrote a name with a comma unquoted)."""
    import shutil

    from retvis.core.labels import read_label_table
    from retvis.ml.data import open_voxels

    win = make_window()
    drop(win, demo_cifs[:2])
    qtbot.waitUntil(lambda: all_finished(win, 2), timeout=60_000)
    path = win.session.project.path
    assert path.name.startswith("untitled-") and path.exists()
    win.close()
    assert not path.exists()

    names = ['PEKKAS, "copy"', "=SENWAL"]
    cifs = []
    for name, src in zip(names, demo_cifs[:2], strict=True):
        cifs.append(tmp_path / f"{name}.cif")
        shutil.copy(src, cifs[-1])
    win = make_window()
    drop(win, cifs)
    qtbot.waitUntil(lambda: all_finished(win, 2), timeout=60_000)
    path = win.session.project.path
    labels = tmp_path / "labels.csv"
    with labels.open("w", newline="") as fh:
        csv.writer(fh).writerows([["name", "value"], [names[0], 1.5], [names[1], 2.25]])
    assert win.projects.import_labels(labels) == 2
    n, _ = win.simulations.export_labelled(tmp_path / "train")
    assert n == 2
    table = read_label_table(tmp_path / "train" / "labels.csv", "value")
    assert dict(zip(table.names, table.values, strict=True)) == {names[0]: 1.5, names[1]: 2.25}
    assert sorted(open_voxels(tmp_path / "train").names) == sorted(names)
    win.close()
    assert path.exists()

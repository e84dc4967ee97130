"""Projects reopen with the same rows; the 3D viewer really draws the structure."""

from __future__ import annotations

import numpy as np

from retvis.core.project import Project


def test_project_saved_as_results_arrive_and_reopens(
    qtbot, make_window, drop, all_finished, demo_cifs, tmp_path
):
    bad = tmp_path / "bad.cif"
    bad.write_text("data_x\n_cell_length_a 5\n")
    win = make_window(workers=2)
    drop(win, [*demo_cifs[:4], bad])
    qtbot.waitUntil(lambda: all_finished(win, 5), timeout=60_000)
    # saved as each result completed: another connection already sees the statuses
    path = win.session.project.path
    with Project(path) as other:
        saved = {r.name: r.status for r in other.records()}
    assert saved == {r.name: r.status for r in win.model.records()}
    # save under a name, close, reopen in a new window
    target = tmp_path / "screening.retvis"
    win.projects.save_project_as(target)
    before = [(r.name, r.status, r.formula, r.n_atoms, r.reason) for r in win.model.records()]
    win.close()
    win2 = make_window(project=target)
    after = [(r.name, r.status, r.formula, r.n_atoms, r.reason) for r in win2.model.records()]
    assert after == before
    assert "screening" in win2.windowTitle()
    from retvis.gui.settings import recent_projects

    assert target.resolve() in [p.resolve() for p in recent_projects()]
    # a reopened row's structure is re-read in the background when selected
    win2.table.select_digest(win2.model.records()[0].digest)
    key = win2.model.records()[0].digest
    qtbot.waitUntil(lambda: key in win2.memory.structures, timeout=30_000)


def _colour_fraction(img: np.ndarray, rgb: tuple[int, int, int], tol: float = 0.06) -> float:
    """Fraction of pixels whose chromaticity (r, g, b) / sum matches ``rgb`` (any brightness)."""
    px = img.reshape(-1, 3).astype(float)
    s = px.sum(axis=1)
    keep = s > 60  # ignore near-black
    chroma = px[keep] / s[keep, None]
    target = np.asarray(rgb, float) / sum(rgb)
    return float((np.abs(chroma - target).max(axis=1) < tol).mean() * keep.mean())


def test_viewer_draws_structure_colours(
    qtbot, make_window, drop, all_finished, demo_dir, no_shipped_model
):
    from retvis.gui.scenes import element_rgb

    win = make_window()
    win.show_viewer()
    qtbot.waitExposed(win.viewer)
    drop(win, [demo_dir / "FIQCEN_clean.cif"])  # HKUST-1: Cu paddle-wheels, O, C, H
    qtbot.waitUntil(lambda: all_finished(win, 1), timeout=60_000)
    key = win.model.records()[0].digest
    win.table.select_digest(key)
    qtbot.waitUntil(lambda: win.viewer._structure is not None, timeout=10_000)
    assert win.viewer.current_mode() == "Structure"
    img = win.viewer.screenshot()
    assert img.ndim == 3 and img.shape[0] > 100 and img.shape[1] > 100
    assert img.std() > 10, "blank view"
    white = (img.min(axis=2) > 245).mean()
    assert 0.3 < white < 0.995, f"background fraction {white:.3f}"
    cu = _colour_fraction(img, element_rgb("Cu"))
    o = _colour_fraction(img, element_rgb("O"))
    assert cu > 0.001, f"no copper-coloured pixels ({cu:.4f})"
    assert o > 0.001, f"no oxygen-coloured pixels ({o:.4f})"
    # right-click picking, through VTK's own picker at an atom's place on the screen: the
    # message names an atom drawn there, then the distance to a second one
    import re

    from vtkmodules.vtkRenderingCore import vtkCoordinate

    v = win.viewer
    ren, drawn = v.plotter.renderer, v._actors
    s = v._structure

    def screen(p):
        c = vtkCoordinate()
        c.SetCoordinateSystemToWorld()
        c.SetValue(*p)
        return c.GetComputedDoubleDisplayValue(ren)

    def pick(k):
        x, y = screen(drawn.positions[k])
        v.plotter.iren.picker.Pick(x, y, 0, ren)
        label = re.search(r"([A-Z][a-z]?)(\d+) \(([A-Z][a-z]?)\)", v.message.text())
        assert label and label[1] == label[3] == s.species[int(label[2]) - 1]
        # the atom named is drawn at that spot (the front one where two overlap)
        mine = np.flatnonzero(drawn.atom == int(label[2]) - 1)
        gaps = [np.hypot(*np.subtract(screen(drawn.positions[j]), (x, y))) for j in mine]
        assert min(gaps) < 3.0
        return mine[int(np.argmin(gaps))]

    cu = [k for k, e in enumerate(drawn.species) if e == "Cu"]
    first, second = pick(cu[0]), pick(cu[-1])
    d = np.linalg.norm(drawn.positions[first] - drawn.positions[second])
    assert f"{d:.3f} Å" in v.message.text()
    # the element legend is on by default; metal polyhedra and labels from the Show menu,
    # remembered for the next session
    from retvis.gui.settings import qsettings
    from retvis.render.structure_extras import coordination

    assert v.structure_extras() == ("legend",) and v.extras.isVisible()
    v._extra_actions["polyhedra"].trigger()
    n_poly = len(coordination(v._actors))
    assert n_poly > 0 and f"{n_poly} metal polyhedra" in v.message.text()
    v._extra_actions["labels"].trigger()
    assert f"{len(v._actors.positions)} labels" in v.message.text()
    assert len(v._actors.extras) == 3
    assert qsettings().value("view/structure_extras") == "labels,legend,polyhedra"
    assert not np.array_equal(v.screenshot(), img)
    v.set_structure_extras(["legend"])
    # 2x2x2 cells: every atom drawn at least eight times (once per cell), a new picture
    assert np.bincount(drawn.atom, minlength=s.n_atoms).min() >= 1
    v.cells.setValue(2)
    assert "2³ cells" in v.message.text() and not v._picks
    assert np.bincount(v._actors.atom, minlength=s.n_atoms).min() >= 8
    assert not np.array_equal(v.screenshot(), img)
    v.cells.setValue(1)
    # energy-grid mode draws something else (isosurfaces), and back
    win.viewer.mode.setCurrentText("Energy grid")
    grid_img = win.viewer.screenshot()
    assert grid_img.std() > 10 and not np.array_equal(grid_img, img)
    assert "Boltzmann" in win.viewer.message.text()
    # without a model, feature maps say so instead of drawing
    win.viewer.mode.setCurrentText("Feature maps")
    assert "model" in win.viewer.message.text()
    # closing the window closes the QtInteractor
    win.close()
    assert win.viewer.plotter._closed


def test_reopened_project_predicts_again_after_the_model_changed(
    qtbot, make_window, drop, all_finished, demo_cifs, tmp_path, own_resources
):
    """Predictions are stored under the model's card hash, not its name: a model updated in
    place (here recalibrated: same weights, same name) predicts a reopened project again."""
    import json

    res = own_resources("ch4-coremof")

    win = make_window(workers=2)
    drop(win, demo_cifs[:3])
    qtbot.waitUntil(lambda: all_finished(win, 3), timeout=60_000)
    qtbot.waitUntil(
        lambda: all(r.pred_mean is not None for r in win.model.records()), timeout=60_000
    )
    before = {r.name: r.pred_mean for r in win.model.records()}
    key = win.predictions.key
    assert key.startswith("ch4-coremof@") and len(key) == len("ch4-coremof@") + 12
    assert {r.pred_model for r in win.model.records()} == {key}
    target = tmp_path / "p.retvis"
    win.projects.save_project_as(target)
    win.close()

    card_path = res / "models" / "ch4-coremof" / "model.json"
    card = json.loads(card_path.read_text())
    card["calibration"]["a"] += 1.0  # every prediction moves up by exactly 1 mol/kg
    card_path.write_text(json.dumps(card, indent=1))

    win2 = make_window(project=target)
    qtbot.waitUntil(lambda: win2.predictions.key not in (None, key), timeout=60_000)
    qtbot.waitUntil(
        lambda: all(r.pred_model == win2.predictions.key for r in win2.model.records()),
        timeout=60_000,
    )
    after = {r.name: r.pred_mean for r in win2.model.records()}
    assert after.keys() == before.keys()
    for name, v in before.items():
        assert abs(after[name] - (v + 1.0)) < 1e-3, (name, v, after[name])
    with Project(target) as saved:  # and the new predictions are what the project keeps
        assert {r.pred_model for r in saved.records()} == {win2.predictions.key}


def test_grids_follow_the_loaded_models_grid_settings(
    qtbot, make_window, drop, all_finished, demo_cifs, own_resources
):
    """New grids use the loaded model's GridSpec, and choosing a model with other grid
    settings computes the table's grids again with its own, then predicts them."""
    import json
    import shutil

    res = own_resources("ch4-coremof")
    other = res / "models" / "ch4-cutoff11"  # the same weights, grids with an 11 Å cutoff
    shutil.copytree(res / "models" / "ch4-coremof", other)
    card = json.loads((other / "model.json").read_text())
    card["gridspec"]["cutoff"] = 11.0
    (other / "model.json").write_text(json.dumps(card, indent=1))

    win = make_window(workers=2)
    drop(win, demo_cifs[:2])

    def predicted_by(prefix: str) -> bool:
        key = win.predictions.key or ""
        recs = win.model.records()
        return (
            key.startswith(prefix + "@")
            and all_finished(win, 2)
            and all(r.pred_mean is not None and r.pred_model == key for r in recs)
        )

    qtbot.waitUntil(lambda: predicted_by("ch4-coremof"), timeout=120_000)
    assert win.grid_spec.cutoff == 10.0
    before = {k: g.boltzmann.copy() for k, g in win.memory.grids.items()}
    assert len(before) == 2 and all(g.spec == win.grid_spec for g in win.memory.grids.values())

    win.models.select_model("ch4-cutoff11")
    qtbot.waitUntil(lambda: predicted_by("ch4-cutoff11"), timeout=120_000)
    assert win.grid_spec.cutoff == 11.0
    assert set(win.memory.grids) == set(before)
    for k, g in win.memory.grids.items():
        assert g.spec == win.grid_spec  # computed again, not the 10 Å grids reused
        assert not np.allclose(g.boltzmann, before[k])
    assert not [r.pred_note for r in win.model.records() if "grid settings" in r.pred_note]


def test_a_model_whose_grids_need_missing_charges_says_so_once(
    qtbot, make_window, drop, all_finished, demo_cifs, own_resources, monkeypatch
):
    """Choosing a CO2-probe model without pyeqeq (the optional charges package): the
    picker, the status bar and every row say why, with the install command; no grid is
    computed with settings that cannot work, and the rows keep their grids."""
    import json
    import shutil
    import sys

    res = own_resources("ch4-coremof")
    other = res / "models" / "co2-probe"  # the same weights, grids with the CO2 probe
    shutil.copytree(res / "models" / "ch4-coremof", other)
    card = json.loads((other / "model.json").read_text())
    card["gridspec"]["probe"] = "CO2"
    (other / "model.json").write_text(json.dumps(card, indent=1))
    monkeypatch.setitem(sys.modules, "pyeqeq", None)  # as if it were not installed

    win = make_window(workers=1)
    drop(win, demo_cifs[:1])
    qtbot.waitUntil(
        lambda: all_finished(win, 1) and win.model.records()[0].pred_mean is not None,
        timeout=120_000,
    )
    win.models.select_model("co2-probe")
    qtbot.waitUntil(lambda: "pyeqeq" in win.model_picker.combo.toolTip(), timeout=60_000)
    msg = win.model_picker.combo.toolTip()
    assert msg.startswith("model failed to load: model 'co2-probe' cannot be used here")
    assert "pip install" in msg and "pyeqeq" in win.status_label.text()
    (rec,) = win.model.records()
    assert rec.status == "ok" and rec.pred_mean is None and "pyeqeq" in rec.pred_note
    assert win.predictions.key is None and win.grid_spec.probe == "sphere"

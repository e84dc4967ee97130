"""The energy grid view's controls: isosurface level, slices and pore surface, driven from
the viewer's bar in a real window."""

from __future__ import annotations

import numpy as np
from matplotlib import colormaps

from tests.render.pixels import chroma_mask


def _level_colour(layer, level: float) -> np.ndarray:
    """RGB (0..1) the energy colour map gives ``level`` (K) in the layer's colour range."""
    from retvis.render.grid import ENERGY_CMAP

    lo, hi = layer.clim
    return np.asarray(colormaps[ENERGY_CMAP]((level - lo) / (hi - lo))[:3])


def test_grid_controls_move_the_isosurface_slices_and_pore_surface(
    qtbot, make_window, drop, all_finished, demo_dir, no_shipped_model
):
    from retvis.gui.settings import qsettings
    from retvis.render.grid import PORE_COLOUR

    win = make_window()
    win.show_viewer()
    v = win.viewer
    qtbot.waitExposed(v)
    v.window().resize(900, 640)  # wide enough for the bar in every mode
    qtbot.waitUntil(lambda: v.width() >= 800, timeout=5_000)
    drop(win, [demo_dir / "FIQCEN_clean.cif"])  # HKUST-1
    qtbot.waitUntil(lambda: all_finished(win, 1), timeout=60_000)
    win._select_digest(win.model.records()[0].digest)
    qtbot.waitUntil(lambda: v._grid is not None and v._structure is not None, timeout=10_000)
    gc = v.grid_controls
    assert not gc.isVisible()  # only in Energy grid mode
    v.mode.setCurrentText("Energy grid")
    assert gc.isVisible() and not v.extras.isVisible()
    layer = v._grid_layer
    n = v._grid.spec.n
    # the defaults: half the deepest well, the centre slices, the pore surface off
    assert gc.level.value() == round(0.5 * layer.clim[0])
    assert [b.value() for b in gc.slices] == [n // 2] * 3 == layer.slice_index
    assert not gc.pore.isChecked() and layer.pore_actor is None
    img0 = v.screenshot()
    area0 = layer.iso_actor.mapper.dataset.area
    slices = list(layer.slice_actors)

    # a deeper level: smaller surfaces in the deeper level's colour; nothing else redrawn
    deep = round(0.8 * layer.clim[0])
    emitted = []
    gc.changed.connect(lambda: emitted.append(1))
    for step in np.linspace(gc.level.value(), deep, 6)[1:]:  # holding the arrow down
        gc.level.setValue(step)
    qtbot.waitUntil(lambda: layer.iso_levels == (deep,), timeout=5_000)
    assert len(emitted) == 1  # one update for the run of changes
    assert v._grid_layer is layer and list(layer.slice_actors) == slices
    assert layer.iso_actor.mapper.dataset.area < 0.8 * area0
    img1 = v.screenshot()
    new, old = _level_colour(layer, deep), _level_colour(layer, 0.5 * layer.clim[0])
    assert chroma_mask(img1, new).sum() > chroma_mask(img0, new).sum()
    assert chroma_mask(img1, old).sum() < chroma_mask(img0, old).sum()

    # the a slice to index 3: its mesh moves, the b and c slices stay
    points_b = layer.slice_meshes[1].points.copy()
    x_before = layer.slice_meshes[0].points.mean(axis=0)
    gc.slices[0].setValue(3)
    qtbot.waitUntil(lambda: layer.slice_index[0] == 3, timeout=5_000)
    assert not np.allclose(layer.slice_meshes[0].points.mean(axis=0), x_before)
    np.testing.assert_array_equal(layer.slice_meshes[1].points, points_b)
    img2 = v.screenshot()
    moved = np.abs(img2.astype(int) - img1.astype(int)).max(axis=2) > 40
    assert moved.mean() > 0.01, f"only {moved.mean():.3%} of the view changed"
    gc.slices[2].setValue(-1)  # "c off"
    qtbot.waitUntil(lambda: layer.slice_index[2] is None, timeout=5_000)
    assert not layer.slice_actors[2].GetVisibility()

    # the pore surface: translucent blue, remembered for the next session
    blue_before = chroma_mask(v.screenshot(), PORE_COLOUR).mean()
    gc.pore.click()
    qtbot.waitUntil(lambda: layer.pore_visible, timeout=5_000)
    assert layer.pore_actor.GetVisibility()
    assert qsettings().value("view/pore_surface") == "true"
    blue = chroma_mask(v.screenshot(), PORE_COLOUR).mean()
    assert blue > blue_before + 0.01, f"pore surface pixels {blue_before:.3%} -> {blue:.3%}"

    # the values belong to this grid: kept across a visit to another mode
    v.mode.setCurrentText("Structure")
    v.mode.setCurrentText("Energy grid")
    layer = v._grid_layer
    assert layer.iso_levels == (deep,) and layer.slice_index == [3, n // 2, None]
    assert layer.pore_visible and gc.pore.isChecked()

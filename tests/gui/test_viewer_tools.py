"""Tools of the 3D viewer in a real window: File > Export Image (the view written as a
PNG of another size, with its caption) and the energy grid's controls (isosurface level,
slices, pore surface) driven from the viewer's bar. One window serves both."""

from __future__ import annotations

import numpy as np
from matplotlib import colormaps
from PIL import Image
from PySide6.QtWidgets import QDialogButtonBox

from retvis.render.picture import MAX_SIDE
from retvis.render.style import DARK_INK
from tests.render.pixels import chroma_mask


def _open_dialog(qtbot, win):
    win.act_export_image.trigger()
    dlg = win.image_dialog
    qtbot.waitExposed(dlg)
    return dlg


def _glyphs(img: np.ndarray) -> int:
    """Near-ink pixels in the top left, where the caption's title is written."""
    h, w = img.shape[:2]
    top = img[: max(20, h // 16), : w // 3, :3].astype(int)
    return int((np.abs(top - np.asarray(DARK_INK) * 255).max(axis=2) < 60).sum())


def _level_colour(layer, level: float) -> np.ndarray:
    """RGB (0..1) the energy colour map gives ``level`` (K) in the layer's colour range."""
    from retvis.render.grid import ENERGY_CMAP

    lo, hi = layer.clim
    return np.asarray(colormaps[ENERGY_CMAP]((level - lo) / (hi - lo))[:3])


def test_export_image_and_the_grid_controls(
    qtbot, make_window, drop, all_finished, demo_dir, no_shipped_model, tmp_path
):
    win = make_window()
    keys = [a.shortcut().toString() for a in win.actions()]
    assert win.act_export_image.shortcut().toString() == "Ctrl+Shift+E"
    assert keys.count("Ctrl+Shift+E") == 1
    win.show_viewer()
    v = win.viewer
    qtbot.waitExposed(v)
    v.window().resize(900, 640)  # wide enough for the bar in every mode
    qtbot.waitUntil(lambda: v.width() >= 800, timeout=5_000)
    win.act_export_image.trigger()  # nothing drawn yet: no dialog, a message
    assert not hasattr(win, "image_dialog") and "Nothing to export" in win.status_label.text()
    drop(win, [demo_dir / "FIQCEN_clean.cif"])  # HKUST-1
    qtbot.waitUntil(lambda: all_finished(win, 1), timeout=60_000)
    win.table.select_digest(win.model.records()[0].digest)
    qtbot.waitUntil(lambda: v._grid is not None and v._structure is not None, timeout=10_000)
    _export_image(qtbot, win, tmp_path)
    _grid_controls(qtbot, win, v)


def _export_image(qtbot, win, tmp_path):
    from retvis.gui.settings import ImageExportSettings

    view = win.viewer.screenshot()
    vh, vw = view.shape[:2]

    dlg = _open_dialog(qtbot, win)
    assert (dlg.width_box.value(), dlg.height_box.value()) == (vw, vh)  # the view's size
    save = dlg.buttons.button(QDialogButtonBox.StandardButton.Save)
    dlg.width_box.setValue(MAX_SIDE + 1)  # too big: said, and not saved
    assert str(MAX_SIDE) in dlg.message.text() and not save.isEnabled()
    size = (vw + 237, vh + 91)
    dlg.width_box.setValue(size[0])
    dlg.height_box.setValue(size[1])
    assert save.isEnabled() and not dlg.message.text()
    out = tmp_path / "pictures" / "hkust1"  # no suffix: .png is added
    dlg.path.setText(str(out))
    dlg.transparent.setChecked(False)
    dlg.caption.setChecked(True)
    save.click()
    assert not dlg.isVisible()
    png = Image.open(out.with_suffix(".png"))
    assert png.size == size and png.text["Title"] == "FIQCEN_clean"
    img = np.asarray(png.convert("RGB"))
    assert img.std() > 10, "blank picture"
    assert _glyphs(img) > 100, "no name in the band"
    assert str(out.with_suffix(".png")) in win.status_label.text()
    # the view itself is as it was
    assert np.array_equal(win.viewer.screenshot(), view)

    # the choices and the folder are remembered; without the caption, no name band
    assert ImageExportSettings.load().folder == str(out.parent)
    dlg = _open_dialog(qtbot, win)
    assert dlg.caption.isChecked() and str(out.parent) in dlg.path.text()
    dlg.caption.setChecked(False)
    dlg.transparent.setChecked(True)
    dlg.path.setText(str(tmp_path / "bare.png"))
    dlg.buttons.button(QDialogButtonBox.StandardButton.Save).click()
    bare = np.asarray(Image.open(tmp_path / "bare.png"))
    assert bare.shape == (vh, vw, 4) and bare[0, 0, 3] == 0
    assert _glyphs(bare) < _glyphs(img) / 4
    assert ImageExportSettings.load() == ImageExportSettings(True, False, str(tmp_path))


def _grid_controls(qtbot, win, v):
    from retvis.gui.settings import qsettings
    from retvis.render.grid import PORE_COLOUR

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

"""File > Export Image: the 3D view written as a PNG of another size, with its caption."""

from __future__ import annotations

import numpy as np
from PIL import Image
from PySide6.QtWidgets import QDialogButtonBox

from retvis.render.picture import MAX_SIDE
from retvis.render.style import DARK_INK


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


def test_export_image_writes_the_view_at_another_size(
    qtbot, make_window, drop, all_finished, demo_dir, no_shipped_model, tmp_path
):
    from retvis.gui.settings import ImageExportSettings

    win = make_window()
    keys = [a.shortcut().toString() for a in win.actions()]
    assert win.act_export_image.shortcut().toString() == "Ctrl+Shift+E"
    assert keys.count("Ctrl+Shift+E") == 1
    win.show_viewer()
    qtbot.waitExposed(win.viewer)
    win.act_export_image.trigger()  # nothing drawn yet: no dialog, a message
    assert not hasattr(win, "image_dialog") and "Nothing to export" in win.status_label.text()
    drop(win, [demo_dir / "FIQCEN_clean.cif"])
    qtbot.waitUntil(lambda: all_finished(win, 1), timeout=60_000)
    win._select_digest(win.model.records()[0].digest)
    qtbot.waitUntil(lambda: win.viewer._structure is not None, timeout=10_000)
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

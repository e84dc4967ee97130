"""The Plots dock in a real window: a click on a point selects its row and the viewer
shows that structure, a row selected in the table is highlighted in the scatter, plots
export as PNG and SVG through the file dialog, and the dock comes back open (in a window
whose viewer is docked beside the table)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QColor, QImage

from retvis.gui.testing import screening_done
from retvis.gui.widgets.plots import SELECTED_COLOUR


def point_pos(panel, digest: str) -> QPoint:
    """Where a material's point is on the scatter canvas, in widget coordinates."""
    canvas, pts = panel.scatter, panel.points_
    i = pts.index()[digest]
    x, y = canvas.ax.transData.transform((pts.x[i], pts.y[i]))
    ratio = canvas.device_pixel_ratio
    return QPoint(round(x / ratio), round((canvas.figure.bbox.height - y) / ratio))


def pixel(panel, pos: QPoint) -> QColor:
    img = panel.scatter.grab().toImage()
    ratio = img.devicePixelRatio()
    return img.pixelColor(round(pos.x() * ratio), round(pos.y() * ratio))


def is_selected_colour(c: QColor) -> bool:
    want = QColor(SELECTED_COLOUR)
    return max(abs(c.red() - want.red()), abs(c.green() - want.green()),
               abs(c.blue() - want.blue())) < 40  # fmt: skip


def export(qtbot, panel, path):
    """Export the plot shown through the Export button and its file dialog."""
    qtbot.mouseClick(panel.export_button, Qt.MouseButton.LeftButton)
    dlg = panel.dialog
    qtbot.waitUntil(dlg.isVisible)
    folder = dlg.directory().absolutePath()
    dlg.selectFile(str(path))
    dlg.accept()
    qtbot.waitUntil(path.is_file)
    return folder


def test_plots_pick_select_highlight_export_and_stay_open(
    qtbot, make_window, drop, demo_cifs, demo_dir, tmp_path
):
    win = make_window(workers=2)
    drop(win, demo_cifs[:6])
    qtbot.waitUntil(lambda: screening_done(win, 6), timeout=120_000)
    assert not win.plots_dock.isVisible()
    with qtbot.waitActive(win):
        win.activateWindow()
    win.table.setFocus()
    qtbot.keyClick(win.table, Qt.Key.Key_F4)  # View > Plots
    qtbot.waitUntil(win.plots_dock.isVisible)
    panel = win.plots
    panel.tabs.setCurrentIndex(0)
    panel.x_axis.setCurrentIndex(panel.x_axis.findData("volume"))
    qtbot.waitUntil(lambda: len(panel.points_.x) == 6)
    recs = {r.digest: r for r in win.model.records()}
    assert sorted(panel.points_.y) == sorted(r.pred_mean for r in recs.values())
    panel.scatter.draw()  # lays the axes out as shown
    # the two points farthest apart on x that are not selected yet
    others = [d for d in panel.points_.digests if d != win.table.current_digest()]
    first = max(others, key=lambda d: recs[d].volume)
    second = min(others, key=lambda d: recs[d].volume)

    pos = point_pos(panel, first)
    qtbot.mouseClick(panel.scatter, Qt.MouseButton.LeftButton, pos=pos)
    assert [r.digest for r in win.table.selected_records()] == [first]
    assert win.table.current_digest() == first
    qtbot.waitUntil(lambda: win.viewer._name == recs[first].name, timeout=10_000)
    qtbot.waitUntil(lambda: win.viewer._structure is not None, timeout=30_000)
    assert panel.highlighted() == [first]
    qtbot.waitUntil(lambda: is_selected_colour(pixel(panel, pos)), timeout=5_000)

    # a row selected in the table: its point is highlighted, the first one no longer
    row = win.proxy.mapFromSource(win.model.index(win.model.row_of(second), 0))
    rect = win.table.visualRect(row)
    qtbot.mouseClick(win.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert win.table.current_digest() == second
    qtbot.waitUntil(lambda: panel.highlighted() == [second], timeout=5_000)
    pos2 = point_pos(panel, second)
    qtbot.waitUntil(lambda: is_selected_colour(pixel(panel, pos2)), timeout=5_000)
    assert not is_selected_colour(pixel(panel, pos))
    qtbot.waitUntil(lambda: win.viewer._name == recs[second].name, timeout=10_000)

    # PNG of the scatter: drawn (many colours, the highlight among them)
    png = tmp_path / "out" / "uptake.png"
    png.parent.mkdir()
    export(qtbot, panel, png)
    img = QImage(str(png)).convertToFormat(QImage.Format.Format_RGB32)
    assert img.width() > 300 and img.height() > 300
    colours = {img.pixelColor(x, y).rgb() for x in range(0, img.width(), 3)
               for y in range(0, img.height(), 3)}  # fmt: skip
    assert len(colours) > 20
    assert any(is_selected_colour(QColor.fromRgb(c)) for c in colours)

    # SVG of the parity plot: parses, one marker per test material; the dialog opened
    # in the folder of the last export
    panel.tabs.setCurrentIndex(1)
    svg = tmp_path / "out" / "parity.svg"
    assert export(qtbot, panel, svg) == str(png.parent)
    root = ET.parse(svg).getroot()
    assert root.tag.endswith("svg")
    n = len(panel.records_.parity.label)
    assert n == 150  # ch4-coremof's test_predictions.csv
    uses = [e for e in root.iter() if e.tag.endswith("use")]
    assert len(uses) >= n
    panel.tabs.setCurrentIndex(3)
    texts = [t.get_text() for t in panel.loss.ax.texts]
    assert any("not recorded" in t for t in texts)

    win.close()  # the dock's visibility is saved with the window state
    # the next window (its viewer docked beside the table, as Settings > 3D viewer
    # "docked" asks) opens with the dock as it was left
    again = make_window(viewer="docked")
    assert again.plots_dock.isVisible() and again.act_plots.isChecked()
    assert again.plots.x_key == "volume" and again.plots.tabs.currentIndex() == 3
    assert again.act_plots.shortcut().toString() == "F4"
    assert not again.viewer_in_window
    assert again.view_area.parent() is again.splitter and again.viewer.isVisible()
    again.open_paths([demo_dir / "FIQCEN_clean.cif"])
    qtbot.waitUntil(lambda: again.viewer._structure is not None, timeout=60_000)
    assert again.viewer.screenshot().std() > 10
    again.close()
    assert again.viewer.plotter._closed

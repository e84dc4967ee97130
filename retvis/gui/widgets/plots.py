"""The Plots panel: predicted uptake against a column of the table, and the selected
model's parity plot, learning curve and loss per epoch, each exportable as PNG or SVG.

The data come from :mod:`retvis.app.plots` (no Qt); the figures are matplotlib Figures on
Qt canvases, as in the learning dialog. The scatter observes the
:class:`~retvis.app.materials.Materials` the table shows and redraws at most every
:attr:`PlotsPanel.REDRAW_MS`, and only while it is shown: its points and the highlight of
the selected rows are two collections whose offsets change, so a redraw rebuilds no axes.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
from matplotlib.backend_bases import MouseButton
from matplotlib.backends.backend_qtagg import FigureCanvasQTAgg
from matplotlib.figure import Figure
from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMenu,
    QPushButton,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from ...app.materials import Materials, MaterialsEvent
from ...app.plots import (
    X_AXES,
    ModelRecords,
    ScatterPoints,
    model_records,
    nearest_point,
    scatter_points,
)
from ..settings import qsettings

log = logging.getLogger(__name__)

#: Export formats: suffix -> file dialog filter.
FORMATS = {"png": "PNG image (*.png)", "svg": "SVG image (*.svg)"}
#: Points within this many (logical) pixels of a click are picked.
PICK_RADIUS_PX = 6
#: Colours of the points and of the selected rows' points.
POINT_COLOUR, SELECTED_COLOUR = "#1f77b4", "#d62728"


class PlotCanvas(FigureCanvasQTAgg):
    """One figure with one Axes; its context menu exports it (``export_requested``)."""

    export_requested = Signal(str)

    def __init__(self, name: str) -> None:
        self.figure_ = Figure(figsize=(5, 4), layout="constrained")
        super().__init__(self.figure_)
        #: File name an export proposes (without suffix).
        self.name = name
        self.ax = self.figure_.add_subplot(111)
        self.setMinimumSize(240, 200)
        self._stale = False

    def draw_idle(self) -> None:
        """Draw soon; a hidden canvas (another tab, the dock closed) draws when shown."""
        if self.isVisible():
            super().draw_idle()
        else:
            self._stale = True

    def showEvent(self, event) -> None:  # noqa: N802
        super().showEvent(event)
        if self._stale:
            self._stale = False
            super().draw_idle()

    def contextMenuEvent(self, event) -> None:  # noqa: N802
        menu = QMenu(self)
        for fmt in FORMATS:
            menu.addAction(f"Export {fmt.upper()}…", lambda f=fmt: self.export_requested.emit(f))
        menu.exec(event.globalPos())

    def message(self, text: str) -> None:
        """Clear the Axes and show ``text`` in their place."""
        self.ax.clear()
        self.ax.set_axis_off()
        self.ax.text(0.5, 0.5, text, transform=self.ax.transAxes, ha="center", va="center",
                     wrap=True, fontsize=9)  # fmt: skip
        self.draw_idle()


def _limits(v: np.ndarray) -> tuple[float, float]:
    """Axis limits around values ``v`` with a 5 % margin (a unit around a single value)."""
    if len(v) == 0:
        return 0.0, 1.0
    lo, hi = float(v.min()), float(v.max())
    pad = 0.05 * (hi - lo) if hi > lo else max(0.5, 0.05 * abs(lo))
    return lo - pad, hi + pad


class PlotsPanel(QWidget):
    """Tabs of plots over the session's materials and the selected model.

    Signals
    -------
    picked(str digest)
        The user clicked the point of this material in the scatter.
    """

    picked = Signal(str)
    #: Shortest interval, ms, between redraws of the scatter while materials change.
    REDRAW_MS = 500

    def __init__(self, materials: Materials, parent=None) -> None:
        super().__init__(parent)
        self.materials = materials
        self.points_ = ScatterPoints((), (), np.empty(0), np.empty(0))
        self.records_: ModelRecords | None = None
        self._index: dict[str, int] = {}
        self._selected: list[str] = []
        self._dirty = True
        self._target = ("uptake", "")
        self.dialog: QFileDialog | None = None
        self._build()
        self._redraw_timer = QTimer(self, singleShot=True, interval=self.REDRAW_MS)
        self._redraw_timer.timeout.connect(self._redraw_scatter)
        materials.subscribe(self._on_event)
        self.set_model(None)

    def _build(self) -> None:
        qs = qsettings()
        self.x_axis = QComboBox()
        for key, title in X_AXES.items():
            self.x_axis.addItem(title, key)
        i = self.x_axis.findData(qs.value("plots/x", "volume"))
        self.x_axis.setCurrentIndex(max(i, 0))
        self.x_axis.currentIndexChanged.connect(self._on_x_axis)
        self.scatter = PlotCanvas("uptake")
        ax = self.scatter.ax
        self._points = ax.scatter([], [], s=14, c=POINT_COLOUR, alpha=0.7, linewidths=0)
        self._hilite = ax.scatter([], [], s=70, c=SELECTED_COLOUR, edgecolors="black",
                                  linewidths=0.8, zorder=3)  # fmt: skip
        self._empty = ax.text(0.5, 0.5, "", transform=ax.transAxes, ha="center", va="center")
        self.scatter.mpl_connect("button_press_event", self._on_press)
        self.parity, self.curve, self.loss = (
            PlotCanvas("parity"), PlotCanvas("learning_curve"), PlotCanvas("loss")
        )  # fmt: skip
        top = QWidget()
        row = QHBoxLayout()
        row.addWidget(QLabel("x axis"))
        row.addWidget(self.x_axis, 1)
        lay = QVBoxLayout(top)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addLayout(row)
        lay.addWidget(self.scatter, 1)
        self.tabs = QTabWidget()
        for w, title in ((top, "Uptake"), (self.parity, "Parity"), (self.curve, "Learning curve"),
                         (self.loss, "Loss")):  # fmt: skip
            self.tabs.addTab(w, title)
        self.tabs.setCurrentIndex(min(int(qs.value("plots/tab", 0) or 0), self.tabs.count() - 1))
        self.tabs.currentChanged.connect(self._on_tab)
        for c in self.canvases():
            c.export_requested.connect(lambda fmt, c=c: self.export_dialog(c, fmt))
        self.export_button = QPushButton("Export…")
        self.export_button.setToolTip("Save the plot shown as PNG or SVG (or right-click it)")
        self.export_button.clicked.connect(lambda: self.export_dialog(self.current_canvas()))
        self.status = QLabel("")
        self.status.setWordWrap(True)
        bottom = QHBoxLayout()
        bottom.addWidget(self.status, 1)
        bottom.addWidget(self.export_button)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(self.tabs, 1)
        lay.addLayout(bottom)

    def canvases(self) -> list[PlotCanvas]:
        """The scatter, parity, learning-curve and loss canvases, in tab order."""
        return [self.scatter, self.parity, self.curve, self.loss]

    def current_canvas(self) -> PlotCanvas:
        return self.canvases()[self.tabs.currentIndex()]

    @property
    def x_key(self) -> str:
        """The scatter's x axis (a key of :data:`retvis.app.plots.X_AXES`)."""
        return self.x_axis.currentData()

    # -- the scatter ------------------------------------------------------------------
    def _on_event(self, event: MaterialsEvent) -> None:
        if event.kind == "same":
            return
        self._dirty = True
        if self.scatter.isVisible() and not self._redraw_timer.isActive():
            self._redraw_timer.start()

    def showEvent(self, event) -> None:  # noqa: N802
        super().showEvent(event)
        if self._dirty:
            QTimer.singleShot(0, self, self._redraw_scatter)

    def _on_tab(self, index: int) -> None:
        qsettings().setValue("plots/tab", index)
        if index == 0 and self._dirty:
            QTimer.singleShot(0, self, self._redraw_scatter)

    def _on_x_axis(self) -> None:
        qsettings().setValue("plots/x", self.x_key)
        self._dirty = True
        self._redraw_scatter()

    def _redraw_scatter(self) -> None:
        """Points of the predicted materials at their current values; axes fitted."""
        if not self.scatter.isVisible():
            return  # drawn when shown
        self._dirty = False
        pts = scatter_points(self.materials, self.x_key)
        self.points_, self._index = pts, pts.index()
        self._points.set_offsets(np.column_stack([pts.x, pts.y]))
        ax = self.scatter.ax
        ax.set_xlim(*_limits(pts.x))
        ax.set_ylim(*_limits(pts.y))
        target, units = self._target
        u = f" ({units})" if units else ""
        x_units = u if self.x_key in ("label", "pred_std") else ""
        ax.set_xlabel(self.x_axis.currentText() + x_units)
        ax.set_ylabel(f"predicted {target}{u}")
        self._empty.set_text(
            ""
            if len(pts.x)
            else f"No predicted material with a value of {self.x_axis.currentText()}"
        )
        self._update_highlight()
        self.status.setText(
            f"{len(pts.x)} material(s); click a point to select its row" if len(pts.x) else ""
        )

    def set_selected(self, digests: list[str]) -> None:
        """Highlight the points of these materials (the table's selected rows)."""
        self._selected = list(digests)
        self._update_highlight()

    def _update_highlight(self) -> None:
        rows = [self._index[d] for d in self._selected if d in self._index]
        pts = self.points_
        self._hilite.set_offsets(np.column_stack([pts.x[rows], pts.y[rows]]))
        self.scatter.draw_idle()

    def highlighted(self) -> list[str]:
        """Digests of the highlighted points."""
        return [d for d in self._selected if d in self._index]

    def point_at(self, x: float, y: float) -> str | None:
        """Digest of the point within :data:`PICK_RADIUS_PX` of display position (x, y)
        (matplotlib's pixels: physical, from the bottom left), or None."""
        pts = self.points_
        if not len(pts.x):
            return None
        xy = self.scatter.ax.transData.transform(np.column_stack([pts.x, pts.y]))
        radius = PICK_RADIUS_PX * self.scatter.device_pixel_ratio
        i = nearest_point(xy, (x, y), radius)
        return None if i is None else pts.digests[i]

    def _on_press(self, event) -> None:
        if event.button != MouseButton.LEFT or event.inaxes is not self.scatter.ax:
            return
        digest = self.point_at(event.x, event.y)
        if digest is not None:
            self.picked.emit(digest)

    # -- the model's plots -------------------------------------------------------------
    def set_model(self, card: dict | None) -> None:
        """Show the records of the model whose card this is (None: no model)."""
        self.records_ = model_records(card) if card is not None else None
        rec = self.records_
        self._target = (rec.target or "uptake", rec.units) if rec else ("uptake", "")
        self._dirty = True
        if self.scatter.isVisible():
            QTimer.singleShot(0, self, self._redraw_scatter)
        if rec is None:
            for c in (self.parity, self.curve, self.loss):
                c.message("No model selected")
            return
        from ...ml.metrics import draw_learning_curve, draw_loss, draw_parity

        p = rec.parity
        self._draw(
            self.parity, rec, "parity", p,
            lambda ax: draw_parity(ax, p.label, p.prediction, p.std, rec.units, p.metrics),
            f"test set ({p.source.name})" if p is not None else "",
        )  # fmt: skip
        self._draw(
            self.curve, rec, "curve", rec.curve,
            lambda ax: draw_learning_curve(ax, rec.curve), "learning curve",
        )  # fmt: skip
        self._draw(
            self.loss, rec, "loss", rec.histories,
            lambda ax: draw_loss(ax, rec.histories), "loss per epoch",
        )  # fmt: skip

    @staticmethod
    def _draw(canvas: PlotCanvas, rec: ModelRecords, key: str, data, draw, title: str):
        """One model plot: ``draw(ax)`` under a title, or why the folder has no data."""
        if data is None:
            canvas.message(f"{rec.name}\n{rec.missing[key]}")
            return
        canvas.ax.clear()
        canvas.ax.set_axis_on()
        draw(canvas.ax)
        canvas.ax.set_title(f"{rec.name}: {title}", fontsize=9)
        canvas.draw_idle()

    # -- export ------------------------------------------------------------------------
    def export_dialog(self, canvas: PlotCanvas, fmt: str = "png") -> QFileDialog:
        """Ask where to save ``canvas``'s figure (PNG or SVG), starting in the folder of
        the last export; the dialog is window-modal and saves when accepted."""
        folder = str(qsettings().value("plots/export_dir", "") or Path.home())
        dlg = QFileDialog(self, "Export plot", str(Path(folder) / f"{canvas.name}.{fmt}"))
        dlg.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dlg.setNameFilters(list(FORMATS.values()))
        dlg.selectNameFilter(FORMATS[fmt])
        dlg.setDefaultSuffix(fmt)
        dlg.filterSelected.connect(
            lambda f: dlg.setDefaultSuffix(next(k for k, v in FORMATS.items() if v == f))
        )
        dlg.fileSelected.connect(lambda path: self.export(canvas, Path(path)))
        self.dialog = dlg
        dlg.open()
        return dlg

    def export(self, canvas: PlotCanvas, path: Path) -> bool:
        """Save ``canvas``'s figure to ``path`` as PNG or SVG (by its suffix; another
        suffix gets ``.png`` added); remembers its folder. False, with the reason shown,
        when it cannot be written."""
        fmt = path.suffix.lower().lstrip(".")
        if fmt not in FORMATS:
            path, fmt = path.with_name(path.name + ".png"), "png"
        try:
            canvas.figure.savefig(path, format=fmt, dpi=150 if fmt == "png" else None)
        except OSError as e:
            self.status.setText(f"Could not save {path.name}: {e.strerror or e}")
            return False
        qsettings().setValue("plots/export_dir", str(path.parent))
        self.status.setText(f"Saved {path}")
        log.info("plot saved to %s", path)
        return True

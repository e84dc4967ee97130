"""The energy grid view's controls on the viewer's bar: isosurface level, slices, pore surface.

Changes reach the viewer as one :attr:`GridControls.changed` signal, emitted once a run of
changes pauses (holding a spin box's arrow steps it many times), so a redraw follows the
last value only.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import QCheckBox, QDoubleSpinBox, QHBoxLayout, QSpinBox, QWidget

from ..settings import qsettings

#: Pause (ms) after the last change of a control before the view is updated.
DEBOUNCE_MS = 120
#: Step of the isosurface level spin box, K.
LEVEL_STEP = 10.0


@dataclass(frozen=True)
class GridViewState:
    """What the controls ask the grid view to draw.

    Attributes
    ----------
    level : float or None
        Isosurface energy, K (None: the default, half the deepest well).
    slices : tuple of 3 (int or None), or "centre"
        Slice index along a, b, c (None: hidden).
    pore_surface : bool
        Draw the pore surface.
    """

    level: float | None
    slices: tuple | str
    pore_surface: bool


class GridControls(QWidget):
    """Isosurface level (K), a/b/c slice indices ("off" hides one) and the pore surface
    checkbox (remembered between sessions).

    Signals
    -------
    changed()
        The user changed a control (debounced by :data:`DEBOUNCE_MS`).
    """

    changed = Signal()

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.grid_key = None  # the grid the values belong to (see :meth:`show_layer`)
        self.level = QDoubleSpinBox()
        self.level.setPrefix("iso ")
        self.level.setSuffix(" K")
        self.level.setDecimals(0)
        self.level.setSingleStep(LEVEL_STEP)
        self.level.setKeyboardTracking(False)
        self.level.setToolTip("Energy of the isosurface, K (marked on the histogram)")
        self.slices = []
        for axis in "abc":
            box = QSpinBox()
            box.setPrefix(f"{axis} ")
            box.setRange(-1, 0)
            box.setSpecialValueText(f"{axis} off")
            box.setKeyboardTracking(False)
            box.setToolTip(f"Grid index of the slice along {axis} (lowest: no slice)")
            self.slices.append(box)
        self.pore = QCheckBox("Pore s&urface")
        self.pore.setToolTip(
            "The surface bounding where the probe's energy is negative (its accessible region)"
        )
        self.pore.setChecked(str(qsettings().value("view/pore_surface", "false")) == "true")
        self._timer = QTimer(self, singleShot=True, interval=DEBOUNCE_MS)
        self._timer.timeout.connect(self.changed.emit)
        self.level.valueChanged.connect(self._timer.start)
        for box in self.slices:
            box.valueChanged.connect(self._timer.start)
        self.pore.toggled.connect(self._on_pore)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        for w in (self.level, *self.slices, self.pore):
            lay.addWidget(w)

    def _on_pore(self, on: bool) -> None:
        qsettings().setValue("view/pore_surface", "true" if on else "false")
        self.changed.emit()

    def state(self) -> GridViewState:
        """The values shown."""
        slices = tuple(None if b.value() < 0 else b.value() for b in self.slices)
        return GridViewState(self.level.value(), slices, self.pore.isChecked())

    def state_for(self, key) -> GridViewState:
        """The values shown if they belong to the grid ``key``; for another grid, the
        default level and centre slices (and the pore surface as checked)."""
        if key != self.grid_key:
            return GridViewState(None, "centre", self.pore.isChecked())
        return self.state()

    def show_layer(self, layer, key) -> None:
        """Show a drawn grid's ranges and values (a
        :class:`~retvis.render.grid.GridLayer`), without emitting :attr:`changed`."""
        self.grid_key = key
        self._timer.stop()
        widgets = (self.level, *self.slices)
        for w in widgets:
            w.blockSignals(True)
        try:
            lo, hi = layer.clim
            self.level.setRange(lo, hi)
            if layer.iso_levels:
                self.level.setValue(layer.iso_levels[0])
            for box, index in zip(self.slices, layer.slice_index, strict=True):
                box.setRange(-1, layer.n - 1)
                box.setValue(-1 if index is None else index)
        finally:
            for w in widgets:
                w.blockSignals(False)
                w.updateGeometry()  # new ranges, new widths: lay the bar out again

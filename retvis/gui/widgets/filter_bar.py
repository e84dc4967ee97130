"""Search box, status filter and uptake range above the materials table."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QDoubleSpinBox, QHBoxLayout, QLabel, QLineEdit, QWidget

#: Status filter entries: label -> statuses shown (None: all).
STATUS_FILTERS: dict[str, set[str] | None] = {
    "All statuses": None,
    "Done": {"ok"},
    "In progress": {"queued", "running", "predicting", "simulating"},
    "Failed": {"failed"},
    "Cancelled": {"cancelled"},
}


class FilterBar(QWidget):
    """Emits :attr:`changed` (text, statuses, lo, hi) when any filter changes.

    ``lo``/``hi`` are None when the uptake range is off ("any").
    """

    changed = Signal(str, object, object, object)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.search = QLineEdit(placeholderText="Search name or formula (Ctrl+F)")
        self.search.setClearButtonEnabled(True)
        self.status = QComboBox()
        self.status.addItems(list(STATUS_FILTERS))
        self.lo = self._spin("min")
        self.hi = self._spin("max")
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.search, 3)
        lay.addWidget(self.status, 1)
        lay.addWidget(QLabel("Predicted"))
        lay.addWidget(self.lo)
        lay.addWidget(QLabel("–"))
        lay.addWidget(self.hi)
        self.search.textChanged.connect(self._emit)
        self.status.currentIndexChanged.connect(self._emit)
        self.lo.valueChanged.connect(self._emit)
        self.hi.valueChanged.connect(self._emit)

    @staticmethod
    def _spin(which: str) -> QDoubleSpinBox:
        s = QDoubleSpinBox()
        s.setRange(-1.0, 1000.0)
        s.setDecimals(2)
        s.setSingleStep(0.5)
        s.setSpecialValueText("any")  # shown at the minimum (-1): no bound
        s.setValue(-1.0)
        s.setSuffix(" mol/kg")
        s.setToolTip(f"{which}imum prediction (at the lowest value: any)")
        return s

    def set_units(self, units: str) -> None:
        """Units of the prediction range (the model's target units)."""
        for s in (self.lo, self.hi):
            s.setSuffix(f" {units}" if units else "")

    def values(self):
        lo = None if self.lo.value() <= self.lo.minimum() else self.lo.value()
        hi = None if self.hi.value() <= self.hi.minimum() else self.hi.value()
        return (self.search.text(), STATUS_FILTERS[self.status.currentText()], lo, hi)

    def _emit(self, *_):
        self.changed.emit(*self.values())

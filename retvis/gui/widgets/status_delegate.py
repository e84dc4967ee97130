"""Status cells: a progress bar with the status on it while a row is in progress."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QStyle, QStyledItemDelegate, QStyleOptionProgressBar

from ..materials_model import ProgressRole


class StatusDelegate(QStyledItemDelegate):
    """Paints ``ProgressRole`` (0-100) as a progress bar labelled with the status."""

    def paint(self, painter, option, index) -> None:
        value = index.data(ProgressRole)
        if value is None or value >= 100:  # finished (ok, failed, cancelled): coloured text
            super().paint(painter, option, index)
            return
        bar = QStyleOptionProgressBar()
        bar.rect = option.rect.adjusted(2, 2, -2, -2)
        bar.minimum, bar.maximum, bar.progress = 0, 100, int(value)
        bar.text = str(index.data(Qt.ItemDataRole.DisplayRole) or "")
        bar.textVisible = True
        bar.state = option.state
        style = option.widget.style() if option.widget else QApplication.style()
        if option.state & QStyle.StateFlag.State_Selected:
            painter.fillRect(option.rect, option.palette.highlight())
        style.drawControl(QStyle.ControlElement.CE_ProgressBar, bar, painter, option.widget)

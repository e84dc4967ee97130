"""Driving a real window from code: what the GUI tests and ``benchmarks/screen.py`` share.

Nothing here is mocked: :func:`send_drop` delivers the same ``QDragEnterEvent`` and
``QDropEvent`` a file manager's drag produces, and :func:`screening_done` reads the
table the user sees.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication, QWidget

#: Row statuses after which a grid computation is over.
FINAL = ("ok", "failed", "cancelled")


def send_drop(widget: QWidget, paths: list[Path]) -> bool:
    """Send a drag-enter and a drop of local file URLs to ``widget``.

    Returns True when the widget accepted both events.
    """
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    pos = widget.rect().center()
    enter = QDragEnterEvent(
        pos, Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )  # fmt: skip
    QApplication.sendEvent(widget, enter)
    if not enter.isAccepted():
        return False
    drop = QDropEvent(
        QPointF(pos), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )  # fmt: skip
    QApplication.sendEvent(widget, drop)
    return drop.isAccepted()


def grids_done(win, n: int) -> bool:
    """``n`` rows in the table, none queued or running."""
    recs = win.model.records()
    return len(recs) == n and all(r.status in FINAL for r in recs)


def screening_done(win, n: int) -> bool:
    """Grids done and every computed row predicted (or told why not)."""
    if not grids_done(win, n) or win.model.predicting or win._to_predict:
        return False
    return all(
        r.pred_mean is not None or r.pred_note for r in win.model.records() if r.status == "ok"
    )

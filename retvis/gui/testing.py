"""Driving a real window from code: what the GUI tests and ``benchmarks/screen.py`` share.

Nothing here is mocked: :func:`send_drop` delivers the same ``QDragEnterEvent`` and
``QDropEvent`` a file manager's drag produces, and :func:`screening_done` reads the
table the user sees.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
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
    if not grids_done(win, n) or win.model.predicting or win.predictions.waiting:
        return False
    return all(
        r.pred_mean is not None or r.pred_note for r in win.model.records() if r.status == "ok"
    )


class Heartbeat:
    """A 10 ms timer on the GUI thread: the gaps between its beats are the stalls.

    ``renders`` collects the viewer's ``rendered(start, end)`` intervals, so gaps that
    hold a 3D render (software OpenGL under Xvfb draws on the CPU) can be told apart.
    """

    def __init__(self, win, interval_ms: int = 10) -> None:
        from PySide6.QtCore import QTimer

        self.beats: list[float] = []
        self.renders: list[tuple[float, float]] = []
        self._timer = QTimer(win)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(lambda: self.beats.append(time.perf_counter()))
        win.viewer.rendered.connect(lambda s, e: self.renders.append((s, e)))

    def start(self) -> None:
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()

    def gaps(self, outside_renders: bool = False) -> np.ndarray:
        """Milliseconds between beats (only those overlapping no render, if asked)."""
        b = np.asarray(self.beats)
        if len(b) < 2:
            return np.zeros(1)
        gaps = np.diff(b) * 1000.0
        if not outside_renders:
            return gaps
        keep = np.array(
            [
                not any(s < e1 and e > s0 for s0, e1 in self.renders)
                for s, e in zip(b[:-1], b[1:], strict=True)
            ]
        )
        return gaps[keep] if keep.any() else np.zeros(1)

    def longest_render_ms(self) -> float:
        return max(((e - s) * 1000.0 for s, e in self.renders), default=0.0)

    def summary(self) -> dict:
        """Longest gap, and the longest, 99th percentile and median outside renders, ms."""
        out = self.gaps(outside_renders=True)
        return {
            "gui_longest_stall_ms": round(float(self.gaps().max()), 1),
            "renders": len(self.renders),
            "longest_render_ms": round(self.longest_render_ms(), 1),
            "gui_longest_stall_outside_renders_ms": round(float(out.max()), 1),
            "gui_p99_gap_outside_renders_ms": round(float(np.percentile(out, 99)), 1),
            "gui_median_gap_outside_renders_ms": round(float(np.median(out)), 1),
        }

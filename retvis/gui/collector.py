"""Python's cyclic garbage collector, run on the GUI thread only.

CPython runs a collection in whichever thread crosses the allocation threshold. In the
app that is often a grid or model thread, and a collection there finalizes any
unreachable cycle, including ones that hold Qt or VTK objects made on the GUI thread:
destroying those off the GUI thread aborts the process (seen in CI: "Fatal Python
error: Aborted" with "Garbage-collecting" on a ``QThreadPool`` thread while it parsed a
CIF). So while RetVis' worker pools exist, automatic collection is off and a timer on
the GUI thread collects with the same generation thresholds Python would use. This is
the approach calibre and pyqtgraph take.

:func:`install` is called by every runner that owns a pool (idempotent); the app keeps
it for its lifetime. :func:`uninstall` restores automatic collection (tests call it at
teardown, so non-GUI tests run with the interpreter's defaults).
"""

from __future__ import annotations

import gc
import logging

from PySide6.QtCore import QCoreApplication, QObject, QThread, QTimer

log = logging.getLogger(__name__)

#: How often the GUI thread checks the allocation counts (ms).
INTERVAL_MS = 500


class MainThreadCollector(QObject):
    """Turns automatic collection off and collects from a GUI-thread timer instead."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.thresholds = gc.get_threshold()
        self.was_enabled = gc.isenabled()
        gc.disable()
        self._timer = QTimer(self)
        self._timer.setInterval(INTERVAL_MS)
        self._timer.timeout.connect(self.check)
        self._timer.start()

    def check(self) -> int:
        """Collect the generations whose counts passed their thresholds; return the
        generation collected (-1: none)."""
        counts = gc.get_count()
        if counts[0] <= self.thresholds[0]:
            return -1
        generation = 0
        if counts[1] > self.thresholds[1]:
            generation = 2 if counts[2] > self.thresholds[2] else 1
        gc.collect(generation)
        return generation

    def stop(self) -> None:
        self._timer.stop()
        if self.was_enabled:
            gc.enable()


_collector: MainThreadCollector | None = None


def install() -> MainThreadCollector | None:
    """Run collections on the GUI thread from now on (needs a QCoreApplication; called
    from the GUI thread). Returns the collector, or None where there is no application."""
    global _collector
    app = QCoreApplication.instance()
    if app is None:
        return None
    if QThread.currentThread() != app.thread():
        raise RuntimeError("the garbage collector must be installed from the GUI thread")
    if _collector is None:
        _collector = MainThreadCollector(app)
        log.debug("automatic garbage collection off; the GUI thread collects")
    return _collector


def installed() -> bool:
    return _collector is not None


def uninstall() -> None:
    """Stop the timer, collect once here and restore automatic collection."""
    global _collector
    if _collector is None:
        return
    collector, _collector = _collector, None
    collector.stop()
    collector.deleteLater()
    gc.collect()

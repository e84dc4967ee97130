"""Why the 3D viewer gets a window of its own under software OpenGL: the cost of one
repaint of the main window with the viewer docked in it, against the viewer in its own
window, same window size, same structure (HKUST-1), in one run.

    xvfb-run -a -s "-screen 0 1920x1080x24" python3 benchmarks/viewer_placement.py

A status-line change repaints the main window; with an OpenGL view inside it, Qt
composites the whole window (on the CPU with llvmpipe). Prints the median wall and CPU
milliseconds of 40 such repaints in each placement and their ratio, with the OpenGL
renderer and the load. Not a test: it gates nothing.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def repaints(app, win, n: int = 40) -> tuple[float, float]:
    """Median wall and CPU ms of ``n`` status-line repaints of ``win``."""
    wall, cpu = [], []
    for i in range(n):
        t, c = time.perf_counter(), time.process_time()
        win.status_label.setText(f"repaint {i}")
        win.repaint()
        app.processEvents()
        wall.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    return float(np.median(wall)) * 1e3, float(np.median(cpu)) * 1e3


def main() -> int:
    os.environ.setdefault("RETVIS_DATA", tempfile.mkdtemp(prefix="retvis-bench-"))
    from PySide6.QtWidgets import QApplication

    from retvis.core.grid import GridSpec
    from retvis.gui.main_window import MainWindow
    from retvis.gui.settings import AppSettings
    from retvis.gui.testing import grids_done
    from retvis.gui.widgets.viewer import opengl_renderer
    from retvis.paths import demo_dir

    app = QApplication.instance() or QApplication(sys.argv[:1])
    print(f"OpenGL: {opengl_renderer() or 'none'}; load average {os.getloadavg()[0]:.1f}")
    out = {}
    for mode in ("window", "docked"):
        win = MainWindow(AppSettings(GridSpec(), 1, use_cache=False, viewer=mode))
        win.resize(1500, 900)
        win.show()
        win.open_paths([demo_dir() / "FIQCEN_clean.cif"])
        end = time.monotonic() + 120
        while not (grids_done(win, 1) and win.viewer._structure is not None):
            if time.monotonic() > end:
                raise SystemExit("viewer_placement: the structure never loaded")
            app.processEvents()
            time.sleep(0.02)
        for _ in range(25):
            app.processEvents()
            time.sleep(0.02)
        out[mode] = repaints(app, win)
        print(
            f"viewer {mode:6s}: main window {win.width()}x{win.height()}, one repaint "
            f"{out[mode][0]:6.1f} ms wall, {out[mode][1]:6.1f} ms CPU"
        )
        win.close()
    ratio = out["docked"][1] / max(out["window"][1], 1e-3)
    print(f"docked / own window, CPU per repaint: {ratio:.1f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Make the documentation's pictures of each view from the real app on the demo set.

Run under a display (a virtual one on a server)::

    xvfb-run -a -s "-screen 0 1600x1000x24" python docs/screenshots.py [--out docs/images]

It opens RetVis on the bundled demo structures with the shipped CH4 model, waits until
they are ranked, selects the top material and saves, from the screen's pixels, one PNG
per view: the structure (element legend and metal polyhedra), the energy grid, the
feature maps and the saliency of the 3D viewer, the whole window, and the Plots dock
(uptake against volume, the model's parity plot). Each picture is checked before it is written: a blank or
one-colour grab stops the script with an error instead of replacing a good picture.
Settings and caches go to a temporary folder, not the user's.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

#: Seconds to wait for the demo set to be ranked, and for one view to be drawn.
RANK_TIMEOUT = 300.0
VIEW_TIMEOUT = 120.0


def wait_until(app, ready, timeout: float, what: str) -> None:
    """Process Qt events until ``ready()``; SystemExit naming ``what`` after ``timeout``."""
    end = time.monotonic() + timeout
    while not ready():
        if time.monotonic() > end:
            raise SystemExit(f"screenshots: timed out waiting for {what}")
        app.processEvents()
        time.sleep(0.02)


def settle(app, seconds: float = 0.5) -> None:
    """Let queued paints and renders land before a grab."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.02)


def grab(app, widget, path: Path, screen: bool = True) -> None:
    """Save the screen's pixels under ``widget`` (``screen``: OpenGL views included) or
    the widget's own rendering as a PNG, refusing a blank grab; written through a
    temporary file, then renamed."""
    import numpy as np

    settle(app)
    top_left = widget.mapToGlobal(widget.rect().topLeft())
    if screen:
        image = app.primaryScreen().grabWindow(
            0, top_left.x(), top_left.y(), widget.width(), widget.height()
        )
    else:
        image = widget.grab()
    pixels = image.toImage().convertToFormat(image.toImage().Format.Format_RGB888)
    arr = np.frombuffer(pixels.constBits(), np.uint8)[: pixels.sizeInBytes()]
    if arr.size == 0 or arr.std() < 5:
        raise SystemExit(f"screenshots: the grab for {path.name} is blank")
    tmp = path.with_suffix(".tmp.png")
    if not image.save(str(tmp), "PNG"):
        raise SystemExit(f"screenshots: cannot write {tmp}")
    os.replace(tmp, path)
    print(f"{path}  {widget.width()}x{widget.height()}")


def views(app, win, out: Path) -> None:
    """One picture per 3D view of the selected material, then the whole window."""
    v = win.viewer
    v.set_structure_extras(["legend", "polyhedra"])
    wait_until(app, lambda: v._actors is not None, VIEW_TIMEOUT, "the structure")
    grab(app, v, out / "view-structure.png")
    for mode, name, field in (
        ("Energy grid", "view-grid.png", None),
        ("Feature maps", "view-features.png", ("feature_maps", "conv1")),
        ("Saliency", "view-saliency.png", ("saliency", "")),
    ):
        if field is not None:
            v.layer.setCurrentText("conv1")
        v.mode.setCurrentText(mode)
        if field is not None:
            wait_until(app, lambda f=field: f in v._fields, VIEW_TIMEOUT, mode.lower())
        grab(app, v, out / name)
    v.mode.setCurrentText("Structure")
    grab(app, win, out / "retvis.png")  # the README's and docs/app.md's picture


def plots(app, win, out: Path) -> None:
    """The Plots dock: uptake against volume, then the model's parity plot."""
    win.plots_dock.show()
    win.plots.resize(760, 620)
    settle(app, 1.5)
    grab(app, win.plots, out / "plots-uptake.png", screen=False)
    win.plots.tabs.setCurrentIndex(1)
    settle(app, 1.0)
    grab(app, win.plots, out / "plots-parity.png", screen=False)
    win.plots_dock.hide()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, default=ROOT / "docs" / "images")
    args = p.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    scratch = tempfile.mkdtemp(prefix="retvis-shots-")
    for var in ("RETVIS_DATA", "RETVIS_CACHE", "XDG_STATE_HOME"):
        os.environ[var] = str(Path(scratch) / var.lower())

    from PySide6.QtWidgets import QApplication

    from retvis.core.grid import GridSpec
    from retvis.gui.main_window import MainWindow
    from retvis.gui.settings import AppSettings
    from retvis.gui.testing import screening_done
    from retvis.paths import demo_dir

    app = QApplication.instance() or QApplication(sys.argv[:1])
    win = MainWindow(AppSettings(GridSpec(), workers=2, viewer="docked"))
    win.resize(1560, 900)
    win.move(0, 0)
    win.show()
    win.splitter.setSizes([860, 700])  # the viewer's bar whole in every mode
    n = len(list(demo_dir().glob("*.cif")))
    win.open_paths([demo_dir()])
    wait_until(app, lambda: screening_done(win, n), RANK_TIMEOUT, "the demo set's ranking")
    win.table.follow_top()
    views(app, win, args.out)
    plots(app, win, args.out)
    win.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Start the RetVis desktop app: ``retvis-app [PATHS]`` or ``retvis app [PATHS]``."""

from __future__ import annotations

import argparse
import logging
import logging.handlers
import os
import sys
from pathlib import Path

from ..paths import demo_dir, log_dir

log = logging.getLogger(__name__)


def setup_logging(level: int = logging.INFO) -> Path:
    """Log to ``<user log dir>/retvis.log`` (rotated) as well as stderr; returns the file."""
    folder = log_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "retvis.log"
    root = logging.getLogger("retvis")
    if not any(isinstance(h, logging.handlers.RotatingFileHandler) for h in root.handlers):
        fh = logging.handlers.RotatingFileHandler(
            path, maxBytes=5 * 2**20, backupCount=3, encoding="utf-8"
        )
        fh.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root.addHandler(fh)
    root.setLevel(min(root.level or level, level))
    return path


def create_window(paths: list[Path] | None = None, demo: bool = False, project: Path | None = None):
    """Create (and show) the main window; a ``QApplication`` must exist."""
    from .main_window import MainWindow

    win = MainWindow(project=project)
    items = list(paths or [])
    if demo:
        items.append(demo_dir())
    win.show()
    if items:
        win.open_paths(items)
    return win


def run(
    paths: list[Path] | None = None,
    demo: bool = False,
    project: Path | None = None,
    screenshot: Path | None = None,
    quit_after: float | None = None,
) -> int:
    """Run the app until its window closes; returns the exit status.

    Parameters
    ----------
    screenshot : Path, optional
        Save a PNG of the window just before quitting (with ``quit_after``).
    quit_after : float, optional
        Quit after this many seconds (demos, smoke tests).
    """
    why = no_display()
    if why:
        print(f"retvis app: error: {why}", file=sys.stderr)
        return 2
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    logfile = setup_logging()
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("RetVis")
    app.setOrganizationName("RetVis")
    log.info("RetVis starting; log file %s", logfile)
    win = create_window(paths, demo, project)
    if quit_after is not None:

        def finish():
            if screenshot is not None:  # the whole screen: main window and viewer window
                app.primaryScreen().grabWindow(0).save(str(screenshot))
            win.close()

        QTimer.singleShot(int(quit_after * 1000), finish)
    return app.exec()


def no_display(environ=None) -> str:
    """Why the app cannot open a window here ("" when it can): on Linux, Qt aborts the
    process without a display server, so the app says so first and names what works."""
    env = os.environ if environ is None else environ
    if not sys.platform.startswith("linux"):
        return ""
    if env.get("DISPLAY") or env.get("WAYLAND_DISPLAY") or env.get("QT_QPA_PLATFORM"):
        return ""
    return (
        "no display to open a window on (neither DISPLAY nor WAYLAND_DISPLAY is set). "
        "On a server, run it under a virtual display (xvfb-run -a retvis app ...), or use "
        "the command line: retvis predict, retvis render"
    )


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="retvis-app", description="The RetVis desktop app.")
    add_arguments(p)
    return p


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "paths",
        nargs="*",
        type=Path,
        metavar="PATH",
        help="CIF files, folders or zip archives to open",
    )
    p.add_argument("--demo", action="store_true", help="load the bundled demo structures")
    p.add_argument("--project", type=Path, help="open a .retvis project")
    p.add_argument("--screenshot", type=Path, help=argparse.SUPPRESS)
    p.add_argument("--quit-after", type=float, help=argparse.SUPPRESS)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``retvis-app`` gui-script."""
    args = build_parser().parse_args(argv)
    return run(args.paths, args.demo, args.project, args.screenshot, args.quit_after)


if __name__ == "__main__":
    sys.exit(main())

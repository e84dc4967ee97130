"""GUI fixtures: a real main window under Xvfb (pytest-xvfb), isolated settings."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("pytestqt")

from retvis.core.grid import GridSpec  # noqa: E402


def pytest_collection_modifyitems(items):
    for item in items:
        item.add_marker(pytest.mark.gui)


@pytest.fixture(autouse=True)
def _collector_off_after_test():
    """The app's runners turn automatic garbage collection off (``retvis.gui.collector``);
    restore it after each GUI test, once its windows and runners are gone, so the rest
    of the suite runs with the interpreter's defaults."""
    yield
    from retvis.gui import collector

    collector.uninstall()


@pytest.fixture
def make_window(qtbot):
    """Factory: a shown MainWindow (closed, with its QtInteractor, at teardown)."""
    from retvis.gui.main_window import MainWindow
    from retvis.gui.settings import AppSettings

    made = []

    def make(
        workers: int = 1,
        use_cache: bool = False,
        project: Path | None = None,
        viewer: str = "auto",
    ):
        settings = AppSettings(spec=GridSpec(), workers=workers, use_cache=use_cache, viewer=viewer)
        win = MainWindow(settings, project=project)
        qtbot.addWidget(win)
        win.show()
        qtbot.waitExposed(win)
        made.append(win)
        return win

    yield make
    for w in made:
        w.close()


@pytest.fixture
def drop(qtbot):
    """``drop(widget, paths)``: a real drag-enter + drop of file URLs."""
    from retvis.gui.testing import send_drop

    def drop(widget, paths: list[Path]) -> None:
        assert send_drop(widget, paths), "the drop was refused"

    return drop


@pytest.fixture
def all_finished():
    """``all_finished(win, n)``: n rows and none queued or running."""
    from retvis.gui.testing import grids_done

    return grids_done


@pytest.fixture
def own_resources(monkeypatch, tmp_path):
    """``own_resources(*models)``: the app's resources with ``models/`` replaced by copies
    of these shipped models only (none: no models); returns the new resources folder."""
    import shutil

    from retvis.paths import resources_dir

    def make(*models: str) -> Path:
        src = resources_dir()
        dst = tmp_path / "resources"
        dst.mkdir()
        for child in src.iterdir():
            if child.name != "models":
                (dst / child.name).symlink_to(child)
        for name in models:
            shutil.copytree(src / "models" / name, dst / "models" / name)
        monkeypatch.setenv("RETVIS_RESOURCES", str(dst))
        return dst

    return make


@pytest.fixture
def no_shipped_model(own_resources):
    """Resources without ``models/``: the app starts with no model (the user's grid spec)."""
    return own_resources()

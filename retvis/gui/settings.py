"""The app's persistent settings (QSettings in an INI file in the user data folder)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QSettings

from ..core.grid import GridSpec
from ..errors import SpecError
from ..paths import data_dir

#: Recent projects remembered.
MAX_RECENT = 8


def default_workers() -> int:
    """Grid threads: all cores but one (the GUI's), at least one."""
    return max(1, (os.cpu_count() or 2) - 1)


@dataclass
class AppSettings:
    """Settings the user can change; loaded from and saved to :func:`qsettings`.

    Attributes
    ----------
    spec : GridSpec
        Energy-grid settings for new computations.
    workers : int
        Grid threads.
    device : str
        Torch device for the model ("cpu", "cuda"...).
    use_cache : bool
        Read and write the grid cache.
    model : str
        Model name or path for predictions ('' = the shipped default).
    viewer : {"auto", "docked", "window"}
        Where the 3D viewer lives. "auto": its own window when OpenGL is a software
        rasteriser (every repaint of a window holding an OpenGL view is then composited
        on the CPU: docs/app.md), beside the table otherwise.
    """

    spec: GridSpec
    workers: int
    device: str = "cpu"
    use_cache: bool = True
    model: str = ""
    viewer: str = "auto"

    @classmethod
    def load(cls, qs: QSettings | None = None) -> AppSettings:
        qs = qs or qsettings()
        spec = GridSpec()
        raw = qs.value("grid/spec", "")
        if raw:
            try:
                spec = GridSpec.from_dict(json.loads(raw))
            except (ValueError, TypeError, SpecError):
                spec = GridSpec()  # an old or hand-edited value: fall back to the defaults
        return cls(
            spec=spec,
            workers=_int(qs.value("compute/workers"), default_workers()),
            device=str(qs.value("compute/device", "cpu")),
            use_cache=str(qs.value("compute/cache", "true")).lower() == "true",
            model=str(qs.value("model/name", "")),
            viewer=str(qs.value("view/viewer", "auto")),
        )

    def save(self, qs: QSettings | None = None) -> None:
        qs = qs or qsettings()
        qs.setValue("grid/spec", json.dumps(self.spec.to_dict()))
        qs.setValue("compute/workers", int(self.workers))
        qs.setValue("compute/device", self.device)
        qs.setValue("compute/cache", "true" if self.use_cache else "false")
        qs.setValue("model/name", self.model)
        qs.setValue("view/viewer", self.viewer)
        qs.sync()


@dataclass
class ImageExportSettings:
    """File > Export Image's choices, remembered between sessions (the size is not: it
    starts at the view's).

    Attributes
    ----------
    transparent : bool
        Transparent background.
    caption : bool
        The band naming the material and what is shown, and the colour bars.
    folder : str
        Folder of the last exported picture ('' = none yet).
    """

    transparent: bool = False
    caption: bool = True
    folder: str = ""

    @classmethod
    def load(cls, qs: QSettings | None = None) -> ImageExportSettings:
        qs = qs or qsettings()
        return cls(
            transparent=str(qs.value("export_image/transparent", "false")).lower() == "true",
            caption=str(qs.value("export_image/caption", "true")).lower() == "true",
            folder=str(qs.value("export_image/folder", "")),
        )

    def save(self, qs: QSettings | None = None) -> None:
        qs = qs or qsettings()
        qs.setValue("export_image/transparent", "true" if self.transparent else "false")
        qs.setValue("export_image/caption", "true" if self.caption else "false")
        qs.setValue("export_image/folder", self.folder)
        qs.sync()


def _int(v, default: int) -> int:
    try:
        return max(1, int(v))
    except (TypeError, ValueError):
        return default


def qsettings() -> QSettings:
    """The settings file: ``<user data>/retvis.ini`` (``$RETVIS_DATA`` moves it)."""
    return QSettings(str(data_dir() / "retvis.ini"), QSettings.Format.IniFormat)


def recent_projects(qs: QSettings | None = None) -> list[Path]:
    qs = qs or qsettings()
    raw = qs.value("recent/projects", "[]")
    try:
        items = json.loads(raw) if isinstance(raw, str) else list(raw or [])
    except ValueError:
        items = []
    return [Path(p) for p in items if Path(p).is_file()][:MAX_RECENT]


def add_recent_project(path: Path, qs: QSettings | None = None) -> None:
    qs = qs or qsettings()
    items = [str(Path(path).resolve())]
    items += [str(p) for p in recent_projects(qs) if str(p) != items[0]]
    qs.setValue("recent/projects", json.dumps(items[:MAX_RECENT]))
    qs.sync()

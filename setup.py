"""Data files of the wheel: everything under ``resources/`` a user needs (force field, demo
structures, shipped models and their cards, label datasets, COFs, icons), installed to
``<prefix>/share/retvis/resources``, where :func:`retvis.paths.resources_dir` finds it.
The rest of the metadata is in ``pyproject.toml``."""

from pathlib import Path

from setuptools import setup


def _data_files() -> list[tuple[str, list[str]]]:
    folders: dict[str, list[str]] = {}
    for path in sorted(Path("resources").rglob("*")):
        if path.is_file():
            folders.setdefault(str(Path("share/retvis") / path.parent), []).append(str(path))
    return sorted(folders.items())


setup(data_files=_data_files())

"""The version of every file format RetVis writes, and one upgrade path per format.

Each record a format writes (a model card, a grid cache entry's fields, a voxels folder's
``voxels.json``, a screen output's ``_screen.json``, a learning run's ``learn.json``, a
targets folder's record) carries ``format`` and ``format_version`` (:func:`stamp`). A
reader passes what it read through :func:`upgraded`: a record without a version is
version 0 (written before versions existed); each older version is brought forward by
the steps registered for that format with :func:`upgrade_step`, one version at a time,
so a format has one migration path however old the file; a newer version than this
RetVis knows is refused with the file named. The project file (SQLite) keeps its schema
version in its own table and upgrades itself (:mod:`retvis.core.project`), with its number
here. Label tables are CSV for spreadsheets and other tools; their columns name their
protocol, and they carry no version row.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ..errors import DataError, RetvisError

#: The version this RetVis writes of each format.
CURRENT: dict[str, int] = {
    "retvis-model": 2,
    "retvis-project": 2,
    "retvis-grid-cache": 1,
    "retvis-voxels": 1,
    "retvis-screen": 1,
    "retvis-learn": 1,
    "retvis-targets": 1,
}

_STEPS: dict[tuple[str, int], Callable[[dict], dict]] = {}


def stamp(fmt: str) -> dict:
    """``{"format": fmt, "format_version": <current>}``, to write into a record."""
    return {"format": fmt, "format_version": CURRENT[fmt]}


def upgrade_step(fmt: str, version: int):
    """Register the step that brings a ``fmt`` record from ``version`` to ``version + 1``
    (a function of the record returning the upgraded record)."""

    def register(fn: Callable[[dict], dict]) -> Callable[[dict], dict]:
        if (fmt, version) in _STEPS:
            raise ValueError(f"two upgrade steps for {fmt} version {version}")
        _STEPS[(fmt, version)] = fn
        return fn

    return register


def version_of(
    record: dict, fmt: str, path: str | Path | None, error: type[RetvisError] = DataError
) -> int:
    """The record's ``format_version`` (0 when absent), checked: an integer this RetVis
    reads; else ``error`` naming ``path``."""
    version = record.get("format_version", 0)
    if not isinstance(version, int) or isinstance(version, bool) or version < 0:
        raise error(f"{fmt}: format_version must be an integer (0 or more), got {version!r}", path)
    if version > CURRENT[fmt]:
        raise error(
            f"{fmt} format {version} is newer than this RetVis reads ({CURRENT[fmt]}); "
            "update RetVis",
            path,
        )
    return version


def upgraded(
    record: dict, fmt: str, path: str | Path | None, error: type[RetvisError] = DataError
) -> dict:
    """A copy of ``record`` brought to the current version of ``fmt`` by its registered
    steps (a version without a step needs no change); ``error`` for a version this
    RetVis cannot read."""
    version = version_of(record, fmt, path, error)
    out = dict(record)
    while version < CURRENT[fmt]:
        step = _STEPS.get((fmt, version))
        if step is not None:
            out = step(out)
        version += 1
    out.update(format=fmt, format_version=version)
    return out

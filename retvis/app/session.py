"""The project a session persists to, without Qt: the untitled autosave, opening and
saving as, known labels in and the labelled materials out as a training folder.

:class:`ProjectSession` writes every change of the session's
:class:`~retvis.app.materials.Materials` that its owner hands it to a
:class:`~retvis.core.project.Project` (SQLite), starting an untitled autosave in the
user's data folder at the first record. The Qt window asks it for these things and shows
the answers; its tests need no display (``tests/app``).
"""

from __future__ import annotations

import csv
import io
import json
import time
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np

from ..core.cache import atomic_write_bytes
from ..core.grid import EnergyGrid, GridSpec
from ..core.labels import read_labels
from ..core.project import PROJECT_SUFFIX, MaterialRecord, Project
from ..paths import data_dir
from .materials import Materials

#: Why a row that was queued or running when its project closed is not finished.
NOT_FINISHED = "not finished when the project was closed"


def autosave_dir() -> Path:
    """Where untitled projects are autosaved: ``<user data>/autosave``."""
    return data_dir() / "autosave"


class ProjectSession:
    """The session's project file.

    Parameters
    ----------
    materials : Materials
        The session's records (replaced when a project is opened).
    """

    def __init__(self, materials: Materials) -> None:
        self.materials = materials
        #: The open project; None until the first record is saved or a project opened.
        self.project: Project | None = None

    @property
    def title(self) -> str:
        """The project file's name, or "untitled"."""
        return self.project.path.name if self.project is not None else "untitled"

    def ensure(self, spec: GridSpec) -> Project:
        """The open project, or a new untitled autosave recording ``spec``."""
        if self.project is None:
            stamp = time.strftime("%Y%m%d-%H%M%S")
            self.project = Project(autosave_dir() / f"untitled-{stamp}{PROJECT_SUFFIX}")
            self.project.set_meta("grid_spec", json.dumps(spec.to_dict(), sort_keys=True))
        return self.project

    def save(self, records: Iterable[MaterialRecord | None], spec: GridSpec) -> None:
        """Write these records (None skipped), starting an autosave if none is open."""
        records = [r for r in records if r is not None]
        if records:
            self.ensure(spec).save(records)

    def open(self, path: Path, model_ref: str | None) -> list[MaterialRecord]:
        """Open a project: its records replace the session's. Rows that were queued or
        running are cancelled (:data:`NOT_FINISHED`); without a model, computed rows
        without a prediction say "no model". Returns the records.

        Raises
        ------
        ProjectError
            The file is not a readable RetVis project; the session is left unchanged.
        """
        project = Project(path)
        recs = project.records()  # before anything is touched: a damaged file is refused
        self.close()
        self.project = project
        self.materials.clear()
        for r in recs:
            if r.status in ("queued", "running"):
                r.status, r.kind, r.reason = "cancelled", "cancelled", NOT_FINISHED
            if r.status == "ok" and r.pred_mean is None and model_ref is None:
                r.pred_note = "no model"
        self.materials.add(recs)
        return recs

    def save_as(self, path: Path, spec: GridSpec) -> Path:
        """Copy the project to ``path`` (``.retvis`` added) and go on in the copy;
        returns its path."""
        path = Path(path)
        if path.suffix != PROJECT_SUFFIX:
            path = path.with_suffix(PROJECT_SUFFIX)
        old = self.ensure(spec)
        self.project = old.save_as(path)
        if self.project is not old:
            old.close()
        return self.project.path

    def remove(self, digests: list[str]) -> None:
        """Remove these materials from the session and the project."""
        self.materials.remove(digests)
        if self.project is not None:
            self.project.remove(digests)

    def close(self) -> Path | None:
        """Close the project file (the session keeps its records); returns its path."""
        if self.project is None:
            return None
        path = self.project.path
        self.project.close()
        self.project = None
        return path

    def discard_untitled(self, path: Path) -> bool:
        """After a clean close: delete the untitled autosave at ``path`` when nothing in
        it is the user's own (no label); returns whether it was deleted. After a crash
        it stays, to be reopened."""
        untitled = path.parent == autosave_dir() and path.name.startswith("untitled-")
        if not untitled or any(r.label is not None for r in self.materials.records()):
            return False
        for extra in ("", "-wal", "-shm", "-journal"):
            Path(str(path) + extra).unlink(missing_ok=True)
        return True

    # -- labels ----------------------------------------------------------------------
    def import_labels(self, path: Path, spec: GridSpec) -> int:
        """Give known uptakes from a labels CSV (:func:`retvis.core.labels.read_labels`:
        a ``name`` column and one value column, ``uptake_mol_kg`` in a table of ``retvis
        label``; every value finite and non-negative, every name once) to the materials
        of the same name (or the same name without ``_clean``); returns how many.

        Raises
        ------
        DataError
            The table, naming the file, the row and the problem.
        """
        path = Path(path)
        column = None  # a table of retvis label: its uptake, not its error or timings
        with open(path, newline="", encoding="utf-8-sig", errors="replace") as fh:
            if "uptake_mol_kg" in next(csv.reader(fh), []):
                column = "uptake_mol_kg"
        values = read_labels(path, column)
        changes = {}
        for r in self.materials.records():
            v = values.get(r.name, values.get(r.name.removesuffix("_clean")))
            if v is not None:
                changes[r.digest] = dict(label=v, label_source=path.name)
        recs = [r for r in self.materials.update_many(changes) if r is not None]
        self.save(recs, spec)
        return len(recs)

    def set_label(self, name: str, value: float, source: str, spec: GridSpec) -> int:
        """A simulated label for every material of this name; returns how many."""
        recs = self.materials.update_many(
            {
                r.digest: dict(label=value, label_source=source)
                for r in self.materials.records()
                if r.name == name
            }
        )
        self.save(recs, spec)
        return sum(r is not None for r in recs)

    def export_labelled(self, folder: Path, grids: Mapping[str, EnergyGrid]) -> tuple[int, str]:
        """Write the labelled materials whose grid is in ``grids`` as a training folder
        (``voxels.npy``, the voxels index, ``labels.csv``), those of the first one's
        grid settings only; returns (how many, a message)."""
        from ..ml.data import write_voxels_index

        labelled = [r for r in self.materials.records() if r.label is not None and r.status == "ok"]
        with_grid = [r for r in labelled if r.digest in grids]
        if not with_grid:
            return 0, (
                f"{len(labelled)} labelled material(s), none with a grid in memory; "
                "compute their grids first"
            )
        spec = grids[with_grid[0].digest].spec
        rows = [r for r in with_grid if grids[r.digest].spec == spec]
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        x = np.stack([grids[r.digest].boltzmann for r in rows]).astype(np.float32)
        np.save(folder / "voxels.npy", x)
        dens = [grids[r.digest].density for r in rows]
        write_voxels_index(folder, [r.name for r in rows], dens, spec.to_dict())
        # a name may hold a comma or a quote: the CSV writer quotes it (and keeps it as it
        # is: these names must match names.json, so no spreadsheet escaping here)
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(["name", "value"])
        w.writerows((r.name, float(r.label)) for r in rows)
        atomic_write_bytes(folder / "labels.csv", buf.getvalue().encode())
        skipped = len(labelled) - len(rows)
        return len(rows), (
            f"{len(rows)} labelled material(s) written to {folder}"
            + (f"; {skipped} skipped (no grid, or other grid settings)" if skipped else "")
        )

"""The main window's project and table side: project file, export, copy, labels.

A mixin of :class:`~retvis.gui.main_window.MainWindow` (split out to keep files small).
"""

from __future__ import annotations

import csv
import json
import time
from pathlib import Path

from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QFileDialog, QMessageBox

from ..core.labels import read_labels
from ..core.project import PROJECT_SUFFIX, Project, ProjectError
from ..errors import RetvisError
from ..paths import data_dir
from . import workers
from .materials_model import records_to_table
from .settings import add_recent_project, recent_projects


class ProjectActions:
    """Project file (autosaved as results arrive), recent projects, export, labels."""

    def _ensure_project(self) -> Project:
        if self.project is None:
            stamp = time.strftime("%Y%m%d-%H%M%S")
            self.project = Project(data_dir() / "autosave" / f"untitled-{stamp}{PROJECT_SUFFIX}")
            self.project.set_meta("grid_spec", json.dumps(self.grid_spec.to_dict(), sort_keys=True))
            self._update_title()
        return self.project

    def _save(self, records) -> None:
        records = [r for r in records if r is not None]
        if records:
            self._ensure_project().save(records)

    def open_project(self, path: Path) -> None:
        """Open a project: its rows replace the table (unfinished ones become cancelled)."""
        if self.grid_runner.busy():
            self.cancel()
        try:
            project = Project(path)
            recs = project.records()  # before the table is touched: a damaged file is refused
        except ProjectError as exc:
            QMessageBox.warning(self, "Open project", str(exc))
            return
        if self.project is not None:
            self.project.close()
        self.project = project
        self.model.clear()
        self._structures.clear()
        self._grids.clear()
        for r in recs:
            if r.status in ("queued", "running"):
                r.status, r.kind, r.reason = (
                    "cancelled",
                    "cancelled",
                    "not finished when the project was closed",
                )
            if r.status == "ok" and r.pred_mean is None:
                r.pred_note = "no model" if self._model_ref is None else r.pred_note
        self.model.add(recs)
        add_recent_project(project.path)
        self._update_title()
        self.status_label.setText(f"Opened {project.path.name}: {len(recs)} material(s)")
        if self._model_info is not None:  # predict what this model has not seen
            self._on_model_info(workers.TaskResponse("model_info", value=self._model_info))

    def open_project_dialog(self) -> None:
        f, _ = QFileDialog.getOpenFileName(
            self, "Open project", "", f"RetVis projects (*{PROJECT_SUFFIX})"
        )
        if f:
            self.open_project(Path(f))

    def save_project_as(self, path: Path) -> None:
        path = Path(path)
        if path.suffix != PROJECT_SUFFIX:
            path = path.with_suffix(PROJECT_SUFFIX)
        old = self._ensure_project()
        self.project = old.save_as(path)
        if self.project is not old:
            old.close()
        add_recent_project(self.project.path)
        self._update_title()

    def save_project_dialog(self) -> None:
        f, _ = QFileDialog.getSaveFileName(
            self, "Save project as", "", f"RetVis projects (*{PROJECT_SUFFIX})"
        )
        if f:
            self.save_project_as(Path(f))

    def _fill_recent(self) -> None:
        self.recent_menu.clear()
        items = recent_projects()
        if not items:
            self.recent_menu.addAction("(none)").setEnabled(False)
        for p in items:
            self.recent_menu.addAction(p.name, lambda p=p: self.open_project(p)).setToolTip(str(p))

    def _update_title(self) -> None:
        name = self.project.path.name if self.project is not None else "untitled"
        self.setWindowTitle(f"RetVis — {name}")

    def copy_selection(self) -> None:
        recs = self.selected_records()
        if recs:
            QGuiApplication.clipboard().setText(records_to_table(self.model, recs, "\t"))
            self.status_label.setText(f"Copied {len(recs)} row(s)")

    def export_csv(self, path: Path) -> int:
        """Write the visible rows (filtered, sorted) as CSV; returns the row count."""
        from ..core.cache import atomic_write_bytes

        recs = self.proxy.visible_records()
        atomic_write_bytes(Path(path), records_to_table(self.model, recs).encode("utf-8"))
        return len(recs)

    def export_dialog(self) -> None:
        f, _ = QFileDialog.getSaveFileName(self, "Export table", "retvis.csv", "CSV (*.csv)")
        if f:
            n = self.export_csv(Path(f))
            self.status_label.setText(f"Exported {n} row(s) to {f}")

    def remove_selection(self) -> None:
        digests = [r.digest for r in self.selected_records()]
        self.model.remove(digests)
        if self.project is not None:
            self.project.remove(digests)

    def import_labels(self, path: Path) -> int:
        """Read known uptakes from a labels CSV (:func:`retvis.core.labels.read_labels`:
        a ``name`` column and one value column, ``uptake_mol_kg`` in a table of
        ``retvis label``; every value finite and non-negative, every name once) and give
        them to the materials of the same name (or the same name without ``_clean``).

        Returns the number of materials matched.

        Raises
        ------
        DataError
            The table, naming the file, the row and the problem.
        """
        column = None  # a table of retvis label: its uptake, not its error or timings
        with open(path, newline="", encoding="utf-8-sig", errors="replace") as fh:
            if "uptake_mol_kg" in next(csv.reader(fh), []):
                column = "uptake_mol_kg"
        values = read_labels(path, column)
        changes = {}
        for r in self.model.records():
            v = values.get(r.name, values.get(r.name.removesuffix("_clean")))
            if v is not None:
                changes[r.digest] = dict(label=v, label_source=path.name)
        recs = [r for r in self.model.update_many(changes) if r is not None]
        self._save(recs)
        return len(recs)

    def import_labels_dialog(self) -> None:
        f, _ = QFileDialog.getOpenFileName(self, "Import labels", "", "CSV (*.csv)")
        if f:
            try:
                n = self.import_labels(Path(f))
            except RetvisError as exc:
                QMessageBox.warning(self, "Import labels", str(exc))
                return
            self.status_label.setText(f"{n} label(s) matched")

"""The main window's project and table side: project file, export, copy, labels.

A mixin of :class:`~retvis.gui.main_window.MainWindow` (split out to keep files small).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QFileDialog, QMessageBox

from ..core.project import PROJECT_SUFFIX, Project, ProjectError
from ..errors import RetvisError
from . import workers
from .materials_model import records_to_table
from .settings import add_recent_project, recent_projects


class ProjectActions:
    """Project file (autosaved as results arrive), recent projects, export, labels: the
    dialogs and messages around :class:`~retvis.app.session.ProjectSession`."""

    @property
    def project(self) -> Project | None:
        """The open project file (None before the first record is saved)."""
        return self.session.project

    def _save(self, records) -> None:
        had = self.session.project is not None
        self.session.save(records, self.grid_spec)
        if not had and self.session.project is not None:
            self._update_title()

    def open_project(self, path: Path) -> None:
        """Open a project: its rows replace the table (unfinished ones become cancelled)."""
        if self.grid_runner.busy():
            self.cancel()
        try:
            recs = self.session.open(path, self._model_ref)
        except ProjectError as exc:
            QMessageBox.warning(self, "Open project", str(exc))
            return
        self._structures.clear()
        self._grids.clear()
        add_recent_project(self.project.path)
        self._update_title()
        self.status_label.setText(f"Opened {self.project.path.name}: {len(recs)} material(s)")
        if self._model_info is not None:  # predict what this model has not seen
            self._on_model_info(workers.TaskResponse("model_info", value=self._model_info))

    def open_project_dialog(self) -> None:
        f, _ = QFileDialog.getOpenFileName(
            self, "Open project", "", f"RetVis projects (*{PROJECT_SUFFIX})"
        )
        if f:
            self.open_project(Path(f))

    def save_project_as(self, path: Path) -> None:
        add_recent_project(self.session.save_as(path, self.grid_spec))
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
        self.setWindowTitle(f"RetVis — {self.session.title}")

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
        self.session.remove([r.digest for r in self.selected_records()])

    def import_labels(self, path: Path) -> int:
        """Known uptakes from a labels CSV for the materials of the same name
        (:meth:`~retvis.app.session.ProjectSession.import_labels`); returns how many.

        Raises
        ------
        DataError
            The table, naming the file, the row and the problem.
        """
        n = self.session.import_labels(Path(path), self.grid_spec)
        self._update_title()
        return n

    def import_labels_dialog(self) -> None:
        f, _ = QFileDialog.getOpenFileName(self, "Import labels", "", "CSV (*.csv)")
        if f:
            try:
                n = self.import_labels(Path(f))
            except RetvisError as exc:
                QMessageBox.warning(self, "Import labels", str(exc))
                return
            self.status_label.setText(f"{n} label(s) matched")

"""The project and table commands: project file, recent projects, export, copy, labels.

:class:`ProjectActions` holds the dialogs and messages around
:class:`~retvis.app.session.ProjectSession`; it is given what it works on and tells the
window through signals.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QFileDialog, QMenu, QMessageBox, QWidget

from ..app.session import ProjectSession
from ..core.cache import atomic_write_bytes
from ..core.grid import GridSpec
from ..core.project import PROJECT_SUFFIX, MaterialRecord, Project, ProjectError
from ..errors import RetvisError
from .materials_model import records_to_table
from .settings import add_recent_project, recent_projects
from .widgets.materials_table import MaterialsTable


class ProjectActions(QObject):
    """Project file (autosaved as results arrive), recent projects, export, labels.

    Parameters
    ----------
    parent : QWidget
        The dialogs' parent.
    session : ProjectSession
        The project file and the session's materials.
    table : MaterialsTable
        The selection and the visible rows.
    status : callable
        Shows a one-line message.
    spec : callable
        The grid settings of new computations (a new project records them).
    model_ref : callable
        The selected model's reference (None: no model).
    stop_batch : callable
        Stops the grid batch (before another project opens).

    Signals
    -------
    title_changed(str)
        The window's title (the project's name).
    opened()
        A project has been opened; its rows are in the session.
    """

    title_changed = Signal(str)
    opened = Signal()

    def __init__(
        self,
        parent: QWidget,
        session: ProjectSession,
        table: MaterialsTable,
        status: Callable[[str], None],
        spec: Callable[[], GridSpec],
        model_ref: Callable[[], str | None],
        stop_batch: Callable[[], None],
    ) -> None:
        super().__init__(parent)
        self._parent = parent
        self.session = session
        self.table = table
        self._status = status
        self._spec = spec
        self._model_ref = model_ref
        self._stop_batch = stop_batch

    @property
    def project(self) -> Project | None:
        """The open project file (None before the first record is saved)."""
        return self.session.project

    def save(self, records: Iterable[MaterialRecord | None]) -> None:
        """Save these records (None skipped), starting the autosave if none is open."""
        had = self.session.project is not None
        self.session.save(records, self._spec())
        if not had and self.session.project is not None:
            self.update_title()

    def update_title(self) -> None:
        self.title_changed.emit(f"RetVis — {self.session.title}")

    def open_project(self, path: Path) -> None:
        """Open a project: its rows replace the table (unfinished ones become cancelled)."""
        self._stop_batch()
        try:
            recs = self.session.open(path, self._model_ref())
        except ProjectError as exc:
            QMessageBox.warning(self._parent, "Open project", str(exc))
            return
        add_recent_project(self.project.path)
        self.update_title()
        self._status(f"Opened {self.project.path.name}: {len(recs)} material(s)")
        self.opened.emit()

    def open_project_dialog(self) -> None:
        f, _ = QFileDialog.getOpenFileName(
            self._parent, "Open project", "", f"RetVis projects (*{PROJECT_SUFFIX})"
        )
        if f:
            self.open_project(Path(f))

    def save_project_as(self, path: Path) -> None:
        add_recent_project(self.session.save_as(path, self._spec()))
        self.update_title()

    def save_project_dialog(self) -> None:
        f, _ = QFileDialog.getSaveFileName(
            self._parent, "Save project as", "", f"RetVis projects (*{PROJECT_SUFFIX})"
        )
        if f:
            self.save_project_as(Path(f))

    def fill_recent(self, menu: QMenu) -> None:
        """The Recent Projects menu's entries (before it shows)."""
        menu.clear()
        items = recent_projects()
        if not items:
            menu.addAction("(none)").setEnabled(False)
        for p in items:
            menu.addAction(p.name, lambda p=p: self.open_project(p)).setToolTip(str(p))

    def copy_selection(self) -> None:
        recs = self.table.selected_records()
        if recs:
            table = records_to_table(self.table.materials_model, recs, "\t")
            QGuiApplication.clipboard().setText(table)
            self._status(f"Copied {len(recs)} row(s)")

    def export_csv(self, path: Path) -> int:
        """Write the visible rows (filtered, sorted) as CSV; returns the row count."""
        recs = self.table.visible_records()
        text = records_to_table(self.table.materials_model, recs)
        atomic_write_bytes(Path(path), text.encode("utf-8"))
        return len(recs)

    def export_dialog(self) -> None:
        f, _ = QFileDialog.getSaveFileName(
            self._parent, "Export table", "retvis.csv", "CSV (*.csv)"
        )
        if f:
            n = self.export_csv(Path(f))
            self._status(f"Exported {n} row(s) to {f}")

    def remove_selection(self) -> None:
        self.session.remove([r.digest for r in self.table.selected_records()])

    def import_labels(self, path: Path) -> int:
        """Known uptakes from a labels CSV for the materials of the same name
        (:meth:`~retvis.app.session.ProjectSession.import_labels`); returns how many.

        Raises
        ------
        DataError
            The table, naming the file, the row and the problem.
        """
        n = self.session.import_labels(Path(path), self._spec())
        self.update_title()
        return n

    def set_label(self, name: str, value: float, source: str) -> None:
        """A simulated label for the materials called ``name`` (GCMC, active learning)."""
        self.session.set_label(name, value, source, self._spec())
        self.update_title()  # the label may have started the autosave

    def import_labels_dialog(self) -> None:
        f, _ = QFileDialog.getOpenFileName(self._parent, "Import labels", "", "CSV (*.csv)")
        if f:
            try:
                n = self.import_labels(Path(f))
            except RetvisError as exc:
                QMessageBox.warning(self._parent, "Import labels", str(exc))
                return
            self._status(f"{n} label(s) matched")

"""The main window: materials table, 3D viewer, status bar; drop files to screen them.

Flow: files dropped or opened -> an import job (folders and zip archives expanded, bytes
hashed: duplicates are recognised by content) -> one grid job per new file on the grid
pool -> each result lands in its row, is saved to the project and, when a model is
loaded, queued for prediction. Every job is a frozen request; every response is applied
here, on the GUI thread.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from PySide6.QtCore import Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QAction, QDesktopServices, QGuiApplication, QKeySequence
from PySide6.QtWidgets import (
    QDockWidget,
    QFileDialog,
    QLabel,
    QMainWindow,
    QProgressBar,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from ..app.grids import GridMemory
from ..app.predictions import Predictions
from ..app.session import ProjectSession
from ..core.grid import GridSpec
from ..core.project import MaterialRecord
from ..core.structure import Structure
from ..paths import cache_dir, log_dir
from . import workers
from .inspect_actions import InspectActions
from .materials_model import MaterialsModel
from .model_actions import ModelActions, default_model_ref
from .project_actions import ProjectActions
from .settings import AppSettings, qsettings
from .simulation_actions import SimulationActions
from .widgets.filter_bar import FilterBar
from .widgets.fingerprint import FingerprintPanel
from .widgets.materials_table import MaterialsTable
from .widgets.model_picker import ModelPicker
from .widgets.plots import PlotsPanel
from .widgets.viewer import ViewerPanel, software_opengl

log = logging.getLogger(__name__)


class MainWindow(QMainWindow):
    """The RetVis main window: the views of the application model (``retvis.app``) and
    the controllers that send it commands (:attr:`projects`, :attr:`models`,
    :attr:`inspection`, :attr:`simulations`).

    Signals
    -------
    imported(int added, int duplicates)
        Dropped or opened items have been expanded and their new rows queued.

    Parameters
    ----------
    settings : AppSettings, optional
        Loaded from the user's settings file when omitted.
    project : Path, optional
        Project to open; a new autosaved project is created on the first material
        otherwise.
    """

    imported = Signal(int, int)

    def __init__(self, settings: AppSettings | None = None, project: Path | None = None) -> None:
        super().__init__()
        self._closed = False
        self.settings = settings or AppSettings.load()
        self.model = MaterialsModel(self)
        # the application model: no Qt (retvis.app)
        self.memory = GridMemory(self.model.materials)
        self.predictions = Predictions(self.model.materials)
        self.session = ProjectSession(self.model.materials)
        # digest -> EQeq charges in atom order (None while they are computed)
        self._charges: dict[str, NDArray[np.float64] | None] = {}
        self._loading: set[str] = set()  # digests whose structure/grid is being reloaded

        self.grid_runner = workers.GridRunner(self.settings.workers, self)
        self.io_runner = workers.TaskRunner(1, self)
        self.model_runner = workers.TaskRunner(1, self)
        self.grid_runner.results.connect(self._on_grid_results)
        self.grid_runner.started.connect(self._on_grid_started)
        self.grid_runner.progress.connect(self._on_progress)
        self.grid_runner.idle.connect(self._on_idle)
        self.io_runner.finished.connect(self._on_task)
        self.model_runner.finished.connect(self._on_task)
        # status bar refreshed at most 4 times a second: each repaint of a window holding
        # an OpenGL widget is composited, which costs tens of ms with software OpenGL
        self._progress_value = (0, 0)
        self._status_timer = QTimer(self, interval=250)
        self._status_timer.timeout.connect(self._refresh_status)

        self.warmed_up = False
        self.io_runner.submit("warmup", workers.warmup_job)
        self._build_ui()
        self._build_controllers()
        self._build_actions()
        self.setAcceptDrops(True)
        avail = QGuiApplication.primaryScreen().availableGeometry()
        if self.viewer_in_window:  # room for the viewer window on the right
            vw = min(640, avail.width() // 3)
            self.view_area.resize(vw, min(900, avail.height() - 60))
            self.resize(min(1100, avail.width() - vw - 20), min(900, avail.height() - 60))
            self.move(avail.left(), avail.top())
        else:
            self.resize(min(1500, avail.width()), min(900, avail.height() - 60))
        # each placement remembers its own geometry (a docked layout is wider)
        geometry = qsettings().value(self._geometry_key())
        if geometry is not None:
            self.restoreGeometry(geometry)
        state = qsettings().value("window/state")
        if state is not None:  # the docks shown last time (the Plots)
            self.restoreState(state)
        self.projects.update_title()
        if project is not None:
            self.projects.open_project(project)
        self.models.select_model(self.settings.model or default_model_ref())

    # ------------------------------------------------------------------ layout
    def _build_ui(self) -> None:
        self.filter_bar = FilterBar()
        self.table = MaterialsTable(self.model)
        self.proxy = self.table.proxy
        self.filter_bar.changed.connect(self.table.set_filter)
        self.table.current_changed.connect(self._show_current)
        left = QWidget()
        lay = QVBoxLayout(left)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(self.filter_bar)
        lay.addWidget(self.table, 1)
        self._build_view_area(left)
        self._build_plots()
        self.model_picker = ModelPicker()
        tb = self.addToolBar("Model")
        tb.setObjectName("model toolbar")
        tb.addWidget(self.model_picker)
        self._build_status_bar()

    def _build_controllers(self) -> None:
        """The commands, each given what it works on; the views follow their signals."""
        status = self.status_label.setText
        self.projects = ProjectActions(
            self, self.session, self.table, status, lambda: self.grid_spec,
            lambda: self.predictions.ref, self._stop_batch,
        )  # fmt: skip
        self.projects.title_changed.connect(self.setWindowTitle)
        self.models = ModelActions(
            self, self.predictions, self.session, self.memory, self.model, self.io_runner,
            self.model_runner, lambda: self.settings, self.projects.save, self._submit,
            self._reload, status,
        )  # fmt: skip
        self.projects.opened.connect(self.models.resume)
        self.models.selecting.connect(self._on_model_selecting)
        self.models.loaded.connect(self._on_model_loaded)
        self.models.load_failed.connect(lambda error: self.model_picker.set_loaded(False, error))
        self.model_picker.chosen.connect(self._on_model_chosen)
        self.model_picker.card_requested.connect(self.models.show_model_card)
        self.inspection = InspectActions(
            self.predictions, self.memory, self.table, self.model_runner,
            lambda: self.settings, self.viewer, self.fingerprints,
        )  # fmt: skip
        self.simulations = SimulationActions(
            self, self.session, self.memory, self.table, self.projects.set_label, status
        )
        self.simulations.model_registered.connect(self._on_model_registered)

    def _build_view_area(self, left: QWidget) -> None:
        """The 3D viewer over the fingerprints, beside the table or in a window of its
        own (:attr:`AppSettings.viewer`)."""
        self.viewer = ViewerPanel()
        self.fingerprints = FingerprintPanel()
        self.view_area = QSplitter(Qt.Orientation.Vertical)
        self.view_area.addWidget(self.viewer)
        self.view_area.addWidget(self.fingerprints)
        self.view_area.setStretchFactor(0, 3)
        self.view_area.setStretchFactor(1, 1)
        self.view_area.setSizes([640, 240])
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(left)
        layout = self.settings.viewer
        if layout == "auto":
            layout = "window" if software_opengl() else "docked"
        self.viewer_in_window = layout == "window"
        if self.viewer_in_window:  # a top-level of its own: see AppSettings.viewer
            self.view_area.setWindowTitle("RetVis — 3D viewer")
        else:
            self.splitter.addWidget(self.view_area)
            self.splitter.setSizes([900, 600])
        self.setCentralWidget(self.splitter)

    def _build_status_bar(self) -> None:
        """Status line, grid progress and Cancel."""
        sb = self.statusBar()
        self.status_label = QLabel("Ready")
        self.progress = QProgressBar()
        self.progress.setMinimumWidth(180)
        self.progress.setMaximumWidth(260)
        self.progress.setFormat("%v / %m grids")
        self.progress.setVisible(False)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop the batch (Esc); finished grids are kept")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel)
        sb.addWidget(self.status_label, 1)
        sb.addPermanentWidget(self.progress)
        sb.addPermanentWidget(self.cancel_button)

    def _build_plots(self) -> None:
        """The Plots dock (View > Plots, F4), hidden until asked for: a click on a point
        selects its row, and the selected rows' points are highlighted."""
        self.plots = PlotsPanel(self.model.materials)
        self.plots.picked.connect(self._select_picked)
        self.plots_dock = QDockWidget("Plots", self)
        self.plots_dock.setObjectName("plots dock")
        self.plots_dock.setWidget(self.plots)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.plots_dock)
        self.plots_dock.hide()
        self.plots_dock.visibilityChanged.connect(lambda shown: shown and self._plot_selection())
        self.table.selection_changed.connect(self._plot_selection)

    def _plot_selection(self, *_) -> None:
        if self.plots_dock.isVisible():
            self.plots.set_selected([r.digest for r in self.table.selected_records()])

    def _select_picked(self, digest: str) -> None:
        """Select the row of a material picked in the plots (and scroll to it)."""
        if self.table.select_digest(digest):
            self.table.scrollTo(self.table.selectionModel().currentIndex())
        elif (rec := self.model.record(digest)) is not None:
            self.status_label.setText(f"{rec.name} is hidden by the table's filter")

    def _act(self, text, slot, shortcut=None, tip="") -> QAction:
        """A window action with its shortcut and status tip."""
        a = QAction(text, self)
        if shortcut is not None:
            a.setShortcut(QKeySequence(shortcut))
        if tip:
            a.setStatusTip(tip)
        a.triggered.connect(slot)
        self.addAction(a)
        return a

    def _build_actions(self) -> None:
        act = self._act
        S = QKeySequence.StandardKey
        self.act_open = act("&Open Files…", self.open_files_dialog, S.Open, "Open CIF or zip files")
        self.act_open_dir = act("Open &Folder…", self.open_folder_dialog, "Ctrl+Shift+O")
        self.act_open_project = act(
            "Open &Project…", self.projects.open_project_dialog, "Ctrl+Shift+P"
        )
        self.act_save_as = act("Save Project &As…", self.projects.save_project_dialog, S.SaveAs)
        self.act_labels = act(
            "Import &Labels…",
            self.projects.import_labels_dialog,
            None,
            "Read known uptakes from a CSV (name, value)",
        )
        self.act_export = act(
            "&Export Table…", self.projects.export_dialog, "Ctrl+E", "Save the visible rows as CSV"
        )
        self.act_export_image = act(
            "Export &Image…",
            self.export_image_dialog,
            "Ctrl+Shift+E",
            "Save the 3D view as a PNG of any size, with the material's name and colour scale",
        )
        self.act_quit = act("&Quit", self.close, S.Quit)
        self.act_copy = act("&Copy Rows", self.projects.copy_selection, S.Copy)
        self.act_find = act("&Find", self._focus_search, S.Find)
        self.act_remove = act("&Remove Rows", self.projects.remove_selection, S.Delete)
        self.act_settings = act("&Settings…", self.settings_dialog, S.Preferences)
        if self.act_settings.shortcut().isEmpty():
            self.act_settings.setShortcut(QKeySequence("Ctrl+,"))
        self._build_run_actions()
        self.act_log = act("Open &Log Folder", self._open_logs)
        self.act_about = act("&About RetVis", self.about, "F1")
        self.act_viewer = act("3D &Viewer", self.show_viewer, "F3", "Show the 3D viewer")
        self.act_plots = self.plots_dock.toggleViewAction()
        self.act_plots.setText("&Plots")
        self.act_plots.setShortcut(QKeySequence("F4"))
        self.act_plots.setStatusTip(
            "Show or hide the plots: uptake against a column, the model's parity plot, "
            "learning curve and loss"
        )
        self.addAction(self.act_plots)
        self._build_menus()

    def _build_run_actions(self) -> None:
        """Cancel, Compute Again, and the simulations and training of the Run menu."""
        act = self._act
        self.act_cancel = act("&Cancel", self.cancel, "Esc", "Stop the running batch")
        self.act_retry = act(
            "Compute &Again",
            self.retry_selection,
            "Ctrl+R",
            "Recompute the selected failed or cancelled rows",
        )
        self.act_train = act(
            "&Train a Model…",
            self.simulations.training_dialog,
            "Ctrl+T",
            "Train RetNet on labelled materials (runs `retvis train`)",
        )
        self.act_gcmc = act(
            "&Simulate Uptake (GCMC) of Selected Rows…",
            self.simulations.gcmc_dialog,
            "Ctrl+G",
            "Label the selected materials with RASPA3 (runs `retvis label`)",
        )
        self.act_learn = act(
            "Active &Learning…",
            self.simulations.learning_dialog,
            "Ctrl+L",
            "Let RetVis choose which selected materials (or all) to simulate next, "
            "simulate them and learn, until a budget (runs `retvis learn`)",
        )

    def _build_menus(self) -> None:
        mb = self.menuBar()
        m = mb.addMenu("&File")
        for a in (self.act_open, self.act_open_dir, self.act_open_project):
            m.addAction(a)
        self.recent_menu = m.addMenu("Recent Projects")
        self.recent_menu.aboutToShow.connect(lambda: self.projects.fill_recent(self.recent_menu))
        m.addAction(self.act_save_as)
        m.addSeparator()
        m.addAction(self.act_labels)
        m.addAction(self.act_export)
        m.addAction(self.act_export_image)
        m.addSeparator()
        m.addAction(self.act_quit)
        m = mb.addMenu("&Edit")
        for a in (self.act_copy, self.act_find, self.act_remove):
            m.addAction(a)
        m.addSeparator()
        m.addAction(self.act_settings)
        self.run_menu = mb.addMenu("&Run")
        for a in (self.act_cancel, self.act_retry):
            self.run_menu.addAction(a)
        self.run_menu.addSeparator()
        self.run_menu.addAction(self.act_gcmc)
        self.run_menu.addAction(self.act_learn)
        self.run_menu.addAction(self.act_train)
        m = mb.addMenu("&View")
        m.addAction(self.act_viewer)
        m.addAction(self.act_plots)
        m = mb.addMenu("&Help")
        m.addAction(self.act_log)
        m.addAction(self.act_about)

    def _remember_sort(self, column: int, order: Qt.SortOrder) -> None:
        qs = qsettings()
        qs.setValue("view/sort_column", column)
        qs.setValue("view/sort_order", order.value)

    # ------------------------------------------------------------------ input
    def dragEnterEvent(self, event) -> None:  # noqa: N802
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dragMoveEvent(self, event) -> None:  # noqa: N802
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:  # noqa: N802
        paths = [Path(u.toLocalFile()) for u in event.mimeData().urls() if u.isLocalFile()]
        if paths:
            event.acceptProposedAction()
            self.open_paths(paths)

    def open_files_dialog(self) -> None:
        files, _ = QFileDialog.getOpenFileNames(
            self, "Open structures", "", "Structures (*.cif *.CIF *.zip);;All files (*)"
        )
        if files:
            self.open_paths([Path(f) for f in files])

    def open_folder_dialog(self) -> None:
        d = QFileDialog.getExistingDirectory(self, "Open a folder of CIF files")
        if d:
            self.open_paths([Path(d)])

    def open_paths(self, paths: list[Path]) -> None:
        """Load files, folders (searched for ``*.cif``) and zip archives, off the GUI thread."""
        self.status_label.setText(f"Reading {len(paths)} dropped item(s)…")
        self.io_runner.submit(
            "import", workers.import_job, [Path(p) for p in paths], cache_dir() / "imports"
        )

    def _on_import(self, resp: workers.ImportResponse) -> None:
        new_records, dup, seen = [], 0, set()
        for f in resp.files:
            if f.digest in self.model or f.digest in seen:
                dup += 1
                continue
            seen.add(f.digest)
            rec = MaterialRecord(f.digest, f.path.stem, str(f.path))
            if f.reason:
                rec.status, rec.kind, rec.reason = "failed", "structure", f.reason
            new_records.append(rec)
        added = self.model.add(new_records)
        self.projects.save(added)
        todo = [r for r in added if r.status == "queued"]
        self._submit(todo)
        parts = [f"{len(added)} material(s) added"]
        if dup:
            parts.append(f"{dup} duplicate(s) skipped (same content)")
        for src, reason in resp.errors:
            parts.append(f"{Path(src).name}: {reason}")
        self.status_label.setText("; ".join(parts))
        self.imported.emit(len(added), dup)
        if added:
            self.table.follow_top()

    def _submit(self, records: list[MaterialRecord]) -> None:
        if not records:
            return
        batch = self.grid_runner.new_batch()
        root = (cache_dir() / "grids") if self.settings.use_cache else None
        reqs = [
            workers.GridRequest(batch, r.digest, Path(r.path), self.grid_spec, root)
            for r in records
        ]
        self.model.update_many(
            {
                r.digest: dict(status="queued", kind="", reason="")
                for r in records
                if r.status != "queued" or r.reason
            }
        )
        self.grid_runner.submit(reqs)
        self.cancel_button.setEnabled(True)
        self.progress.setVisible(True)

    # ------------------------------------------------------------------ grid results
    def _on_grid_started(self, key: str) -> None:
        self.model.update(key, status="running")

    def _on_grid_results(self, resps: list[workers.GridResponse]) -> None:
        """Results of finished files, a batch at a time: one table update, one save."""
        if self._closed:  # delivered after the window closed
            return
        results = [(r.request.key, r, r.request.spec) for r in resps]
        landing = self.memory.land(results, self.grid_spec, self.predictions)
        changes = landing.changes
        if not changes:
            return
        self.models.queue_predictions(landing.predict, refresh=False)
        recs = self.model.update_many(changes)
        self.projects.save(recs)
        self._submit([r for r in recs if r is not None and r.digest in landing.again])
        if self.table.current_digest() in changes:
            self._show_current()
            self.inspection.schedule_fingerprints()

    def _on_progress(self, done: int, total: int) -> None:
        self._progress_value = (done, total)
        if not self._status_timer.isActive():
            self._refresh_status()
            self._status_timer.start()

    def _refresh_status(self) -> None:
        done, total = self._progress_value
        if self.progress.maximum() != max(total, 1):
            self.progress.setMaximum(max(total, 1))
        if self.progress.value() != done:
            self.progress.setValue(done)
        running = self.grid_runner.running()
        if running:
            names = ", ".join(r.path.stem for r in running[:3])
            more = f" (+{len(running) - 3})" if len(running) > 3 else ""
            self.status_label.setText(f"Computing grids ({done}/{total} done): {names}{more}")

    def _on_idle(self) -> None:
        self._status_timer.stop()
        self._refresh_status()
        self.cancel_button.setEnabled(False)
        counts = {}
        for r in self.model.records():
            counts[r.status] = counts.get(r.status, 0) + 1
        parts = [f"{v} {k}" for k, v in sorted(counts.items())]
        self.status_label.setText("Done: " + ", ".join(parts) if parts else "Ready")
        QTimer.singleShot(1500, self._hide_progress)

    def _hide_progress(self) -> None:
        if not self.grid_runner.busy():
            self.progress.setVisible(False)

    def cancel(self) -> None:
        """Stop the batch: queued files are marked cancelled, finished ones kept."""
        dropped = self.grid_runner.cancel()
        recs = self.model.update_many(
            {
                r.key: dict(status="cancelled", kind="cancelled", reason="cancelled by the user")
                for r in dropped
            }
        )
        self.projects.save(recs)
        if dropped:
            self.status_label.setText(
                f"Cancelled {len(dropped)} queued file(s); running ones finish and are kept"
            )

    def _stop_batch(self) -> None:
        if self.grid_runner.busy():
            self.cancel()

    def retry_selection(self) -> None:
        """Compute Again: the selected failed or cancelled rows, and those whose grid has
        other settings than today's (:meth:`~retvis.app.grids.GridMemory.retry`)."""
        self._submit(self.memory.retry(self.table.selected_records(), self.grid_spec))

    # ------------------------------------------------------------------ viewer
    def _show_current(self) -> None:
        key = self.table.current_digest()
        if key is None:
            self.viewer.clear()
            return
        rec = self.model.record(key)
        s, g = self.memory.structures.get(key), self.memory.grids.get(key)
        note = {
            "failed": f"failed: {rec.reason}",
            "cancelled": rec.reason or "cancelled",
            "queued": "queued: its grid has not been computed yet",
            "running": "computing its energy grid…",
        }.get(rec.status, "")
        self.viewer.show_material(rec.name, s, g, note)
        if rec.status == "ok" and (s is None or g is None):
            self._reload(key)
        if s is not None and self.grid_spec.probe == "CO2":
            self._show_charges(key, rec.name, s)

    def _show_charges(self, key: str, name: str, structure: Structure) -> None:
        """The viewer's picks give the CO2 probe's EQeq charges (computed in the background
        once per structure)."""
        if key not in self._charges:
            from ..core.charges import eqeq_ewald_charges

            self._charges[key] = None  # asked for
            self.io_runner.submit(f"charges:{key}", eqeq_ewald_charges, structure)
        elif (charges := self._charges[key]) is not None and len(charges) == structure.n_atoms:
            self.viewer.set_charges(name, structure, charges)

    def _on_charges(self, resp: workers.TaskResponse) -> None:
        key = resp.tag.split(":", 1)[1]
        if resp.error:
            self._charges.pop(key, None)
            log.info("no charges for %s: %s", key, resp.error)
            return
        self._charges[key] = resp.value
        rec, structure = self.model.record(key), self.memory.structures.get(key)
        if rec is not None and structure is not None:
            self.viewer.set_charges(rec.name, structure, resp.value)

    def _reload(self, key: str) -> None:
        """Re-read a finished material's structure and grid (cache) in the background."""
        rec = self.model.record(key)
        if rec is None or key in self._loading:
            return
        self._loading.add(key)
        root = (cache_dir() / "grids") if self.settings.use_cache else None
        req = workers.GridRequest(0, key, Path(rec.path), self.grid_spec, root)
        self.io_runner.submit("reload", workers.compute_grid_job, req, workers.NEVER)

    def _on_reload(self, resp: workers.GridResponse) -> None:
        key = resp.request.key
        self._loading.discard(key)
        if resp.status != "ok":
            self.status_label.setText(f"{resp.request.path.name}: {resp.reason}")
            return
        self.memory.keep(key, resp.grid, resp.structure)
        rec = self.model.record(key)
        if rec is not None and (rec.pred_mean is None or rec.pred_model != self.predictions.key):
            self.models.queue_predictions([key])
        if self.table.current_digest() == key:
            self._show_current()

    # ------------------------------------------------------------------ task dispatch
    def _on_task(self, resp: workers.TaskResponse) -> None:
        if self._closed:  # delivered after the window closed
            return
        tag = resp.tag
        if tag == "warmup":
            self.warmed_up = True
            if resp.error:
                log.warning("grid kernel warm-up failed: %s", resp.error)
            else:
                log.info("grid kernel loaded in %.2f s", resp.value)
        elif tag == "models":
            if resp.error:
                log.warning("cannot list models: %s", resp.error)
            else:
                self.model_picker.set_models(resp.value, self.predictions.ref)
        elif tag == "import":
            if resp.error:
                self.status_label.setText(f"Could not read the dropped items: {resp.error}")
            else:
                self._on_import(resp.value)
        elif tag == "reload":
            if resp.error:
                self.status_label.setText(resp.error)
            else:
                self._on_reload(resp.value)
        elif tag == "model_info":
            self.models.on_model_info(resp)
        elif tag == "predict":
            self.models.on_predictions(resp)
        elif tag == "fingerprint":
            self.inspection.on_fingerprints(resp)
        elif tag.startswith("inspect:"):
            self.inspection.on_inspect(resp)
        elif tag.startswith("charges:"):
            self._on_charges(resp)

    # ------------------------------------------------------------------ model views
    @property
    def grid_spec(self) -> GridSpec:
        """Grid settings for new computations: the loaded model's, else the user's."""
        return self.models.grid_spec()

    def _on_model_chosen(self, ref: str) -> None:
        self.settings.model = ref
        self.settings.save()
        self.models.select_model(ref)

    def _on_model_registered(self, name: str) -> None:
        self._on_model_chosen(name)
        self.status_label.setText(f"Model '{name}' registered and selected")

    def _on_model_selecting(self, ref: str | None) -> None:
        """A model was chosen: the views wait for it."""
        self.viewer.set_model_available(False)
        self.model_picker.set_models([], ref)
        self.model_picker.set_loaded(False)
        self.fingerprints.show_message("Fingerprints: select materials (needs a model).")
        self.plots.set_model(None)
        self.model.set_target(None, None)

    def _on_model_loaded(self, info: dict) -> None:
        target = info["card"].get("target") or {}
        self.model.set_target(target.get("name"), target.get("units"))
        self.filter_bar.set_units(target.get("units") or "")
        self.table.fit_columns(("uptake", "label"))
        self.model_picker.set_loaded(
            True,
            f"{info['ref']}: predicts {target.get('name', '?')} ({target.get('units', '?')})",
        )
        self.viewer.set_model_available(True, info.get("layers") or None)
        self.plots.set_model(info["card"])
        self.inspection.schedule_fingerprints()

    def _focus_search(self) -> None:
        self.filter_bar.search.setFocus()
        self.filter_bar.search.selectAll()

    # ------------------------------------------------------------------ settings
    def settings_dialog(self) -> None:
        from .widgets.settings_dialog import SettingsDialog

        dlg = SettingsDialog(self.settings, self)
        if dlg.exec():
            self.apply_settings(dlg.result_settings())

    def apply_settings(self, new: AppSettings) -> None:
        """Use and persist new settings (pool size at once; grid spec for new grids)."""
        old = self.settings
        self.settings = new
        new.save()
        self.grid_runner.set_workers(new.workers)
        if new.device != old.device and self.predictions.ref:
            self.models.select_model(self.predictions.ref)
        if new.spec != old.spec:
            self.status_label.setText(
                "Grid settings changed: new grids use them; select rows "
                "and Compute Again (Ctrl+R) to recompute old ones"
            )

    # ------------------------------------------------------------------ misc
    def showEvent(self, event) -> None:  # noqa: N802
        super().showEvent(event)
        if self.viewer_in_window and not self.view_area.isVisible() and not self._closed:
            QTimer.singleShot(0, self.show_viewer)

    def _geometry_key(self) -> str:
        return "window/geometry-beside-viewer" if self.viewer_in_window else "window/geometry"

    def show_viewer(self) -> None:
        """Show (and raise) the 3D viewer; in its own window it is where it was left last
        time, else to the right of the main window."""
        if self.viewer_in_window:
            if not self.view_area.isVisible():
                saved = qsettings().value("viewer/geometry")
                if saved is None or not self.view_area.restoreGeometry(saved):
                    g = self.frameGeometry()
                    self.view_area.move(g.right() + 4, g.top())
                self.view_area.show()
            self.view_area.raise_()
            self.view_area.activateWindow()

    def export_image_dialog(self) -> None:
        """File > Export Image: the 3D view's scene as a PNG
        (:class:`~retvis.gui.widgets.export_image.ExportImageDialog`)."""
        from .widgets.export_image import ExportImageDialog

        if not self.viewer.has_scene():
            self.status_label.setText("Nothing to export: the 3D view shows no scene.")
            return
        info = self.predictions.info
        target = (info or {}).get("card", {}).get("target")
        dlg = ExportImageDialog(self.viewer, self.predictions.ref if info else None, target, self)
        dlg.written.connect(lambda path: self.status_label.setText(f"Exported the view to {path}"))
        self.image_dialog = dlg
        dlg.open()

    def _open_logs(self) -> None:
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(log_dir())))

    def about(self) -> None:
        from .widgets.about import show_about

        show_about(self)

    def closeEvent(self, event) -> None:  # noqa: N802
        if not self._closed:
            self._closed = True
            self.simulations.close_dialogs()  # each stops its running child process
            # running jobs get a while to finish; later results and submissions are dropped
            for runner, msecs in (
                (self.grid_runner, 10_000),
                (self.io_runner, 10_000),
                (self.model_runner, 30_000),
            ):
                if not runner.shutdown(msecs):
                    log.warning("closing with a %s job still running", type(runner).__name__)
            self.viewer.close_viewer()
            if self.viewer_in_window:
                qsettings().setValue("viewer/geometry", self.view_area.saveGeometry())
                self.view_area.close()
            path = self.session.close()
            if path is not None:
                self.session.discard_untitled(path)
            qsettings().setValue(self._geometry_key(), self.saveGeometry())
            qsettings().setValue("window/state", self.saveState())
        super().closeEvent(event)

"""Choosing a model and running its predictions in the background.

:class:`ModelActions` sends :class:`~retvis.app.predictions.Predictions` its commands
(select, loaded, queue, take, apply) and runs the model's jobs on the model runner; the
views follow its signals. Grids made with other settings than the model's are computed
again (:meth:`~retvis.app.grids.GridMemory.recompute_for`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QWidget

from ..app.grids import GridMemory
from ..app.models import available_models, model_info_job, predict_job
from ..app.predictions import Predictions
from ..app.session import ProjectSession
from ..core.grid import GridSpec
from ..core.project import MaterialRecord
from . import workers
from .materials_model import MaterialsModel
from .settings import AppSettings
from .widgets.model_picker import ModelCardDialog

log = logging.getLogger(__name__)


class ModelActions(QObject):
    """The selected model, its loading and its predictions.

    Parameters
    ----------
    parent : QWidget
        The model card's parent.
    predictions, session, memory
        The application model's predictions, project session and grids in memory.
    table_model : MaterialsModel
        Rows repainted as they are queued.
    io_runner, model_runner : workers.TaskRunner
        Model listing (imports torch) and the model's jobs.
    settings : callable
        The current :class:`~retvis.gui.settings.AppSettings` (device, user grid spec).
    save : callable
        Saves changed records to the project.
    submit : callable
        Computes these rows' grids again (with :meth:`grid_spec`).
    reload : callable
        Reads a row's grid again from the cache (evicted from memory).
    status : callable
        Shows a one-line message.

    Signals
    -------
    selecting(object)
        A model reference (or None) was chosen; it is loading.
    loaded(dict)
        The model has loaded (its description: ``ref``, ``key``, ``card``, ``layers``).
    load_failed(str)
        The model could not be loaded: why.
    """

    selecting = Signal(object)
    loaded = Signal(dict)
    load_failed = Signal(str)

    def __init__(
        self,
        parent: QWidget,
        predictions: Predictions,
        session: ProjectSession,
        memory: GridMemory,
        table_model: MaterialsModel,
        io_runner: workers.TaskRunner,
        model_runner: workers.TaskRunner,
        settings: Callable[[], AppSettings],
        save: Callable[[Iterable[MaterialRecord | None]], None],
        submit: Callable[[list[MaterialRecord]], None],
        reload: Callable[[str], None],
        status: Callable[[str], None],
    ) -> None:
        super().__init__(parent)
        self._parent = parent
        self.predictions = predictions
        self.session = session
        self.memory = memory
        self.table_model = table_model
        self.io_runner = io_runner
        self.model_runner = model_runner
        self._settings = settings
        self._save = save
        self._submit = submit
        self._reload = reload
        self._status = status
        self._predict_timer = QTimer(self, singleShot=True, interval=100)
        self._predict_timer.timeout.connect(self.flush_predictions)

    @property
    def ref(self) -> str | None:
        """The selected model's name or folder (None: no model)."""
        return self.predictions.ref

    @property
    def info(self) -> dict | None:
        """The loaded model's description (None until it has loaded)."""
        return self.predictions.info

    @property
    def key(self) -> str | None:
        """The loaded model's ``name@card-hash`` (what predictions are stored under)."""
        return self.predictions.key

    def grid_spec(self) -> GridSpec:
        """Grid settings for new computations: the loaded model's, else the user's."""
        return self.predictions.spec(self._settings().spec)

    def select_model(self, ref: str | None) -> None:
        """Use a model (name or folder) for predictions; None or '': no model.

        Predictions made by another model are cleared (the new one predicts again); those
        of an older version of this one (another card) are cleared once it has loaded
        (:class:`~retvis.app.predictions.Predictions`).
        """
        self._save(self.predictions.select(ref))
        self.selecting.emit(self.ref)
        # listing models imports the ml package (and torch: seconds): off the GUI thread
        self.io_runner.submit("models", available_models)
        if self.ref is not None:
            self.model_runner.submit(
                "model_info", model_info_job, self.ref, self._settings().device
            )

    def show_model_card(self) -> None:
        if self.info is not None:
            ModelCardDialog(self.info["card"], self._parent).show()

    def on_model_info(self, resp: workers.TaskResponse) -> None:
        """The model runner's answer to :meth:`select_model`."""
        if resp.error:
            error = self.predictions.failed(resp.error)
            log.warning("%s", error)
            self.load_failed.emit(error)
            self._status(error)
        elif resp.value["ref"] == self.ref:
            self._use(resp.value)

    def resume(self) -> None:
        """After the rows changed wholesale (a project opened): the loaded model predicts
        what it has not seen."""
        if self.info is not None:
            self._use(self.info)

    def _use(self, info: dict) -> None:
        if self.session.project is not None:
            self.session.project.record_model(self.ref, info["key"], info["card"])
        self._save(self.predictions.loaded(info))
        self.loaded.emit(info)
        self.recompute_for_model()
        self.queue_predictions(self.predictions.owed())

    def recompute_for_model(self) -> None:
        """Grids made with other settings than the loaded model's are computed again."""
        recs = self.memory.recompute_for(self.grid_spec())
        if recs:
            self._submit(recs)
            self._status(f"{len(recs)} grid(s) computed again with {self.ref}'s grid settings")

    def queue_predictions(self, keys: list[str], refresh: bool = True) -> None:
        """Predict these rows soon (in batches); ``refresh=False``: the caller repaints."""
        full = self.predictions.queue(keys)
        if not self.predictions.waiting:
            return  # queued again when the model has loaded
        if refresh:
            for k in keys:
                self.table_model.refresh(k)
        if full:
            self.flush_predictions()
        elif not self._predict_timer.isActive():
            self._predict_timer.start()

    def flush_predictions(self) -> None:
        taken = self.predictions.take(self.memory.grids, self.grid_spec())
        for k in taken.missing:  # evicted from memory: reload, prediction follows
            self._reload(k)
        b = taken.batch
        if b is not None:
            self.model_runner.submit(
                "predict", predict_job, self.ref, b.keys, b.x, b.densities,
                self._settings().device,
            )  # fmt: skip

    def on_predictions(self, resp: workers.TaskResponse) -> None:
        if resp.error:
            self.predictions.apply_error(resp.error)
        else:
            self._save(self.predictions.apply(resp.value))


def default_model_ref() -> str | None:
    """The shipped default model (``DEFAULT_MODEL``, else the first folder under
    ``resources/models``), or None."""
    from ..paths import DEFAULT_MODEL, models_dir

    try:
        root = models_dir()
    except FileNotFoundError:
        return None
    if not root.is_dir():
        return None
    if (root / DEFAULT_MODEL).is_dir():
        return DEFAULT_MODEL
    from ..ml.weights import available_models

    found = sorted(available_models())  # models, not backbones
    return found[0] if found else None

"""The Run menu's long work in child processes: GCMC labels, active learning, training.

:class:`SimulationActions` opens the dialogs that run ``retvis label``, ``retvis learn``
and ``retvis train``, gives them the materials to work on, and passes what they produce
(labels, a registered model) on.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QDialog, QWidget

from ..app.grids import GridMemory
from ..app.session import ProjectSession
from .widgets.materials_table import MaterialsTable


class SimulationActions(QObject):
    """Training, GCMC labelling and active learning dialogs (non-modal, one each).

    Parameters
    ----------
    parent : QWidget
        The dialogs' parent.
    session : ProjectSession
        The labelled materials (exported for training).
    memory : GridMemory
        Their grids.
    table : MaterialsTable
        The selection (the pool to simulate) and the rows marked while simulated.
    set_label : callable
        ``set_label(name, value, source)``: a label that landed.
    status : callable
        Shows a one-line message.

    Signals
    -------
    model_registered(str)
        Training registered a model under this name.
    """

    model_registered = Signal(str)

    def __init__(
        self,
        parent: QWidget,
        session: ProjectSession,
        memory: GridMemory,
        table: MaterialsTable,
        set_label: Callable[[str, float, str], None],
        status: Callable[[str], None],
    ) -> None:
        super().__init__(parent)
        self._parent = parent
        self.session = session
        self.memory = memory
        self.table = table
        self._set_label = set_label
        self._status = status
        self.dialogs: dict[str, QDialog] = {}

    def training_dialog(self):
        """Open the training dialog (non-modal); returns it."""
        from .widgets.training_dialog import TrainingDialog

        dlg = TrainingDialog(self.export_labelled, self._parent)
        dlg.model_registered.connect(self.model_registered)
        dlg.show()
        self.dialogs["training"] = dlg
        return dlg

    def export_labelled(self, folder: Path) -> tuple[int, str]:
        """Write the labelled materials with a grid as a training folder; returns (N, a
        message) (:meth:`~retvis.app.session.ProjectSession.export_labelled`)."""
        return self.session.export_labelled(Path(folder), self.memory.grids)

    def simulation_pool(self, least: int = 1) -> list[Path]:
        """The selected materials that have been read if there are ``least`` of them,
        else all of them."""
        recs = [r for r in self.table.selected_records() if r.status == "ok"]
        if len(recs) < least:
            recs = [r for r in self.session.materials.records() if r.status == "ok"]
        if not recs:
            self._status("Nothing to simulate: no material has been read yet")
        return [Path(r.path) for r in recs]

    def _simulation_dialog(self, name: str, cls, least: int = 1):
        """Open a simulation dialog (GCMC, active learning) on the pool; its labels go
        to the table as they land."""
        pool = self.simulation_pool(least)
        if not pool:
            return None
        dlg = cls(pool, self._parent)
        dlg.labelled.connect(self._set_label)
        dlg.failed.connect(lambda n, why: self._status(f"GCMC {n}: {why}"))
        dlg.show()
        self.dialogs[name] = dlg
        return dlg

    def learning_dialog(self):
        """Active learning over the selected materials (all finished ones unless two or
        more are selected: one selected row is not a pool)."""
        from .widgets.learning_dialog import LearningDialog

        dlg = self._simulation_dialog("learning", LearningDialog, least=2)
        if dlg is not None:  # the rows of the round being simulated are marked
            dlg.simulating.connect(self.session.materials.set_simulating)
        return dlg

    def gcmc_dialog(self):
        """Simulate uptake for the selected materials (all finished ones if none selected)."""
        from .widgets.gcmc_dialog import GcmcDialog

        return self._simulation_dialog("gcmc", GcmcDialog)

    def close_dialogs(self) -> None:
        """Close every dialog (each stops its running child process)."""
        for dlg in self.dialogs.values():
            dlg.close()

"""What the network sees: feature maps and saliency of the current row, fingerprints of
the selected rows, computed by the loaded model in the background."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PySide6.QtCore import QObject, QTimer

from ..app.grids import GridMemory
from ..app.predictions import Predictions
from . import workers
from .settings import AppSettings
from .widgets.fingerprint import FingerprintPanel
from .widgets.materials_table import MaterialsTable
from .widgets.viewer import ViewerPanel

#: Fingerprints drawn at most for this many selected rows.
MAX_FINGERPRINTS = 6


class InspectActions(QObject):
    """Feature maps, saliency (in the viewer) and fingerprints (in their panel).

    Parameters
    ----------
    predictions : Predictions
        The selected model (inspection needs it loaded).
    memory : GridMemory
        The grids the network reads.
    table : MaterialsTable
        The current and selected rows.
    model_runner : workers.TaskRunner
        Runs the model's jobs.
    settings : callable
        The current settings (the device).
    viewer : ViewerPanel
        Asks for a layer (its ``inspect`` signal) and shows it.
    fingerprints : FingerprintPanel
        Shows the fingerprints or why there are none.
    """

    def __init__(
        self,
        predictions: Predictions,
        memory: GridMemory,
        table: MaterialsTable,
        model_runner: workers.TaskRunner,
        settings: Callable[[], AppSettings],
        viewer: ViewerPanel,
        fingerprints: FingerprintPanel,
    ) -> None:
        super().__init__(table)
        self.predictions = predictions
        self.memory = memory
        self.table = table
        self.model_runner = model_runner
        self._settings = settings
        self.viewer = viewer
        self.fingerprints = fingerprints
        self._names: dict[str, str] = {}
        self._timer = QTimer(self, singleShot=True, interval=250)
        self._timer.timeout.connect(self.request_fingerprints)
        viewer.inspect.connect(self.inspect)
        table.selection_changed.connect(self._timer.start)

    def schedule_fingerprints(self) -> None:
        """Draw the selected rows' fingerprints soon (several changes: once)."""
        self._timer.start()

    def inspect(self, what: str, layer: str) -> None:
        """The current row's feature maps or saliency (``what``) at ``layer``."""
        key = self.table.current_digest()
        grid = self.memory.grids.get(key) if key is not None else None
        if grid is None or self.predictions.info is None:
            return
        name = self.table.materials_model.record(key).name
        self.model_runner.submit(
            f"inspect:{key}:{name}",
            workers.inspect_job,
            self.predictions.ref,
            grid.boltzmann.copy(),
            what,
            layer or None,
            grid.density,
        )

    def on_inspect(self, resp: workers.TaskResponse) -> None:
        name = resp.tag.split(":", 2)[2]
        if resp.error:
            self.viewer.message.setText(f"{name}: {resp.error}")
            return
        v = resp.value
        self.viewer.show_field(name, v["what"], v["layer"] or "", v["array"])

    def request_fingerprints(self) -> None:
        if self.predictions.info is None:
            return
        spec = self.predictions.spec(self._settings().spec)
        grids = {}
        for r in self.table.selected_records():
            if (g := self.memory.grid_of(r.digest, spec)) is not None:
                grids[r.digest] = (r.name, g)
            if len(grids) == MAX_FINGERPRINTS:
                break
        if not grids:
            self.fingerprints.show_message("Fingerprints: select materials with a grid.")
            return
        x = np.stack([g.boltzmann for _, g in grids.values()]).astype(np.float32)
        self._names = {k: name for k, (name, _) in grids.items()}
        self.model_runner.submit(
            "fingerprint",
            workers.fingerprint_job,
            self.predictions.ref,
            list(grids),
            x,
            self._settings().device,
            list(self._names.values()),
            self.fingerprints.plot_size(),
        )

    def on_fingerprints(self, resp: workers.TaskResponse) -> None:
        if resp.error:
            self.fingerprints.show_message(f"Fingerprints: {resp.error}")
            return
        v = resp.value
        names = [self._names.get(k, k[:8]) for k in v["keys"]]
        self.fingerprints.show_image(v["image"], names)

"""The main window's model side: choosing a model, predictions, inspection, training, GCMC.

A mixin of :class:`~retvis.gui.main_window.MainWindow` (split out to keep files small);
it uses the window's table model, runners and viewer.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from ..app.models import available_models, model_info_job, predict_job
from . import workers
from .materials_model import COL
from .widgets.model_picker import ModelCardDialog

log = logging.getLogger(__name__)


class ModelActions:
    """Predictions, feature maps, saliency, fingerprints, training and GCMC labelling."""

    def select_model(self, ref: str | None) -> None:
        """Use a model (name or folder) for predictions; None or '': no model.

        Predictions made by another model are cleared (the new one predicts again); those
        of an older version of this one (another card) are cleared once it has loaded
        (:class:`~retvis.app.predictions.Predictions`).
        """
        self._save(self.predictions.select(ref))
        self.viewer.set_model_available(False)
        # listing models imports the ml package (and torch: seconds): off the GUI thread
        self.model_picker.set_models([], self._model_ref)
        self.io_runner.submit("models", available_models)
        self.model_picker.set_loaded(False)
        self.fingerprints.show_message("Fingerprints: select materials (needs a model).")
        self.plots.set_model(None)
        self.model.set_target(None, None)
        if self._model_ref is not None:
            self.model_runner.submit(
                "model_info", model_info_job, self._model_ref, self.settings.device
            )

    @property
    def _model_ref(self) -> str | None:
        return self.predictions.ref

    @property
    def _model_info(self) -> dict | None:
        return self.predictions.info

    @property
    def model_key(self) -> str | None:
        """The loaded model's ``name@card-hash`` (what predictions are stored under)."""
        return self.predictions.key

    def _on_model_chosen(self, ref: str) -> None:
        self.settings.model = ref
        self.settings.save()
        self.select_model(ref)

    def show_model_card(self) -> None:
        if self._model_info is not None:
            dlg = ModelCardDialog(self._model_info["card"], self)
            dlg.show()

    @property
    def grid_spec(self):
        """Grid settings for new computations: the loaded model's, else the user's."""
        return self.predictions.spec(self.settings.spec)

    def _on_model_info(self, resp: workers.TaskResponse) -> None:
        if resp.tag == "model_info" and resp.error:
            error = self.predictions.failed(resp.error)
            log.warning("%s", error)
            self.model_picker.set_loaded(False, error)
            self.status_label.setText(error)
            return
        info = resp.value
        if info["ref"] != self._model_ref:
            return
        if self.project is not None:
            self.project.record_model(self._model_ref, info["key"], info["card"])
        self._save(self.predictions.loaded(info))
        target = info["card"].get("target") or {}
        self.model.set_target(target.get("name"), target.get("units"))
        self.filter_bar.set_units(target.get("units") or "")
        for c in (COL["uptake"], COL["label"]):
            self.table.setColumnWidth(
                c, max(self.table.columnWidth(c), self.table.horizontalHeader().sectionSizeHint(c))
            )
        self.model_picker.set_loaded(
            True,
            f"{self._model_ref}: predicts {target.get('name', '?')} ({target.get('units', '?')})",
        )
        self.viewer.set_model_available(True, info.get("layers") or None)
        self.plots.set_model(info["card"])
        self._recompute_for_model()
        self._queue_predictions(self.predictions.owed())
        self._fp_timer.start()

    def _recompute_for_model(self) -> None:
        """Grids in memory made with other settings than the loaded model's (another
        model's, or the user's before this one loaded) are computed again with its own."""
        spec = self.grid_spec
        keys = [k for k, g in self._grids.items() if g.spec != spec]
        recs = [r for r in map(self.model.record, keys) if r is not None and r.status == "ok"]
        for r in recs:
            self._grids.pop(r.digest, None)
        # and rows that failed for a reason of those settings (a structure EQeq cannot
        # charge fails the CO2 probe, not the sphere): they may succeed now
        failed = [k for k, s in self._failed_spec.items() if s != spec]
        recs += [
            r for r in map(self.model.record, failed) if r is not None and r.status == "failed"
        ]
        if recs:
            self._submit(recs)
            self.status_label.setText(
                f"{len(recs)} grid(s) computed again with {self._model_ref}'s grid settings"
            )

    def _queue_prediction(self, key: str) -> None:
        self._queue_predictions([key])

    def _queue_predictions(self, keys: list[str], refresh: bool = True) -> None:
        """Predict these rows soon (in batches); ``refresh=False``: the caller repaints."""
        full = self.predictions.queue(keys)
        if not self.predictions.waiting:
            return  # queued again when the model has loaded
        if refresh:
            for k in keys:
                self.model.refresh(k)
        if full:
            self._flush_predictions()
        elif not self._predict_timer.isActive():
            self._predict_timer.start()

    def _flush_predictions(self) -> None:
        taken = self.predictions.take(self._grids, self.grid_spec)
        for k in taken.missing:  # evicted from memory: reload, prediction follows
            self._reload(k)
        b = taken.batch
        if b is not None:
            self.model_runner.submit(
                "predict", predict_job, self._model_ref, b.keys, b.x, b.densities,
                self.settings.device,
            )  # fmt: skip

    def _on_predictions(self, resp: workers.TaskResponse) -> None:
        if resp.error:
            self.predictions.apply_error(resp.error)
        else:
            self._save(self.predictions.apply(resp.value))

    def _on_inspect(self, what: str, layer: str) -> None:
        key = self._current_digest()
        if key is None or key not in self._grids or self._model_info is None:
            return
        rec = self.model.record(key)
        x = self._grids[key].boltzmann.copy()
        self.model_runner.submit(
            f"inspect:{key}:{rec.name}",
            workers.inspect_job,
            self._model_ref,
            x,
            what,
            layer or None,
            self._grids[key].density,
        )

    def _on_inspect_result(self, resp: workers.TaskResponse) -> None:
        name = resp.tag.split(":", 2)[2]
        if resp.error:
            self.viewer.message.setText(f"{name}: {resp.error}")
            return
        v = resp.value
        self.viewer.show_field(name, v["what"], v["layer"] or "", v["array"])

    def _request_fingerprints(self) -> None:
        if self._model_info is None:
            return
        recs = [r for r in self.selected_records() if r.digest in self._grids][:6]
        spec = self.grid_spec
        recs = [r for r in recs if self._grids[r.digest].spec == spec]
        if not recs:
            self.fingerprints.show_message("Fingerprints: select materials with a grid.")
            return
        x = np.stack([self._grids[r.digest].boltzmann for r in recs]).astype(np.float32)
        self._fp_names = {r.digest: r.name for r in recs}
        self.model_runner.submit(
            "fingerprint",
            workers.fingerprint_job,
            self._model_ref,
            [r.digest for r in recs],
            x,
            self.settings.device,
            [r.name for r in recs],
            self.fingerprints.plot_size(),
        )

    def _on_fingerprints(self, resp: workers.TaskResponse) -> None:
        if resp.error:
            self.fingerprints.show_message(f"Fingerprints: {resp.error}")
            return
        v = resp.value
        names = [self._fp_names.get(k, k[:8]) for k in v["keys"]]
        self.fingerprints.show_image(v["image"], names)

    def training_dialog(self):
        """Open the training dialog (non-modal); returns it."""
        from .widgets.training_dialog import TrainingDialog

        dlg = TrainingDialog(self.export_labelled, self)
        dlg.model_registered.connect(self._on_model_registered)
        dlg.show()
        self._training = dlg
        return dlg

    def export_labelled(self, folder: Path) -> tuple[int, str]:
        """Write the labelled materials with a grid as a training folder; returns (N, a
        message) (:meth:`~retvis.app.session.ProjectSession.export_labelled`)."""
        return self.session.export_labelled(Path(folder), self._grids)

    def _simulation_pool(self, least: int = 1) -> list[Path]:
        """The selected materials that have been read if there are ``least`` of them,
        else all of them."""
        recs = [r for r in self.selected_records() if r.status == "ok"]
        if len(recs) < least:
            recs = [r for r in self.model.records() if r.status == "ok"]
        if not recs:
            self.status_label.setText("Nothing to simulate: no material has been read yet")
        return [Path(r.path) for r in recs]

    def _simulation_dialog(self, cls, least: int = 1):
        """Open a simulation dialog (GCMC, active learning) on the pool; its labels go
        to the table as they land."""
        pool = self._simulation_pool(least)
        if not pool:
            return None
        dlg = cls(pool, self)
        dlg.labelled.connect(self._on_gcmc_label)
        dlg.failed.connect(lambda n, why: self.status_label.setText(f"GCMC {n}: {why}"))
        dlg.show()
        return dlg

    def learning_dialog(self):
        """Active learning over the selected materials (all finished ones unless two or
        more are selected: one selected row is not a pool)."""
        from .widgets.learning_dialog import LearningDialog

        self._learning = dlg = self._simulation_dialog(LearningDialog, least=2)
        if dlg is not None:  # the rows of the round being simulated are marked
            dlg.simulating.connect(self.model.materials.set_simulating)
        return dlg

    def gcmc_dialog(self):
        """Simulate uptake for the selected materials (all finished ones if none selected)."""
        from .widgets.gcmc_dialog import GcmcDialog

        self._gcmc = self._simulation_dialog(GcmcDialog)
        return self._gcmc

    def _on_gcmc_label(self, name: str, value: float, source: str) -> None:
        self.session.set_label(name, value, source, self.grid_spec)
        self._update_title()  # the label may have started the autosave

    def _on_model_registered(self, name: str) -> None:
        self.settings.model = name
        self.settings.save()
        self.select_model(name)
        self.status_label.setText(f"Model '{name}' registered and selected")


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

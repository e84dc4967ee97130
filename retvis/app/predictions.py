"""The selected model and the predictions it owes, without Qt.

:class:`Predictions` holds which model the session uses (its reference, and its card and
grid settings once loaded), the digests waiting to be predicted, and the rules that
connect them to :class:`~retvis.app.materials.Materials`: which predictions a newly
chosen model makes stale, what each row's prediction column says while there is no
number, which grids can go to the model (those of its grid settings) and how a batch of
results lands in the records. The Qt window runs the model in the background and feeds
the answers back here; every rule is tested without a display (``tests/app``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from ..core.grid import EnergyGrid, GridSpec
from ..core.project import MaterialRecord
from .materials import Materials

#: Grids per prediction request.
PREDICT_BATCH = 64
#: The prediction column of a row whose grid was made with other settings.
OTHER_SPEC_NOTE = "grid settings differ from the model's: Compute Again (Ctrl+R)"


@dataclass
class Batch:
    """Grids to send to the model: ``x`` (k, n, n, n) float32 of ``keys``, with each
    framework's density (per-volume models divide by it)."""

    keys: list[str]
    x: NDArray[np.float32]
    densities: list[float]


@dataclass
class Taken:
    """What :meth:`Predictions.take` made of the queue: a batch (None when empty) and
    the queued digests whose grid is not in memory (to be read again)."""

    batch: Batch | None
    missing: list[str] = field(default_factory=list)


class Predictions:
    """The session's model and its queue of predictions.

    Parameters
    ----------
    materials : Materials
        The records predictions are written to (observers repaint from its events).
    """

    def __init__(self, materials: Materials) -> None:
        self.materials = materials
        #: The model's name or folder; None: no model.
        self.ref: str | None = None
        #: What the loaded model told about itself (``key``, ``card``, ``spec``,
        #: ``layers``...); None until it has loaded.
        self.info: dict | None = None
        #: Why the model could not be loaded ('' when it could).
        self.error = ""
        self._queue: list[str] = []

    # -- the model -------------------------------------------------------------------
    @property
    def key(self) -> str | None:
        """The loaded model's ``name@card-hash`` (what predictions are stored under)."""
        return (self.info or {}).get("key")

    def spec(self, user_spec: GridSpec) -> GridSpec:
        """Grid settings for new computations: the loaded model's, else the user's."""
        spec = (self.info or {}).get("spec")
        return spec if spec is not None else user_spec

    def select(self, ref: str | None) -> list[MaterialRecord]:
        """Use this model (None or '': none). Queued work is dropped and predictions of
        another model's name are cleared (those of an older card of this model once it
        has loaded, :meth:`loaded`); returns the records changed, to be saved."""
        self.ref = ref or None
        self.info = None
        self.error = ""
        self._queue = []
        self.materials.predicting.clear()  # answers of the previous model are dropped
        cleared = self._clear(lambda r: r.pred_model_name != (self.ref or ""))
        self.set_note_all("no model" if self.ref is None else "loading model…")
        return cleared

    def failed(self, error: str) -> str:
        """The model could not be loaded: every row waiting for it says so; returns the
        message."""
        self.error = f"model failed to load: {error}"
        self.set_note_all(self.error)
        return self.error

    def loaded(self, info: dict) -> list[MaterialRecord]:
        """The model has loaded (``info`` of the worker that loaded it). Returns the
        records whose predictions it made stale (an older card of this model's name), to
        be saved; :meth:`owed` then lists what it should predict."""
        self.info = info
        self.error = ""
        cleared = self._clear(lambda r: r.pred_model != info["key"])
        self.set_note_all("")
        return cleared

    def owed(self) -> list[str]:
        """Digests of the computed rows without a prediction."""
        return [
            r.digest for r in self.materials.records() if r.status == "ok" and r.pred_mean is None
        ]

    # -- the queue -------------------------------------------------------------------
    def queue(self, keys) -> bool:
        """Predict these digests soon; True when a full batch is waiting (send it now).
        Nothing is queued before the model has loaded (:meth:`loaded` returns them)."""
        keys = list(keys)
        if self.info is None or not keys:
            return False
        self._queue.extend(keys)
        self.materials.predicting.update(keys)
        return len(self._queue) >= PREDICT_BATCH

    @property
    def waiting(self) -> list[str]:
        """Digests queued and not yet taken."""
        return list(self._queue)

    def take(self, grids: Mapping[str, EnergyGrid], spec: GridSpec) -> Taken:
        """Empty the queue into a batch of the grids in ``grids`` made with ``spec``
        (:meth:`spec`). Rows whose grid has other settings are told so (no prediction);
        digests without a grid in ``grids`` are returned as ``missing``."""
        order = list(dict.fromkeys(self._queue))
        self._queue = []
        missing = [k for k in order if k not in grids]
        keys = [k for k in order if k in grids]
        other = [k for k in keys if grids[k].spec != spec]
        self.materials.predicting.difference_update(other)
        self.materials.update_many({k: dict(pred_note=OTHER_SPEC_NOTE) for k in other})
        keys = [k for k in keys if k not in set(other)]
        if not keys:
            return Taken(None, missing)
        x = np.stack([grids[k].boltzmann for k in keys]).astype(np.float32)
        return Taken(Batch(keys, x, [grids[k].density for k in keys]), missing)

    # -- answers ---------------------------------------------------------------------
    def apply(self, result: dict) -> list[MaterialRecord]:
        """Write a prediction job's result into the records; returns those changed (to
        be saved). A result of a model no longer selected is dropped. Refused rows get
        no number, only the reason."""
        if result["model"] != self.key:
            return []
        self.materials.predicting.difference_update(result["keys"])
        refused, std = result["refused"], result["std"]
        changed = self.materials.update_many(
            {
                k: dict(
                    pred_mean=None if refused[i] else float(result["mean"][i]),
                    pred_std=None if std is None or refused[i] else float(std[i]),
                    pred_model=result["model"],
                    pred_note=(
                        f"prediction refused: {refused[i]}" if refused[i] else result["notes"][i]
                    ),
                )
                for i, k in enumerate(result["keys"])
            }
        )
        return [r for r in changed if r is not None]

    def apply_error(self, error: str) -> None:
        """A prediction job failed: the rows it held say why."""
        failed = set(self.materials.predicting)
        self.materials.predicting.clear()
        note = f"prediction failed: {error}"
        self.materials.update_many({k: dict(pred_note=note) for k in failed})

    # -- notes -----------------------------------------------------------------------
    def set_note_all(self, note: str) -> None:
        """The prediction column of every computed row without a number says ``note``."""
        self.materials.update_many(
            {
                r.digest: dict(pred_note=note)
                for r in self.materials.records()
                if r.status == "ok" and r.pred_mean is None and r.pred_note != note
            }
        )

    def _clear(self, stale) -> list[MaterialRecord]:
        changed = self.materials.update_many(
            {
                r.digest: dict(pred_mean=None, pred_std=None, pred_model="")
                for r in self.materials.records()
                if r.pred_mean is not None and stale(r)
            }
        )
        return [r for r in changed if r is not None]

"""A training loop's last finished epoch on disk, written after every epoch and read to
resume: :func:`retvis.ml.train.train_run` (one per ensemble member) and
:func:`retvis.ml.pretrain.pretrain` keep theirs the same way."""

from __future__ import annotations

import json
from pathlib import Path

import torch

from ..errors import WeightsError
from .weights import save_torch


class Checkpoint:
    """The network, optimizer and learning-rate schedule of the last finished epoch, with
    the epoch history and the best epoch so far (stored as JSON) and whatever else the
    loop keeps (``state``), in one file."""

    def __init__(self, path: Path, device: str) -> None:
        self.path = path
        self.device = device

    def load(self) -> dict | None:
        """The saved state, or None when there is none yet."""
        if not self.path.is_file():
            return None
        try:
            return torch.load(self.path, map_location=self.device, weights_only=True)
        except Exception as exc:  # unreadable checkpoint: say which file and why
            raise WeightsError(
                f"cannot read checkpoint ({type(exc).__name__}: {exc})", self.path
            ) from exc

    @staticmethod
    def restore(saved: dict, net, opt, sched) -> None:
        """Load the saved network, optimizer and schedule (what :meth:`load` returned)."""
        for part, key in ((net, "model"), (opt, "optimizer"), (sched, "scheduler")):
            part.load_state_dict(saved[key])

    def save(self, net, opt, sched, *, history: list, best: dict, **state) -> None:
        """Write the state after an epoch: ``history`` (the epoch records) and ``best``
        as JSON, ``state`` (``epoch`` and the loop's own entries) as given."""
        save_torch(
            self.path,
            {
                "model": net.state_dict(),
                "optimizer": opt.state_dict(),
                "scheduler": sched.state_dict(),
                "history": json.dumps(history),
                "best": json.dumps(best),
                **state,
            },
        )

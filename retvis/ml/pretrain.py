"""A multi-task RetNet backbone: one network, one output per pretraining target.

RetNet's layers up to the 20-number fingerprint are shared; the last linear layer has
one output per target (``Head.out`` with T outputs). Each target is standardised with
its training mean and standard deviation; the loss is the mean squared error over the
targets a structure has (a missing target, NaN, is masked out, not a zero). The voxels
are standardised and augmented as in :mod:`retvis.ml.train` (docs/method.md section 3).

The result is a model folder whose card says ``"kind": "backbone"``: it does not
predict anything a user asked for, so it is not offered for prediction; ``retvis train
--init-from`` starts a model from it (every layer but the output, which is new).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from numpy.typing import NDArray

from ..errors import DataError
from . import data as D
from .checkpoint import Checkpoint
from .metrics import r2_score
from .retnet import build_retnet
from .weights import BACKBONE, save_model, save_torch


@dataclass(frozen=True)
class PretrainConfig:
    """Settings of a pretraining run (the thesis' optimiser and schedule)."""

    epochs: int = 20
    batch_size: int = 64
    lr: float = 1e-3
    lr_step: int = 10
    lr_gamma: float = 0.5
    dropout: float = 0.3
    val_fraction: float = 0.1
    augment: bool = True
    seed: int = 0
    device: str = "cpu"
    #: standardised targets are clipped to this many standard deviations, so a few
    #: extreme values (CO2 Henry coefficients of 1e10 where EQeq charges are strong)
    #: do not outweigh a whole target in the loss
    clip_sd: float = 5.0

    def __post_init__(self) -> None:
        if not self.clip_sd > 0:
            raise DataError(f"clip_sd must be > 0, got {self.clip_sd}")
        if self.epochs < 1 or self.batch_size < 2:
            raise DataError("epochs must be >= 1 and batch size >= 2")
        if not 0 < self.val_fraction < 0.5:
            raise DataError("val_fraction must be in (0, 0.5)")


def _masked_mse(pred: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    seen = torch.isfinite(y)
    diff = torch.where(seen, pred - torch.nan_to_num(y), torch.zeros_like(pred))
    return (diff**2).sum() / seen.sum().clamp(min=1)


def _predict(net, grids, rows, std, batch_size, device) -> NDArray[np.float64]:
    net.eval()
    out = []
    dummy = np.zeros(len(rows))
    with torch.inference_mode():
        for xb, _, _ in D.iter_batches(grids, rows, dummy, batch_size, std):
            out.append(net(torch.from_numpy(xb).to(device)).double().cpu().numpy())
    return np.concatenate(out).reshape(len(rows), -1)


def pretrain(
    grids: NDArray[np.float32],
    targets: NDArray[np.float64],
    target_names: list[str],
    units: dict[str, str],
    out: str | Path,
    cfg: PretrainConfig,
    gridspec: dict,
    progress: Callable[[dict], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> dict:
    """Train the backbone; resumable from ``out/checkpoint.pt``; returns the card.

    ``grids`` (N, n, n, n) are Boltzmann factors of ``gridspec``; ``targets`` (N, T) has
    NaN where a structure lacks a target.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    n_rows, n = len(grids), grids.shape[1]
    if targets.shape != (n_rows, len(target_names)):
        raise DataError(
            f"targets {targets.shape} do not match {n_rows} grids and {len(target_names)} names"
        )
    rng = np.random.default_rng(cfg.seed)
    order = rng.permutation(n_rows)  # the split, then (unless resumed) the batches
    n_val = max(1, int(round(cfg.val_fraction * n_rows)))
    val_rows, train_rows = np.sort(order[:n_val]), np.sort(order[n_val:])
    std = D.standardization(grids, train_rows, log=D.log_input("auto", gridspec))
    tg = _Targets.fit(targets, target_names, units, train_rows, cfg.clip_sd)
    net, opt, sched = _new_backbone(n, len(target_names), cfg)
    checkpoint, best_path = Checkpoint(out / "checkpoint.pt", cfg.device), out / "best.pt"
    history, best, start = _resume(checkpoint, net, opt, sched)
    if start > 1:  # a resumed run draws its batches from a generator of its own
        rng = np.random.default_rng([cfg.seed, start])
    for epoch in range(start, cfg.epochs + 1):
        if should_stop is not None and should_stop():
            break
        t0, c0 = time.perf_counter(), time.process_time()
        train_loss = _train_epoch(net, opt, grids, train_rows, tg.scaled, std, cfg, rng)
        sched.step()
        val_loss = _val_loss(net, grids, val_rows, tg.scaled, std, cfg.device)
        row = {
            "epoch": epoch,
            "train_loss": train_loss,
            "val_loss": val_loss,
            "seconds": round(time.perf_counter() - t0, 1),
            "cpu_seconds": round(time.process_time() - c0, 1),
        }
        history.append(row)
        if val_loss < best["val_loss"]:
            best = {"val_loss": val_loss, "epoch": epoch}
            save_torch(best_path, net.state_dict())
        checkpoint.save(net, opt, sched, history=history, best=best, epoch=epoch)
        if progress is not None:
            progress(row)
    if not best_path.is_file():
        raise DataError("pretraining stopped before its first epoch ended", out)
    net.load_state_dict(torch.load(best_path, map_location=cfg.device, weights_only=True))
    pred = _predict(net, grids, val_rows, std, 256, cfg.device) * tg.sd + tg.mean
    card = _backbone_card(
        std,
        gridspec,
        {
            "targets": tg.report(pred, val_rows),
            "n_train": len(train_rows),
            "n_val": len(val_rows),
            "best_epoch": best["epoch"],
            "history": history,
            "config": asdict(cfg),
            "cpu_seconds": round(sum(h["cpu_seconds"] for h in history), 1),
        },
    )
    save_model(out / "model", [net.cpu()], dict(card))
    return card


@dataclass(frozen=True)
class _Targets:
    """The pretraining targets, (N, T) with NaN where missing, their training rows'
    mean and standard deviation (T,), and ``scaled``: standardised with those and
    clipped, float32, what the loss sees."""

    values: NDArray[np.float64]
    names: list[str]
    units: dict[str, str]
    mean: NDArray[np.float64]
    sd: NDArray[np.float64]
    train_rows: NDArray[np.int64]
    scaled: NDArray[np.float32]

    @classmethod
    def fit(cls, values, names, units, train_rows, clip_sd: float) -> _Targets:
        """Standardise ``values`` by the training rows' statistics, clipped to ``clip_sd``.

        Raises
        ------
        DataError
            A target without a finite, positive spread in the training rows.
        """
        y_train = values[train_rows]
        mu, sd = np.nanmean(y_train, axis=0), np.nanstd(y_train, axis=0)
        if not (np.isfinite(mu).all() and (sd > 0).all()):
            raise DataError("a target has no finite spread in the training rows")
        scaled = np.clip((values - mu) / sd, -clip_sd, clip_sd).astype(np.float32)
        return cls(values, names, units, mu, sd, train_rows, scaled)

    def report(self, pred: NDArray[np.float64], val_rows) -> dict:
        """Per target: units, validation R² of ``pred`` (the validation rows' predictions
        in the targets' units), how many validation and training rows have it, its mean
        and standard deviation."""
        per_target = {}
        y_train = self.values[self.train_rows]
        for t, name in enumerate(self.names):
            y, p = self.values[val_rows, t], pred[:, t]
            ok = np.isfinite(y)
            r2 = r2_score(y[ok], p[ok])
            per_target[name] = {
                "units": self.units.get(name, ""),
                "val_r2": round(float(r2), 4),
                "n_val": int(ok.sum()),
                "n_train": int(np.isfinite(y_train[:, t]).sum()),
                "mean": float(self.mean[t]),
                "sd": float(self.sd[t]),
            }
        return per_target


def _resume(checkpoint: Checkpoint, net, opt, sched) -> tuple[list[dict], dict, int]:
    """Restore the last finished epoch when ``checkpoint`` holds one: (history, best
    epoch, first epoch to run); a new run's are ([], no best, 1)."""
    ck = checkpoint.load()
    if ck is None:
        return [], {"val_loss": math.inf, "epoch": 0}, 1
    checkpoint.restore(ck, net, opt, sched)
    return json.loads(ck["history"]), json.loads(ck["best"]), int(ck["epoch"]) + 1


def _new_backbone(n: int, outputs: int, cfg: PretrainConfig):
    """A seeded RetNet with one output per target on the device, its Adam optimizer and
    step schedule."""
    net = build_retnet(n, cfg.dropout, seed=cfg.seed, outputs=outputs)
    net.to(device=cfg.device, memory_format=torch.channels_last_3d)
    opt = torch.optim.Adam(net.parameters(), lr=cfg.lr)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=cfg.lr_step, gamma=cfg.lr_gamma)
    return net, opt, sched


def _train_epoch(net, opt, grids, train_rows, scaled, std, cfg: PretrainConfig, rng) -> float:
    """One shuffled (and augmented) pass over the training rows; returns the mean masked
    loss per sample."""
    device = cfg.device
    net.train()
    total = count = 0.0
    for xb, _, pos in D.iter_batches(
        grids,
        train_rows,
        np.zeros(len(train_rows)),
        cfg.batch_size,
        std,
        rng=rng,
        shuffle=True,
        augmented=cfg.augment,
    ):
        if len(pos) < 2:
            continue  # batch norm needs two samples
        x = torch.from_numpy(xb).to(device).contiguous(memory_format=torch.channels_last_3d)
        y = torch.from_numpy(scaled[train_rows[pos]]).to(device)
        opt.zero_grad(set_to_none=True)
        loss = _masked_mse(net(x), y)
        loss.backward()
        opt.step()
        total += loss.item() * len(pos)
        count += len(pos)
    return total / max(count, 1)


def _val_loss(net, grids, val_rows, scaled, std, device: str) -> float:
    """The masked loss of the validation rows."""
    pred = _predict(net, grids, val_rows, std, 256, device)
    return float(
        _masked_mse(torch.from_numpy(pred), torch.from_numpy(scaled[val_rows].astype(np.float64)))
    )


def _backbone_card(std, gridspec: dict, pretraining: dict) -> dict:
    """The backbone's model card: what it reads (``std``, ``gridspec``) and how it was
    pretrained (``pretraining``: targets, sizes, history, config)."""
    return {
        "kind": BACKBONE,
        "description": "RetVis backbone: RetNet pretrained on targets RetVis computes itself "
        "(docs/pretraining.md); a start for retvis train --init-from, not a predictor.",
        "standardization": std.to_dict(),
        "gridspec": gridspec,
        "target": {"name": "pretraining targets (standardised)", "units": "1"},
        "pretraining": pretraining,
    }

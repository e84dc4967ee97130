"""Training RetNet: thesis defaults, checkpoints, resume, cancel, deep ensembles.

:func:`train_run` trains into a run folder::

    RUN_DIR/config.json     resolved config, seed, data hash, library versions, GridSpec
    RUN_DIR/split.json      names of the train/val/test materials (seeded)
    RUN_DIR/members/<k>/checkpoint.pt   last finished epoch (model, optimizer, scheduler)
    RUN_DIR/members/<k>/best.pt         weights of the best validation epoch
    RUN_DIR/history.jsonl   one JSON object per epoch (what the CLI prints)
    RUN_DIR/metrics.json    best epochs, validation and test metrics
    RUN_DIR/model/          the model folder (model.json + member_<k>.pt, SHA-256 checked)
    RUN_DIR/plots/          loss.png, parity_val.png, parity_test.png

Cancel: the ``should_stop`` callable (the CLI sets it from SIGINT/SIGTERM and from a
``RUN_DIR/STOP`` file) is checked between batches; the unfinished epoch is dropped, the
best checkpoint so far becomes the model, and the final record says ``cancelled``.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Callable
from dataclasses import asdict, replace
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch

from ..core.cache import atomic_write_bytes
from ..core.grid import GridSpec
from ..errors import DataError
from . import data as D
from .checkpoint import Checkpoint
from .config import TrainConfig
from .metrics import loss_plot, parity_plot, point_metrics, r2_score
from .retnet import RetNet, build_retnet
from .weights import (
    FROM_BACKBONE,
    backbone_for,
    fit_calibration,
    is_backbone,
    label_quantiles,
    library_versions,
    load_model,
    save_model,
    save_torch,
)

log = logging.getLogger(__name__)

STOP_FILE = "STOP"


# --------------------------------------------------------------------------- helpers
def _write_json(path: Path, obj) -> None:
    atomic_write_bytes(path, json.dumps(obj, indent=1).encode())


def _save_weights(path: Path, net: RetNet) -> None:
    """A network's weights alone (the best epoch's file), on the CPU."""
    save_torch(path, {k: v.detach().cpu().contiguous() for k, v in net.state_dict().items()})


def _to_device(xb: np.ndarray, device: str) -> torch.Tensor:
    """A (B, 1, n, n, n) batch as a channels-last tensor on the device."""
    return torch.from_numpy(xb).to(device).contiguous(memory_format=torch.channels_last_3d)


def _predict(net: RetNet, voxels, rows, std, batch_size: int, device: str) -> np.ndarray:
    net.eval()
    out = np.empty(len(rows))
    with torch.inference_mode():
        for xb, _, pos in D.iter_batches(voxels, rows, np.zeros(len(rows)), batch_size * 2, std):
            out[pos] = net(_to_device(xb, device)).double().cpu().numpy()
    return out


class _Run:
    """State shared by the members of one run."""

    def __init__(self, run_dir: Path, cfg: TrainConfig, emit, should_stop) -> None:
        self.dir = run_dir
        self.cfg = cfg
        self.emit = emit
        self.should_stop = should_stop

    def stop_requested(self) -> bool:
        return bool(self.should_stop and self.should_stop()) or (self.dir / STOP_FILE).exists()


def _prepare(voxels_dir, labels_csv, run_dir: Path, cfg: TrainConfig, resume: bool):
    """The joined dataset, the labels as read and the run's split: a resumed run's own,
    ``cfg.split`` (without the names this data lacks) or a new seeded one, without the
    excluded names, cut to ``cfg.train_size`` training names."""
    ds, labels, exclude = D.open_training_dataset(voxels_dir, labels_csv, cfg)
    if resume:
        split = D.load_split(run_dir / "split.json")
    elif cfg.split:
        known = set(ds.names)
        split = _filter_split(D.load_split(cfg.split), lambda name: name in known)
    else:
        split = D.make_split(ds.names, cfg.seed, cfg.val_fraction, cfg.test_fraction)
    if exclude:
        split = _filter_split(split, lambda name: name not in exclude)
    if cfg.train_size is not None and not resume:
        if cfg.train_size > len(split["train"]) or cfg.train_size < 2:
            raise DataError(f"train_size {cfg.train_size} not in [2, {len(split['train'])}]")
        sub = np.random.default_rng(cfg.seed).permutation(split["train"])[: cfg.train_size]
        split = {**split, "train": sub.tolist(), "train_size": cfg.train_size}
    if len(split["train"]) < 2:
        raise DataError(f"the training split has {len(split['train'])} material(s); need >= 2")
    return ds, labels, split


def _filter_split(split: dict, keep: Callable[[str], bool]) -> dict:
    """The split with only the train, validation and test names that ``keep`` accepts."""
    return {**split, **{k: [n for n in split[k] if keep(n)] for k in ("train", "val", "test")}}


def _run_config(run_dir: Path, cfg: TrainConfig | None, resume: bool):
    """The run's settings (a resumed run's own, read from its ``config.json``) and what
    that file holds (None for a new run); a new run refuses a folder that holds one."""
    saved = None
    if resume:
        try:
            saved = json.loads((run_dir / "config.json").read_text())
        except FileNotFoundError as exc:
            raise DataError("nothing to resume: no config.json in the run folder", run_dir) from exc
        # a run saved before target scaling existed trained (and resumes) without it
        # (and one saved before calibration existed resumes without it)
        # (and a fine-tune saved before batch-norm statistics were kept refits them)
        old = {"scale_target": False, "calibrate": False}
        old["refit_batchnorm"] = bool(saved["config"].get("init_from"))
        cfg = TrainConfig.from_dict({**old, **saved["config"]})
    cfg = cfg or TrainConfig()
    cfg.validate()
    if not resume and (run_dir / "config.json").exists():
        raise DataError(
            "this folder already holds a training run: resume it (--resume) or choose a new folder",
            run_dir,
        )
    return cfg, saved


def _starting_model(cfg: TrainConfig, vs: D.VoxelSet, voxels_dir, emit):
    """Where the weights start: the settings with the installed backbone resolved
    (:data:`~retvis.ml.weights.FROM_BACKBONE`), and the loaded model to start from (None:
    random weights), checked against the voxels."""
    if cfg.init_from == FROM_BACKBONE:
        found = backbone_for(vs.spec)
        if found is None and (cfg.freeze_conv or cfg.refit_batchnorm or cfg.restandardize):
            raise DataError(
                f"no installed backbone reads grids of {vs.spec}: --freeze-conv, "
                "--refit-batchnorm and --restandardize need a model to start from "
                "(--init-from MODEL)",
                voxels_dir,
            )
        cfg = replace(cfg, init_from=found)
        emit({"event": "start", "init_from": found or "random weights"})
    source = None
    if cfg.init_from:
        source = load_model(cfg.init_from, backbone=True)
        if source.n != vs.n:
            raise DataError(
                f"--init-from model expects n = {source.n} grids, the voxels have n = {vs.n}"
            )
        if (
            is_backbone(source.card)
            and vs.spec
            and not cfg.restandardize
            and (
                GridSpec.from_dict(vs.spec).to_dict()
                != GridSpec.from_dict(source.card["gridspec"]).to_dict()
            )
        ):
            raise DataError(
                f"the backbone '{cfg.init_from}' reads grids of {source.card['gridspec']}; these "
                f"voxels are {vs.spec}: compute them with the backbone's grid settings, or "
                "--restandardize (with --refit-batchnorm) to start from it anyway"
            )
    return cfg, source


def train_run(
    voxels_dir: str | Path,
    labels_csv: str | Path,
    run_dir: str | Path,
    cfg: TrainConfig | None = None,
    emit: Callable[[dict], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    resume: bool = False,
) -> dict:
    """Train RetNet (or a deep ensemble) and write the run folder.

    Parameters
    ----------
    voxels_dir : path-like
        Folder with ``voxels.npy`` and ``names.json`` (``retvis grid`` output).
    labels_csv : path-like
        Labels table (name + value columns).
    run_dir : path-like
        Output folder (created).
    cfg : TrainConfig, optional
        Settings; with ``resume``, read from ``run_dir/config.json`` instead.
    emit : callable(dict), optional
        Receives one record per epoch and a final record.
    should_stop : callable() -> bool, optional
        Polled between batches; True cancels cleanly.
    resume : bool
        Continue an interrupted run from its checkpoints.

    Returns
    -------
    dict
        The final record (``event = "done"``).
    """
    t_start = time.perf_counter()
    run_dir = Path(run_dir)
    emit = emit or (lambda rec: None)
    cfg, saved = _run_config(run_dir, cfg, resume)
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / STOP_FILE).unlink(missing_ok=True)

    ds, labels, split = _prepare(voxels_dir, labels_csv, run_dir, cfg, resume)
    data_hash = ds.digest()
    cfg, source = _starting_model(cfg, ds.voxels, voxels_dir, emit)
    parts = {k: ds.select(split[k]) for k in ("train", "val", "test")}
    std, scale, tscale = _scalings(cfg, ds.voxels, parts["train"], source, voxels_dir)
    data = _RunData(ds, split, parts, data_hash, (voxels_dir, labels_csv), std, scale, tscale)
    _check_shift(cfg, data.gridspec, voxels_dir)
    if resume:
        if saved["data"]["hash"] != data_hash:
            raise DataError(
                "the voxels or labels differ from those the run started with "
                "(data hash mismatch); start a new run",
                run_dir,
            )
    else:
        _record_start(run_dir, cfg, data, labels)
    run = _Run(run_dir, cfg, emit, should_stop)
    status, histories, infos, best_nets = _train_ensemble(run, data, source)

    (run_dir / "plots").mkdir(exist_ok=True)
    if any(histories):
        loss_plot(histories, run_dir / "plots" / "loss.png")
    final = {
        "event": "done",
        "status": status,
        "members": len(best_nets),
        "seconds": round(time.perf_counter() - t_start, 3),
    }
    if not best_nets:
        final.update(model=None, reason="cancelled before the first epoch finished")
    else:
        _save_result(run, data, source, (status, infos, best_nets), final)
    emit(final)
    return final


class _RunData(NamedTuple):
    """What a run trains and is scored on, and how it scales it."""

    dataset: D.Dataset
    split: dict
    #: "train", "val", "test": (grid rows, labels) of each part of the split
    parts: dict[str, tuple[np.ndarray, np.ndarray]]
    #: :meth:`~retvis.ml.data.Dataset.digest`: the training set's identity
    hash: str
    #: the voxels folder and the labels table
    sources: tuple
    std: D.Standardization
    #: shape (N,): the per-volume factor of every grid row (:func:`_per_volume_scale`)
    scale: np.ndarray
    #: :func:`_target_scaling`
    tscale: dict

    @property
    def voxels(self) -> D.VoxelSet:
        return self.dataset.voxels

    @property
    def gridspec(self) -> dict:
        return self.voxels.spec or {"n": self.voxels.n}

    @property
    def sizes(self) -> dict:
        return {f"n_{k}": len(rows) for k, (rows, _) in self.parts.items()}


def _scalings(cfg: TrainConfig, vs: D.VoxelSet, train, source, voxels_dir):
    """How the run scales its data (``train``: the training rows and labels): the
    voxels' standardization (the source model's unless ``restandardize``), the
    per-volume factor of every grid row and the target scaling."""
    train_rows, y_train = train
    if source is not None and not cfg.restandardize:
        std = source.standardization
    else:
        gridspec = vs.spec or {"n": vs.n}
        std = D.standardization(vs.voxels, train_rows, log=D.log_input(cfg.input_scale, gridspec))
    scale = _per_volume_scale(vs, cfg, voxels_dir)  # 1, or each framework's density
    tscale = _target_scaling(y_train * scale[train_rows], cfg.scale_target)
    return std, scale, tscale


def _check_shift(cfg: TrainConfig, gridspec: dict, voxels_dir) -> None:
    """Refuse ``shift`` for grids that are not periodic."""
    if cfg.shift and (gridspec.get("endpoint") or gridspec.get("mode", "supercell") != "supercell"):
        raise DataError(
            "--shift needs periodic grids (supercell mode without the end point); these "
            f"are {gridspec.get('mode', 'supercell')} with endpoint={gridspec.get('endpoint')}",
            voxels_dir,
        )


def _record_start(run_dir: Path, cfg: TrainConfig, data: _RunData, labels) -> None:
    """A new run's ``split.json`` and ``config.json`` (settings, data, scalings, grids,
    library versions)."""
    D.save_split(data.split, run_dir / "split.json")
    voxels_dir, labels_csv = data.sources
    ds = data.dataset
    record = {
        "voxels": str(Path(voxels_dir).resolve()),
        "labels": str(Path(labels_csv).resolve()),
        "column": ds.column,
        "hash": data.hash,
        "n_labelled": len(ds.names),
        **data.sizes,
        "labels_skipped_status": labels.skipped,
    }
    _write_json(
        run_dir / "config.json",
        {"config": asdict(cfg), "seed": cfg.seed, "data": record,
         "standardization": data.std.to_dict(), "target_scaling": data.tscale,
         "gridspec": data.gridspec, "versions": library_versions()},
    )  # fmt: skip


def _save_result(run: _Run, data: _RunData, source, ensemble, final: dict) -> None:
    """Score the trained ensemble (``ensemble``: status, member infos, best networks),
    write the model folder and ``metrics.json``, and add both to the ``final`` record."""
    status, infos, best_nets = ensemble
    cfg = run.cfg
    metrics: dict = {"best_epochs": [i["best_epoch"] for i in infos]}
    if source is not None and not any(metrics["best_epochs"]):
        final["note"] = (
            f"no epoch beat the starting model ({cfg.init_from}) on validation: "
            "its networks are kept unchanged"
        )
    sets = {"val": data.parts["val"], "test": data.parts["test"]}
    calibration = _evaluate(
        best_nets, data.voxels.voxels, sets, data.std, data.scale, cfg, run.dir / "plots", metrics
    )
    card = _model_card(cfg, data)
    card["training_set"].update(
        label_quantiles=label_quantiles(data.parts["train"][1]), target_scaling=data.tscale,
        split_seed=data.split.get("seed"),
    )  # fmt: skip
    card.update(calibration=calibration, metrics=metrics, status=status, members_info=infos)
    model_dir = save_model(run.dir / "model", [n.cpu() for n in best_nets], card)
    _write_json(run.dir / "metrics.json", {"status": status, **metrics, "members": infos})
    final.update(model=str(model_dir), metrics=metrics, run_dir=str(run.dir))


def _model_card(cfg: TrainConfig, data: _RunData) -> dict:
    """The model card's facts known before training ends: target, grids, standardization
    and the training set. The caller adds the results."""
    column = data.dataset.column
    target = {"name": cfg.target_name or column, "column": column, "units": cfg.units}
    if cfg.allow_negative:  # evaluation reads the labels the same way (absent: uptakes)
        target["allow_negative"] = True
    if cfg.per_volume:  # the networks predict label x density; Predictor divides it out
        target["per_volume"] = True
    voxels_dir, labels_csv = data.sources
    return {
        "standardization": data.std.to_dict(),
        "gridspec": data.gridspec,
        "gridspec_known": data.voxels.spec is not None,  # False: no gridspec.json
        "target": target,
        "training_set": {
            "data_hash": data.hash,
            "labels": str(Path(labels_csv).resolve()),
            "voxels": str(Path(voxels_dir).resolve()),
            **data.sizes,
            "init_from": cfg.init_from,
            "freeze_conv": cfg.freeze_conv,
            "refit_batchnorm": cfg.refit_batchnorm if cfg.init_from else None,
            "restandardize": cfg.restandardize if cfg.init_from else None,
        },
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def _train_ensemble(run: _Run, data: _RunData, source):
    """Each member in turn: (status, histories, infos, best networks with the target
    scaling folded in). A cancel stops after the member it interrupts."""
    cfg = run.cfg
    histories: list[list[dict]] = []
    infos: list[dict] = []
    best_nets: list[RetNet] = []
    status = "finished"
    (train_rows, y_train), (val_rows, y_val) = data.parts["train"], data.parts["val"]
    scale, tscale = data.scale, data.tscale
    for k in range(cfg.ensemble):
        mstatus, hist, info, net = _train_member(
            run,
            k,
            data.voxels.voxels,
            train_rows,
            y_train * scale[train_rows],
            val_rows,
            y_val * scale[val_rows],
            data.std,
            source,
            tscale,
            _sample_weights(scale, cfg),
        )
        histories.append(hist)
        if net is not None:
            infos.append(info)
            best_nets.append(_fold_target_scaling(net, tscale))
        if mstatus == "cancelled":
            status = "cancelled"
            break
        if mstatus == "early_stopped" and status == "finished":
            status = "early_stopped"
    return status, histories, infos, best_nets


def _evaluate(nets, voxels, sets: dict, std, scale, cfg: TrainConfig, plots: Path, metrics):
    """The ensemble on the validation and test sets (``sets``: name -> (rows, labels)):
    the calibration fitted on validation (None when off), each set's metrics added to
    ``metrics`` (with the uncalibrated ones when a calibration applies) and its parity
    plot."""
    raw: dict = {}
    for label, (rows, _) in sets.items():
        if len(rows) >= 2:
            preds = np.stack(
                [_predict(n, voxels, rows, std, cfg.batch_size, cfg.device) for n in nets]
            )
            raw[label] = preds / scale[rows]  # per volume: back to the labels' units
    calibration = None
    if cfg.calibrate:
        calibration = fit_calibration(sets["val"][1], raw["val"].mean(0) if "val" in raw else [])
        if "b" in calibration:
            for label, (_, y) in sets.items():
                if label in raw:
                    metrics[f"{label}_uncalibrated"] = point_metrics(y, raw[label].mean(0))
    a, b = (calibration["a"], calibration["b"]) if calibration and "b" in calibration else (0, 1)
    for label, (_, y) in sets.items():
        if label in raw:
            preds = a + b * raw[label]
            mean = preds.mean(0)
            metrics[label] = point_metrics(y, mean)
            parity_plot(
                y,
                mean,
                plots / f"parity_{label}.png",
                std=preds.std(0),
                title=f"{label} set",
                units=cfg.units,
            )
    return calibration


def _per_volume_scale(vs: D.VoxelSet, cfg: TrainConfig, voxels_dir) -> np.ndarray:
    """Shape (N,): each grid's framework density (g/cm³) with ``per_volume``, else ones."""
    if not cfg.per_volume:
        return np.ones(len(vs.names))
    if vs.densities is None:
        raise DataError(
            "--per-volume needs each framework's density: this folder has no densities.json "
            "(grids written before RetVis recorded it); compute the grids again with "
            "`retvis grid` (the cache makes that quick)",
            voxels_dir,
        )
    bad = [n for n, d in zip(vs.names, vs.densities, strict=True) if not (np.isfinite(d) and d > 0)]
    if bad:
        raise DataError(
            f"--per-volume: {len(bad)} grid(s) without a density, e.g. {bad[:5]}", voxels_dir
        )
    return vs.densities


def _sample_weights(scale: np.ndarray, cfg: TrainConfig) -> np.ndarray:
    """Shape (N,): each sample's weight in the loss and in epoch selection: 1 / density²
    with ``label_units_loss`` (the squared error of a per-volume prediction in the label's
    units), else ones."""
    if not cfg.label_units_loss:
        return np.ones(len(scale))
    return 1.0 / scale**2


def _target_scaling(y_train: np.ndarray, on: bool) -> dict:
    """Mean and standard deviation the network's target is standardized by (0 and 1: off)."""
    if not on:
        return {"mean": 0.0, "sd": 1.0}
    sd = float(np.std(y_train))
    return {"mean": float(np.mean(y_train)), "sd": sd if math.isfinite(sd) and sd > 1e-12 else 1.0}


def _fold_target_scaling(net: RetNet, tscale: dict) -> RetNet:
    """Fold the target scaling into the output layer: the network then predicts the
    target itself (``sd * (w·f + b) + mean = (sd w)·f + (sd b + mean)``), exactly."""
    with torch.no_grad():
        net.fc.out.weight.mul_(tscale["sd"])
        net.fc.out.bias.mul_(tscale["sd"]).add_(tscale["mean"])
    return net


def _start_from(net: RetNet, src: RetNet, tscale: dict, backbone: bool = False) -> RetNet:
    """Load a source model's member into ``net`` for fine-tuning. The source predicts the
    target itself (its own scaling folded in); its output layer is mapped onto this run's
    scaled target, ``(w·f + b - mean) / sd``, so training starts from the source's
    predictions. A backbone gives every layer but its output layer (one output per
    pretraining target), which starts new: He weights, bias 0 (the scaled target's mean)."""
    if backbone:
        state = {k: v for k, v in src.state_dict().items() if not k.startswith("fc.out.")}
        net.load_state_dict(state, strict=False)
        return net
    net.load_state_dict(src.state_dict())
    with torch.no_grad():
        net.fc.out.weight.div_(tscale["sd"])
        net.fc.out.bias.sub_(tscale["mean"]).div_(tscale["sd"])
    return net


class _BestEpoch:
    """The epoch with the lowest selection loss so far; its weights are ``best.pt``."""

    def __init__(self, path: Path, state: dict | None = None) -> None:
        self.path = path
        self.state = state or {"val_loss": math.inf, "epoch": 0}

    @property
    def epoch(self) -> int:
        return int(self.state["epoch"])

    def offer(self, loss: float, epoch: int, net: RetNet) -> None:
        """Keep ``net`` as the best when ``loss`` beats the best so far."""
        if loss < self.state["val_loss"]:
            self.state = {"val_loss": loss, "epoch": epoch}
            _save_weights(self.path, net)

    def network(self, n: int, cfg: TrainConfig) -> RetNet | None:
        """The best epoch's network, or None when no epoch finished."""
        return _load_best(self.path, n, cfg) if self.path.is_file() else None


class _History:
    """The member's epoch records: kept for its checkpoint, appended to the run's
    ``history.jsonl`` and sent to ``emit``."""

    def __init__(self, run: _Run, records: list[dict] | None = None) -> None:
        self.run = run
        self.records = records or []

    def publish(self, rec: dict) -> None:
        """Write a kept record to the run's history file and send it."""
        with open(self.run.dir / "history.jsonl", "a", encoding="utf-8") as fh:
            fh.write(json.dumps(rec) + "\n")
        self.run.emit(rec)

    @property
    def epochs_run(self) -> int:
        return self.records[-1]["epoch"] if self.records else 0


def _early_stop(patience: int | None, epoch: int, best_epoch: int) -> bool:
    """Early stopping: ``patience`` epochs without a better selection loss."""
    return patience is not None and epoch - best_epoch >= patience


def _new_member(run: _Run, k: int, n: int, source, tscale: dict, y_mean: float):
    """Member k's network (from the source model or random weights), optimizer and
    learning-rate schedule, on the run's device."""
    cfg = run.cfg
    net = build_retnet(n, cfg.dropout, seed=cfg.seed + k)
    if source is not None:
        _start_from(net, source.members[k % len(source.members)], tscale, is_backbone(source.card))
        if cfg.freeze_conv:
            net.freeze_conv(True)
        if not cfg.refit_batchnorm:
            net.freeze_batchnorm(True)
    else:
        net.set_output_bias(y_mean)  # 0 when scaled
    # channels-last 3D: ~1.4x the CPU training throughput measured here, same numbers
    net.to(device=cfg.device, memory_format=torch.channels_last_3d)
    params = [p for p in net.parameters() if p.requires_grad]
    opt = torch.optim.Adam(params, lr=cfg.lr, betas=tuple(cfg.betas), eps=cfg.eps)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=cfg.lr_step, gamma=cfg.lr_gamma)
    return net, opt, sched


def _train_epoch(run: _Run, net, opt, voxels, rows, y, w, std, rng):
    """One pass over the training rows; returns (mean loss, predictions, which rows were
    seen), or None when a stop was requested."""
    cfg, device = run.cfg, run.cfg.device
    net.train()
    preds = np.empty(len(rows))
    seen = np.zeros(len(rows), dtype=bool)
    total, count = 0.0, 0
    for xb, yb, pos in D.iter_batches(
        voxels, rows, y, cfg.batch_size, std, rng, shuffle=True,
        augmented=cfg.augment, shifted=cfg.shift,
    ):  # fmt: skip
        if run.stop_requested():
            return None
        if len(pos) < 2:  # batch norm cannot train on one sample
            continue
        opt.zero_grad(set_to_none=True)
        out = net(_to_device(xb, device))
        wt = torch.from_numpy(w[pos]).to(device)
        loss = (wt * (out - torch.from_numpy(yb).to(device)) ** 2).mean()
        loss.backward()
        opt.step()
        total += float(loss.detach()) * len(pos)
        count += len(pos)
        preds[pos] = out.detach().double().cpu().numpy()
        seen[pos] = True
    if run.stop_requested():
        return None
    return total / max(count, 1), preds, seen


class _MemberData(NamedTuple):
    """What a member trains and is validated on, its target scaled by the run's target
    scaling: the grids and their standardization, the rows, labels and loss weights of
    the training and validation parts."""

    voxels: np.ndarray
    std: D.Standardization
    train_rows: np.ndarray
    y_train: np.ndarray
    w_train: np.ndarray
    val_rows: np.ndarray
    y_val: np.ndarray
    #: None without validation rows
    w_val: np.ndarray | None

    @classmethod
    def scaled(cls, voxels, std, train, val, tscale: dict, sample_w, reweight: str):
        """``train``, ``val``: (rows, labels); ``sample_w``: each grid row's loss weight
        (:func:`_sample_weights`), multiplied by the label weights of ``reweight`` and
        normalised to mean 1 in each part."""
        (train_rows, y_train), (val_rows, y_val) = train, val
        mu, sd = tscale["mean"], tscale["sd"]
        y_train, y_val = (y_train - mu) / sd, (y_val - mu) / sd
        w_train = D.label_weights(y_train, reweight) * sample_w[train_rows]
        w_train = (w_train / w_train.mean()).astype(np.float32)
        w_val = sample_w[val_rows] / sample_w[val_rows].mean() if len(val_rows) else None
        return cls(voxels, std, train_rows, y_train, w_train, val_rows, y_val, w_val)


def _validate(net: RetNet, data: _MemberData, cfg: TrainConfig):
    """The validation predictions and the weighted squared error epochs are chosen on."""
    pv = _predict(net, data.voxels, data.val_rows, data.std, cfg.batch_size, cfg.device)
    return pv, float(np.mean(data.w_val * (pv - data.y_val) ** 2))


def _fit_epoch(run: _Run, net, opt, sched, data: _MemberData, seed: int, epoch: int):
    """Train one epoch (its shuffle, augmentations and dropout seeded by ``seed`` and
    ``epoch``), step the schedule and score it: (train loss, train R², validation loss,
    validation R²; None where there is too little to score), or None when a stop was
    requested."""
    cfg = run.cfg
    torch.manual_seed(seed * 100_003 + epoch)
    rng = np.random.default_rng([seed, epoch])
    y_train_t = data.y_train.astype(np.float32)
    done = _train_epoch(
        run, net, opt, data.voxels, data.train_rows, y_train_t, data.w_train, data.std, rng
    )
    if done is None:
        return None
    train_loss, preds, seen = done
    sched.step()
    r2_train = r2_score(data.y_train[seen], preds[seen]) if seen.sum() >= 2 else None
    if len(data.val_rows) >= 1:
        pv, val_loss = _validate(net, data, cfg)
        r2_val = r2_score(data.y_val, pv) if len(data.val_rows) >= 2 else None
    else:  # no validation set: select on the training loss
        val_loss, r2_val = None, None
    return train_loss, r2_train, val_loss, r2_val


def _member_info(seed: int, best: _BestEpoch, start_val_loss, history: _History, status: str):
    """What the model card records of a member."""
    return {
        "seed": seed,
        "best_epoch": best.epoch,
        "best_val_loss": best.state["val_loss"],
        "start_val_loss": start_val_loss,
        "epochs_run": history.epochs_run,
        "status": status,
    }


def _train_member(
    run: _Run,
    k: int,
    voxels,
    train_rows,
    y_train,
    val_rows,
    y_val,
    std: D.Standardization,
    source,
    tscale: dict,
    sample_w: np.ndarray,
):
    """Train member k on the target scaled by ``tscale``, each sample's squared error
    weighted by ``sample_w`` (indexed by grid row); returns (status, history, info, best
    network or None), the network still predicting the scaled target."""
    cfg = run.cfg
    seed = cfg.seed + k
    mdir = run.dir / "members" / str(k)
    mdir.mkdir(parents=True, exist_ok=True)
    n = voxels.shape[1]
    data = _MemberData.scaled(
        voxels, std, (train_rows, y_train), (val_rows, y_val), tscale, sample_w, cfg.reweight
    )
    net, opt, sched = _new_member(run, k, n, source, tscale, float(np.mean(data.y_train)))
    checkpoint = Checkpoint(mdir / "checkpoint.pt", cfg.device)
    best = _BestEpoch(mdir / "best.pt")
    history = _History(run)
    start_val_loss = None  # a fine-tune's validation loss before its first epoch
    start_epoch = 1
    ck = checkpoint.load()
    if ck is not None:
        checkpoint.restore(ck, net, opt, sched)
        history.records = json.loads(ck["history"])
        best.state = json.loads(ck["best"])
        start_epoch = int(ck["epoch"]) + 1
        start_val_loss = ck.get("start_val_loss")
        if ck.get("finished"):
            return ck["status"], history.records, json.loads(ck["info"]), best.network(n, cfg)
    if source is not None and start_epoch == 1 and len(val_rows) >= 1:
        # a fine-tune scores its start as epoch 0: when no epoch beats the source on
        # validation, the source's network is the one kept
        _, start_val_loss = _validate(net, data, cfg)
        best.state = {"val_loss": start_val_loss, "epoch": 0}
        _save_weights(best.path, net)
    status = "finished"
    for epoch in range(start_epoch, cfg.epochs + 1):
        t0 = time.perf_counter()
        lr = opt.param_groups[0]["lr"]
        scores = _fit_epoch(run, net, opt, sched, data, seed, epoch)
        if scores is None:
            status = "cancelled"
            break
        train_loss, r2_train, val_loss, r2_val = scores
        best.offer(val_loss if val_loss is not None else train_loss, epoch, net)
        rec = {"event": "epoch", "member": k, "epoch": epoch, "epochs": cfg.epochs,
               "train_loss": train_loss, "val_loss": val_loss, "r2_train": _f(r2_train),
               "r2_val": _f(r2_val), "lr": lr, "seconds": round(time.perf_counter() - t0, 3),
               "best_epoch": best.epoch, "checkpoint": str(best.path)}  # fmt: skip
        stop_early = _early_stop(cfg.patience, epoch, best.epoch)
        last = epoch == cfg.epochs or stop_early
        if last:
            status = "early_stopped" if stop_early and epoch < cfg.epochs else "finished"
        history.records.append(rec)  # the checkpoint holds it before the file shows it
        info = _member_info(seed, best, start_val_loss, history, status)
        checkpoint.save(
            net, opt, sched, history=history.records, best=best.state, info=json.dumps(info),
            epoch=epoch, finished=last, start_val_loss=start_val_loss, status=status,
        )  # fmt: skip
        history.publish(rec)
        if last:
            break
    info = _member_info(seed, best, start_val_loss, history, status)
    return status, history.records, info, best.network(n, cfg)


def _load_best(best_path: Path, n: int, cfg: TrainConfig) -> RetNet:
    """The best epoch's network, fresh (not frozen) and in evaluation mode."""
    net = RetNet(n, cfg.dropout)
    net.load_state_dict(torch.load(best_path, map_location="cpu", weights_only=True))
    return net.to(device=cfg.device, memory_format=torch.channels_last_3d).eval()


def _f(x):
    return None if x is None or not math.isfinite(x) else float(x)


__all__ = ["TrainConfig", "train_run", "STOP_FILE"]

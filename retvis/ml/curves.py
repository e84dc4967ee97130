"""Learning curves: test metrics of RetNet and the RF baseline against training-set size.

One split (seeded) is made once; for each size, both models train on the same seeded
subset of its training names and are scored on the same test names, with bootstrap
intervals (docs/method.md sections 3-5).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from ..core.cache import atomic_write_bytes
from ..errors import DataError
from . import data as D
from .metrics import bootstrap_metrics, learning_curve_plot
from .train import TrainConfig, train_run
from .weights import load_model

log = logging.getLogger(__name__)


def learning_curve(
    voxels_dir: str | Path,
    labels_csv: str | Path,
    out: str | Path,
    sizes: list[int],
    cfg: TrainConfig | None = None,
    descriptors_csv: str | Path | None = None,
    n_boot: int = 10_000,
    emit: Callable[[dict], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> dict:
    """Train at each size and write ``OUT/learning_curve.json`` and ``OUT/learning_curve.png``.

    Parameters
    ----------
    voxels_dir, labels_csv : path-like
        Grids and labels.
    out : path-like
        Output folder; RetNet runs go to ``OUT/retnet_<size>/``.
    sizes : list of int
        Training-set sizes (those larger than the training split are skipped).
    cfg : TrainConfig, optional
        RetNet settings (its ``split`` and ``train_size`` are set here).
    descriptors_csv : path-like, optional
        Zeo++ descriptors table (``retvis descriptors``); without it no RF curve.
    n_boot : int
        Bootstrap resamples per point.

    Notes
    -----
    Re-running with the same ``out`` picks up where an interrupted curve stopped: finished
    sizes are reused and an interrupted size is resumed from its checkpoints. A ``split``
    (in ``cfg``) that differs from the one ``out`` was started on is refused with a
    :class:`~retvis.errors.DataError`, since its finished sizes would not be comparable.

    Returns
    -------
    dict
        ``{"sizes", "retnet": [...], "rf": [...]}``, each point
        ``{"size", "n_test", <metric>: {"value", "low", "high"}}``.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    cfg = cfg or TrainConfig()
    emit = emit or (lambda rec: None)
    ds, _, _ = D.open_training_dataset(voxels_dir, labels_csv, cfg)
    split = _curve_split(out, cfg, ds.names)
    curve = _Curve(ds, split, out / "split.json", descriptors_csv, cfg, n_boot)
    for size in sorted(sizes):
        if size > len(split["train"]):
            log.warning(
                "size %d exceeds the training split (%d): skipped", size, len(split["train"])
            )
            continue
        run_cfg = replace(cfg, split=str(out / "split.json"), train_size=size)
        final = _size_run(
            voxels_dir, labels_csv, out / f"retnet_{size}", run_cfg, emit, should_stop
        )
        if final.get("status") == "cancelled" or not final.get("model"):
            break
        emit(curve.add(size, final["model"]))
        _write_result(out, curve.result)
    _plot(out, curve.result)
    _write_result(out, curve.result)
    return curve.result


class _Curve:
    """A learning curve being drawn: its test set, the descriptor table (for the RF
    curve; None without one) and ``result``, the points so far."""

    def __init__(self, ds: D.Dataset, split: dict, split_path: Path, descriptors_csv, cfg, n_boot):
        self.ds, self.split, self.seed, self.n_boot = ds, split, cfg.seed, n_boot
        self.y_test, self.x_test, self.d_test = ds.arrays(split["test"])
        self.table = None
        if descriptors_csv:
            from ..core.descriptor_table import read_descriptor_csv

            self.table = read_descriptor_csv(descriptors_csv)
        self.result: dict = {
            "sizes": [],
            "retnet": [],
            "rf": [],
            "split": str(split_path),
            "n_test": len(self.y_test),
            "init_from": cfg.init_from,  # every RetNet point fine-tuned from this model, or None
        }

    def add(self, size: int, model: str) -> dict:
        """Score the RetNet model trained at ``size`` (and fit and score the RF there) on
        the test set; returns the point's progress record."""
        result = self.result
        mean, _ = load_model(model).predict(self.x_test, density=self.d_test)
        metrics = _strip(bootstrap_metrics(self.y_test, mean, self.n_boot))
        result["retnet"].append({"size": size, "n_test": len(self.y_test), **metrics})
        result["sizes"].append(size)
        if self.table is not None:
            rf = _rf_point(self.table, self.ds, self.split, size, self.seed, self.n_boot)
            if rf is not None:
                result["rf"].append(rf)
        return {
            "event": "learning_curve_point",
            "size": size,
            "retnet_r2": result["retnet"][-1]["r2"],
            "rf_r2": result["rf"][-1]["r2"] if result["rf"] else None,
        }


def _curve_split(out: Path, cfg: TrainConfig, names: list[str]) -> dict:
    """The curve's split: the one ``OUT/split.json`` holds (a resumed curve; a different
    ``cfg.split`` is refused), else ``cfg.split`` or a new seeded one, saved there."""
    split_path = out / "split.json"
    given = D.load_split(cfg.split) if cfg.split else None
    if split_path.is_file():
        split = D.load_split(split_path)
        if given is not None and not _same_split(given, split):
            raise DataError(
                f"this learning curve was started on another split than {cfg.split}, so its "
                f"finished sizes would not be comparable; choose a new output folder, or "
                f"delete {out} to start again",
                split_path,
            )
    elif given is not None:
        split = given
        D.save_split(split, split_path)
    else:
        split = D.make_split(names, cfg.seed, cfg.val_fraction, cfg.test_fraction)
        D.save_split(split, split_path)
    return split


def _size_run(voxels_dir, labels_csv, run_dir: Path, cfg: TrainConfig, emit, should_stop):
    """The final record of one size's RetNet run: the model of a run an earlier,
    interrupted curve finished, else :func:`train_run` (resuming its checkpoints), its
    records sent to ``emit`` with the size."""
    done = _finished_model(run_dir)
    if done is not None:
        return {"status": "finished", "model": str(done)}
    size = cfg.train_size
    return train_run(
        voxels_dir,
        labels_csv,
        run_dir,
        cfg,
        emit=lambda rec: emit({**rec, "size": size}),
        should_stop=should_stop,
        resume=(run_dir / "config.json").is_file(),
    )


def _rf_point(table: dict, ds: D.Dataset, split: dict, size: int, seed: int, n_boot: int):
    """The Random Forest's point at one size (None when fewer than two test materials
    have descriptors)."""
    from .baselines import fit_rf_on_split

    rf = fit_rf_on_split(table, ds.names, ds.y, split, size, seed)
    if len(rf["y_test"]) < 2:
        return None
    return {
        "size": size,
        "n_test": len(rf["y_test"]),
        "n_train": rf["n_train"],
        **_strip(bootstrap_metrics(rf["y_test"], rf["pred_test"], n_boot)),
    }


def _plot(out: Path, result: dict) -> None:
    """``OUT/learning_curve.png`` of the RetNet points (and the RF's), when there are any."""
    curves = {"RetNet": result["retnet"]}
    if result["rf"]:
        curves["RF (Zeo++ descriptors)"] = result["rf"]
    if result["retnet"]:
        learning_curve_plot(curves, out / "learning_curve.png")


def _write_result(out: Path, result: dict) -> None:
    atomic_write_bytes(out / "learning_curve.json", json.dumps(result, indent=1).encode())


def _same_split(a: dict, b: dict) -> bool:
    """Whether two splits put the same names in train, validation and test."""
    return all(set(a[k]) == set(b[k]) for k in ("train", "val", "test"))


def _finished_model(run_dir: Path) -> Path | None:
    """The model of a run that finished (not cancelled), else None."""
    try:
        metrics = json.loads((run_dir / "metrics.json").read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None
    if metrics.get("status") in ("finished", "early_stopped") and (run_dir / "model").is_dir():
        return run_dir / "model"
    return None


def _strip(m: dict) -> dict:
    return {k: v for k, v in m.items() if k not in ("n",)}

"""Evaluate a trained model on a split of its run: metrics with bootstrap intervals, parity.

Writes ``OUT/evaluation.json`` (metrics with 95 % intervals), ``OUT/predictions.csv``
(name, label, prediction, ensemble std) and ``OUT/parity.png``.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import NamedTuple

import numpy as np

from ..core.cache import atomic_write_bytes, sha256_file
from ..errors import DataError
from . import data as D
from .metrics import bootstrap_metrics, parity_plot
from .weights import (
    CARD_NAME,
    FORMAT_VERSION,
    fit_calibration,
    load_model,
    read_card,
    resolve_model,
)


def evaluate_run(
    run_dir: str | Path,
    voxels_dir: str | Path,
    labels_csv: str | Path,
    out: str | Path | None = None,
    split: str = "test",
    n_boot: int = 10_000,
    seed: int = 0,
    drop_missing: bool = False,
    descriptors_csv: str | Path | None = None,
) -> dict:
    """Predict the materials of one split of a run and score them.

    Parameters
    ----------
    run_dir : path-like
        A training run folder (holds ``model/`` and ``split.json``).
    voxels_dir, labels_csv : path-like
        Grids and labels (the labels column is the one the model was trained on).
    out : path-like, optional
        Output folder; default ``RUN_DIR/eval_<split>``.
    split : {"test", "val", "train", "all", "external"}
        ``external``: every material with a grid and a label that the run neither trained
        nor selected on (its train and val names left out, counted in ``n_seen``): how
        the model does on a new dataset, another family of materials say.
    n_boot : int
        Bootstrap resamples.
    drop_missing : bool
        Leave out split names that have no grid or label instead of failing.
    descriptors_csv : path-like, optional
        Zeo++ descriptors (``retvis descriptors``): also fit the Random Forest baseline on
        the run's training names and score it on the same names (``rf`` in the result).

    Returns
    -------
    dict
        The content of ``evaluation.json``.
    """
    run_dir = Path(run_dir)
    _check_split_choice(split, descriptors_csv)
    predictor = load_model(run_dir)
    data = _split_data(predictor, run_dir, voxels_dir, labels_csv, split, drop_missing)
    names, y = data.names, data.y
    mean, std = predictor.predict(data.x, density=data.densities)
    metrics = bootstrap_metrics(y, mean, n_boot=n_boot, seed=seed)
    out = Path(out) if out else run_dir / f"eval_{split}"
    out.mkdir(parents=True, exist_ok=True)
    units = predictor.target.get("units", "")
    parity_plot(
        y,
        mean,
        out / "parity.png",
        std=std,
        units=units,
        metrics=metrics,
        title=f"{predictor.target.get('name', '')} ({split} set)",
    )
    _write_predictions(out / "predictions.csv", names, y, mean, std)
    result = {
        "event": "evaluation",
        "run_dir": str(run_dir),
        "split": split,
        "target": predictor.target,
        "n": len(names),
        "n_missing": len(data.missing),
        "n_seen": len(data.seen),
        "ensemble": len(predictor.members),
        "metrics": metrics,
        "mean_ensemble_std": float(std.mean()),
        "out": str(out),
    }
    if descriptors_csv:
        result["rf"] = _rf_comparison(descriptors_csv, data, mean, out, units, n_boot, seed)
    atomic_write_bytes(out / "evaluation.json", json.dumps(result, indent=1).encode())
    return result


def _check_split_choice(split: str, descriptors_csv) -> None:
    """Refuse an unknown split, and descriptors with the ``external`` split."""
    if split not in D.EVALUATION_SPLITS:
        choices = ", ".join(D.EVALUATION_SPLITS)
        raise DataError(f"split must be one of {choices}; got {split!r}")
    if split == "external" and descriptors_csv:
        raise DataError(
            "--descriptors needs the run's training materials in the labels; with "
            "--split external score the Random Forest in a run of its own"
        )


def _write_predictions(path: Path, names: list[str], y, mean, std) -> None:
    """``predictions.csv``: name, label, prediction and ensemble std, one row a material."""
    lines = ["name,label,prediction,std"] + [
        f"{n},{a!r},{b!r},{c!r}"
        for n, a, b, c in zip(names, y.tolist(), mean.tolist(), std.tolist(), strict=True)
    ]
    atomic_write_bytes(path, ("\n".join(lines) + "\n").encode())


def _rf_comparison(descriptors_csv, data: _SplitData, mean, out: Path, units, n_boot, seed):
    """The Random Forest baseline fitted on the run's training names and scored on the
    split's names that have descriptors (its parity plot ``parity_rf.png``), with RetNet's
    metrics (``mean``: its predictions of the split) on exactly those materials."""
    from ..core.descriptor_table import read_descriptor_csv
    from .baselines import fit_rf_on_split

    table = read_descriptor_csv(descriptors_csv)
    ds, names = data.dataset, data.names
    rf = fit_rf_on_split(table, ds.names, ds.y, {**data.split, "test": names}, seed=seed)
    if len(rf["y_test"]) < 2:
        raise DataError(f"only {len(rf['y_test'])} {data.which} material(s) have descriptors")
    rf_metrics = bootstrap_metrics(rf["y_test"], rf["pred_test"], n_boot=n_boot, seed=seed)
    parity_plot(
        rf["y_test"],
        rf["pred_test"],
        out / "parity_rf.png",
        units=units,
        metrics=rf_metrics,
        title=f"Random Forest, Zeo++ descriptors ({data.which} set)",
    )
    # RetNet on exactly the materials the RF could score, for a paired comparison
    keep = np.isin(np.array(names), rf["test_names"])
    return {
        "n_train": rf["n_train"],
        "n": len(rf["y_test"]),
        "n_no_descriptors": rf["n_dropped_test"],
        "metrics": rf_metrics,
        "retnet_same_materials": bootstrap_metrics(
            data.y[keep], mean[keep], n_boot=n_boot, seed=seed
        ),
    }


class _SplitData(NamedTuple):
    """One split of a run, read as training read it."""

    names: list[str]
    y: np.ndarray
    x: np.ndarray
    densities: np.ndarray | None
    #: the run's split (``split.json``) and which part of it (or all, external) this is
    split: dict
    which: str
    dataset: D.Dataset
    #: the split's names that had no grid or label (left out with ``drop_missing``)
    missing: list[str]
    #: ``external``: the names left out because the run trained or selected on them
    seen: list[str]


def _split_data(
    predictor, run_dir: Path, voxels_dir, labels_csv, split: str, drop_missing: bool
) -> _SplitData:
    """Names, labels, grids and densities of one split of a run, read as training did."""
    sp = D.load_split(Path(run_dir) / "split.json")
    # read the labels as training did (models without the key were trained on uptakes)
    allow_negative = bool(predictor.target.get("allow_negative", False))
    ds, _, _ = D.open_dataset(
        voxels_dir,
        labels_csv,
        predictor.target.get("column"),
        allow_negative=allow_negative,
        drop_missing=True,
    )
    seen: list[str] = []
    if split == "external":
        used = set(sp["train"]) | set(sp["val"])
        seen = [n for n in ds.names if n in used]
        names = [n for n in ds.names if n not in used]
    else:
        names = sp["train"] + sp["val"] + sp["test"] if split == "all" else sp[split]
    known = set(ds.names)
    missing = [n for n in names if n not in known]
    if missing and not drop_missing:
        raise DataError(
            f"{len(missing)} {split} material(s) have no grid or label here, e.g. "
            f"{missing[:5]} (use --drop-missing)"
        )
    names = [n for n in names if n in known]
    if len(names) < 2:
        raise DataError(f"the {split} split has {len(names)} usable material(s); need >= 2")
    y, x, densities = ds.arrays(names)
    return _SplitData(names, y, x, densities, sp, split, ds, missing, seen)


def _write_card(folder: Path, card: dict) -> None:
    atomic_write_bytes(folder / CARD_NAME, (json.dumps(card, indent=1) + "\n").encode())


def record_evaluation(run_dir: str | Path, result: dict, labels_csv: str | Path) -> dict:
    """Write an ``external`` evaluation into the model's card, under the labels file's
    stem in ``card["evaluations_external"]`` (replacing an earlier one of that name),
    with its parity plot copied beside the card as ``parity_<stem>.png``.

    Returns
    -------
    dict
        The card's new entry.
    """
    if result.get("split") != "external":
        raise DataError("only an external evaluation is recorded in the card (--split external)")
    folder = resolve_model(run_dir)
    labels_csv = Path(labels_csv)
    key = labels_csv.stem
    plot = f"parity_{key}.png"
    atomic_write_bytes(folder / plot, (Path(result["out"]) / "parity.png").read_bytes())
    entry = {
        "labels": labels_csv.name,
        "labels_sha256": sha256_file(labels_csv),
        "n": result["n"],
        "n_seen": result["n_seen"],
        "metrics": result["metrics"],
        "mean_ensemble_std": result["mean_ensemble_std"],
        "parity_plot": plot,
        "created": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    card = read_card(folder)
    card.setdefault("evaluations_external", {})[key] = entry
    _write_card(folder, card)
    return entry


def calibrate_model(
    run_dir: str | Path, voxels_dir: str | Path, labels_csv: str | Path, drop_missing: bool = False
) -> dict:
    """Fit ``y = a + b * prediction`` on a run's (or model folder's) validation split and
    write it into the model's card (what ``retvis train`` does after training; this is
    for models trained before it did). An earlier calibration is replaced, fitted again
    from the networks' raw predictions.

    Returns
    -------
    dict
        The card's new ``calibration`` entry.

    Raises
    ------
    DataError
        Too few validation structures or a slope that is not positive (nothing written).
    """
    folder = resolve_model(run_dir)
    predictor = load_model(folder)
    predictor.card = {**predictor.card, "calibration": None}  # the raw predictions
    val = _split_data(predictor, Path(run_dir), voxels_dir, labels_csv, "val", drop_missing)
    mean, _ = predictor.predict(val.x, density=val.densities)
    cal = fit_calibration(val.y, mean)
    if "b" not in cal:
        raise DataError(f"cannot calibrate: {cal['skipped']}", folder)
    card = read_card(folder)
    card.update(format_version=FORMAT_VERSION, calibration=cal)
    _write_card(folder, card)
    return cal

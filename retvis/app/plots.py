"""The data of the app's Plots panel, without Qt: the materials' predicted uptake against a
numeric column, and what a model's folder records of its training.

:func:`scatter_points` turns :class:`~retvis.app.materials.Materials` into arrays (one
point per predicted material); :func:`nearest_point` finds the point under the mouse.
:func:`model_records` reads what a model folder holds beside its card: the test set's
predictions (``test_predictions.csv`` of a shipped model, ``eval_test/predictions.csv``
of ``retvis evaluate``), the learning curve (``learning_curve.json``, else the card's
summary) and the loss per epoch (``history.jsonl`` of the ``retvis train`` run the folder
came from), and says in words why anything is missing.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from ..core.project import MaterialRecord
from ..core.structure import cell_density, composition_mass, formula_composition
from ..errors import DataError, RetvisError
from .materials import COL, COLUMNS, Materials

#: The x axes of the uptake scatter: record field or table column -> axis title.
X_AXES: dict[str, str] = {
    "volume": COLUMNS[COL["volume"]][0],
    "density": "Density (g/cm³)",
    "n_atoms": COLUMNS[COL["n_atoms"]][2],
    "label": "Label",
    "pred_std": "Ensemble spread",
    "rank": "Rank (1 = highest)",
    "seconds": "Grid time (s)",
}

#: Names of the learning curve's models, as ``retvis learning-curve`` plots them.
CURVE_NAMES = {"retnet": "RetNet", "rf": "RF (Zeo++ descriptors)"}


@dataclass(frozen=True)
class ScatterPoints:
    """One point per predicted material with a value on the x axis.

    ``x``, ``y``: shape (N,) float64; ``y`` is the predicted mean (target units).
    """

    digests: tuple[str, ...]
    names: tuple[str, ...]
    x: NDArray[np.float64]
    y: NDArray[np.float64]

    def index(self) -> dict[str, int]:
        """Digest -> position in the arrays."""
        return {d: i for i, d in enumerate(self.digests)}


def _x_value(materials: Materials, key: str) -> Callable[[MaterialRecord], float | None]:
    if key not in X_AXES:
        raise DataError(f"no x axis {key!r}; choose one of {', '.join(X_AXES)}")
    if key == "rank":
        return lambda r: materials.rank(r.digest)
    if key == "density":
        return _density
    return lambda r: getattr(r, key)


def _density(r) -> float | None:
    """A row's framework density from its formula and cell volume, g/cm³."""
    comp = formula_composition(r.formula or "")
    if not comp or not r.volume:
        return None
    return cell_density(composition_mass(comp), r.volume)


def scatter_points(materials: Materials, x_key: str) -> ScatterPoints:
    """The predicted materials as points: x from column ``x_key`` (:data:`X_AXES`), y the
    predicted uptake. Materials without a prediction or without a finite x are left out."""
    value = _x_value(materials, x_key)
    digests, names, xs, ys = [], [], [], []
    for r in materials.records():
        if r.pred_mean is None:
            continue
        x = value(r)
        if x is None or not math.isfinite(x) or not math.isfinite(r.pred_mean):
            continue
        digests.append(r.digest)
        names.append(r.name)
        xs.append(float(x))
        ys.append(r.pred_mean)
    return ScatterPoints(
        tuple(digests), tuple(names), np.asarray(xs, np.float64), np.asarray(ys, np.float64)
    )


def nearest_point(xy: NDArray[np.float64], at: tuple[float, float], radius: float) -> int | None:
    """Index of the point of ``xy`` (N, 2), display pixels, nearest to ``at`` if it lies
    within ``radius`` pixels of it, else None."""
    if len(xy) == 0:
        return None
    d2 = np.square(xy - np.asarray(at, np.float64)).sum(1)
    i = int(np.argmin(d2))
    return i if d2[i] <= radius * radius else None


@dataclass(frozen=True)
class Parity:
    """A model's predictions of labelled materials it never trained on.

    ``label``, ``prediction``, ``std``: shape (N,) float64, target units. ``metrics``:
    R² and MAE (with intervals when the card records them for these materials) and n.
    """

    source: Path
    names: tuple[str, ...]
    label: NDArray[np.float64]
    prediction: NDArray[np.float64]
    std: NDArray[np.float64]
    metrics: dict


@dataclass(frozen=True)
class ModelRecords:
    """What a model's folder records: the parity of its test set, its learning curve
    (model name -> points ``{"size", "r2": {"value"[, "low", "high"]}}``) and each
    member's epoch records; ``missing`` says why any of the three (``"parity"``,
    ``"curve"``, ``"loss"``) is None."""

    name: str
    target: str
    units: str
    parity: Parity | None = None
    curve: dict[str, list[dict]] | None = None
    histories: list[list[dict]] | None = None
    missing: dict[str, str] = field(default_factory=dict)


def _float(text: str | None, path: Path, line: int, column: str) -> float:
    try:
        v = float(text)
    except (TypeError, ValueError):
        raise DataError(f"line {line}: {column} {text!r} is not a number", path) from None
    if not math.isfinite(v):
        raise DataError(f"line {line}: {column} is {text}, not a finite number", path)
    return v


def read_predictions(path: Path, card: dict | None = None) -> Parity:
    """Read a predictions table (``name,label,prediction,std``, as ``retvis evaluate``
    writes it). The card's test metrics with their intervals are used when they are of
    as many materials; otherwise R² and MAE are computed from the table."""
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise DataError(f"cannot read the predictions table: {e}", path) from None
    need = ("name", "label", "prediction")
    if rows and any(c not in rows[0] for c in need):
        raise DataError(f"expected the columns {', '.join(need)}; got {list(rows[0])}", path)
    if len(rows) < 2:
        raise DataError(f"{len(rows)} prediction(s): a parity plot needs two", path)
    has_std = "std" in rows[0]
    cols = {
        c: np.array([_float(r.get(c), path, i + 2, c) for i, r in enumerate(rows)])
        for c in ("label", "prediction", *(("std",) if has_std else ()))
    }
    cols.setdefault("std", np.zeros(len(rows)))
    ev = ((card or {}).get("evaluation_test") or {}).get("retnet") or {}
    if ev.get("n") == len(rows) and isinstance(ev.get("r2"), dict):
        metrics = {"r2": ev["r2"], "mae": ev["mae"], "n": ev["n"]}
    else:
        from ..ml.metrics import point_metrics

        m = point_metrics(cols["label"], cols["prediction"])
        metrics = {"r2": {"value": m["r2"]}, "mae": {"value": m["mae"]}, "n": len(rows)}
    names = tuple(r["name"] for r in rows)
    return Parity(path, names, cols["label"], cols["prediction"], cols["std"], metrics)


def read_learning_curve(path: Path) -> dict[str, list[dict]]:
    """Read ``learning_curve.json`` (``retvis learning-curve``): model name -> points."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise DataError(f"cannot read the learning curve: {e}", path) from None
    curves: dict[str, list[dict]] = {}
    for key, name in CURVE_NAMES.items():
        pts = data.get(key) if isinstance(data, dict) else None
        if not isinstance(pts, list):
            continue
        for p in pts:
            ok = isinstance(p, dict) and isinstance(p.get("size"), int)
            if not ok or not isinstance((p.get("r2") or {}).get("value"), (int, float)):
                raise DataError(f"a {key} point without a size and an R² value: {p!r}", path)
        if pts:
            curves[name] = pts
    if not curves:
        raise DataError("no RetNet or RF points in the learning curve", path)
    return curves


def read_history(path: Path) -> list[list[dict]]:
    """Read a training run's ``history.jsonl``: each member's epoch records, in epoch
    order (a record written again after a resume replaces the first)."""
    members: dict[int, dict[int, dict]] = {}
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise DataError(f"cannot read the training history: {e}", path) from None
    for i, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except ValueError:
            raise DataError(f"line {i} is not JSON", path) from None
        if not isinstance(rec, dict) or rec.get("event") != "epoch":
            continue
        if not isinstance(rec.get("epoch"), int) or not isinstance(
            rec.get("train_loss"), (int, float)
        ):
            raise DataError(f"line {i}: an epoch record without epoch and train_loss", path)
        members.setdefault(int(rec.get("member", 0)), {})[rec["epoch"]] = rec
    if not members:
        raise DataError("no epoch records", path)
    return [[m[e] for e in sorted(m)] for _, m in sorted(members.items())]


def _run_folder(folder: Path) -> Path | None:
    """The ``retvis train`` run folder a model folder (``RUN_DIR/model``) lies in."""
    parent = folder.parent
    if folder.name == "model" and (parent / "config.json").is_file():
        return parent
    return None


def _first(paths: list[Path]) -> Path | None:
    return next((p for p in paths if p.is_file()), None)


def _parity(card: dict, folder: Path) -> Parity | str:
    run = _run_folder(folder)
    places = [folder / "test_predictions.csv", folder / "eval_test" / "predictions.csv"]
    if run is not None:
        places.append(run / "eval_test" / "predictions.csv")
    path = _first(places)
    if path is None:
        return (
            "Test predictions not recorded: the model folder holds no test_predictions.csv "
            "(run `retvis evaluate` on its run folder to record them)"
        )
    return read_predictions(path, card)


def _curve(card: dict, folder: Path) -> dict[str, list[dict]] | str:
    lc = card.get("learning_curve") or {}
    path = folder / str(lc.get("file") or "learning_curve.json")
    if path.is_file():
        return read_learning_curve(path)
    summary = lc.get("r2") if isinstance(lc, dict) else None
    if isinstance(summary, dict) and summary:
        curves: dict[str, list[dict]] = {}
        for size, v in sorted(summary.items(), key=lambda kv: int(kv[0])):
            for key, name in CURVE_NAMES.items():
                if isinstance((v or {}).get(key), (int, float)):
                    pt = {"size": int(size), "r2": {"value": float(v[key])}}
                    curves.setdefault(name, []).append(pt)
        return curves
    return "Learning curve not recorded (`retvis learning-curve` writes one)"


def _loss(card: dict, folder: Path) -> list[list[dict]] | str:
    run = _run_folder(folder)
    path = _first([folder / "history.jsonl", *([run / "history.jsonl"] if run else [])])
    if path is not None:
        return read_history(path)
    members = card.get("members") or []
    best = [m.get("best_epoch") for m in members if isinstance(m, dict)]
    runs = [m.get("epochs_run") for m in members if isinstance(m, dict)]
    text = "Loss per epoch not recorded: the model folder holds no history.jsonl"
    if best and all(isinstance(b, int) for b in best) and all(isinstance(r, int) for r in runs):
        text += f"\n(best epochs {', '.join(map(str, best))} of {', '.join(map(str, runs))})"
    return text


def model_records(card: dict) -> ModelRecords:
    """What the folder of a loaded model's card (``card["path"]``, as
    :func:`retvis.ml.weights.load_model` sets it) records; a file that cannot be read
    is missing with its reason (file and problem)."""
    target = card.get("target") or {}
    name = str(card.get("name") or Path(str(card.get("path") or "")).name)
    head = (name, str(target.get("name") or ""), str(target.get("units") or ""))
    if not card.get("path"):
        why = "the model's folder is unknown"
        return ModelRecords(*head, missing={"parity": why, "curve": why, "loss": why})
    folder = Path(card["path"])
    found: dict = {}
    missing: dict[str, str] = {}
    for key, read in (("parity", _parity), ("curve", _curve), ("loss", _loss)):
        try:
            value = read(card, folder)
        except RetvisError as e:
            value = f"Cannot read {e.path.name if e.path else key}: {e.reason}"
        if isinstance(value, str):
            missing[key] = value
        else:
            found[key] = value
    return ModelRecords(*head, found.get("parity"), found.get("curve"), found.get("loss"), missing)

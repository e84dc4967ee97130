"""Rebuild a shipped model from a GCMC labels table (maintainers' recipe).

Runs the same ``retvis`` commands a user would, in order, in a work folder, then
copies the model and its plots into ``resources/models/<name>/`` and completes the
card with what a user needs to judge it: the test-set metrics of the ensemble beside
a Random Forest trained on the same split, the learning curve, and a plain statement
of the data it saw.

1. ``retvis grid`` of every structure with an ``ok`` label (``--probe``; the grid
   cache makes a rerun cheap);
2. ``retvis train --ensemble K`` with the hold-out names excluded;
3. ``retvis descriptors`` (Zeo++) of the same files;
4. ``retvis evaluate --descriptors``: test metrics with 95 % bootstrap intervals,
   RetNet and the RF on the same materials;
5. ``retvis learning-curve`` on the same split: an ensemble of K at every size (the
   last size is the whole training split, where the ensemble of step 2 is reused: the
   curve ends at the shipped model itself), and the RF;
6. copy and complete the card.

Example (from the repository root)::

    python3 installer/build_model.py --labels resources/datasets/ch4_298K_5.8bar.csv \\
        --name ch4-coremof --target-name "CH4 uptake, 298 K, 5.8 bar" --units mol/kg \\
        --work ~/retvis-build/ch4 --threads 2
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
HOLDOUT = REPO / "resources" / "datasets" / "holdout_names.txt"


def retvis(*args: str, stdout: Path | None = None, check: bool = True) -> int:
    """Run ``python -m retvis ARGS`` from the repository root; its last JSON line out."""
    cmd = [sys.executable, "-m", "retvis", *args]
    shown = [a for a in args if not a.endswith(".cif")]
    n_cif = len(args) - len(shown)
    print("+ retvis", " ".join(shown), f"({n_cif} CIFs)" if n_cif else "", flush=True)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    t0 = time.perf_counter()
    with open(stdout, "w") if stdout else open(os.devnull, "w") as out:
        rc = subprocess.run(cmd, cwd=REPO, env=env, stdout=out).returncode
    print(f"  exit {rc} in {time.perf_counter() - t0:.0f} s", flush=True)
    if check and rc != 0:
        raise SystemExit(f"retvis {args[0]} failed with exit {rc}")
    return rc


def _rel(path: Path) -> str:
    """A path relative to the repository when inside it."""
    path = path.resolve()
    return str(path.relative_to(REPO)) if path.is_relative_to(REPO) else str(path)


def last_json(path: Path) -> dict:
    lines = [ln for ln in path.read_text().splitlines() if ln.startswith("{")]
    return json.loads(lines[-1])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--labels", type=Path, required=True, help="labels CSV (retvis label)")
    p.add_argument("--name", required=True, help="model folder under resources/models")
    p.add_argument("--target-name", required=True)
    p.add_argument("--units", default="mol/kg")
    p.add_argument("--target", default="uptake_mol_kg", help="label column")
    p.add_argument("--work", type=Path, required=True, help="work folder (kept)")
    p.add_argument("--ensemble", type=int, default=3)
    p.add_argument(
        "--curve-ensemble",
        type=int,
        help="members per learning-curve size below the full one (default --ensemble; 1 "
        "costs a third, for a curve that is noisier point by point)",
    )
    p.add_argument("--threads", type=int, default=2)
    p.add_argument(
        "--sizes", help="learning-curve sizes (default 25, 50, 100, ... < 0.9 n_train, n_train)"
    )
    p.add_argument("--epochs", type=int, default=50)
    p.add_argument("--test-fraction", type=float, default=0.1)
    p.add_argument("--no-learning-curve", action="store_true")
    p.add_argument(
        "--per-volume",
        action="store_true",
        help="learn uptake x framework density and divide it out (retvis train --per-volume)",
    )
    p.add_argument(
        "--curve-only",
        action="store_true",
        help="reuse the work folder's model and evaluation; finish or redo the learning curve",
    )
    start = p.add_mutually_exclusive_group()
    start.add_argument(
        "--init-from",
        metavar="MODEL",
        help="start from this model, e.g. ch4-coremof (retvis train --init-from; default: "
        "the installed backbone that reads the grids); the learning curve's points too",
    )
    start.add_argument(
        "--from-scratch", action="store_true", help="random weights (retvis train --from-scratch)"
    )
    p.add_argument("--freeze-conv", action="store_true", help="with --init-from: head only")
    p.add_argument(
        "--probe",
        choices=("sphere", "CO2"),
        default="sphere",
        help="the grids' probe (retvis grid --probe): CO2 is TraPPE CO2 with EQeq charges",
    )
    p.add_argument("--dest", type=Path, help="model folder (default resources/models/NAME)")
    p.add_argument(
        "--grids",
        type=Path,
        help="use this `retvis grid` output (computed elsewhere, e.g. before training on a "
        "GPU machine without the structure readers) instead of step 1",
    )
    p.add_argument(
        "--descriptors", type=Path, help="use this `retvis descriptors` table instead of step 3"
    )
    p.add_argument(
        "--split",
        type=Path,
        help="reuse this split JSON (e.g. the shipped model's split.json, to retrain on the "
        "same split)",
    )
    p.add_argument("--device", default="cpu", help="training device: cpu or cuda")
    p.add_argument(
        "--no-files",
        action="store_true",
        help="the labelled CIFs need not be on disk (with --grids and --descriptors)",
    )
    args = p.parse_args(argv)
    curve_k = args.curve_ensemble or args.ensemble

    work: Path = args.work
    work.mkdir(parents=True, exist_ok=True)
    labels = work / "labels.csv"
    if not args.curve_only:
        shutil.copyfile(args.labels, labels)  # a snapshot: the source may still be growing
    with open(labels, newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r.get("status", "ok") == "ok"]
    files = [r["path"] for r in rows]
    missing = [f for f in files if not Path(f).is_file()]
    if missing and not (args.no_files and args.grids and args.descriptors):
        raise SystemExit(f"{len(missing)} labelled CIFs are not on disk, e.g. {missing[0]}")
    (work / "files.txt").write_text("".join(f"{f}\n" for f in files))
    grids, run, lc = args.grids or work / "grids", work / "run", work / "lc"
    target = ["--target", args.target, "--units", args.units]
    excl = ["--exclude", str(HOLDOUT)] if HOLDOUT.is_file() else []
    pv = ["--per-volume"] if args.per_volume else []  # recipe options of train and the curve
    pv += ["--init-from", args.init_from] if args.init_from else []
    pv += ["--from-scratch"] if args.from_scratch else []
    pv += ["--freeze-conv"] if args.freeze_conv else []
    pv += ["--device", args.device]
    split_args = ["--split", str(args.split.resolve())] if args.split else []

    desc = args.descriptors or work / "descriptors.csv"
    if not args.curve_only:
        if not args.grids:
            retvis(
                "grid", *files, "-o", str(grids), "-j", str(args.threads), "--probe",
                args.probe, "-q", check=False,
            )  # fmt: skip
        if run.exists():
            shutil.rmtree(run)
        retvis(
            "train", str(grids), str(labels), "-o", str(run), *target,
            "--target-name", args.target_name, "--ensemble", str(args.ensemble),
            "--threads", str(args.threads), "--epochs", str(args.epochs), "--drop-missing",
            *excl, *pv, "--test-fraction", str(args.test_fraction), *split_args,
            stdout=work / "train.jsonl",
        )  # fmt: skip
        if not args.descriptors:
            retvis(
                "descriptors", *files, "-o", str(desc), "-j", str(args.threads), "-q",
                check=False,
            )  # fmt: skip
        retvis(
            "evaluate", str(run), str(grids), str(labels), "--drop-missing",
            "--descriptors", str(desc), stdout=work / "eval.json",
        )  # fmt: skip
    ev = last_json(work / "eval.json")
    split = json.loads((run / "split.json").read_text())
    n_train = len(split["train"])
    curve = None
    if not args.no_learning_curve:
        sizes = (
            [int(s) for s in args.sizes.split(",")]
            if args.sizes
            # a size within 10 % of the whole split would be the same point twice
            else [s for s in (25, 50, 100, 200, 400, 800, 1600) if s < 0.9 * n_train] + [n_train]
        )
        if lc.exists() and not args.curve_only:
            shutil.rmtree(lc)  # a new split; with --curve-only, finished sizes are reused
        full = lc / f"retnet_{n_train}"
        if n_train in sizes and not full.exists():
            # The curve's full-size point is the ensemble just trained (same split, recipe,
            # seeds and data), so it is reused rather than trained a second time: that
            # saves about half the curve, and its last point is the shipped model itself.
            full.mkdir(parents=True)
            shutil.copytree(run / "model", full / "model")
            shutil.copyfile(run / "metrics.json", full / "metrics.json")
        sizes = ",".join(map(str, sizes))
        retvis(
            "learning-curve", str(grids), str(labels), "-o", str(lc), "--sizes", sizes,
            "--descriptors", str(desc), "--split", str(run / "split.json"), *target,
            "--epochs", str(args.epochs), "--drop-missing", *excl, *pv,
            "--ensemble", str(curve_k), "--threads", str(args.threads),
            stdout=work / "lc.jsonl",
        )  # fmt: skip
        curve = json.loads((lc / "learning_curve.json").read_text())

    dest = args.dest or REPO / "resources" / "models" / args.name
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(run / "model", dest)
    shutil.copyfile(run / "split.json", dest / "split.json")
    shutil.copyfile(run / "plots" / "loss.png", dest / "loss.png")
    for png in ("parity.png", "parity_rf.png"):
        shutil.copyfile(Path(ev["out"]) / png, dest / png)
    # The test structures' predictions behind the card's metrics (name, label,
    # prediction, spread): a user can see which materials it gets wrong, and a fresh
    # install can check it reproduces them from the CIFs.
    shutil.copyfile(Path(ev["out"]) / "predictions.csv", dest / "test_predictions.csv")
    if curve is not None:
        for f in ("learning_curve.json", "learning_curve.png"):
            shutil.copyfile(lc / f, dest / f)

    card = json.loads((dest / "model.json").read_text())
    start = card["training_set"].get("init_from")  # as retvis train resolved it
    labelled = {r["name"] for r in rows}
    with open(desc, newline="") as fh:  # a shared table may hold other structures too
        n_desc = sum(r["status"] == "ok" and r["name"] in labelled for r in csv.DictReader(fh))
    n_grids = len(split["train"]) + len(split["val"]) + len(split["test"])
    ts = card["training_set"]
    meta = args.labels.with_name(args.labels.name.replace(".csv", ".meta.json"))
    ts.update(
        labels=_rel(args.labels),
        voxels="grids of the labelled CIFs (retvis grid, this model's gridspec: "
        + (
            "the canonical cell of each crystal"
            if card["gridspec"].get("cell") == "canonical"
            else "the cell as each file writes it"
        )
        + ")",
        holdout_excluded="resources/datasets/holdout_names.txt" if excl else None,
        n_labels_at_training=len(rows),
        n_refused_by_reader=len(rows) - n_grids,
        descriptors=f"retvis descriptors (Zeo++) of the labelled CIFs; "
        f"{len(rows) - n_desc} of {len(rows)} failed",
    )
    card["description"] = (
        f"RetNet deep ensemble predicting {args.target_name} ({args.units}) from the "
        "energy grid"
        + (" of a TraPPE CO2 probe with EQeq framework charges" if args.probe == "CO2" else "")
        + (
            " (learned per volume, as uptake x framework density, then divided by each "
            "structure's density)"
            if args.per_volume
            else ""
        )
        + ", trained on RASPA3 GCMC labels of CoRE MOF 2019-ASR structures"
        + (f" ({_rel(meta)})" if meta.is_file() else "")
        + (
            f", fine-tuned from {start}"
            + (" (fully connected head only)" if args.freeze_conv else "")
            if start
            else ""
        )
        + "."
    )
    card["evaluation_test"] = {
        "retnet": ev["metrics"],
        "random_forest_same_split": ev.get("rf"),
        "mean_ensemble_std": ev.get("mean_ensemble_std"),
    }
    card["maturity"] = (
        f"trained on {len(rows)} GCMC labels ({len(split['train'])} train / "
        f"{len(split['val'])} validation / {len(split['test'])} test structures after "
        f"{len(rows) - n_grids} refused by the reader); retrain as the dataset grows."
    )
    if curve is not None:
        card["learning_curve"] = {
            "file": "learning_curve.json",
            "plot": "learning_curve.png",
            "how": f"retvis learning-curve, sizes {'/'.join(map(str, curve['sizes']))} of "
            f"this model's training split, an ensemble of {curve_k} at each size, "
            f"{args.epochs} epochs"
            + (f", each fine-tuned from {start}" if start else "")
            + "; RF on Zeo++ descriptors; the same "
            f"{len(split['test'])} test structures"
            + (
                f"; the point at {n_train} is this model itself"
                + (f" (an ensemble of {args.ensemble})" if curve_k != args.ensemble else "")
                if n_train in curve["sizes"]
                else ""
            ),
            "r2": {
                str(r["size"]): {"retnet": r["r2"]["value"], "rf": f["r2"]["value"]}
                for r, f in zip(curve["retnet"], curve.get("rf") or [], strict=False)
            },
        }
    (dest / "model.json").write_text(json.dumps(card, indent=1) + "\n")
    r2 = ev["metrics"]["r2"]
    rf = (ev.get("rf") or {}).get("metrics", {}).get("r2", {})
    print(
        f"{args.name}: test R2 {r2['value']:.3f} [{r2['low']:.3f}, {r2['high']:.3f}] "
        f"vs RF {rf.get('value', float('nan')):.3f} on {ev['n']} test structures -> {dest}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

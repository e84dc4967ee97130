"""``retvis evaluate RUN_DIR VOXELS_DIR LABELS.csv``: metrics with 95 % bootstrap intervals.

Scores the run's model on its test split (or ``--split val|train|all``, or ``external``:
every material of VOXELS_DIR and LABELS.csv the run did not train or select on, for a
new dataset such as another family of materials): R², MAE, RMSE,
Spearman and top-5 % recall, each with a percentile bootstrap interval; writes
``evaluation.json``, ``predictions.csv`` and ``parity.png`` and prints the result as one
JSON line on stdout. With ``--descriptors``, the Random Forest baseline is trained on the
run's training names and scored on the same names (``rf`` in the JSON, ``parity_rf.png``).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def register(sub) -> None:
    from ..ml.data import EVALUATION_SPLITS  # no torch: the parser builds fast

    p = sub.add_parser(
        "evaluate",
        help="score a trained run (bootstrap intervals, parity plot)",
        description=__doc__.split("\n\n")[0],
    )
    p.add_argument("run_dir", type=Path, metavar="RUN_DIR")
    p.add_argument("voxels", type=Path, metavar="VOXELS_DIR")
    p.add_argument("labels", type=Path, metavar="LABELS.csv")
    p.add_argument("-o", "--out", type=Path, help="output folder (default RUN_DIR/eval_SPLIT)")
    p.add_argument(
        "--split",
        default="test",
        choices=EVALUATION_SPLITS,
        help="a split of the run, all of it, or external: the labelled materials it did "
        "not train or select on (default test)",
    )
    p.add_argument("--bootstrap", type=int, default=10_000, help="resamples (default 10000)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--drop-missing", action="store_true")
    p.add_argument(
        "--descriptors",
        type=Path,
        help="Zeo++ table (`retvis descriptors`): also score the Random Forest "
        "baseline trained on the run's training split",
    )
    p.add_argument(
        "--calibrate",
        action="store_true",
        help="first fit y = a + b * prediction on the run's validation split and write it "
        "into the model (as retvis train now does; for models trained before)",
    )
    p.add_argument(
        "--record",
        action="store_true",
        help="with --split external: write the result into the model card "
        "(evaluations_external, under the labels file's name) with its parity plot",
    )
    p.set_defaults(func=run)


def run(args) -> int:
    from ..errors import DataError
    from ..ml.evaluate import calibrate_model, evaluate_run, record_evaluation
    from ._common import output_folder

    if args.out is not None:
        output_folder(args.out)
    if args.record and args.split != "external":
        raise DataError("--record needs --split external (the run's own splits are in its card)")
    if args.calibrate:
        cal = calibrate_model(args.run_dir, args.voxels, args.labels, args.drop_missing)
        print(json.dumps({"event": "calibration", **cal}), flush=True)
    res = evaluate_run(
        args.run_dir,
        args.voxels,
        args.labels,
        args.out,
        args.split,
        args.bootstrap,
        args.seed,
        args.drop_missing,
        args.descriptors,
    )
    if args.record:
        res["recorded"] = record_evaluation(args.run_dir, res, args.labels)
    print(json.dumps(res), flush=True)
    r2 = (res.get("metrics") or {}).get("r2")
    value = r2.get("value") if isinstance(r2, dict) else r2
    print(
        f"{res.get('n', '?')} structures ({args.split}): R² "
        + (f"{value:.3f}" if isinstance(value, float) else "n/a")
        + f" -> {res.get('out', args.out)}",
        file=sys.stderr,
    )
    return 0

"""``retvis train VOXELS_DIR LABELS.csv -o RUN_DIR``: train RetNet, one JSON line per epoch.

Prints one JSON object per line on stdout: ``{"event": "epoch", ...}`` after every epoch
(member, epoch, train_loss, val_loss, r2_train, r2_val, lr, seconds, checkpoint) and a
final ``{"event": "done", "status": ..., "model": ...}``. ``train_loss`` and ``r2_train``
are those of the epoch's own training pass (train mode, augmented); ``val_loss`` and
``r2_val`` come from a separate pass in eval mode. Logs go to stderr. Cancel with Ctrl-C / SIGTERM or
by creating the file ``RUN_DIR/STOP``: the best checkpoint so far becomes the model.
Exit status: 0 when a model was written (finished, early-stopped or cancelled), 3 when
cancelled before any epoch finished, 2 on a data or settings error.
"""

from __future__ import annotations

import json
import signal
import sys
from pathlib import Path


def register(sub) -> None:
    from ..ml.config import REWEIGHTS, TrainConfig

    d = TrainConfig()
    p = sub.add_parser(
        "train",
        help="train RetNet on voxels + labels (JSON lines on stdout)",
        description=__doc__.split("\n\n")[0],
    )
    p.add_argument("voxels", type=Path, metavar="VOXELS_DIR", help="output folder of `retvis grid`")
    p.add_argument(
        "labels", type=Path, metavar="LABELS.csv", help="CSV with name and value columns"
    )
    p.add_argument("-o", "--out", required=True, type=Path, metavar="RUN_DIR", help="run folder")
    p.add_argument("--target", help="label column (default: 'value' or the only numeric one)")
    p.add_argument("--target-name", help="name shown for the target (default: the column)")
    p.add_argument("--units", default=d.units, help="units of the target, e.g. mol/kg")
    p.add_argument(
        "--allow-negative",
        action="store_true",
        help="accept negative labels (a target other than an uptake, e.g. an enthalpy)",
    )
    p.add_argument("--epochs", type=int, default=d.epochs, help=f"default {d.epochs}")
    p.add_argument("--batch-size", type=int, default=d.batch_size, help=f"default {d.batch_size}")
    p.add_argument("--lr", type=float, default=d.lr, help=f"Adam learning rate (default {d.lr})")
    p.add_argument(
        "--lr-step",
        type=int,
        default=d.lr_step,
        help=f"halve the learning rate every this many epochs (default {d.lr_step})",
    )
    p.add_argument("--dropout", type=float, default=d.dropout, help=f"default {d.dropout}")
    p.add_argument("--no-augment", action="store_true", help="no rotations, flips, transposes")
    p.add_argument(
        "--shift",
        action="store_true",
        help="also roll each grid by a random periodic offset (an exact symmetry of a "
        "periodic grid; not in METHOD.md)",
    )
    p.add_argument(
        "--reweight",
        choices=REWEIGHTS,
        default=d.reweight,
        help="weight the loss by the inverse square root of the training labels' density, "
        "so rare (top-end) labels count more (default: none; not in METHOD.md)",
    )
    p.add_argument(
        "--per-volume",
        action="store_true",
        help="learn uptake x framework density (per volume, what the grid shows) and divide "
        "the density out when predicting; needs grids with densities.json (not in METHOD.md)",
    )
    p.add_argument(
        "--label-units-loss",
        action="store_true",
        help="with --per-volume: weight each squared error by 1/density², so the loss (and "
        "the epoch choice) is the error in the label's units (not in METHOD.md)",
    )
    p.add_argument(
        "--no-scale-target",
        action="store_true",
        help="train on the target as it is, not standardized by the training set's mean "
        "and standard deviation (METHOD.md's way; slow for targets in large units)",
    )
    p.add_argument("--seed", type=int, default=d.seed, help=f"default {d.seed}")
    p.add_argument("--val-fraction", type=float, default=d.val_fraction)
    p.add_argument("--test-fraction", type=float, default=d.test_fraction)
    p.add_argument("--split", help="reuse this split JSON (e.g. another run's split.json)")
    p.add_argument("--train-size", type=int, help="train on this many of the training split")
    p.add_argument(
        "--patience",
        type=int,
        help="early stopping: epochs without validation "
        "improvement (default: off; the best epoch is kept either way)",
    )
    p.add_argument(
        "--ensemble", type=int, default=1, metavar="K", help="train K seeds (deep ensemble)"
    )
    p.add_argument("--device", default="cpu", help="cpu or cuda")
    p.add_argument("--threads", type=int, help="torch CPU threads")
    p.add_argument("--init-from", metavar="RUN_OR_MODEL", help="fine-tune this model")
    p.add_argument(
        "--freeze-conv", action="store_true", help="with --init-from: train the head only"
    )
    p.add_argument(
        "--drop-missing",
        action="store_true",
        help="leave out labelled names without a grid instead of failing",
    )
    p.add_argument("--exclude", help="file of names never used (e.g. the hold-out list)")
    p.add_argument("--resume", action="store_true", help="continue the run in RUN_DIR")
    p.set_defaults(func=run)


def run(args) -> int:
    import torch

    from ..ml.train import TrainConfig, train_run

    if args.threads:
        torch.set_num_threads(args.threads)
    cfg = TrainConfig(
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        lr_step=args.lr_step,
        dropout=args.dropout,
        augment=not args.no_augment,
        shift=args.shift,
        per_volume=args.per_volume,
        scale_target=not args.no_scale_target,
        label_units_loss=args.label_units_loss,
        reweight=args.reweight,
        seed=args.seed,
        val_fraction=args.val_fraction,
        test_fraction=args.test_fraction,
        split=str(Path(args.split).resolve()) if args.split else None,
        train_size=args.train_size,
        patience=args.patience,
        ensemble=args.ensemble,
        device=args.device,
        target=args.target,
        target_name=args.target_name,
        units=args.units,
        allow_negative=args.allow_negative,
        init_from=args.init_from,
        freeze_conv=args.freeze_conv,
        drop_missing=args.drop_missing,
        exclude=str(Path(args.exclude).resolve()) if args.exclude else None,
    )
    stop = {"flag": False}

    def on_signal(signum, _frame):
        stop["flag"] = True
        print(
            f"retvis train: signal {signum}: stopping after the current batch",
            file=sys.stderr,
            flush=True,
        )

    old = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        final = train_run(
            args.voxels,
            args.labels,
            args.out,
            None if args.resume else cfg,
            emit=lambda rec: print(json.dumps(rec), flush=True),
            should_stop=lambda: stop["flag"],
            resume=args.resume,
        )
    finally:
        for s, h in old.items():
            signal.signal(s, h)
    return 0 if final.get("model") else 3

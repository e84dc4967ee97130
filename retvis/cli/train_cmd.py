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
    from ..ml.config import TrainConfig
    from ._recipe import add_recipe_options

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
    p.add_argument("--target-name", help="name shown for the target (default: the column)")
    add_recipe_options(p)
    p.add_argument("--val-fraction", type=float, default=d.val_fraction)
    p.add_argument("--test-fraction", type=float, default=d.test_fraction)
    p.add_argument("--train-size", type=int, help="train on this many of the training split")
    p.add_argument(
        "--patience",
        type=int,
        help="early stopping: epochs without validation "
        "improvement (default: off; the best epoch is kept either way)",
    )
    p.add_argument("--resume", action="store_true", help="continue the run in RUN_DIR")
    p.set_defaults(func=run)


def run(args) -> int:
    from ..ml.train import TrainConfig, train_run
    from ._common import output_folder
    from ._recipe import recipe_from_args

    output_folder(args.out)

    cfg = TrainConfig(
        **recipe_from_args(args),
        target_name=args.target_name,
        val_fraction=args.val_fraction,
        test_fraction=args.test_fraction,
        train_size=args.train_size,
        patience=args.patience,
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
    metrics = final.get("metrics") or {}
    test = (metrics.get("test") or {}).get("r2")
    if final.get("model"):
        print(
            f"model -> {final['model']} ({final.get('status')}); "
            + (f"test R² {test:.3f}" if test is not None else "no test split"),
            file=sys.stderr,
        )
        return 0
    print(f"retvis train: no model written ({final.get('status')})", file=sys.stderr)
    return 1

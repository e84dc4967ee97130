"""``retvis learning-curve VOXELS_DIR LABELS.csv -o OUT``: RetNet (and RF) vs training size.

Trains RetNet on seeded subsets of one split's training names (and, with
``--descriptors``, the Random Forest on the same subsets), scores both on the same test
names with bootstrap intervals, prints JSON lines, and writes ``learning_curve.json`` and
``learning_curve.png``.
"""

from __future__ import annotations

import json
import signal
from pathlib import Path


def register(sub) -> None:
    from ..ml.config import TrainConfig

    d = TrainConfig()
    p = sub.add_parser(
        "learning-curve",
        help="test metrics vs training-set size, RetNet and RF",
        description=__doc__.split("\n\n")[0],
    )
    p.add_argument("voxels", type=Path, metavar="VOXELS_DIR")
    p.add_argument("labels", type=Path, metavar="LABELS.csv")
    p.add_argument("-o", "--out", required=True, type=Path)
    p.add_argument(
        "--sizes", default="100,500,1000,2000,5000,10000", help="comma-separated training-set sizes"
    )
    p.add_argument("--descriptors", type=Path, help="Zeo++ table from `retvis descriptors`")
    p.add_argument("--target", help="label column")
    p.add_argument("--units", default="")
    p.add_argument(
        "--allow-negative",
        action="store_true",
        help="accept negative labels (a target other than an uptake, e.g. an enthalpy)",
    )
    p.add_argument("--epochs", type=int, default=d.epochs)
    p.add_argument("--batch-size", type=int, default=d.batch_size)
    p.add_argument("--no-augment", action="store_true")
    p.add_argument(
        "--per-volume",
        action="store_true",
        help="per-volume target (see train)",
    )
    p.add_argument("--shift", action="store_true", help="random periodic shifts (see train)")
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument(
        "--ensemble",
        type=int,
        default=1,
        metavar="K",
        help="a deep ensemble of K seeds at every size (default 1: one network)",
    )
    p.add_argument("--threads", type=int, help="torch CPU threads")
    p.add_argument("--split", help="reuse this split JSON")
    p.add_argument("--bootstrap", type=int, default=10_000)
    p.add_argument("--device", default="cpu")
    p.add_argument("--drop-missing", action="store_true")
    p.add_argument("--exclude", help="file of names never used")
    p.set_defaults(func=run)


def run(args) -> int:
    from ..errors import SpecError
    from ..ml.config import TrainConfig
    from ..ml.curves import learning_curve

    try:
        sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    except ValueError as exc:
        raise SpecError(f"--sizes must be comma-separated integers, got {args.sizes!r}") from exc
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    cfg = TrainConfig(
        epochs=args.epochs,
        batch_size=args.batch_size,
        augment=not args.no_augment,
        shift=args.shift,
        per_volume=args.per_volume,
        seed=args.seed,
        ensemble=args.ensemble,
        device=args.device,
        target=args.target,
        units=args.units,
        allow_negative=args.allow_negative,
        drop_missing=args.drop_missing,
        split=str(Path(args.split).resolve()) if args.split else None,
        exclude=str(Path(args.exclude).resolve()) if args.exclude else None,
    )
    stop = {"flag": False}
    old = signal.signal(signal.SIGINT, lambda *_: stop.__setitem__("flag", True))
    try:
        res = learning_curve(
            args.voxels,
            args.labels,
            args.out,
            sizes,
            cfg,
            args.descriptors,
            args.bootstrap,
            emit=lambda r: print(json.dumps(r), flush=True),
            should_stop=lambda: stop["flag"],
        )
    finally:
        signal.signal(signal.SIGINT, old)
    print(json.dumps({"event": "done", "out": str(args.out), "sizes": res["sizes"]}), flush=True)
    return 0

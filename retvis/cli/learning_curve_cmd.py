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
    from ._recipe import add_recipe_options

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
    add_recipe_options(p)
    p.add_argument("--bootstrap", type=int, default=10_000)
    p.set_defaults(func=run)


def run(args) -> int:
    from ..errors import SpecError
    from ..ml.config import TrainConfig
    from ..ml.curves import learning_curve
    from ._common import output_folder
    from ._recipe import recipe_from_args

    output_folder(args.out)
    try:
        sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    except ValueError as exc:
        raise SpecError(f"--sizes must be comma-separated integers, got {args.sizes!r}") from exc
    cfg = TrainConfig(**recipe_from_args(args))
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

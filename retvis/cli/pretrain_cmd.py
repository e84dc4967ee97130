"""``retvis pretrain TARGETS_DIR... -o RUN_DIR``: a multi-task RetNet backbone.

Trains one RetNet to predict every pretraining target of ``retvis targets`` folders at
once (a structure's missing targets are masked), on the input grids stored there;
resumable (rerun the same command), on the CPU or with ``--device cuda``. The backbone
is written to ``RUN_DIR/model``; ``retvis train --init-from RUN_DIR`` starts a model
from it (docs/pretraining.md). Ctrl-C or ``touch RUN_DIR/STOP`` stops after the epoch.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def register(sub) -> None:
    p = sub.add_parser(
        "pretrain",
        help="pretrain a RetNet backbone on retvis targets folders",
        description=__doc__.split("\n\n")[0],
    )
    p.add_argument("targets", nargs="+", type=Path, metavar="TARGETS_DIR")
    p.add_argument("-o", "--out", required=True, type=Path, metavar="RUN_DIR", help="run folder")
    p.add_argument("--epochs", type=int, default=20, help="epochs (default 20)")
    p.add_argument("--batch-size", type=int, default=64, help="grids per step (default 64)")
    p.add_argument("--limit", type=int, help="use at most this many structures (seeded draw)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="cpu", help="cpu or cuda")
    p.add_argument(
        "--json",
        action="store_true",
        help="one JSON object per epoch on stdout, then the summary (the one for people on stderr)",
    )
    p.set_defaults(func=run)


def run(args) -> int:
    import numpy as np

    from ..errors import UsageError
    from ..ml.pretrain import PretrainConfig, pretrain
    from ..sim.targets import TargetsFolder
    from ._common import output_folder, report

    output_folder(args.out)
    folders = [TargetsFolder(f) for f in args.targets]
    kinds = {f.input_probe for f in folders}
    if len(kinds) > 1:
        raise UsageError(
            f"the targets folders hold input grids of different probes ({', '.join(sorted(kinds))})"
            ": pretrain one backbone per probe"
        )
    names, grids, values = [], [], []
    for folder in folders:
        n, g, v, cols = folder.load()
        names += n
        grids.append(g)
        values.append(v)
    grids, values = np.concatenate(grids), np.concatenate(values)
    if args.limit is not None and args.limit < len(grids):
        keep = np.sort(np.random.default_rng(args.seed).permutation(len(grids))[: args.limit])
        grids, values = grids[keep], values[keep]
    cfg = PretrainConfig(
        epochs=args.epochs, batch_size=args.batch_size, seed=args.seed, device=args.device
    )
    stop = args.out / "STOP"

    def progress(row: dict) -> None:
        if args.json:
            print(json.dumps(row), flush=True)
        print(
            f"epoch {row['epoch']}: train {row['train_loss']:.4f}, validation "
            f"{row['val_loss']:.4f} ({row['seconds']:.0f} s)",
            file=sys.stderr,
            flush=True,
        )

    card = pretrain(
        grids,
        values,
        cols,
        folders[0].columns(),
        args.out,
        cfg,
        folders[0].spec.to_dict(),
        progress=progress,
        should_stop=stop.exists,
    )
    r2 = ", ".join(f"{k} {v['val_r2']:.2f}" for k, v in card["pretraining"]["targets"].items())
    text = f"backbone of {len(grids)} structures -> {args.out / 'model'}; validation R²: {r2}"
    if args.json:
        report(args, text, out=args.out / "model", structures=len(grids))
    else:
        print(text, file=sys.stderr)
    return 0

"""``retvis learn POOL... --budget N -o RUN``: active learning, simulations and all.

Each round a Gaussian process on the backbone's fingerprints, fitted to the labels so
far, picks the next batch of the pool by the rule (``best``: find the top materials;
``uncertainty``: an accurate model; ``random``); RASPA3 simulates it as ``retvis label``
does, ``--jobs`` at a time or on a Dask scheduler's workers (``--scheduler``), each label
written at once. Rerun the same command to resume
after a crash or Ctrl-C: finished simulations are kept, the round's others run
(docs/active-learning.md).
"""

from __future__ import annotations

import sys
import threading
from pathlib import Path


def register(sub) -> None:
    from .label_cmd import add_execution_options, add_protocol_options
    from .suggest_cmd import add_rule_option

    p = sub.add_parser(
        "learn",
        help="active learning: choose, simulate (RASPA3) and learn until a budget is spent",
        description=__doc__.split("\n\n")[0],
    )
    p.add_argument("paths", nargs="*", metavar="PATH", help="the pool: CIF files or folders")
    p.add_argument(
        "--files-from", type=Path, metavar="FILE", help="text file with one CIF path per line"
    )
    p.add_argument("-o", "--out", required=True, type=Path, help="run folder (resumed)")
    p.add_argument("--budget", type=int, required=True, help="simulations in all")
    p.add_argument("--batch", type=int, default=10, help="simulations per round (default 10)")
    add_rule_option(p)
    p.add_argument("--loop-seed", type=int, default=0, help="seed of the choices (default 0)")
    add_execution_options(p)
    p.add_argument("-q", "--quiet", action="store_true", help="no progress lines")
    add_protocol_options(p)
    p.set_defaults(func=run)


def run(args) -> int:
    from ..app.learn import LearnConfig, run_loop
    from ._common import report
    from .label_cmd import inputs_from_args, protocol_from_args

    cfg = LearnConfig(
        budget=args.budget,
        batch=args.batch,
        rule=args.rule,
        seed=args.loop_seed,
        jobs=args.jobs,
        scheduler=args.scheduler,
    )
    protocol = protocol_from_args(args)
    files = inputs_from_args(args)
    cancel = threading.Event()

    def progress(rec: dict) -> None:
        if args.quiet:
            return
        if rec["event"] == "round":
            print(
                f"round {rec['round']} ({rec['rule']}): {', '.join(rec['chosen'])}",
                file=sys.stderr,
                flush=True,
            )
        else:
            print(f"  {rec['name']}: {rec['status']}", file=sys.stderr, flush=True)

    try:
        s = run_loop(
            files,
            protocol,
            cfg,
            args.out,
            progress=progress,
            cancel=cancel,
            timeout=args.timeout,
            wall_timeout=args.wall_timeout,
        )
    except KeyboardInterrupt:
        cancel.set()
        print(f"stopped; rerun the same command to resume ({args.out})", file=sys.stderr)
        return 130
    best = ", ".join(f"{n} {v:.3g}" for n, v in s["top"][:3])
    text = (
        f"{s['simulations']} of {cfg.budget} simulations in {s['rounds']} rounds, "
        f"{s['labelled']} labelled of a pool of {s['pool']}; best: {best or 'none yet'} "
        f"-> {args.out}"
    )
    report(args, text, out=args.out, **{k: v for k, v in s.items() if k != "progress"})
    return 0

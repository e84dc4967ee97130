"""``retvis descriptors PATH... -o TABLE.csv``: Zeo++ geometric descriptors (RF baseline).

Each structure runs in its own child process with a time limit (Zeo++ exits the process
on some inputs); failures are rows with ``status`` failed/timeout and a reason. The table
is rewritten atomically as results come in, and a rerun with the same ``-o`` keeps the
rows already there (``--retry-failed`` runs the failed and timed-out ones again), so a
killed run loses at most the last half minute.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

#: Seconds between atomic rewrites of the table during a run.
SAVE_EVERY = 30.0


def register(sub) -> None:
    from ..sim.descriptors import TIMEOUT

    p = sub.add_parser(
        "descriptors",
        help="Zeo++ geometric descriptors of CIF files (CSV)",
        description=__doc__.split("\n\n")[0],
    )
    p.add_argument("paths", nargs="+", metavar="PATH", help="CIF files or folders")
    p.add_argument("-o", "--out", required=True, type=Path, help="output CSV")
    p.add_argument("-j", "--jobs", type=int, default=None, help="parallel child processes")
    p.add_argument(
        "--timeout",
        type=float,
        default=TIMEOUT,
        help=f"limit per structure, s of CPU time, as in retvis label (default {TIMEOUT:g})",
    )
    p.add_argument(
        "--wall-timeout",
        type=float,
        metavar="S",
        help="wall-clock cap per structure, s, for a hung Zeo++ (default 4 x --timeout)",
    )
    p.add_argument(
        "--retry-failed", action="store_true", help="run failed and timed-out rows of -o again"
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def run(args) -> int:
    from ..core.descriptor_table import read_descriptor_rows, write_descriptor_csv
    from ..sim.descriptors import iter_descriptors
    from ._common import input_files, output_file, progress_bar, report

    output_file(args.out, "descriptors.csv")
    files = input_files(args.paths)
    kept = read_descriptor_rows(args.out) if args.out.is_file() else []
    if args.retry_failed:
        kept = [r for r in kept if r.status == "ok"]
    known = {r.name for r in kept}
    todo = [f for f in files if Path(f).stem not in known]
    if kept and not args.quiet:
        print(f"{len(files) - len(todo)} of {len(files)} already in {args.out}")
    cancel = threading.Event()
    results = list(kept)
    bar = progress_bar(len(todo), "descriptors", disable=args.quiet)
    last = time.monotonic()
    try:
        for r in iter_descriptors(todo, args.jobs, args.timeout, cancel, args.wall_timeout):
            results.append(r)
            bar.update(1)
            if r.status != "ok":
                bar.write(f"failed: {r.path}: {r.reason}")
            if time.monotonic() - last > SAVE_EVERY:
                write_descriptor_csv(results, args.out)
                last = time.monotonic()
    except KeyboardInterrupt:
        cancel.set()
        bar.write("interrupted: writing what finished")
    finally:
        bar.close()
    write_descriptor_csv(results, args.out)
    names = {Path(f).stem for f in files}
    ok = sum(r.status == "ok" for r in results if r.name in names)
    bad = sum(r.status != "ok" for r in results if r.name in names)
    report(
        args,
        f"{ok} structures described in {args.out}; {bad} failed",
        out=args.out,
        ok=ok,
        failed=bad,
    )
    return 0 if not bad else 1

"""``retvis descriptors PATH... -o TABLE.csv``: Zeo++ geometric descriptors (RF baseline).

Each structure runs in its own child process with a time limit (Zeo++ exits the process
on some inputs); failures are rows with ``status`` failed/timeout and a reason.
"""

from __future__ import annotations

import threading
from pathlib import Path


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
        "--timeout", type=float, default=TIMEOUT, help=f"s per structure (default {TIMEOUT:g})"
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def run(args) -> int:
    from ..core.batch import collect_cifs
    from ..sim.descriptors import iter_descriptors, write_descriptor_csv
    from ._common import progress_bar

    files = collect_cifs(args.paths)
    cancel = threading.Event()
    results = []
    bar = progress_bar(len(files), "descriptors", disable=args.quiet)
    try:
        for r in iter_descriptors(files, args.jobs, args.timeout, cancel):
            results.append(r)
            bar.update(1)
            if r.status != "ok":
                bar.write(f"failed: {r.path}: {r.reason}")
    except KeyboardInterrupt:
        cancel.set()
        bar.write("interrupted: writing what finished")
    finally:
        bar.close()
    write_descriptor_csv(results, args.out)
    bad = sum(r.status != "ok" for r in results)
    print(f"{len(results) - bad} structures described in {args.out}; {bad} failed")
    return 0 if not bad else 1

"""EQeq framework charges: RetVis' converged-Ewald EQeq against pyeqeq's C++ code.

    python3 benchmarks/charges.py [--n 6] [--coremof DIR] [--seed 0] [CIF ...]

Reference, measured in the same run on the same structures: pyeqeq (the C++ EQeq that
CO2 labels used until 2026-12) with the image count RetVis gave it, ``m = ceil(90 Å /
smallest width)`` capped at 10 (:func:`retvis.sim.charges.image_cells`). Prints, per
structure, both times, the ratio and the largest charge difference; the difference is
pyeqeq's truncation error (it shrinks as m grows, see the module docstring of
``retvis.sim.charges``). Needs pyeqeq installed. Not a test: nothing here gates CI.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # a source checkout


def main(argv: list[str] | None = None) -> int:
    from retvis.core.structure import read_structure
    from retvis.sim.charges import eqeq_charges, eqeq_ewald_charges, image_cells

    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("cifs", nargs="*", type=Path)
    p.add_argument("--n", type=int, default=6, help="CoRE MOFs drawn when no CIF is given")
    p.add_argument("--coremof", type=Path, default=None, help="extracted CoRE MOF folder")
    p.add_argument("--max-atoms", type=int, default=400, help="skip larger cells (time)")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    files = list(args.cifs)
    if not files:
        from retvis.core.coremof import extract

        root = args.coremof if args.coremof is not None else extract()
        files = sorted(root.glob("*.cif"))
        random.Random(args.seed).shuffle(files)
    print(
        f"{'structure':24s} {'atoms':>5s} {'m':>3s} {'pyeqeq s':>9s} {'RetVis s':>9s} "
        f"{'ratio':>7s} {'max |dq| e':>10s}"
    )
    ref_t = own_t = 0.0
    done = 0
    for f in files:
        if done >= (len(args.cifs) or args.n):
            break
        try:
            s = read_structure(f)
        except Exception as exc:  # noqa: BLE001 - a benchmark skips what it cannot read
            print(f"{f.stem[:24]:24s} skipped: {exc}")
            continue
        if s.n_atoms > args.max_atoms:
            continue
        m = image_cells(s)
        t0 = time.perf_counter()
        ref = eqeq_charges(s)
        t1 = time.perf_counter()
        own = eqeq_ewald_charges(s)
        t2 = time.perf_counter()
        ref_t += t1 - t0
        own_t += t2 - t1
        done += 1
        print(
            f"{s.name[:24]:24s} {s.n_atoms:5d} {m:3d} {t1 - t0:9.2f} {t2 - t1:9.3f} "
            f"{(t1 - t0) / (t2 - t1):7.0f} {np.abs(ref - own).max():10.4f}",
            flush=True,
        )
    if done:
        print(
            f"total: pyeqeq {ref_t:.1f} s, RetVis {own_t:.2f} s, ratio {ref_t / own_t:.0f}x "
            f"on {done} structures"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

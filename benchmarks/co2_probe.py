"""The CO2-probe grid: the grid path against the direct sums, same structures, same run.

    python3 benchmarks/co2_probe.py [--n 40] [--seed 0] [--coremof DIR] [CIF ...]

For each structure (default: ``--n`` CoRE MOF 2019-ASR CIFs under 1,000 atoms, drawn
with a fixed seed from the ``core-mof`` package) in its canonical cell, the CO2 probe's
orientation-averaged energies at every distinct point of the default grid (n = 25,
supercell mode), with one set of EQeq charges given to both:

- direct: :func:`retvis.core.grid.probe_energies`, every site of every orientation
  summed over every atom within the cutoffs (the Ewald reciprocal part by cubic
  B-spline interpolation), which is how grids were computed before the grid path;
- grid: :func:`retvis.core.grid.co2_grid_energies`, what :func:`compute_grid` now
  runs (reciprocal part exact on the grid, blocked points skipped, one fused kernel).

Prints CPU seconds of each on one thread (BLAS and FFT threads pinned to one), the
ratio, and the largest differences where they matter: energies where the direct
|V| < 5,000 K, Boltzmann factors (relative) where they exceed 1e-3, the number of
points where one is blocked (infinite) and the other is below 5,000 K, and the lowest
direct energy at a point the grid path blocks (:data:`retvis.core.grid.CO2_BLOCKED`). The
first structure is run once before timing (numba compilation). Not a test: nothing
here gates CI.
"""

from __future__ import annotations

import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_v] = "1"  # one core: before numpy loads

import argparse  # noqa: E402
import random  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # a source checkout

MAX_ATOMS = 1000
TOLERANCE_K = 1.0
REACH_K = 5000.0


def _sample(args) -> list[Path]:
    if args.cifs:
        return list(args.cifs)
    from retvis.core import coremof

    folder = Path(args.coremof) if args.coremof else coremof.extract()
    files = sorted(folder.glob("*.cif"))
    random.Random(args.seed).shuffle(files)
    return files


def main(argv: list[str] | None = None) -> int:
    from retvis.core.canonical import canonicalize
    from retvis.core.charges import eqeq_ewald_charges
    from retvis.core.grid import GridSpec, co2_grid_energies, probe_energies
    from retvis.core.structure import read_structure, supercell_factors
    from retvis.errors import RetvisError

    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("cifs", nargs="*", type=Path)
    p.add_argument("--n", type=int, default=40, help="CoRE MOFs to draw (without CIFs)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--coremof", help="folder of CoRE MOF CIFs (default: the package's)")
    args = p.parse_args(argv)
    spec = GridSpec(probe="CO2")
    m = spec.n
    print(
        f"{'structure':22s} {'atoms':>5s} {'points':>6s} {'direct s':>8s} {'grid s':>7s} "
        f"{'ratio':>6s} {'max |dV| K':>10s} {'max dB/B':>9s} {'inf diff':>8s}"
    )
    rows = []
    warmed = False
    for f in _sample(args):
        if len(rows) >= args.n:
            break
        try:
            s = canonicalize(read_structure(f)).structure
            if s.n_atoms > MAX_ATOMS:
                continue
            q = eqeq_ewald_charges(s)
        except RetvisError:
            continue
        index = [np.unique((np.arange(m) * k) % m) for k in supercell_factors(s, spec.cutoff)]
        frac = np.stack(np.meshgrid(*(u / m for u in index), indexing="ij"), -1)
        points = frac.reshape(-1, 3) @ s.lattice
        if not warmed:
            co2_grid_energies(s, m, index, spec, charges=q)
            probe_energies(s, points[:64], spec, charges=q)
            warmed = True
        t0 = time.process_time()
        new = co2_grid_energies(s, m, index, spec, charges=q).ravel()
        t1 = time.process_time()
        old = probe_energies(s, points, spec, charges=q)
        t2 = time.process_time()
        reach = np.isfinite(old) & (np.abs(old) < REACH_K)
        both = reach & np.isfinite(new)
        d_v = float(np.abs(new[both] - old[both]).max()) if both.any() else 0.0
        with np.errstate(over="ignore"):
            b_old, b_new = np.exp(-old / spec.temperature), np.exp(-new / spec.temperature)
        big = b_old > 1e-3
        d_b = float((np.abs(b_new[big] - b_old[big]) / b_old[big]).max()) if big.any() else 0.0
        inf_diff = int(
            (reach & ~np.isfinite(new)).sum()
            + (np.isfinite(new) & (np.abs(new) < REACH_K) & ~np.isfinite(old)).sum()
        )
        skipped = np.isfinite(old) & ~np.isfinite(new)
        lowest = float(old[skipped].min()) if skipped.any() else float("inf")
        rows.append((t2 - t1, t1 - t0, d_v, d_b, inf_diff, lowest))
        print(
            f"{s.name[:22]:22s} {s.n_atoms:5d} {len(points):6d} {t2 - t1:8.3f} {t1 - t0:7.3f} "
            f"{(t2 - t1) / (t1 - t0):5.1f}x {d_v:10.3f} {d_b:9.2e} {inf_diff:8d}",
            flush=True,
        )
    if not rows:
        print("no structures")
        return 1
    old_t, new_t, d_v, d_b, inf_diff, lowest = (list(c) for c in zip(*rows, strict=True))
    print(f"\n{len(rows)} structures under {MAX_ATOMS} atoms, CPU seconds on one thread")
    print(
        f"median: direct {statistics.median(old_t) * 1e3:.0f} ms, grid "
        f"{statistics.median(new_t) * 1e3:.0f} ms, ratio "
        f"{statistics.median(o / n for o, n in zip(old_t, new_t, strict=True)):.1f}x "
        f"(total {sum(old_t):.1f} s / {sum(new_t):.1f} s = {sum(old_t) / sum(new_t):.1f}x)"
    )
    print(
        f"largest |dV| where |V| < {REACH_K:.0f} K: {max(d_v):.3f} K (tolerance "
        f"{TOLERANCE_K} K); largest dB/B where B > 1e-3: {max(d_b):.2e} (tolerance 1e-2); "
        f"points blocked in one and not the other: {sum(inf_diff)}"
    )
    print(
        f"lowest direct energy at a point the grid path blocks: {min(lowest):.0f} K "
        f"(Boltzmann factor {np.exp(-min(lowest) / spec.temperature):.1e})"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

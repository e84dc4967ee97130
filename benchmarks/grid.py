"""Energy-grid speed against the seed algorithm, measured in the same run.

The seed algorithm (docs/method.md section 1, as published in MOXελ): read the CIF with
pymatgen, replicate it ``ceil(2 r_c / w_i)`` times, and for every one of the n^3 grid
points (``linspace(0, 1, n)`` of the supercell) make a Python call that asks pymatgen for
the sites within the cutoff and sums the Lennard-Jones energy. The published code adds
1000 K for a point within 1e-3 Å of an atom; docs/method.md says such a point gets 0, which
is what both implementations here do.

Both run on one core (the seed's process pool and RetVis' threads both scale with cores;
the per-core ratio is the fair one). RetVis runs in the seed's convention
(``GridSpec.seed()``) on the same coordinates for the accuracy column, and is timed from
the file (gemmi read + grid, cache off) in both conventions.

Usage: python benchmarks/grid.py [--n 25] [--limit K] [--no-seed [--threads 2]] [CIF ...]
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from retvis.core.forcefield import load_forcefield  # noqa: E402
from retvis.core.grid import GridSpec, compute_grid  # noqa: E402
from retvis.core.structure import Structure, read_structure  # noqa: E402


def seed_grid(path: Path, n: int, cutoff=10.0, eps_p=50.0, sig_p=2.5, T=298.0):
    """The seed algorithm: one Python call per grid point (serial)."""
    from pymatgen.core import Structure as PmgStructure

    ff = load_forcefield()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        s = PmgStructure.from_file(str(path))
    a, b, c = s.lattice.matrix
    vol = abs(np.dot(a, np.cross(b, c)))
    w = vol / np.array(
        [
            np.linalg.norm(np.cross(b, c)),
            np.linalg.norm(np.cross(a, c)),
            np.linalg.norm(np.cross(a, b)),
        ]
    )
    box = s * np.ceil(2 * cutoff / w)
    coords = np.linspace(0, 1, n)

    def lj(frac):
        cart = box.lattice.get_cartesian_coords(frac)
        energy = 0.0
        for atom in box.get_sites_in_sphere(cart, cutoff):
            r = np.linalg.norm(cart - atom.coords)
            if r <= 1e-3:
                return 0.0
            el = atom.specie.symbol
            x = 0.5 * (ff.sigma[el] + sig_p) / r
            energy += 4 * np.sqrt(ff.epsilon[el] * eps_p) * (x**12 - x**6)
        return np.exp(-energy / T)

    return s, np.array(
        [lj(p) for p in itertools.product(coords, coords, coords)], dtype=np.float32
    ).reshape(n, n, n)


def best_of(fn, repeat=3):
    ts = []
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        ts.append(time.perf_counter() - t)
    return min(ts), out


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("cifs", nargs="*", type=Path)
    ap.add_argument("--n", type=int, default=25)
    ap.add_argument("--limit", type=int, default=0, help="only the first K CIFs")
    ap.add_argument(
        "--no-seed",
        action="store_true",
        help="skip the (slow) seed algorithm: RetVis read + grid times only",
    )
    ap.add_argument("--threads", type=int, default=1, help="RetVis threads per structure")
    args = ap.parse_args()
    files = args.cifs or sorted((REPO / "resources" / "demo").glob("*.cif"))
    if args.limit:
        files = files[: args.limit]
    n = args.n
    seed_spec, default_spec = GridSpec.seed(n=n), GridSpec(n=n)
    compute_grid(read_structure(files[0]), GridSpec(n=4))  # compile the kernel once
    print(f"n = {n}, one core each; times in ms except the seed's (s)")
    hdr = (
        f"{'structure':18s} {'atoms':>5s} {'seed s':>7s} {'read':>6s} {'grid':>6s} "
        f"{'ratio':>7s} {'maxrel':>8s} {'periodic':>8s} {'pmg read':>8s}"
    )
    print(hdr)
    rows = []
    if args.no_seed:
        print(
            f"{'structure':18s} {'atoms':>5s} {'read':>6s} {'grid seed':>9s} "
            f"{'grid periodic':>13s} {'read+grid periodic':>18s}   (threads={args.threads})"
        )
        rows = []
        for f in files:
            t_read, s = best_of(lambda f=f: read_structure(f))
            t_grid, _ = best_of(lambda s=s: compute_grid(s, seed_spec, threads=args.threads))
            t_per, _ = best_of(lambda s=s: compute_grid(s, default_spec, threads=args.threads))
            rows.append((t_read, t_grid, t_per))
            print(
                f"{s.name[:18]:18s} {s.n_atoms:5d} {t_read * 1e3:6.1f} {t_grid * 1e3:9.1f} "
                f"{t_per * 1e3:13.1f} {(t_read + t_per) * 1e3:18.1f}",
                flush=True,
            )
        print(
            "median read+grid: seed convention "
            f"{statistics.median(r[0] + r[1] for r in rows) * 1e3:.1f} ms, periodic default "
            f"{statistics.median(r[0] + r[2] for r in rows) * 1e3:.1f} ms"
        )
        return
    for f in files:
        t = time.perf_counter()
        pmg, ref = seed_grid(f, n)
        t_seed = time.perf_counter() - t
        t_read, s = best_of(lambda f=f: read_structure(f))
        t_grid, g = best_of(lambda s=s: compute_grid(s, seed_spec))
        t_per, _ = best_of(lambda s=s: compute_grid(s, default_spec))
        t_pmg, _ = best_of(
            lambda f=f: __import__("retvis.core.structure", fromlist=["x"]).read_structure_pymatgen(
                f
            ),
            repeat=1,
        )
        same = Structure(
            s.name, pmg.lattice.matrix, pmg.frac_coords, [site.specie.symbol for site in pmg]
        )
        ours = compute_grid(same, seed_spec).boltzmann.astype(np.float64)
        mask = ref > 1e-6
        maxrel = float(np.max(np.abs(ours[mask] - ref[mask]) / ref[mask]))
        ratio = t_seed / (t_read + t_grid)
        rows.append((t_seed, t_read, t_grid, ratio, maxrel, t_per, t_pmg))
        print(
            f"{s.name[:18]:18s} {s.n_atoms:5d} {t_seed:7.2f} {t_read * 1e3:6.1f} "
            f"{t_grid * 1e3:6.1f} {ratio:7.0f} {maxrel:8.1e} {(t_read + t_per) * 1e3:8.1f} "
            f"{t_pmg * 1e3:8.1f}",
            flush=True,
        )
    med = lambda i: statistics.median(r[i] for r in rows)  # noqa: E731
    print(
        f"median: seed {med(0):.2f} s, read {med(1) * 1e3:.1f} ms, grid {med(2) * 1e3:.1f} ms, "
        f"speed-up {med(3):.0f}x (read+grid, seed convention), max rel diff "
        f"{max(r[4] for r in rows):.1e}, read+grid periodic default "
        f"{statistics.median(r[1] + r[5] for r in rows) * 1e3:.1f} ms, pymatgen read "
        f"{med(6) * 1e3:.1f} ms"
    )


if __name__ == "__main__":
    main()

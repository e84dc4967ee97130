"""The energy grid's CO2 probe against a plain NumPy/SciPy reference, same run.

    python3 benchmarks/co2_probe.py [--n 10] [CIF ...]

For each structure (default: three demo CIFs) the orientation-averaged CO2 energies at
the points of an ``n^3`` grid of the unit cell, with one set of framework charges:

- RetVis: :func:`retvis.core.grid.probe_energies` (numba cell list for the
  Lennard-Jones sites and the real-space Ewald part, FFT grid plus cubic B-spline
  interpolation for the reciprocal part);
- reference: a k-d tree query per site position for both real-space sums (NumPy, SciPy
  ``erfc``) and the reciprocal sum evaluated directly at every site position.

Prints both times, the ratio and the largest energy difference among points the probe
can reach (both finite). The EQeq charges are computed once and given to both (their
cost is the same either way). Not a test: nothing here gates CI.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # a source checkout

DEMO = ("PEKKAS_clean", "FIQCEN_clean", "VOGTIV_clean_h")


def reference(structure, points, spec, charges):
    """The same energies, the slow and obvious way."""
    from scipy.spatial import cKDTree
    from scipy.special import erfc

    from retvis.core.charges import COULOMB_K
    from retvis.core.forcefield import load_forcefield, mix
    from retvis.core.grid import CO2_AXES, CO2_BOND, CO2_SITES, _images

    ff = load_forcefield(spec.forcefield)
    eps_a, sig_a = ff.parameters(structure.species, structure.path)
    rc_lj, rc_q = spec.cutoff, 6.0
    alpha = math.sqrt(-math.log(1e-6)) / rc_q
    pos, which = _images(structure, max(rc_lj, rc_q))
    tree = cKDTree(pos)
    inv = np.linalg.inv(structure.lattice)
    # reciprocal space, every k-vector, directly at each site
    kmax = 2 * alpha * math.sqrt(-math.log(1e-6))
    m = np.ceil(kmax * np.linalg.norm(structure.lattice, axis=1) / (2 * np.pi)).astype(int)
    hkl = np.stack(np.meshgrid(*(np.arange(-i, i + 1) for i in m), indexing="ij"), -1)
    kv = hkl.reshape(-1, 3) @ (2 * np.pi * inv.T)
    k2 = (kv * kv).sum(axis=1)
    keep = (k2 > 0) & (k2 <= kmax * kmax)
    kv, k2 = kv[keep], k2[keep]
    wk = 4 * np.pi / structure.volume * np.exp(-k2 / (4 * alpha**2)) / k2
    sk = charges @ np.exp(-1j * structure.cart @ kv.T)

    def site_energy(site, at):
        frac = at @ inv
        at = (frac - np.floor(frac)) @ structure.lattice
        eps, sig, q = CO2_SITES[site]
        e_mix, s_mix = mix(eps_a, sig_a, eps, sig)
        out = np.empty(len(at))
        for i, p in enumerate(at):
            idx = np.array(tree.query_ball_point(p, rc_lj), dtype=int)
            d = np.linalg.norm(pos[idx] - p, axis=1)
            if np.any(d <= spec.overlap_distance):
                out[i] = np.inf
                continue
            j = which[idx]
            s6 = (s_mix[j] / d) ** 6
            lj = np.sum(4 * e_mix[j] * (s6 * s6 - s6))
            near = d <= rc_q
            real = np.sum(charges[j[near]] * erfc(alpha * d[near]) / d[near])
            recip = float(np.real(np.exp(1j * kv @ p) * sk) @ wk)
            out[i] = lj + COULOMB_K * q * (real + recip)
        return out

    w = 0.0
    for axis in CO2_AXES:
        u = (
            site_energy("C", points)
            + site_energy("O", points + CO2_BOND * axis)
            + site_energy("O", points - CO2_BOND * axis)
        )
        with np.errstate(over="ignore"):
            w = w + np.exp(-u / spec.temperature)
    with np.errstate(divide="ignore"):
        return -spec.temperature * np.log(w / len(CO2_AXES))


def main(argv: list[str] | None = None) -> int:
    from retvis.core.charges import eqeq_ewald_charges
    from retvis.core.grid import GridSpec, probe_energies
    from retvis.core.structure import read_structure
    from retvis.paths import resources_dir

    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("cifs", nargs="*", type=Path)
    p.add_argument("--n", type=int, default=10, help="grid points per axis of the unit cell")
    args = p.parse_args(argv)
    files = args.cifs or [resources_dir() / "demo" / f"{d}.cif" for d in DEMO]
    spec = GridSpec(probe="CO2")
    print(f"{'structure':24s} {'atoms':>5s} {'points':>6s} {'reference s':>11s} "
          f"{'RetVis s':>9s} {'ratio':>7s} {'max |dU| K':>10s}")
    ref_t = own_t = 0.0
    for f in files:
        s = read_structure(f)
        q = eqeq_ewald_charges(s)
        g = np.arange(args.n) / args.n
        points = np.stack(np.meshgrid(g, g, g, indexing="ij"), -1).reshape(-1, 3) @ s.lattice
        probe_energies(s, points[:8], spec, charges=q)  # compile outside the timing
        t0 = time.perf_counter()
        own = probe_energies(s, points, spec, charges=q)
        t1 = time.perf_counter()
        ref = reference(s, points, spec, q)
        t2 = time.perf_counter()
        ok = np.isfinite(own) & np.isfinite(ref)
        diff = float(np.abs(own[ok] - ref[ok]).max()) if ok.any() else float("nan")
        ref_t += t2 - t1
        own_t += t1 - t0
        print(f"{s.name[:24]:24s} {s.n_atoms:5d} {len(points):6d} {t2 - t1:11.2f} "
              f"{t1 - t0:9.3f} {(t2 - t1) / (t1 - t0):6.0f}x {diff:10.3f}")
    print(f"total: reference {ref_t:.1f} s, RetVis {own_t:.2f} s, ratio {ref_t / own_t:.0f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Memory and time of one energy grid against its estimate, from 1 to 20,000 atoms.

    python3 benchmarks/limits.py [--probe sphere CO2] [--max-atoms 20000] [--timeout 600]

Each case runs in a child process (numba compiled and the modules loaded first, on a
small structure), which resets its peak resident memory (``/proc/self/clear_refs``)
and then computes one grid with :func:`retvis.core.grid.compute_grid`, default settings
but the probe. Printed per case and probe: atoms (as given and in the canonical cell),
the estimate (:func:`retvis.core.grid.estimate_grid_bytes`), the measured peak above the
process before the grid, their ratio (the estimate must never be below 1.0), CPU and
wall seconds.

Cases: CoRE MOF 2019 structures from the ``core-mof`` package (40 to 3,104 atoms);
supercells of one of them less one atom (so no symmetry shrinks them back) up to
21,265 atoms; one carbon atom in cubes of 30 to 200 Å; and
PEKKAS written in a cell skewed by a unimodular matrix with entries up to 40 (widths
down to 0.02 Å). Not a test: nothing here gates CI.
"""

from __future__ import annotations

import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_v] = "1"  # one core: before numpy loads

import argparse  # noqa: E402
import json  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CORE = ["IKUTIT_clean", "FALQEQ_clean", "WUHJAK_clean", "EFAYEQ_clean_h", "ADASEF_clean"]
VACANCY = [(2, 2, 2), (3, 3, 3), (4, 4, 4), (5, 5, 5), (7, 7, 7)]  # of IKUTIT (62 atoms)
CUBES = [30.0, 100.0, 200.0]


def _kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(field)


def _structure(case: dict):
    import numpy as np

    from retvis.core import coremof
    from retvis.core.structure import Structure, read_structure

    kind = case["kind"]
    if kind == "core":
        return read_structure(coremof.extract() / f"{case['name']}.cif")
    if kind == "vacancy":
        s = read_structure(coremof.extract() / "IKUTIT_clean.cif")
        k = np.array(case["cells"])
        shifts = np.stack(np.meshgrid(*(np.arange(x) for x in k), indexing="ij"), -1)
        shifts = shifts.reshape(-1, 3)
        frac = ((s.frac[None] + shifts[:, None]) / k).reshape(-1, 3)[:-1]
        name = "IKUTIT_x" + "x".join(map(str, k)) + "-1"
        return Structure(name, s.lattice * k[:, None], frac, (s.species * len(shifts))[:-1])
    if kind == "cube":
        a = case["a"]
        return Structure(f"C_in_{a:g}A", np.eye(3) * a, np.zeros((1, 3)), ("C",))
    if kind == "skew":
        from retvis.core.structure import read_structure as rs

        s = rs(ROOT / "resources" / "demo" / "PEKKAS_clean.cif")
        u = np.array([[1, 0, 0], [30, 1, 0], [20, 40, 1]])
        return Structure("PEKKAS_skewed", u @ s.lattice, s.frac @ np.linalg.inv(u), s.species)
    raise ValueError(kind)


def child(case: dict) -> None:
    from retvis.core.canonical import canonicalize
    from retvis.core.grid import GridSpec, compute_grid, estimate_grid_bytes
    from retvis.core.structure import read_structure

    spec = GridSpec(probe=case["probe"])
    # compile the kernels on a grid that takes next to no memory
    warm = read_structure(ROOT / "resources" / "demo" / "PEKKAS_clean.cif")
    compute_grid(warm, spec.replace(n=4))
    s = _structure(case)
    Path("/proc/self/clear_refs").write_text("5")
    base = _kib("VmRSS")
    c0, w0 = time.process_time(), time.perf_counter()
    status = "ok"
    try:
        compute_grid(s, spec)
    except Exception as exc:  # noqa: BLE001 - report, do not stop the table
        status = f"{type(exc).__name__}: {exc}"[:80]
    cpu, wall = time.process_time() - c0, time.perf_counter() - w0
    peak = _kib("VmHWM") - base
    estimate = estimate_grid_bytes(s, spec)  # after: it computes the canonical cell
    n_canon = canonicalize(s).structure.n_atoms
    print(
        json.dumps(
            dict(
                case,
                name=s.name,
                atoms=s.n_atoms,
                canonical_atoms=n_canon,
                estimate=estimate,
                peak=peak,
                cpu=cpu,
                wall=wall,
                status=status,
            )
        )
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--probe", nargs="+", default=["sphere", "CO2"])
    ap.add_argument("--max-atoms", type=int, default=20_000)
    ap.add_argument("--timeout", type=float, default=600.0, help="per case, s")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        child(json.loads(args.child))
        return 0
    cases = (
        [{"kind": "core", "name": n} for n in CORE]
        + [
            {"kind": "vacancy", "cells": list(k)}
            for k in VACANCY
            if 62 * k[0] * k[1] * k[2] <= args.max_atoms + 2000
        ]
        + [{"kind": "cube", "a": a} for a in CUBES]
        + [{"kind": "skew"}]
    )
    print(
        f"{'structure':18s} {'probe':6s} {'atoms':>6s} {'canon':>6s} {'estimate MB':>11s} "
        f"{'peak MB':>8s} {'est/peak':>8s} {'CPU s':>7s} {'wall s':>7s}  status"
    )
    worst = float("inf")
    for probe in args.probe:
        for case in cases:
            case = dict(case, probe=probe)
            try:
                out = subprocess.run(
                    [sys.executable, __file__, "--child", json.dumps(case)],
                    capture_output=True,
                    text=True,
                    timeout=args.timeout,
                    check=False,
                )
                r = json.loads(out.stdout.strip().splitlines()[-1])
            except subprocess.TimeoutExpired:
                print(f"{json.dumps(case)}: over {args.timeout:g} s")
                continue
            except (json.JSONDecodeError, IndexError):
                print(f"{json.dumps(case)}: {out.stderr.strip()[-300:]}")
                continue
            ratio = r["estimate"] / max(r["peak"], 1)
            if r["status"] == "ok":
                worst = min(worst, ratio)
            print(
                f"{r['name'][:18]:18s} {probe:6s} {r['atoms']:6d} {r['canonical_atoms']:6d} "
                f"{r['estimate'] / 2**20:11.1f} {r['peak'] / 2**20:8.1f} {ratio:8.2f} "
                f"{r['cpu']:7.2f} {r['wall']:7.2f}  {r['status']}",
                flush=True,
            )
    print(
        f"\nlowest estimate / measured peak over the computed grids: {worst:.2f} "
        "(never below 1.0 is the rule)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

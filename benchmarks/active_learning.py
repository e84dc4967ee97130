"""Active learning replayed on RetVis' own GCMC labels, against random choice.

    python3 benchmarks/active_learning.py [--seeds 5] [--budget 200] [--batch 10]

For the CH4 (298 K, 5.8 bar; 1,509 CoRE MOFs) and CO2 (298 K, 0.15 bar; 508) label
tables in ``resources/datasets``: each structure's energy grid (from the grid cache when
it is there) and its fingerprint by the backbone ``retvis learn`` uses for that guest
(:func:`retvis.ml.active.backbone_for_guest`: the CO2-probe backbone for CO2); then, per
seed, 20 % of the structures held out as a test set and the loop of
:func:`retvis.ml.active.replay` on the rest, a label revealed only when the loop picks
it: 10 structures chosen for diversity, then batches of ``--batch`` until ``--budget``
labels, by each rule (random, uncertainty, best). Printed per dataset and rule, over
the seeds (median, and the range): the surrogate's test R² at 50, 100 and the budget's
labels; the labels needed to reach a test R² of 0.7 and 0.8; the fraction of the pool's
top 5 % found at the budget, and the labels needed to find half and 90 % of them. CPU seconds
beside the wall time. Not a test: nothing here gates CI.
"""

from __future__ import annotations

import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import argparse  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DATASETS = {"CH4": "ch4_298K_5.8bar.csv", "CO2": "co2_298K_0.15bar.csv"}


def features(table: Path, guest: str) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Names, backbone fingerprints and uptakes (mol/kg) of a label table's structures,
    from the backbone ``retvis learn`` uses for ``guest``."""
    from retvis.core import coremof
    from retvis.core.batch import iter_grids
    from retvis.core.cache import GridCache
    from retvis.core.labels import read_label_table
    from retvis.ml.active import backbone_for_guest, pool_features
    from retvis.ml.weights import load_model
    from retvis.paths import cache_dir

    labels = read_label_table(table, "uptake_mol_kg")
    folder = coremof.extract()
    backbone = load_model(backbone_for_guest(guest), backbone=True)
    paths = [folder / f"{n}.cif" for n in labels.names]
    grids: dict[str, np.ndarray] = {}
    for o in iter_grids(paths, backbone.spec, cache=GridCache(cache_dir() / "grids")):
        if o.status == "ok":
            grids[o.path.stem] = o.grid.boltzmann
    names = [n for n in labels.names if n in grids]
    x = pool_features(np.stack([grids[n] for n in names]), backbone)
    y = np.array([v for n, v in zip(labels.names, labels.values, strict=True) if n in grids])
    return names, x, y


def _fmt(values: list) -> str:
    got = [v for v in values if v is not None]
    if len(got) < len(values) / 2:
        return f">budget ({len(got)}/{len(values)})"
    if all(isinstance(v, int) for v in got):
        return f"{int(np.median(got))} [{min(got)}-{max(got)}]" + (
            f" ({len(got)}/{len(values)})" if len(got) < len(values) else ""
        )
    return f"{np.median(got):.2f} [{min(got):.2f}, {max(got):.2f}]"


def main(argv: list[str] | None = None) -> int:
    from retvis.ml.active import STRATEGIES, backbone_for_guest, replay

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--budget", type=int, default=200)
    ap.add_argument("--batch", type=int, default=10)
    ap.add_argument("--datasets", nargs="+", default=list(DATASETS))
    args = ap.parse_args(argv)
    for name in args.datasets:
        c0, w0 = time.process_time(), time.perf_counter()
        names, x, y = features(ROOT / "resources" / "datasets" / DATASETS[name], name)
        print(
            f"\n{name}: {len(names)} structures, {backbone_for_guest(name)} fingerprints in "
            f"{time.perf_counter() - w0:.0f} s "
            f"({time.process_time() - c0:.0f} CPU s); labels {y.min():.2f}-{y.max():.2f} mol/kg"
        )
        runs = {s: [] for s in STRATEGIES}
        c0, w0 = time.process_time(), time.perf_counter()
        for seed in range(args.seeds):
            rng = np.random.default_rng(1000 + seed)
            test = rng.choice(len(y), len(y) // 5, replace=False)
            for s in STRATEGIES:
                runs[s].append(replay(x, y, test, s, seed, batch=args.batch, budget=args.budget))
        print(
            f"{args.seeds} seeds x {len(STRATEGIES)} rules in {time.perf_counter() - w0:.0f} s "
            f"({time.process_time() - c0:.0f} CPU s); median [range] over the seeds"
        )
        head = [
            "rule",
            "R² @50",
            "R² @100",
            f"R² @{args.budget}",
            "labels to R² 0.7",
            "labels to R² 0.8",
            f"top 5 % found @{args.budget}",
            "labels to half of top",
            "labels to 90 % of top",
        ]
        print(" | ".join(head))
        for s, rs in runs.items():

            def at(r, n):
                return next((v for k, v in zip(r.labels, r.test_r2, strict=True) if k >= n), None)

            row = [
                s,
                _fmt([at(r, 50) for r in rs]),
                _fmt([at(r, 100) for r in rs]),
                _fmt([r.test_r2[-1] for r in rs]),
                _fmt([r.first_reaching("test_r2", 0.7) for r in rs]),
                _fmt([r.first_reaching("test_r2", 0.8) for r in rs]),
                _fmt([r.top_found[-1] for r in rs]),
                _fmt([r.first_reaching("top_found", 0.5) for r in rs]),
                _fmt([r.first_reaching("top_found", 0.9) for r in rs]),
            ]
            print(" | ".join(row), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Throughput of ``retvis screen`` (grids + RetNet predictions) for 0, 1 and 2 workers.

    python3 benchmarks/screen_cluster.py [--n 300] [--model NAME_OR_PATH] [--project 2 16 64]

Screens N CoRE MOF 2019-ASR CIFs (a seeded random sample, extracted from the
core-mof package) with ``retvis.screen.screen``:
in this process (no Dask), and on a LocalCluster of 1 and 2 worker processes (one
thread each). Prints, per setting, the wall time including the cluster's start, the
steady rate (files after the first finished chunk over the time after it) and the
projected time for the 12,020 CoRE MOFs and for 324,426 structures on ``--project``
workers, assuming each worker screens at the measured per-worker steady rate (the rate
of the run with the most workers / its workers) and the files are like the sample.

Model: ``--model``, else the first shipped model, else a small RetNet trained here on the
20 demo grids with CoRE MOF's void fraction as a proxy label (two epochs; its accuracy
does not matter for throughput: only the grid size n and the architecture do).
Not a test: it never gates CI.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import sys
import tempfile
import time
from importlib import resources
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from retvis.core.coremof import extract  # noqa: E402
from retvis.screen import screen  # noqa: E402

CORE_MOF = 12_020
LARGE = 324_426


def train_demo_model(dest: Path) -> Path:
    """Train a small real RetNet (n = 25) on the demo grids, label AV_VF; returns the model."""
    import numpy as np

    from retvis.core.grid import GridSpec, compute_grid
    from retvis.core.structure import read_structure
    from retvis.ml.config import TrainConfig
    from retvis.ml.train import train_run

    data = dest / "grids"
    data.mkdir(parents=True, exist_ok=True)
    spec = GridSpec(n=25)
    names, grids = [], []
    for cif in sorted((ROOT / "resources" / "demo").glob("*.cif")):
        s = read_structure(cif)
        names.append(s.name)
        grids.append(compute_grid(s, spec).boltzmann)
    np.save(data / "voxels.npy", np.stack(grids).astype(np.float32))
    (data / "names.json").write_text(json.dumps(names))
    (data / "gridspec.json").write_text(json.dumps(spec.to_dict()))
    table = resources.files("CoRE_MOF") / "data" / "2019-ASR.csv"
    with table.open(encoding="utf-8", newline="") as fh:
        vf = {r["filename"]: r["AV_VF"] for r in csv.DictReader(fh)}
    with open(data / "labels.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["name", "value"])
        w.writerows([n, vf[n]] for n in names)
    cfg = TrainConfig(
        epochs=2, batch_size=16, augment=False, dropout=0.0, units="1", target_name="void fraction"
    )
    train_run(data, data / "labels.csv", dest / "run", cfg)
    return dest / "run" / "model"


def pick_model(arg: str | None, tmp: Path) -> tuple[str, str]:
    from retvis.ml.weights import available_models

    if arg:
        return arg, arg
    shipped = available_models()
    if shipped:
        name = next(iter(shipped))
        return name, f"shipped model {name}"
    return str(train_demo_model(tmp / "model")), "demo model (2 epochs, AV_VF proxy label)"


def sample(n: int, seed: int) -> list[Path]:
    src = extract()
    files = sorted(src.glob("*.cif"))
    return sorted(random.Random(seed).sample(files, min(n, len(files))))


def _cpu() -> float:
    """CPU seconds (user + system) of this process and its ended children (the workers)."""
    import resource

    me, kids = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def fmt_time(s: float) -> str:
    return f"{s / 3600:.1f} h" if s >= 3600 else f"{s / 60:.1f} min"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=300, help="structures (default 300)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--model", help="model name or folder (default: shipped, else demo)")
    ap.add_argument("--chunk", type=int, default=32, help="files per task (default 32)")
    ap.add_argument("--workers", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--project", type=int, nargs="+", default=[2, 16, 64, 256])
    args = ap.parse_args()

    with tempfile.TemporaryDirectory(prefix="retvis-bench-") as t:
        tmp = Path(t)
        model, label = pick_model(args.model, tmp)
        files = sample(args.n, args.seed)
        print(f"{len(files)} CoRE MOF 2019-ASR CIFs, model: {label}, chunk {args.chunk}")
        print(f"machine: {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}")
        rates = {}
        print(
            f"{'workers':>8} {'wall s':>8} {'CPU s':>8} {'CPU ms/file':>11} {'files/s':>8} "
            f"{'steady/s':>9} {'ok':>5} {'fail':>5}"
        )
        for w in args.workers:
            marks: list[tuple[float, int]] = []
            t0, cpu0 = time.perf_counter(), _cpu()
            s = screen(
                files,
                model,
                tmp / f"out{w}",
                workers=w,
                chunk=args.chunk,
                progress=lambda done, total, m=marks: m.append((time.perf_counter(), done)),
            )
            wall, cpu = time.perf_counter() - t0, _cpu() - cpu0
            (t1, d1), (t2, d2) = marks[0], marks[-1]
            steady = (d2 - d1) / (t2 - t1) if t2 > t1 else float("nan")
            rates[w] = steady
            print(
                f"{w if w else 'in-proc':>8} {wall:8.1f} {cpu:8.1f} {1e3 * cpu / s.screened:11.1f} "
                f"{s.screened / wall:8.2f} "
                f"{steady:9.2f} {s.ok:5d} {s.failed:5d}"
            )
        w_max = max(rates)
        per_worker = rates[w_max] / max(1, w_max)
        print(f"\nper-worker steady rate: {per_worker:.2f} files/s (projection, linear scaling)")
        print(f"{'workers':>8} {'12,020 CoRE MOFs':>18} {'324,426 structures':>20}")
        for n in args.project:
            r = per_worker * n
            print(f"{n:8d} {fmt_time(CORE_MOF / r):>18} {fmt_time(LARGE / r):>20}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

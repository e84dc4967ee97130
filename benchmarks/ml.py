"""RetNet throughput on this machine: inference structures/s and training samples/s.

Usage: ``python benchmarks/ml.py [--threads 2] [--n 25] [--batch 128] [--seconds 10]``

Inputs are the real demo grids (resources/demo, n = 25 by default), tiled to a batch.
Prints one JSON object per measurement. The figures depend on the CPU and on what else
runs; the load average is printed beside them. Not a test: nothing here gates CI.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from retvis.core.grid import GridSpec, compute_grid  # noqa: E402
from retvis.core.structure import read_structure  # noqa: E402
from retvis.ml import data as D  # noqa: E402
from retvis.ml.retnet import build_retnet  # noqa: E402
from retvis.ml.train import _to_device  # noqa: E402
from retvis.ml.weights import Predictor, load_model, save_model  # noqa: E402
from retvis.paths import demo_dir  # noqa: E402


def demo_grids(n: int) -> np.ndarray:
    spec = GridSpec(n=n)
    return np.stack(
        [compute_grid(read_structure(p), spec).boltzmann for p in sorted(demo_dir().glob("*.cif"))]
    )


def rate(fn, items: int, seconds: float) -> tuple[float, float]:
    """Items per wall-clock second, and items per CPU second of this process.

    On a machine shared with other jobs the wall-clock rate understates what the code
    does on idle cores; items per CPU second x threads estimates the idle-machine rate.
    """
    fn()  # warm-up
    done, t0, c0 = 0, time.perf_counter(), time.process_time()
    while time.perf_counter() - t0 < seconds:
        fn()
        done += items
    return done / (time.perf_counter() - t0), done / (time.process_time() - c0)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--n", type=int, default=25)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--train-batch", type=int, default=64)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--device", default="cpu")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    grids = demo_grids(a.n)
    x = np.resize(grids, (a.batch,) + grids.shape[1:]).astype(np.float32)
    common = {
        "threads": a.threads,
        "n": a.n,
        "device": a.device,
        "torch": torch.__version__,
        "cpu_count": os.cpu_count(),
    }

    def show(rec):
        rec.update(common, loadavg=[round(v, 2) for v in os.getloadavg()])
        print(json.dumps(rec), flush=True)

    net = build_retnet(a.n, seed=0)
    std = D.Standardization(float(grids.mean()), float(grids.std()))
    with tempfile.TemporaryDirectory() as tmp:
        save_model(
            Path(tmp),
            [net],
            {
                "standardization": std.to_dict(),
                "gridspec": GridSpec(n=a.n).to_dict(),
                "target": {"name": "benchmark", "units": ""},
            },
        )
        pred: Predictor = load_model(tmp, device=a.device)
    # eager, unfused (what a plain model(x) call costs)
    eager = net.eval().to(a.device)
    xt = torch.from_numpy(std.apply(x)[:, None]).to(a.device)

    def eager_fn():
        with torch.inference_mode():
            eager(xt)
        if a.device.startswith("cuda"):
            torch.cuda.synchronize()

    w, c = rate(eager_fn, a.batch, a.seconds)
    show(
        {
            "what": "inference, eager nn.Module",
            "batch": a.batch,
            "structures_per_s": round(w, 1),
            "structures_per_cpu_s": round(c, 1),
        }
    )
    w, c = rate(lambda: pred.predict(x), a.batch, a.seconds)
    show(
        {
            "what": "inference, Predictor.predict (BN folded, channels-last, incl. standardization)",
            "batch": a.batch,
            "structures_per_s": round(w, 1),
            "structures_per_cpu_s": round(c, 1),
        }
    )

    # one grid at a time (the app predicts grids as they finish): Predictor.predict on
    # one grid against the fused network's own forward pass on a batch of one
    one = x[:1]
    fused1 = pred._fused[0]
    t1 = pred._tensor(one)

    def raw_one():
        with torch.inference_mode():
            fused1(t1)

    w_raw, c_raw = rate(raw_one, 1, a.seconds / 2)
    w, c = rate(lambda: pred.predict(one), 1, a.seconds / 2)
    show(
        {
            "what": "one grid: Predictor.predict against the fused network on a batch of one",
            "structures_per_s": round(w, 1),
            "reference_structures_per_s": round(w_raw, 1),
            "ratio": round(w / w_raw, 2),
        }
    )

    # training: one optimizer step per batch, augmentation + standardization included
    net = build_retnet(a.n, seed=0).train()
    net.to(device=a.device, memory_format=torch.channels_last_3d)  # as retvis.ml.train does
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    rows = np.arange(len(x))
    y = np.linspace(0, 1, len(x)).astype(np.float32)
    rng = np.random.default_rng(0)

    def train_fn():
        for xb, yb, _ in D.iter_batches(
            x, rows[: a.train_batch], y, a.train_batch, std, rng, shuffle=True, augmented=True
        ):
            opt.zero_grad()
            loss = torch.nn.functional.mse_loss(
                net(_to_device(xb, a.device)), torch.from_numpy(yb).to(a.device)
            )
            loss.backward()
            opt.step()
        if a.device.startswith("cuda"):
            torch.cuda.synchronize()

    w, c = rate(train_fn, a.train_batch, a.seconds)
    show(
        {
            "what": "training (forward + backward + Adam, augmented)",
            "batch": a.train_batch,
            "samples_per_s": round(w, 1),
            "samples_per_cpu_s": round(c, 1),
        }
    )


if __name__ == "__main__":
    main()

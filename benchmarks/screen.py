"""Drop-to-ranked: how long the app takes from a drop of CIFs to a ranked table.

    xvfb-run -a python3 benchmarks/screen.py [--sets demo coremof] [--n 1000] [--workers 2]

For each set, a real ``MainWindow`` (under Xvfb, with the shipped CH4 model) receives a
real drop event of the files; the clock runs until every row has its grid and its
prediction (or its failure reason), i.e. the table is ranked. A 10 ms heartbeat timer on
the GUI thread records the longest stall meanwhile, with and without the gaps that hold
a 3D render (the viewer draws the first material as it arrives; software OpenGL here).

Sets: ``demo``, the 20 bundled CIFs; ``coremof``, ``--n`` CoRE MOF 2019-ASR CIFs drawn
with a fixed seed (from ``--coremof`` or extracted from the ``core-mof`` package), huge
cells included: the app refuses those with a reason, as it would for a user.

Reference, measured in the same run on the same files (the first ``--ref`` of each set):
the plain serial loop a script would run on the main thread, ``read_structure`` ->
``compute_grid`` (one kernel thread) -> ``Predictor.predict`` one structure at a time. The
ratio is the reference's time per file over the app's.

Each set runs with fresh, empty user folders (no grid cache), so every grid is computed.
Not a test: nothing here gates CI. Stop other CPU-heavy jobs first; the figures are
wall-clock times.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # a source checkout


def coremof_sample(n: int, folder: Path | None, seed: int) -> list[Path]:
    from retvis.core.coremof import extract

    root = folder if folder is not None and folder.is_dir() else extract()
    files = sorted(root.glob("*.cif"))
    return random.Random(seed).sample(files, min(n, len(files)))


def reference(files: list[Path], model_ref: str | None) -> dict:
    """Serial read -> grid -> predict per file on this thread (what a plain script does)."""
    from retvis.core.grid import GridSpec, compute_grid
    from retvis.core.structure import read_structure
    from retvis.errors import RetvisError
    from retvis.ml.weights import load_model

    model = load_model(model_ref) if model_ref else None
    spec = (model.spec if model is not None else None) or GridSpec()
    ok = 0
    t0, cpu0 = time.perf_counter(), time.process_time()
    for f in files:
        try:
            g = compute_grid(read_structure(f), spec, threads=1)
        except RetvisError:
            continue
        if model is not None:
            model.predict(g.boltzmann[None].astype(np.float32), density=g.density)
        ok += 1
    dt, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    return {"files": len(files), "ok": ok, "seconds": round(dt, 2), "cpu_s": round(cpu, 2)}


def resources_without_models(base: Path) -> Path:
    """A resources folder like the installed one, minus ``models/`` (the app has no model)."""
    from retvis.paths import resources_dir

    dst = base / "resources-no-models"
    dst.mkdir(parents=True, exist_ok=True)
    for child in resources_dir().iterdir():
        if child.name != "models" and not (dst / child.name).exists():
            (dst / child.name).symlink_to(child)
    return dst


def run_app(files: list[Path], workers: int, timeout: float, model: bool = True) -> dict:
    """Drop ``files`` on a fresh window; time to a ranked table and the longest stall."""
    from PySide6.QtWidgets import QApplication

    from retvis.core.grid import GridSpec
    from retvis.gui.main_window import MainWindow
    from retvis.gui.settings import AppSettings
    from retvis.gui.testing import Heartbeat, grids_done, screening_done, send_drop

    app = QApplication.instance() or QApplication(sys.argv[:1])

    def wait(cond, limit: float) -> bool:
        """Run the event loop until ``cond()`` (checked every 50 ms) or ``limit`` s."""
        end = time.perf_counter() + limit
        check = 0.0
        while True:
            now = time.perf_counter()
            if now >= check:
                if cond():
                    return True
                check = now + 0.05
            if now > end:
                return False
            app.processEvents()
            time.sleep(0.002)

    t_start = time.perf_counter()
    win = MainWindow(AppSettings(spec=GridSpec(), workers=workers, use_cache=False))
    win.show()
    if model and not wait(lambda: win.predictions.info is not None and win.warmed_up, 120):
        raise SystemExit(f"the model did not load: {win.predictions.error or 'timeout'}")
    if not model and not wait(lambda: win.warmed_up, 120):
        raise SystemExit("the grid kernel did not load")
    t_ready = time.perf_counter() - t_start

    heart = Heartbeat(win)
    heart.start()
    app.processEvents()
    t0, cpu0 = time.perf_counter(), time.process_time()
    if not send_drop(win, files):
        raise SystemExit("the window refused the drop")
    n = len(set(files))
    t_grids = None

    def done() -> bool:
        nonlocal t_grids
        if t_grids is None and grids_done(win, n):
            t_grids = time.perf_counter() - t0
        return screening_done(win, n)

    finished = wait(done, timeout)
    t_ranked = time.perf_counter() - t0
    cpu = time.process_time() - cpu0  # every thread of this process: GUI, grid workers, model
    heart.stop()
    recs = win.model.records()
    status: dict[str, int] = {}
    for r in recs:
        status[r.status] = status.get(r.status, 0) + 1
    ranked = [r for r in recs if r.pred_mean is not None]
    top = sorted(ranked, key=lambda r: -r.pred_mean)[:3]
    out = {
        "files": n,
        "finished": finished,
        "window_to_model_ready_s": round(t_ready, 2),
        "drop_to_grids_done_s": round(t_grids, 2) if t_grids is not None else None,
        "drop_to_ranked_s": round(t_ranked, 2),
        "files_per_s": round(n / t_ranked, 2),
        "cpu_s": round(cpu, 2),
        "cpu_ms_per_file": round(1000 * cpu / n, 1),
        "load_average_1min": round(os.getloadavg()[0], 2),
        "status": status,
        "predicted": len(ranked),
        "top3": [(r.name, round(r.pred_mean, 2)) for r in top],
        **heart.summary(),
        "workers": win.grid_runner.workers,
    }
    win.close()
    win.deleteLater()
    app.processEvents()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sets", nargs="+", default=["demo", "coremof"], choices=["demo", "coremof"])
    ap.add_argument("--n", type=int, default=1000, help="CoRE MOF files in the coremof set")
    ap.add_argument(
        "--coremof",
        type=Path,
        default=None,
        help="folder of CoRE MOF CIFs (default: the package's)",
    )
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument(
        "--workers", type=int, default=None, help="grid threads (default: the app's, cores - 1)"
    )
    ap.add_argument("--ref", type=int, default=20, help="files timed by the serial reference")
    ap.add_argument("--timeout", type=float, default=3600.0)
    ap.add_argument("--no-model", action="store_true", help="grids only: no model installed")
    ap.add_argument(
        "--switch-interval",
        type=float,
        default=None,
        help="sys.setswitchinterval in ms (default: the app's own setting)",
    )
    a = ap.parse_args()
    if a.workers is None:
        from retvis.gui.settings import default_workers

        a.workers = default_workers()
    if a.switch_interval is not None:
        sys.setswitchinterval(a.switch_interval / 1000.0)

    base = Path(tempfile.mkdtemp(prefix="retvis-screen-bench-"))
    from retvis.paths import DEFAULT_MODEL, demo_dir

    for name in a.sets:
        for sub in ("cache", "data", "logs"):  # fresh user folders: no cache, no settings
            d = base / name / sub
            d.mkdir(parents=True, exist_ok=True)
            os.environ[f"RETVIS_{sub.upper()}"] = str(d)
        if name == "demo":
            files = sorted(demo_dir().glob("*.cif"))
        else:
            files = coremof_sample(a.n, a.coremof, a.seed)
        if a.no_model:
            os.environ["RETVIS_RESOURCES"] = str(resources_without_models(base))
        app = run_app(files, a.workers, a.timeout, model=not a.no_model)
        os.environ.pop("RETVIS_RESOURCES", None)
        ref = reference(files[: a.ref], None if a.no_model else DEFAULT_MODEL)
        per_app = app["drop_to_ranked_s"] / app["files"]
        per_ref = ref["seconds"] / ref["files"]
        rec = {
            "set": name,
            "model": not a.no_model,
            "switch_interval_ms": round(sys.getswitchinterval() * 1000, 3),
            **app,
            "reference_serial": ref,
            "ratio_reference_over_app_per_file": round(per_ref / per_app, 2),
            "cpu_count": os.cpu_count(),
            "loadavg": [round(v, 2) for v in os.getloadavg()],
        }
        print(json.dumps(rec), flush=True)


if __name__ == "__main__":
    main()

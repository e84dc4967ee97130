"""Smoke test of a built bundle (installer/dist/retvis): start-up, CLI, rendering, GUI.

    python3 installer/smoke_test.py [--bundle installer/dist/retvis] [--model PATH] [--out DIR]

Runs the bundle's own executable only (no import of the source tree), with the user
folders pointed into a temporary folder:

1. ``retvis --version``: start-up time (best of 3, cold first run reported too).
2. ``retvis grid <bundled demo> -o ...``: 20 grids from the bundled demo set.
3. ``retvis render <demo CIF> --show structure`` under Xvfb: VTK in the bundle draws;
   the PNG's pixels are checked (not uniform, several colours).
4. With ``--model`` (or a model shipped in the bundle): ``retvis screen`` of the demo set
   on 2 Dask worker processes (the frozen executable re-started as workers).
5. When the bundle has the GUI: ``retvis-app --demo`` under Xvfb; the screen is
   grabbed (Qt, from this Python) until the window shows, the time to the first drawn
   window is the GUI start-up time, and the screenshot's pixels are checked.

Prints one line per check and exits non-zero on the first failure. Needs Xvfb.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def run(cmd: list[str], env: dict, timeout: float = 600, **kw) -> tuple[float, str]:
    t0 = time.perf_counter()
    p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout, **kw)
    dt = time.perf_counter() - t0
    if p.returncode != 0:
        raise SystemExit(f"FAILED ({p.returncode}): {' '.join(cmd)}\n{p.stdout}\n{p.stderr}")
    return dt, p.stdout


def check_image(rgb: np.ndarray, what: str, min_colours: int = 20) -> str:
    """Fail unless the picture shows something: not one flat colour, not black."""
    flat = rgb.reshape(-1, 3)
    colours = len(np.unique(flat[:: max(1, len(flat) // 200_000)], axis=0))
    bg = np.median(flat, axis=0)
    drawn = float((np.abs(flat.astype(int) - bg).max(axis=1) > 40).mean())
    if flat.max() < 30 or colours < min_colours or drawn < 0.01:
        raise SystemExit(f"FAILED: {what} looks empty ({colours} colours, {drawn:.1%} drawn)")
    return f"{rgb.shape[1]}x{rgb.shape[0]}, {colours} colours, {drawn:.0%} of pixels drawn"


class Xvfb:
    """An Xvfb server on a free display number, for the lifetime of a ``with`` block."""

    def __init__(self, size: str = "1600x1000x24") -> None:
        self.size = size

    def __enter__(self) -> str:
        for n in range(90, 140):
            if not Path(f"/tmp/.X11-unix/X{n}").exists() and not Path(f"/tmp/.X{n}-lock").exists():
                break
        self.display = f":{n}"
        self.proc = subprocess.Popen(
            ["Xvfb", self.display, "-screen", "0", self.size, "-nolisten", "tcp"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(100):
            if Path(f"/tmp/.X11-unix/X{n}").exists():
                break
            time.sleep(0.05)
        return self.display

    def __exit__(self, *exc) -> None:
        self.proc.terminate()
        self.proc.wait(10)


def grab_screen(display: str) -> np.ndarray:
    """The whole X screen as (H, W, 3) uint8, grabbed with Qt (xcb) from this Python."""
    code = (
        "import sys, numpy as np\n"
        "from PySide6.QtGui import QGuiApplication, QImage\n"
        "app = QGuiApplication(['grab'])\n"
        "img = app.primaryScreen().grabWindow(0).toImage().convertToFormat(QImage.Format_RGB888)\n"
        "a = np.frombuffer(img.constBits(), np.uint8).reshape(img.height(), img.bytesPerLine())\n"
        "np.save(sys.argv[1], a[:, : img.width() * 3].reshape(img.height(), img.width(), 3))\n"
    )
    with tempfile.TemporaryDirectory() as t:
        out = Path(t) / "shot.npy"
        env = {**os.environ, "DISPLAY": display, "QT_QPA_PLATFORM": "xcb"}
        subprocess.run([sys.executable, "-c", code, str(out)], env=env, check=True, timeout=60)
        return np.load(out)


def save_png(rgb: np.ndarray, path: Path) -> None:
    from PIL import Image

    Image.fromarray(rgb).save(path)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bundle", type=Path, default=HERE / "dist" / "retvis")
    ap.add_argument("--model", help="model folder for the screen check")
    ap.add_argument("--out", type=Path, help="keep screenshots here")
    ap.add_argument("--gui-timeout", type=float, default=120)
    args = ap.parse_args()

    exe = (args.bundle / "retvis").resolve()
    if not exe.is_file():
        raise SystemExit(f"no bundle executable at {exe}: run installer/build.sh first")
    internal = args.bundle / "_internal"
    demo = internal / "resources" / "demo"
    tmp = Path(tempfile.mkdtemp(prefix="retvis-smoke-"))
    out = args.out or tmp
    out.mkdir(parents=True, exist_ok=True)
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PYTHON", "RETVIS_", "NUMBA_", "QT_"))
    }
    env.update(RETVIS_CACHE=str(tmp / "cache"), RETVIS_DATA=str(tmp / "data"))
    env["RETVIS_LOGS"] = str(tmp / "logs")
    env.pop("DISPLAY", None)

    # 1. start-up
    times = [run([str(exe), "--version"], env)[0] for _ in range(3)]
    print(f"ok  start-up: retvis --version {times[0]:.2f} s cold, {min(times):.2f} s warm")

    # 2. grids of the bundled demo set
    dt, _ = run([str(exe), "grid", str(demo), "-o", str(tmp / "grids"), "-q"], env)
    names = json.loads((tmp / "grids" / "names.json").read_text())
    vox = np.load(tmp / "grids" / "voxels.npy", mmap_mode="r")
    assert len(names) == 20 and vox.shape == (20, 25, 25, 25), (len(names), vox.shape)
    assert np.isfinite(vox).all() and vox.min() >= 0 and vox.max() > 0  # exp(-E/kT) >= 0
    dt2, _ = run([str(exe), "grid", str(demo), "-o", str(tmp / "grids2"), "-q", "--no-cache"], env)
    print(f"ok  retvis grid <demo>: 20 grids, {dt:.1f} s (first run, numba compiles), "
          f"{dt2:.1f} s (second, uncached grids)")  # fmt: skip

    with Xvfb() as display:
        xenv = {**env, "DISPLAY": display}
        # 3. off-screen VTK rendering from the bundle
        png = out / "render_structure.png"
        cif = demo / "FIQCEN_clean.cif"
        dt, _ = run([str(exe), "render", str(cif), "--show", "structure", "-o", str(png)], xenv)
        from PIL import Image

        info = check_image(np.asarray(Image.open(png).convert("RGB")), "render")
        print(f"ok  retvis render --show structure: {dt:.1f} s, {info} ({png})")

        # 4. screening on 2 Dask workers
        model = args.model
        shipped = internal / "resources" / "models"
        if not model and shipped.is_dir():
            model = next(
                (str(d) for d in sorted(shipped.iterdir()) if (d / "model.json").is_file()), None
            )
        if model:
            dt, text = run(
                [str(exe), "screen", str(demo), "--model", model, "-o", str(tmp / "s.parquet"),
                 "--workers", "2", "--chunk", "5", "-q", "--rank", str(tmp / "ranked.csv")],
                env,
            )  # fmt: skip
            assert "20 ok" in text, text
            print(f"ok  retvis screen --workers 2: {dt:.1f} s: {text.splitlines()[0]}")
        else:
            print("--  retvis screen: skipped (no --model and no shipped model)")

        # 5. the desktop app
        app = args.bundle / "retvis-app"
        has_gui = (internal / "retvis" / "gui" / "app.py").is_file()
        if not has_gui:
            print("--  GUI: not in this bundle (retvis/gui/app.py absent at build time)")
        else:
            blank = grab_screen(display)
            t0 = time.perf_counter()
            proc = subprocess.Popen(
                [str(app), "--demo"], env={**xenv, "QT_QPA_PLATFORM": "xcb"},
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            )  # fmt: skip
            try:
                shown = None
                while time.perf_counter() - t0 < args.gui_timeout:
                    if proc.poll() is not None:
                        raise SystemExit(f"FAILED: the app exited ({proc.returncode}):\n"
                                         f"{proc.stdout.read()}")  # fmt: skip
                    shot = grab_screen(display)
                    if (
                        shown is None
                        and (np.abs(shot.astype(int) - blank).max(axis=2) > 40).mean() > 0.2
                    ):
                        shown = time.perf_counter() - t0
                    if shown is not None and time.perf_counter() - t0 > shown + 15:
                        break  # give it time to load the demo set and draw the 3D view
                    time.sleep(1.0)
                if shown is None:
                    raise SystemExit("FAILED: no window appeared")
                save_png(shot, out / "gui.png")
                info = check_image(shot, "GUI screenshot", min_colours=50)
                print(f"ok  GUI: window after {shown:.1f} s; {info} ({out / 'gui.png'})")
            finally:
                proc.terminate()
                try:
                    proc.wait(15)
                except subprocess.TimeoutExpired:
                    proc.kill()
    if args.out is None:
        shutil.rmtree(tmp, ignore_errors=True)
    print("smoke test passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Frame time of each RetVis scene at 1280x800 (the target: full scene <= 100 ms).

Run under a display, e.g. ``xvfb-run -a python3 benchmarks/render.py`` (on-screen GLX
window, as the app's QtInteractor); without ``DISPLAY`` it renders off-screen (EGL).

For each scene the plotter is built and shown once, then the camera is rotated by 3°
before each of ``--frames`` renders; the median and 90th percentile of
``plotter.render()`` are printed (wall time, so other load on the machine shows).
Prints the OpenGL renderer and the machine's load too. Not a test: it gates nothing.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from retvis.core.grid import GridSpec, compute_grid  # noqa: E402
from retvis.core.structure import read_structure  # noqa: E402
from retvis.render import GridFrame, add_saliency, add_structure, scene  # noqa: E402
from retvis.render.camera import frame_camera  # noqa: E402
from retvis.render.grid import add_energy_grid  # noqa: E402

DEMO = Path(__file__).resolve().parent.parent / "resources" / "demo"


def time_frames(plotter, frames: int) -> tuple[float, float, float]:
    """Median wall time, its 90th percentile and median CPU time of a render, ms.

    CPU time is the whole process's (all of llvmpipe's threads): on a loaded machine it
    shows the work a frame costs when wall time also counts waiting for a core.
    """
    plotter.show(auto_close=False, interactive_update=True)
    plotter.render()
    wall, cpu = [], []
    for _ in range(frames):
        plotter.camera.azimuth += 3.0
        t, c = time.perf_counter(), time.process_time()
        plotter.render()
        wall.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    wall, cpu = np.array(wall) * 1e3, np.array(cpu) * 1e3
    return float(np.median(wall)), float(np.percentile(wall, 90)), float(np.median(cpu))


def renderer_name(plotter) -> str:
    caps = plotter.ren_win.ReportCapabilities()
    for line in caps.splitlines():
        if "renderer string" in line.lower():
            return line.strip()
    return "unknown"


def report(label: str, plotter, frames: int, t_build: float) -> None:
    med, p90, cpu = time_frames(plotter, frames)
    print(
        f"  {label:44s} {med:7.1f} {p90:7.1f} {cpu:7.1f} {t_build:7.0f}"
        f"   load {os.getloadavg()[0]:.1f}"
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--cif",
        nargs="+",
        default=["FIQCEN_clean", "VEJHEZ_clean"],
        help="demo material names (default: HKUST-1 and a 1180-atom cell)",
    )
    ap.add_argument("--size", default="1280x800")
    ap.add_argument("--frames", type=int, default=20)
    ap.add_argument("--n", type=int, default=25, help="grid points per axis")
    args = ap.parse_args()
    size = scene.parse_size(args.size)
    off_screen = not os.environ.get("DISPLAY")
    print(
        f"window {size[0]}x{size[1]}, {'off-screen (EGL)' if off_screen else 'on-screen'}, "
        f"{args.frames} frames per scene, load average {os.getloadavg()[0]:.1f} "
        f"on {os.cpu_count()} CPUs"
    )
    first = True
    for name in args.cif:
        s = read_structure(DEMO / f"{name}.cif")
        g = compute_grid(s, GridSpec(n=args.n))
        frame = GridFrame.of(g)
        e = np.log1p(g.boltzmann.astype(np.float64))
        sal = np.gradient(e, axis=0)  # an array of the right shape (no model needed here)
        print(f"\n{name}: {s.n_atoms} atoms per cell, supercell {g.supercell}, grid {args.n}^3")
        print(f"  {'scene':44s} {'wall ms':>7s} {'p90':>7s} {'cpu ms':>7s} {'build':>7s}")

        def structure_only(p, s=s):
            add_structure(p, s)
            frame_camera(p, s.lattice, colorbar=False)

        def supercell(p, s=s, g=g, **kw):
            add_structure(p, s, box=g.box, origin=g.origin, **kw)
            frame_camera(p, g.box, g.origin)

        def full(p, s=s, g=g, volume=False):
            scene.show_grid(p, s, g, volume=volume)

        def volume_only(p, g=g):
            add_energy_grid(p, g, volume=True, iso_levels=(), slices=None)
            frame_camera(p, g.box, g.origin)

        def saliency(p, s=s, g=g, sal=sal, frame=frame):
            add_structure(p, s, box=g.box, origin=g.origin)
            add_saliency(p, sal, frame)
            frame_camera(p, g.box, g.origin)

        def app_structure(p, s=s, extras=("legend",)):  # as retvis.gui.scenes.draw_structure
            from retvis.render.structure_extras import add_extras

            add_extras(p, s, scene.show_structure(p, s), extras)

        cases = [
            ("structure, unit cell", structure_only),
            ("  as the app draws it (element legend)", app_structure),
            (
                "  + atom labels + metal polyhedra",
                lambda p: app_structure(p, extras=("legend", "labels", "polyhedra")),
            ),
            ("structure, grid supercell", supercell),
            (
                "  same, glyph spheres + tube bonds",
                lambda p: supercell(p, atoms_as="glyphs", bonds_as="tubes"),
            ),
            ("FULL: structure + isosurface + 3 slices", full),
            ("full + volume", lambda p: full(p, volume=True)),
            ("volume only", volume_only),
            ("saliency over structure", saliency),
        ]
        for label, build in cases:
            p = scene.new_plotter(size, off_screen=off_screen)
            t0 = time.perf_counter()
            build(p)
            t_build = (time.perf_counter() - t0) * 1e3
            if first:
                p.show(auto_close=False, interactive_update=True)
                print(renderer_name(p))
                first = False
            report(label, p, args.frames, t_build)
            p.close()
        for layer, trim, channels in (("conv1", 0, 12), ("conv2", 1, 24)):
            x = e[trim : -trim or None, trim : -trim or None, trim : -trim or None]
            maps = np.stack([np.roll(x, k, axis=k % 3) for k in range(channels)])
            p = scene.features_plotter(maps, size, off_screen=off_screen)
            t0 = time.perf_counter()
            scene.show_features(p, maps, g, layer)
            t_build = (time.perf_counter() - t0) * 1e3
            report(f"gallery {layer} ({channels} panels + enlarged)", p, args.frames, t_build)
            p.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

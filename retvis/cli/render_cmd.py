"""``retvis render CIF --show structure|grid|features|saliency -o out.png``: off-screen pictures.

Draws the same scenes as the app (``retvis.render``) into an off-screen plotter and
writes a PNG. ``features`` and ``saliency`` run a trained RetNet (``--model``, the shipped
CH4 model by default) on the structure's energy grid, computed with the model's own grid
settings. A band above the scene names the structure (``--title``, ``--no-title``) and
says what is shown: the grid's probe, or the model and what it predicts.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

import numpy as np

from ..core.batch import grid_for_structure
from ..core.cache import GridCache
from ..core.grid import EnergyGrid, GridSpec
from ..core.structure import Structure, read_structure
from ..errors import SpecError, UsageError
from ._common import (
    add_grid_options,
    add_model_option,
    grid_options_given,
    grid_spec_from_args,
    output_file,
    report,
)

log = logging.getLogger(__name__)

#: Scenes this command draws.
SHOWS = ("structure", "grid", "features", "saliency")
#: Layers with feature maps (RetNet, docs/method.md section 2).
LAYERS = ("conv1", "conv2", "max1", "conv3", "max2", "conv4", "conv5")


def register(sub) -> None:
    p = sub.add_parser(
        "render",
        help="draw a structure, its energy grid, feature maps or saliency to a PNG (off-screen)",
        description=__doc__.split("\n\n")[0],
    )
    p.add_argument("cif", type=Path, metavar="CIF", help="structure file")
    p.add_argument("--show", choices=SHOWS, default="structure", help="scene (default structure)")
    p.add_argument("-o", "--out", required=True, type=Path, help="PNG file to write")
    p.add_argument("--size", default="1280x800", help="image size WIDTHxHEIGHT (default 1280x800)")
    p.add_argument(
        "--layer", choices=LAYERS, default="conv1", help="layer for --show features (default conv1)"
    )
    p.add_argument(
        "--channels",
        type=int,
        nargs="+",
        metavar="C",
        help="channels of the feature gallery (default: all, or the 32 most active)",
    )
    add_model_option(p)  # features and saliency
    p.add_argument("--volume", action="store_true", help="volume-render the grid too (slower)")
    p.add_argument(
        "--iso",
        type=float,
        nargs="*",
        metavar="K",
        help="isosurface energies, K (default: half the deepest well; none if empty)",
    )
    p.add_argument(
        "--slices",
        type=int,
        nargs=3,
        metavar=("I", "J", "K"),
        help="slice indices along a, b, c (default: the middle)",
    )
    p.add_argument("--no-cache", action="store_true", help="neither read nor write the grid cache")
    p.add_argument(
        "--title",
        metavar="TEXT",
        help="title in the band above the scene (default: the structure's name)",
    )
    p.add_argument(
        "--no-title",
        action="store_true",
        help="no band above the scene (no title, no line on the grid or model)",
    )
    p.add_argument(
        "--transparent", action="store_true", help="transparent background (PNG with alpha)"
    )
    add_grid_options(p)
    p.set_defaults(func=run)


def _grid(structure: Structure, spec: GridSpec, use_cache: bool) -> EnergyGrid:
    return grid_for_structure(structure, spec, GridCache() if use_cache else None)[0]


def run(args) -> int:
    headless = not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    if sys.platform.startswith("linux") and headless:
        # no display: go straight to EGL instead of VTK trying X first and warning
        os.environ.setdefault("VTK_DEFAULT_OPENGL_WINDOW", "vtkEGLRenderWindow")
    from ..render import scene
    from ..render.picture import scene_caption

    size = scene.parse_size(args.size)
    if args.out.suffix.lower() != ".png":
        raise SpecError(f"the output must be a .png file, got {args.out.name!r}")
    output_file(args.out, "render.png")
    given = grid_options_given(args)
    if args.show in ("features", "saliency") and given:
        raise UsageError(
            f"--show {args.show} uses the model's own grid settings; {', '.join(given)} "
            f"{'applies' if len(given) == 1 else 'apply'} to --show grid only"
        )
    if args.no_title and args.title is not None:
        raise UsageError("--title and --no-title exclude each other")
    structure = read_structure(args.cif)
    caption = dict(formula=structure.formula)
    plotter = None
    try:
        if args.show == "structure":
            plotter = scene.new_plotter(size)
            scene.show_structure(plotter, structure)
        elif args.show == "grid":
            grid = _grid(structure, grid_spec_from_args(args), not args.no_cache)
            caption["spec"] = grid.spec
            plotter = scene.new_plotter(size)
            scene.show_grid(
                plotter,
                structure,
                grid,
                volume=args.volume,
                iso_levels=args.iso,
                slices=tuple(args.slices) if args.slices else "centre",
            )
        else:
            from ..ml.weights import load_model

            predictor = load_model(args.model)
            caption.update(model=args.model, target=predictor.target, layer=args.layer)
            grid = _grid(structure, predictor.spec, not args.no_cache)  # the model's settings
            if args.show == "features":
                maps = np.asarray(predictor.feature_maps(grid.boltzmann, args.layer))
                plotter = scene.features_plotter(maps, size, channels=args.channels)
                scene.show_features(plotter, maps, grid, args.layer, channels=args.channels)
            else:
                sal = np.asarray(predictor.saliency(grid.boltzmann, density=grid.density))
                plotter = scene.new_plotter(size)
                scene.show_saliency(plotter, structure, grid, sal)
        _, subtitle = scene_caption(args.show, structure.name, **caption)
        scene.save_screenshot(
            plotter,
            args.out,
            structure.name if args.title is None else args.title,
            subtitle,
            caption=not args.no_title,
            transparent=args.transparent,
        )
    finally:
        if plotter is not None:
            plotter.close()
    report(
        args,
        f"wrote {args.out} ({size[0]}x{size[1]}, {args.show})",
        out=args.out,
        show=args.show,
        width=size[0],
        height=size[1],
    )
    return 0

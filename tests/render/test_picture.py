"""Pictures of a scene (``retvis.render.picture``): any size, the view left as it was."""

from __future__ import annotations

import numpy as np
import pytest

from retvis.core.grid import GridSpec
from retvis.errors import SpecError
from retvis.render import new_plotter, show_structure
from retvis.render.picture import MAX_SIDE, capture, check_size, scene_caption
from retvis.render.style import BACKGROUND
from tests.render.pixels import shot

BG = np.round(np.asarray(BACKGROUND) * 255)


def _state(p):
    cams = [
        (r.GetActiveCamera().GetPosition(), r.GetActiveCamera().GetViewAngle()) for r in p.renderers
    ]
    ports = [r.GetViewport() for r in p.renderers]
    return tuple(p.window_size), cams, ports, p.render_window.GetRenderers().GetNumberOfItems()


def test_capture_draws_any_size_and_leaves_the_plotter_as_it_was(plotter, hkust1):
    show_structure(plotter, hkust1)
    before, img0 = _state(plotter), shot(plotter)
    img = capture(plotter, (230, 410), caption=("FIQCEN_clean", "structure"), transparent=True)
    assert img.shape == (410, 230, 4)
    assert _state(plotter) == before
    assert np.array_equal(shot(plotter), img0)


def test_a_narrower_picture_still_shows_the_whole_structure(plotter, hkust1):
    """VTK keeps a camera's height: a picture narrower than the view would cut the
    structure's sides, so the camera widens to keep the view's width."""
    show_structure(plotter, hkust1)  # 640x400, framed with a margin all round
    img = capture(plotter, (160, 400)).astype(float)
    edges = np.concatenate([img[:, :2], img[:, -2:]], axis=1)
    assert np.abs(edges - BG).max() < 3, "the structure is cut at the picture's sides"
    assert (np.abs(img - BG).max(axis=2) > 30).mean() > 0.02, "no structure drawn"


def test_captions_say_the_probe_or_the_model_and_its_target():
    grid = scene_caption("grid", "X", spec=GridSpec(n=16, probe="CO2"))
    assert grid == (
        "X",
        "energy grid: TraPPE CO2 probe (13 orientations, EQeq charges), 16³ points, 298 K",
    )
    target = {"name": "CH4 uptake", "units": "mol/kg"}
    sub = scene_caption(
        "features", "X", model="/m/ch4-coremof/model.json", target=target, layer="conv2"
    )[1]
    assert sub == "conv2 feature maps of model ch4-coremof, predicting CH4 uptake (mol/kg)"
    with pytest.raises(SpecError, match="structure, grid, features, saliency"):
        scene_caption("volume", "X")


def test_sizes_are_bounded_with_a_message():
    assert check_size(16, MAX_SIDE) == (16, MAX_SIDE)
    with pytest.raises(
        SpecError, match=f"between 16x16 and {MAX_SIDE}x{MAX_SIDE} pixels, got 9000x10"
    ):
        check_size(9000, 10)


def test_picture_corners_are_transparent_only_when_asked(hkust1):
    p = new_plotter((300, 200))
    try:
        show_structure(p, hkust1)
        clear = capture(p, caption=("FIQCEN_clean", "structure"), transparent=True)
        solid = capture(p, caption=("FIQCEN_clean", "structure"))
    finally:
        p.close()
    corners = [(0, 0), (0, -1), (-1, 0), (-1, -1)]
    assert [clear[y, x, 3] for y, x in corners] == [0, 0, 0, 0]
    assert solid.shape == (200, 300, 3)  # no alpha: opaque
    assert (clear[..., 3] == 255).mean() > 0.02  # the structure and the caption are opaque


def test_the_band_is_clear_of_subplot_borders():
    """A gallery's subplots (and pyvista's border lines between them) go below the band."""
    import pyvista as pv

    p = new_plotter((400, 300), shape=(1, 2))
    try:
        for col in range(2):
            p.subplot(0, col)
            p.add_mesh(pv.Sphere())
        img = capture(p, caption=("T", "")).astype(float)
    finally:
        p.close()
    band = img[:20, 100:]  # right of the title's one letter
    assert np.abs(band - BG).max() < 3
    assert np.abs(img[150:, 198:202] - BG).max() > 30  # the border line is drawn below

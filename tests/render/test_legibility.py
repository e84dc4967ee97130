"""What a reader must be able to see: salient regions, colour-bar text, fingerprint labels.

Each check renders (or draws) the real scene and measures pixels or text extents, so a
regression to faint saliency, a clipped colour-bar title or overlapping names fails.
"""

from __future__ import annotations

import numpy as np
import pytest

from retvis.render import fingerprint_figure, new_plotter, show_saliency
from retvis.render.camera import frame_camera
from retvis.render.elements import element_rgb
from retvis.render.saliency import SALIENCY_TOP
from retvis.render.structure import add_structure
from retvis.render.style import MARGIN_PX, add_colorbar, lookup_table, nice_ticks, tick_format
from tests.render.pixels import chroma_mask, shot

LUMA = np.array([0.2126, 0.7152, 0.0722])


def synthetic_saliency(grid) -> np.ndarray:
    return np.gradient(np.log1p(grid.boltzmann.astype(np.float64)), axis=0)


def test_saliency_thresholds_are_quantiles_of_the_map(plotter, hkust1, hkust1_grid):
    _, layer = show_saliency(plotter, hkust1, hkust1_grid, synthetic_saliency(hkust1_grid))
    assert len(layer.levels) == len(SALIENCY_TOP) == len(layer.iso_actors)
    for level, top in zip(layer.levels, SALIENCY_TOP, strict=True):
        assert (layer.magnitude > level).mean() == pytest.approx(top, abs=0.01)
    # the outer shell is translucent so the core shows through it
    assert layer.iso_actors[0].prop.opacity < 1.0 == layer.iso_actors[-1].prop.opacity
    assert 0 < layer.floor < layer.levels[0]


def test_salient_regions_stand_out_over_the_structure(hkust1, hkust1_grid):
    """Pixels the saliency layer changes, compared with the structure alone, are bright."""
    size = (640, 400)
    p, base = new_plotter(size), new_plotter(size)
    try:
        show_saliency(p, hkust1, hkust1_grid, synthetic_saliency(hkust1_grid), colorbar=False)
        add_structure(base, hkust1, box=hkust1_grid.box, origin=hkust1_grid.origin)
        base.camera_position = p.camera_position
        img, ref = shot(p).astype(int), shot(base).astype(int)
    finally:
        p.close()
        base.close()
    changed = np.abs(img - ref).max(axis=2) > 40
    luma = img @ LUMA
    bright = (changed & (luma > 110)).mean()
    assert changed.mean() > 0.05, f"saliency changes only {changed.mean():.1%} of pixels"
    assert bright > 0.035, f"only {bright:.2%} of pixels show bright saliency"
    assert np.median(luma[changed]) > 75
    # its colours (green to yellow) are none of the element colours drawn here
    r, g, b = img[..., 0], img[..., 1], img[..., 2]
    assert ((g > r + 25) & (g > b + 25) & (g > 70)).mean() > 0.03


def ink_box(img: np.ndarray) -> tuple[int, int, int, int]:
    """(x0, x1, y0, y1) of the light grey (text) pixels; viridis bars are never grey."""
    px = img.astype(int)
    grey = (np.ptp(px, axis=2) < 25) & (px.max(axis=2) > 150)
    ys, xs = np.nonzero(grey)
    return xs.min(), xs.max(), ys.min(), ys.max()


@pytest.mark.parametrize("size", [(500, 600), (560, 600), (800, 600), (1280, 800)])
@pytest.mark.parametrize("title", ["energy V (K)", "saliency (rel.)", "a rather long title (K)"])
def test_colorbar_title_and_labels_fit_the_window(size, title):
    p = new_plotter(size)
    try:
        bar = add_colorbar(p, lookup_table("viridis", (-823.0, 411.5)), title)
        img = shot(p)
    finally:
        p.close()
    w, h = size
    x0, x1, y0, y1 = ink_box(img)
    assert x1 < w - MARGIN_PX // 2, f"text reaches column {x1} of {w}"
    assert y0 > 2
    # the title is there: text above the coloured bar
    px = img.astype(int)
    coloured = np.nonzero((np.ptp(px, axis=2) > 60).any(axis=1))[0]
    assert y0 < coloured.min() - 5
    # and the bar takes a modest share of the width
    assert bar.GetPosition()[0] > 0.6


def test_colorbar_refits_when_the_window_narrows():
    p = new_plotter((1280, 800))
    try:
        add_colorbar(p, lookup_table("viridis", (0.0, 1.0)), "a rather long title (K)")
        shot(p)
        p.window_size = (500, 600)
        img = shot(p)
    finally:
        p.close()
    assert img.shape[1] == 500
    assert ink_box(img)[1] < 500 - MARGIN_PX // 2


def test_camera_keeps_the_scene_left_of_the_colour_bar(hkust1):
    p = new_plotter((500, 600))
    try:
        bar = add_colorbar(p, lookup_table("viridis", (0.0, 1.0)), "saliency (rel.)")
        add_structure(p, hkust1, cell=False)
        frame_camera(p, hkust1.lattice)
        img = shot(p)
    finally:
        p.close()
    # copper atoms sit on the cell's corners: all of them left of the bar
    cols = np.nonzero(chroma_mask(img, element_rgb("Cu")).any(axis=0))[0]
    assert len(cols) and cols.max() < bar.GetPosition()[0] * 500


def test_nice_ticks():
    t = nice_ticks(-557.3, 278.6)
    assert 2 <= len(t) <= 7 and t.min() >= -557.3 and t.max() <= 278.6
    assert np.allclose(t % 100, 0) and 0.0 in t
    assert tick_format(t) == "%.0f"
    t = nice_ticks(0.0, 1.0)
    assert t[0] == 0.0 and t[-1] == 1.0 and tick_format(t) == "%.1f"
    assert tick_format(nice_ticks(-0.013, 1.1)) in ("%.1f", "%.2f")


def label_extents(fig, axis: str):
    fig.canvas.draw()
    ax = fig.axes[0]
    labels = ax.get_yticklabels() if axis == "y" else ax.get_xticklabels()
    boxes = [t.get_window_extent() for t in labels if t.get_visible() and t.get_text()]
    return ax, boxes


def overlapping(boxes, axis: str) -> int:
    lo, hi = ("y0", "y1") if axis == "y" else ("x0", "x1")
    spans = sorted((getattr(b, lo), getattr(b, hi)) for b in boxes)
    return sum(a[1] > b[0] for a, b in zip(spans, spans[1:], strict=False))


@pytest.mark.parametrize("m", [1, 3, 20, 45])
@pytest.mark.parametrize("size", [(6.0, 2.6), (8.0, 3.5), (4.0, 2.2)])
def test_fingerprint_heat_strip_labels_do_not_overlap(m, size):
    rng = np.random.default_rng(m)
    names = [f"MOF_{i:03d}_clean_with_a_long_suffix" for i in range(m)]
    fig = fingerprint_figure(rng.normal(size=(m, 20)), names, kind="heat", size=size)
    ax, ys = label_extents(fig, "y")
    _, xs = label_extents(fig, "x")
    assert overlapping(ys, "y") == 0 and overlapping(xs, "x") == 0
    assert 1 <= len(ys) <= m
    # no more names than lines of text fit on the axis
    assert len(ys) <= ax.get_window_extent().height / (6.5 * fig.dpi / 72) + 1
    assert len(xs) >= 4
    if m <= 3:
        assert len(ys) == m  # a few materials: every one named
    width = fig.get_size_inches()[0] * fig.dpi
    assert min(b.x0 for b in ys) >= 0 and max(b.x1 for b in xs) <= width


def test_fingerprint_bars_label_every_component():
    fig = fingerprint_figure(np.linspace(-1, 1, 20), ["HKUST-1"], kind="bars")
    _, xs = label_extents(fig, "x")
    assert len(xs) == 20 and overlapping(xs, "x") == 0

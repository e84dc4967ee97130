"""Feature galleries, saliency overlays and fingerprint figures, from real grids.

The arrays are derived from HKUST-1's energy grid (no model here: the render layer
takes arrays, whatever produced them).
"""

from __future__ import annotations

import io

import numpy as np
import pytest
from matplotlib import colormaps

from retvis.errors import SpecError
from retvis.render import (
    GridFrame,
    features_plotter,
    fingerprint_figure,
    gallery_layout,
    show_features,
    show_saliency,
)
from retvis.render.features import (
    CLIM_PERCENTILES,
    FEATURE_CMAP,
    MAX_PANELS,
    layer_sampling,
    layout_of,
    pick_channels,
)
from retvis.render.saliency import SALIENCY_CMAP, SCALE_PERCENTILE
from tests.render.pixels import near_colours, shot


def maps_from_grid(grid, channels: int, trim: int, pool: int = 1) -> np.ndarray:
    """(C, d, d, d) arrays made from the grid's log Boltzmann factors, shifted per channel."""
    x = np.log1p(grid.boltzmann.astype(np.float64))
    out = []
    for k in range(channels):
        y = np.roll(x, k, axis=k % 3) * (1 + 0.1 * k)
        if trim:
            y = y[trim:-trim, trim:-trim, trim:-trim]
        if pool > 1:
            d = y.shape[0] // pool
            y = y[: d * pool, : d * pool, : d * pool].reshape(d, pool, d, pool, d, pool)
            y = y.max(axis=(1, 3, 5))
        out.append(y)
    return np.stack(out).astype(np.float32)


def test_layer_sampling_follows_retnet():
    sizes = {"conv1": 25, "conv2": 23, "max1": 11, "conv3": 10, "max2": 5, "conv4": 4, "conv5": 3}
    for layer, d in sizes.items():
        offset, stride = layer_sampling(layer, 25, d)
        centre = offset + stride * (d - 1) / 2
        assert centre == pytest.approx(12.0, abs=0.5), layer  # centred on the grid
    assert layer_sampling("conv1", 25, 25) == (0.0, 1.0)
    assert layer_sampling("max1", 25, 11) == (1.5, 2.0)
    # an unexpected size is spread evenly over the grid
    assert layer_sampling("conv5", 25, 5) == pytest.approx((2.0, 5.0))
    with pytest.raises(SpecError, match="valid: conv1"):
        layer_sampling("fc1", 25, 3)


def test_gallery_layout_counts_panels():
    for n in (1, 3, 8, 12, 24, 32):
        lay = gallery_layout(n)
        rows, cols = lay.shape
        assert len(lay.panels) == n == len(set(lay.panels))
        assert all(r < rows and rows <= c < cols for r, c in lay.panels)
    with pytest.raises(SpecError):
        gallery_layout(MAX_PANELS + 1)


@pytest.mark.parametrize("aspect", [0.4, 0.6, 0.9, 1.0, 1.3, 1.6, 2.5, 4.0])
def test_gallery_layout_fits_the_view(aspect):
    """Cells closest to square for the view: a tall view puts the enlarged panel on top,
    across the whole width; a wide one on the left. Panels never overlap it or each
    other, and the plotter's shape alone tells the layout back."""
    for n in (1, 3, 8, 12, 24, 32):
        lay = gallery_layout(n, aspect)
        rows, cols = lay.shape
        assert len(lay.panels) == n == len(set(lay.panels))
        if rows > cols:  # tall: the enlarged block is the first `cols` rows
            assert aspect <= 1 and all(cols <= r < rows and c < cols for r, c in lay.panels)
        else:  # wide: the enlarged block is the first `rows` columns
            assert aspect >= 1 or n == 1
            assert all(r < rows and rows <= c < cols for r, c in lay.panels)
        if n >= 8:  # enough panels to shape: the grid's cells are within 2x of square
            assert 0.5 <= cols / rows / aspect <= 2.0, (n, lay.shape)

        class _Shaped:  # what layout_of reads of a plotter
            shape = lay.shape

        assert layout_of(_Shaped, n) == lay


def test_a_tall_view_gets_an_enlarged_panel_across_its_width(hkust1_grid):
    """In a narrow dock (480 x 800) the enlarged channel spans the full width (the fixed
    wide layout gave it 3/7 of it) and every small panel still shows the colormap."""
    maps = maps_from_grid(hkust1_grid, 12, 1)
    p = features_plotter(maps, (480, 800))
    try:
        gal = show_features(p, maps, hkust1_grid, "conv2")
        p.subplot(*gal.layout.enlarged)
        x0, y0, x1, y1 = p.renderer.GetViewport()
        assert (x0, x1) == (0.0, 1.0) and y1 - y0 > 0.5
        img = shot(p)
        lut = (colormaps[FEATURE_CMAP](np.linspace(0, 1, 64))[:, :3] * 255).astype(np.float32)
        rows, cols = gal.layout.shape
        h, w = img.shape[0] // rows, img.shape[1] // cols
        for r, c in gal.layout.panels:
            tile = img[r * h + 4 : (r + 1) * h - 4, c * w + 4 : (c + 1) * w - 4]
            assert near_colours(tile, lut, tol=4).mean() > 0.05, (r, c)
    finally:
        p.close()


@pytest.mark.parametrize("layer,channels,trim,pool", [("conv2", 24, 1, 1), ("max2", 32, 3, 4)])
def test_feature_gallery_panels_share_one_colour_scale(hkust1_grid, layer, channels, trim, pool):
    maps = maps_from_grid(hkust1_grid, channels, trim, pool)
    p = features_plotter(maps, (960, 600))
    try:
        gal = show_features(p, maps, hkust1_grid, layer)
        img = shot(p)
        n_panels = len(gal.channels)
        assert n_panels == channels
        # one renderer per cell, the enlarged panel's merged into one
        rows, cols = gal.layout.shape
        assert len(p.renderers) == rows * cols - min(rows, cols) ** 2 + 1
        assert rows * cols - min(rows, cols) ** 2 - n_panels < max(rows, cols)  # < a row blank
        # one range for all panels: percentiles of every shown value pooled
        assert gal.clim == pytest.approx(tuple(np.percentile(maps, CLIM_PERCENTILES)))
        lut = (colormaps[FEATURE_CMAP](np.linspace(0, 1, 64))[:, :3] * 255).astype(np.float32)
        rows, cols = gal.layout.shape
        h, w = img.shape[0] // rows, img.shape[1] // cols
        for r, c in gal.layout.panels:  # every small panel shows the colormap
            tile = img[r * h + 4 : (r + 1) * h - 4, c * w + 4 : (c + 1) * w - 4]
            assert near_colours(tile, lut, tol=4).mean() > 0.05, (r, c)
    finally:
        p.close()


def test_gallery_picks_the_most_active_channels(hkust1_grid):
    maps = maps_from_grid(hkust1_grid, 40, 0)
    maps[7] *= 100.0
    chosen = pick_channels(maps)
    assert len(chosen) == MAX_PANELS and 7 in chosen and chosen == sorted(chosen)


def test_gallery_refuses_a_plotter_of_the_wrong_shape(plotter, hkust1_grid):
    maps = maps_from_grid(hkust1_grid, 12, 0)
    with pytest.raises(SpecError, match="needs"):
        show_features(plotter, maps, hkust1_grid, "conv1")
    with pytest.raises(SpecError, match=r"\(C, d, d, d\)"):
        show_features(plotter, maps[0], hkust1_grid, "conv1")


def test_saliency_overlay_shows_its_colormap(plotter, hkust1, hkust1_grid):
    e = np.log1p(hkust1_grid.boltzmann.astype(np.float64))
    sal = np.gradient(e, axis=0)
    _, layer = show_saliency(plotter, hkust1, hkust1_grid, sal)
    # a robust scale: a few extreme voxels saturate instead of flattening the rest
    assert layer.scale == pytest.approx(np.percentile(np.abs(sal), SCALE_PERCENTILE))
    assert layer.magnitude.max() == pytest.approx(1.0)
    assert 0.001 < (layer.magnitude == 1.0).mean() <= 0.01
    img = shot(plotter)
    lut = (colormaps[SALIENCY_CMAP](np.linspace(0.4, 1, 64))[:, :3] * 255).astype(np.float32)
    assert near_colours(img, lut, tol=20).mean() > 0.005


def test_saliency_of_the_wrong_shape_is_refused(plotter, hkust1_grid):
    from retvis.render import add_saliency

    with pytest.raises(SpecError, match="25"):
        add_saliency(plotter, np.ones((20, 20, 20)), GridFrame.of(hkust1_grid))


@pytest.mark.parametrize("kind", ["bars", "heat"])
def test_fingerprint_figure(kind):
    rng = np.random.default_rng(0)
    f = rng.normal(size=(3, 20))
    fig = fingerprint_figure(f, ["HKUST-1", "MOF-5", "ZIF-8"], kind=kind)
    ax = fig.axes[0]
    if kind == "bars":
        assert len(ax.patches) == 60
        assert [t.get_text() for t in ax.get_legend().get_texts()] == ["HKUST-1", "MOF-5", "ZIF-8"]
    else:
        assert ax.images[0].get_array().shape == (3, 20)
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    assert buf.getvalue()[:4] == b"\x89PNG"


def test_fingerprint_figure_refuses_bad_input():
    with pytest.raises(SpecError):
        fingerprint_figure(np.ones((2, 20)), ["only one name"])
    with pytest.raises(SpecError):
        fingerprint_figure(np.full(20, np.nan))

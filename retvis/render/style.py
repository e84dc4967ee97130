"""Shared drawing conventions: background, text colour, colour bars, volumes."""

from __future__ import annotations

import numpy as np
import pyvista as pv
from numpy.typing import NDArray

#: Background of the scenes RetVis creates (dark, so bright wells and saliency stand out).
BACKGROUND = (0.11, 0.12, 0.14)
#: Text and line colour on a dark / light background.
LIGHT_INK = (0.92, 0.92, 0.92)
DARK_INK = (0.12, 0.12, 0.12)
#: Volume rendering: pixels per ray (1 = every pixel; larger is faster and blurrier).
VOLUME_IMAGE_SAMPLE_DISTANCE = 1.0


def ink(plotter: pv.Plotter) -> tuple[float, float, float]:
    """A text/line colour readable on the plotter's (active renderer's) background."""
    bg = np.asarray(plotter.renderer.background_color.float_rgb, dtype=float)
    luminance = float(bg @ np.array([0.2126, 0.7152, 0.0722]))
    return DARK_INK if luminance > 0.5 else LIGHT_INK


#: Colour-bar text height on a wide viewport, pixels (title, tick labels).
TITLE_FONT = 16
LABEL_FONT = 14
#: Smallest colour-bar text, pixels (the title shrinks to this before it is clipped).
MIN_FONT = 10
#: Most of the viewport width the colour bar's title may span.
TITLE_SHARE = 0.24
#: Gap between the colour bar (title, labels) and the viewport's right edge, pixels.
MARGIN_PX = 8
#: Most tick labels on a colour bar.
MAX_TICKS = 7


def nice_ticks(lo: float, hi: float, max_ticks: int = MAX_TICKS) -> NDArray[np.float64]:
    """Round tick values (1, 2, 2.5, 5 x 10^k steps) inside ``[lo, hi]``, at least two."""
    from matplotlib.ticker import MaxNLocator

    lo, hi = float(lo), float(hi)
    if not hi > lo:
        return np.array([lo])
    for nbins in range(max(max_ticks - 1, 1), 0, -1):
        loc = MaxNLocator(nbins=nbins, steps=[1, 2, 2.5, 5, 10])
        t = loc.tick_values(lo, hi)
        eps = 1e-9 * (hi - lo)
        t = t[(t >= lo - eps) & (t <= hi + eps)]
        if 2 <= len(t) <= max_ticks:
            break
    t = np.where(np.abs(t) < 1e-12 * (hi - lo), 0.0, t)  # no "-0"
    return t if len(t) >= 2 else np.array([lo, hi])


def tick_format(ticks: NDArray[np.float64]) -> str:
    """A printf format with the fewest decimals that writes every tick exactly."""
    span = float(np.ptp(ticks)) or max(abs(float(ticks[0])), 1.0)
    for dec in range(7):
        if np.all(np.abs(np.round(ticks, dec) - ticks) <= 1e-6 * span):
            return f"%.{dec}f"
    return "%.3g"


def _text_width(prop, text: str, size: int) -> int:
    """Width in pixels of ``text`` drawn with a copy of ``prop`` at ``size`` pixels."""
    from vtkmodules.vtkRenderingCore import vtkTextProperty, vtkTextRenderer

    tp = vtkTextProperty()
    tp.ShallowCopy(prop)
    tp.SetFontSize(int(size))
    bbox = [0, 0, 0, 0]
    vtkTextRenderer().GetBoundingBox(tp, text, bbox, 72)
    return bbox[1] - bbox[0] + 1


def fit_colorbar(bar, title: str, width_px: int, height_px: int, fmt: str | None = None) -> None:
    """Size and place a vertical scalar bar so its title and labels fit the viewport.

    Text shrinks with the viewport (down to :data:`MIN_FONT` pixels; the title's width is
    at most :data:`TITLE_SHARE` of it), ticks are round numbers, and the bar sits as far
    right as its title and labels allow, :data:`MARGIN_PX` from the edge.

    Parameters
    ----------
    bar : vtkScalarBarActor
        Vertical, with the lookup table set.
    title : str
        Title text.
    width_px, height_px : int
        Viewport size, pixels.
    fmt : str, optional
        Tick label format; default the fewest decimals that write the ticks exactly.
    """
    from vtkmodules.util.numpy_support import numpy_to_vtk

    w, h = max(int(width_px), 1), max(int(height_px), 1)
    scale = min(w / 1000.0, h / 560.0, 1.0)
    tprop, lprop = bar.GetTitleTextProperty(), bar.GetLabelTextProperty()
    label_px = max(MIN_FONT, round(LABEL_FONT * max(scale, 0.7)))
    title_px = max(MIN_FONT, round(TITLE_FONT * max(scale, 0.7)))
    while title_px > MIN_FONT and _text_width(tprop, title, title_px) > TITLE_SHARE * w:
        title_px -= 1
    title_w = _text_width(tprop, title, title_px)
    tprop.SetFontSize(title_px)
    lprop.SetFontSize(label_px)

    height = 0.76
    lo, hi = bar.GetLookupTable().GetRange()
    n_fit = int(height * h / (2.2 * label_px))
    ticks = nice_ticks(lo, hi, max(2, min(MAX_TICKS, n_fit)))
    fmt = fmt or tick_format(ticks)
    bar.SetLabelFormat(fmt)
    bar.SetUseCustomLabels(True)
    bar.SetCustomLabels(numpy_to_vtk(ticks.astype(np.float64), deep=True))
    label_w = max(_text_width(lprop, fmt % t, label_px) for t in ticks)

    bar_px = int(np.clip(0.022 * w, 12, 24))
    box_w = bar_px + bar.GetTextPad() + label_w + 4
    bar.SetBarRatio(bar_px / box_w)
    centre = w - MARGIN_PX - max(title_w, box_w) / 2.0
    left = centre - box_w / 2.0
    # the top tick label is centred on the bar's end: keep the title above it
    bar.SetVerticalTitleSeparation(label_px // 2 + 3)
    title_h = 1.3 * title_px + label_px // 2 + 3
    bottom = 0.08 * h
    bar.SetPosition(left / w, bottom / h)
    bar.SetWidth(box_w / w)
    bar.SetHeight(min(height, (h - bottom - title_h - MARGIN_PX) / h))


def add_colorbar(
    plotter: pv.Plotter, lut: pv.LookupTable, title: str, *, fmt: str | None = None, **kwargs
):
    """A vertical colour bar on the right of the active renderer for a lookup table.

    Its title and labels are fitted to the renderer's size (:func:`fit_colorbar`) when
    drawn and again whenever that size changes (a resized window), so they are not
    clipped in narrow viewers. ``kwargs`` override :meth:`pyvista.Plotter.add_scalar_bar`
    arguments; ``fmt`` fixes the tick format (default: round ticks, fewest decimals).

    Returns
    -------
    vtkScalarBarActor
    """
    mapper = pv.DataSetMapper(pv.PolyData())
    mapper.lookup_table = lut
    mapper.scalar_range = lut.scalar_range
    args = dict(
        title=title,
        n_labels=5,
        vertical=True,
        position_x=0.86,
        position_y=0.12,
        height=0.76,
        width=0.06,
        color=ink(plotter),
        title_font_size=TITLE_FONT,
        label_font_size=LABEL_FONT,
        bold=False,
    )
    args.update(kwargs)
    bar = plotter.add_scalar_bar(mapper=mapper, **args)
    renderer = plotter.renderer
    last = [None]

    def refit(*_):
        size = tuple(renderer.GetSize())
        if size != last[0] and min(size) > 0:
            last[0] = size
            fit_colorbar(bar, args["title"], *size, fmt=fmt)

    refit()
    # a resized window (the GUI's viewer) refits before the frame is drawn
    renderer.AddObserver("StartEvent", refit)
    return bar


def lookup_table(cmap: str, clim: tuple[float, float]) -> pv.LookupTable:
    """A lookup table over ``clim`` for a matplotlib colour map name."""
    lut = pv.LookupTable(cmap=cmap)
    lut.scalar_range = (float(clim[0]), float(clim[1]))
    return lut


def add_volume(
    plotter: pv.Plotter,
    image: pv.ImageData,
    scalars: str,
    cmap: str,
    clim: tuple[float, float],
    opacity: NDArray[np.float64],
    name: str,
):
    """Volume-render an image with the GPU ray-cast mapper (honours direction matrices).

    Parameters
    ----------
    opacity : NDArray[np.float64]
        Opacity transfer sampled uniformly over ``clim``, values in [0, 1].
    """
    actor = plotter.add_volume(
        image,
        scalars=scalars,
        cmap=cmap,
        clim=clim,
        opacity=np.asarray(opacity),
        show_scalar_bar=False,
        name=name,
        shade=False,
        mapper="gpu",
    )
    actor.mapper.SetImageSampleDistance(VOLUME_IMAGE_SAMPLE_DISTANCE)
    actor.prop.interpolation_type = "linear"
    return actor


def new_theme() -> pv.themes.Theme:
    """The theme of the plotters RetVis creates itself (no MSAA: 4x slower in software GL)."""
    theme = pv.themes.DocumentTheme()
    theme.multi_samples = 0
    theme.background = BACKGROUND
    theme.font.color = LIGHT_INK
    return theme

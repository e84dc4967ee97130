"""A histogram of a field's values drawn beside its colour bar, on the bar's own scale.

The bars run along the colour bar's axis (one bar per bin, at the height of the bin's
colours), so the bar's tick labels read the histogram too. Lengths are ``log(1 + count)``:
an energy grid's walls (clipped into the top bin) outnumber its deepest wells by orders
of magnitude. Marks (the isosurface level, the pore surface) are lines across the
histogram and the bar at their values.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyvista as pv
from numpy.typing import NDArray

from ..errors import SpecError
from .style import ink

#: Bins of the histogram.
N_BINS = 32
#: Name given to the histogram's 2D actor; :func:`~retvis.render.camera.colorbar_share`
#: keeps the width of actors so named free, as it does for colour bars.
COLORBAR_PART = "retvis-colorbar-part"
#: Width of the histogram as a share of the viewport's width, and its bounds, pixels.
WIDTH_SHARE = 0.06
MIN_WIDTH_PX, MAX_WIDTH_PX = 28, 80
#: Gap between the histogram and the colour strip, pixels.
GAP_PX = 3
#: Opacity of the bars (drawn in the scene's ink colour).
BAR_OPACITY = 0.55


@dataclass(frozen=True)
class Histogram:
    """Counts of values in equal bins over a range.

    Attributes
    ----------
    edges : NDArray[np.float64]
        Shape (bins + 1,), increasing; the first and last are the range's ends.
    counts : NDArray[np.int64]
        Shape (bins,); values outside the range are counted in the end bins.
    """

    edges: NDArray[np.float64]
    counts: NDArray[np.int64]


def histogram(values: NDArray, value_range: tuple[float, float], bins: int = N_BINS) -> Histogram:
    """Histogram of ``values`` over ``value_range`` (lo, hi), values outside it clipped
    into the end bins, as a colour bar saturates them."""
    lo, hi = (float(x) for x in value_range)
    if not hi > lo:
        raise SpecError(f"histogram range must increase, got ({lo}, {hi})")
    if int(bins) < 1:
        raise SpecError(f"histogram bins must be at least 1, got {bins}")
    v = np.clip(np.asarray(values, dtype=np.float64).ravel(), lo, hi)
    counts, edges = np.histogram(v, bins=int(bins), range=(lo, hi))
    return Histogram(edges, counts.astype(np.int64))


@dataclass
class ColorbarHistogram:
    """A histogram drawn left of a vertical colour bar; follows the bar when it is refitted.

    Attributes
    ----------
    hist : Histogram
        What is drawn.
    actor : vtkActor2D
        The bars and marks, in pixels from the actor's position (normalized viewport).
    marks : list of (float, rgb)
        Values marked by a line, and the line's colour.
    """

    hist: Histogram
    bar: object
    renderer: object
    actor: object
    marks: list = field(default_factory=list)
    _size: tuple = ()
    _observer: int | None = None

    def set_marks(self, marks) -> None:
        """Mark these (value, rgb) pairs with lines across the histogram and the bar."""
        self.marks = [(float(v), tuple(float(c) for c in rgb)) for v, rgb in marks]
        self._size = ()
        self.place()

    def strip(self, w: int, h: int) -> tuple[float, float, float, float]:
        """The colour strip's left, bottom, right and top in viewport pixels.

        As VTK lays out a vertical bar with its title on top: the strip starts a few
        pixels above the bar's box and ends a title height and separation below its top.
        """
        bx, by = self.bar.GetPosition()
        box_w = self.bar.GetWidth() * w
        left = bx * w + 1.0
        right = left + np.ceil(box_w * self.bar.GetBarRatio()) - 1.0
        title = self.bar.GetTitleTextProperty().GetFontSize()
        bottom = by * h + 4.0
        top = (by + self.bar.GetHeight()) * h - title - self.bar.GetVerticalTitleSeparation()
        return left, bottom, right, top

    def place(self, *_) -> None:
        """Redo the geometry when the viewport's size changed (or marks were set); once
        the actor has left the renderer (a cleared plotter), stop following the bar."""
        if self._observer is not None and not self.renderer.HasViewProp(self.actor):
            self.renderer.RemoveObserver(self._observer)
            self._observer = None
            return
        w, h = (int(x) for x in self.renderer.GetSize())
        if (w, h) == self._size or min(w, h) <= 0:
            return
        self._size = (w, h)
        left, bottom, right, top = self.strip(w, h)
        width = float(np.clip(WIDTH_SHARE * w, MIN_WIDTH_PX, MAX_WIDTH_PX))
        x0 = left - GAP_PX - width
        self.actor.SetPosition(x0 / w, bottom / h)
        ink_rgb = self.actor.GetProperty().GetColor()
        poly = _geometry(self.hist, self.marks, ink_rgb, width, right - x0, top - bottom)
        self.actor.GetMapper().SetInputData(poly)

    def value_y(self, value: float) -> float:
        """Viewport pixel row of ``value`` on the bar (for tests and marks)."""
        w, h = (int(x) for x in self.renderer.GetSize())
        _, bottom, _, top = self.strip(w, h)
        e = self.hist.edges
        return bottom + (float(value) - e[0]) / (e[-1] - e[0]) * (top - bottom)


def _geometry(hist: Histogram, marks, ink_rgb, width: float, span: float, height: float):
    """PolyData of the bars (quads growing left from ``width``, in ``ink_rgb``, see-through)
    and the marks (opaque lines across ``span``), pixels from the lower left; cell data
    ``rgba`` (uint8) colours them."""
    n = len(hist.counts)
    e = hist.edges
    y = (e - e[0]) / (e[-1] - e[0]) * height
    top = float(np.log1p(hist.counts.max())) or 1.0
    length = np.log1p(hist.counts) / top * width
    pts, quads = [], []
    for i in range(n):
        if hist.counts[i] == 0:
            continue
        k = len(pts)
        pts += [(width - length[i], y[i], 0), (width, y[i], 0), (width, y[i + 1], 0)]
        pts += [(width - length[i], y[i + 1], 0)]
        quads.append([4, k, k + 1, k + 2, k + 3])
    lines = []
    for value, _ in marks:
        yy = float(np.clip((value - e[0]) / (e[-1] - e[0]), 0.0, 1.0)) * height
        k = len(pts)
        pts += [(0.0, yy, 0), (span, yy, 0)]
        lines.append([2, k, k + 1])
    poly = pv.PolyData()
    poly.points = np.asarray(pts, dtype=float).reshape(-1, 3)
    if quads:
        poly.faces = np.asarray(quads).ravel()
    if lines:
        poly.lines = np.asarray(lines).ravel()
    # VTK orders cells lines first, then polygons
    bar = [*(255 * np.asarray(ink_rgb)), 255 * BAR_OPACITY]
    rgba = [[*(255 * np.asarray(rgb)), 255] for _, rgb in marks] + [bar] * len(quads)
    poly.cell_data["rgba"] = np.round(np.asarray(rgba, dtype=float).reshape(-1, 4)).astype(np.uint8)
    poly.cell_data.active_scalars_name = "rgba"
    return poly


def add_colorbar_histogram(
    plotter: pv.Plotter,
    bar,
    values: NDArray,
    value_range: tuple[float, float],
    marks=(),
    name: str = "histogram",
) -> ColorbarHistogram:
    """Draw the histogram of ``values`` (any shape) over ``value_range`` left of the
    vertical colour ``bar`` (from :func:`~retvis.render.style.add_colorbar`), with lines
    at ``marks`` ((value, rgb) pairs); ``name`` names the actor in the plotter."""
    from vtkmodules.vtkRenderingCore import vtkActor2D, vtkPolyDataMapper2D

    mapper = vtkPolyDataMapper2D()
    mapper.SetColorModeToDirectScalars()
    mapper.SetScalarModeToUseCellData()
    actor = vtkActor2D()
    actor.SetMapper(mapper)
    actor.SetObjectName(COLORBAR_PART)
    actor.GetPositionCoordinate().SetCoordinateSystemToNormalizedViewport()
    actor.GetProperty().SetColor(*ink(plotter))
    actor.GetProperty().SetLineWidth(2.0)
    renderer = plotter.renderer
    drawn = ColorbarHistogram(histogram(values, value_range), bar, renderer, actor)
    drawn.set_marks(marks)
    plotter.add_actor(actor, reset_camera=False, name=name, pickable=False)
    # after the colour bar's own refit (priority 0), so it follows the bar's new place
    drawn._observer = renderer.AddObserver("StartEvent", drawn.place, -1.0)
    return drawn

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


def add_colorbar(
    plotter: pv.Plotter, lut: pv.LookupTable, title: str, *, fmt: str = "%.3g", **kwargs
) -> None:
    """A vertical colour bar on the right of the active renderer for a lookup table.

    ``kwargs`` override :meth:`pyvista.Plotter.add_scalar_bar` arguments.
    """
    mapper = pv.DataSetMapper(pv.PolyData())
    mapper.lookup_table = lut
    mapper.scalar_range = lut.scalar_range
    args = dict(
        title=title,
        n_labels=5,
        fmt=fmt,
        vertical=True,
        position_x=0.86,
        position_y=0.12,
        height=0.76,
        width=0.06,
        color=ink(plotter),
        title_font_size=16,
        label_font_size=14,
        bold=False,
    )
    args.update(kwargs)
    plotter.add_scalar_bar(mapper=mapper, **args)


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

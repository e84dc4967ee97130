"""RetNet fingerprints (the 20 numbers before the output layer) as a matplotlib Figure.

The figure is built on :class:`matplotlib.figure.Figure` directly (no pyplot, no global
state), so the CLI saves it with Agg and the GUI draws it to an image on a worker thread.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from matplotlib.figure import Figure
from numpy.typing import NDArray

from ..errors import SpecError

#: Colour map of the heat strip (diverging: fingerprints are LeakyReLU outputs).
HEAT_CMAP = "RdBu_r"
#: Font size of tick labels, points: preferred, and the smallest before labels are thinned.
TICK_FONT = 9.0
MIN_TICK_FONT = 6.5
#: Tick labels are at least this many font sizes apart (centre to centre).
TICK_SPACING = 1.25
#: Longest material name shown on the heat strip, characters (longer: shortened with "...").
MAX_NAME = 18


def shorten(name: str, limit: int = MAX_NAME) -> str:
    """``name``, or its first ``limit - 1`` characters and an ellipsis."""
    return name if len(name) <= limit else name[: limit - 1] + "\u2026"


def thinned_ticks(n: int, length_pt: float, label_pt: float = 0.0) -> tuple[list[int], float]:
    """Which of ``n`` evenly spaced items to label along an axis ``length_pt`` long.

    Parameters
    ----------
    n : int
        Items (rows or columns), one tick each.
    length_pt : float
        Axis length, points.
    label_pt : float
        Extent of one label along the axis in font sizes (0: a label takes one font size,
        as names along a vertical axis do; for numbers along a horizontal axis, their
        width in font sizes).

    Returns
    -------
    indices, font : list of int, float
        Every ``step``-th item (the first always), and the font size, points: the
        preferred size when every label fits, else shrunk down to :data:`MIN_TICK_FONT`,
        then thinned.
    """
    per = length_pt / max(n, 1)
    extent = max(label_pt, 1.0) * TICK_SPACING
    font = float(min(TICK_FONT, max(MIN_TICK_FONT, per / extent)))
    step = max(1, int(np.ceil(font * extent / per - 1e-9)))
    return list(range(0, n, step)), font


def fingerprint_figure(
    fingerprints: NDArray,
    names: list[str] | None = None,
    *,
    kind: Literal["bars", "heat"] = "bars",
    size: tuple[float, float] = (8.0, 3.5),
    dpi: int = 100,
) -> Figure:
    """Fingerprints of several materials side by side.

    Parameters
    ----------
    fingerprints : NDArray
        Shape (20,) for one material or (M, F) for M materials (F = 20 for RetNet),
        float, dimensionless.
    names : list of str, optional
        Material names (default "material 1", ...).
    kind : {"bars", "heat"}
        Grouped bar chart (one colour per material) or a heat strip (one row per
        material, a shared symmetric colour scale).
    size : tuple of float
        Figure size, inches.
    dpi : int
        Resolution.

    Returns
    -------
    matplotlib.figure.Figure
    """
    f = np.asarray(fingerprints, dtype=np.float64)
    if f.ndim == 1:
        f = f[None, :]
    if f.ndim != 2 or f.shape[0] < 1 or f.shape[1] < 1:
        raise SpecError(
            f"fingerprints must have shape (F,) or (M, F), got {np.shape(fingerprints)}"
        )
    if not np.all(np.isfinite(f)):
        raise SpecError("fingerprints hold non-finite values")
    m, n_feat = f.shape
    names = [f"material {i + 1}" for i in range(m)] if names is None else list(names)
    if len(names) != m:
        raise SpecError(f"{len(names)} names for {m} fingerprints")
    if kind not in ("bars", "heat"):
        raise SpecError(f"unknown fingerprint plot {kind!r}; valid: 'bars', 'heat'")

    fig = Figure(figsize=size, dpi=dpi, layout="constrained")
    ax = fig.add_subplot()
    x = np.arange(n_feat)
    if kind == "bars":
        width = 0.8 / m
        for i in range(m):
            ax.bar(x - 0.4 + width * (i + 0.5), f[i], width, label=names[i])
        ax.axhline(0.0, color="0.3", linewidth=0.8)
        ax.set_xticks(x)
        ax.set_xlim(-0.6, n_feat - 0.4)
        ax.set_ylabel("activation")
        if m > 1:
            ax.legend(
                fontsize="small",
                ncols=min(m, 5),
                loc="lower center",
                bbox_to_anchor=(0.5, 1.0),
                frameon=False,
            )
        elif names:
            ax.set_title(names[0])
    else:
        top = float(np.abs(f).max()) or 1.0
        im = ax.imshow(
            f, cmap=HEAT_CMAP, vmin=-top, vmax=top, aspect="auto", interpolation="nearest"
        )
        fig.colorbar(im, ax=ax, label="activation", shrink=0.9)
    ax.set_xlabel("fingerprint component")
    _fit_ticks(fig, ax, names if kind == "heat" else None, n_feat)
    return fig


def _fit_ticks(fig: Figure, ax, names: list[str] | None, n_feat: int) -> None:
    """Label as many components (and heat-strip rows) as fit without overlapping.

    The axes' size is measured after a layout pass; names are shortened to
    :data:`MAX_NAME` characters, the font shrinks to :data:`MIN_TICK_FONT`, then every
    k-th label is kept.
    """
    ax.set_xticks(np.arange(n_feat))
    if names is not None:
        ax.set_yticks(np.arange(len(names)), labels=[shorten(n) for n in names])
    fig.draw_without_rendering()
    box = ax.get_window_extent()
    to_pt = 72.0 / fig.dpi
    digits = len(str(n_feat - 1))
    cols, xfont = thinned_ticks(n_feat, box.width * to_pt, 0.56 * digits + 0.3)
    ax.set_xticks(cols)
    ax.tick_params(axis="x", labelsize=xfont)
    if names is not None:
        rows, yfont = thinned_ticks(len(names), box.height * to_pt)
        ax.set_yticks(rows, labels=[shorten(names[i]) for i in rows])
        ax.tick_params(axis="y", labelsize=yfont)

"""RetNet fingerprints (the 20 numbers before the output layer) as a matplotlib Figure.

The figure is built on :class:`matplotlib.figure.Figure` directly (no pyplot, no global
state), so the CLI saves it with Agg and the GUI embeds it in a ``FigureCanvasQTAgg``.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from matplotlib.figure import Figure
from numpy.typing import NDArray

from ..errors import SpecError

#: Colour map of the heat strip (diverging: fingerprints are LeakyReLU outputs).
HEAT_CMAP = "RdBu_r"


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
        ax.set_yticks(np.arange(m), labels=names)
        ax.set_xticks(x)
        fig.colorbar(im, ax=ax, label="activation", shrink=0.9)
    ax.set_xlabel("fingerprint component")
    return fig

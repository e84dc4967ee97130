"""The fingerprint plot: the model's learned 20 numbers for the selected materials.

The figure comes from ``retvis.render.fingerprint_figure`` (a matplotlib Figure, no
pyplot) when that is installed, or from a minimal bar chart until then; the widget only
embeds it in a ``FigureCanvasQTAgg``.
"""

from __future__ import annotations

import numpy as np
from matplotlib.backends.backend_qtagg import FigureCanvasQTAgg
from matplotlib.figure import Figure
from numpy.typing import NDArray
from PySide6.QtWidgets import QLabel, QSizePolicy, QVBoxLayout, QWidget


def make_figure(fingerprints: NDArray, names: list[str]) -> Figure:
    """Grouped bars of fingerprints (M, F), one colour per material."""
    try:
        from ...render import fingerprint_figure
    except ImportError:
        fingerprint_figure = None
    if fingerprint_figure is not None:  # bars for a few materials, a heat strip for more
        kind = "bars" if len(np.atleast_2d(fingerprints)) <= 3 else "heat"
        return fingerprint_figure(fingerprints, names, kind=kind, size=(6.0, 2.6))
    f = np.atleast_2d(np.asarray(fingerprints, dtype=float))
    fig = Figure(figsize=(6.0, 2.6), layout="constrained")
    ax = fig.add_subplot()
    m, k = f.shape
    x = np.arange(k)
    w = 0.8 / m
    for i in range(m):
        ax.bar(x - 0.4 + w * (i + 0.5), f[i], w, label=names[i])
    ax.axhline(0, color="0.3", lw=0.8)
    ax.set_xticks(x)
    ax.set_xlabel("fingerprint component")
    ax.set_ylabel("activation")
    if m > 1:
        ax.legend(fontsize="small")
    return fig


class FingerprintPanel(QWidget):
    """Shows fingerprints of up to a few materials; a message otherwise."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.message = QLabel("Fingerprints: select materials (needs a model).")
        self.message.setWordWrap(True)
        self.message.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.canvas: FigureCanvasQTAgg | None = None
        self._lay = QVBoxLayout(self)
        self._lay.setContentsMargins(0, 0, 0, 0)
        self._lay.addWidget(self.message)
        self.setMinimumHeight(200)

    def show_fingerprints(self, fingerprints: NDArray[np.float32], names: list[str]) -> None:
        """Plot fingerprints, shape (M, F), of the named materials."""
        fig = make_figure(fingerprints, names)
        if self.canvas is not None:
            self._lay.removeWidget(self.canvas)
            self.canvas.deleteLater()
        self.canvas = FigureCanvasQTAgg(fig)
        self._lay.addWidget(self.canvas, 1)
        shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
        self.message.setText(f"Learned fingerprint (20 numbers before the output) of {shown}")

    def show_message(self, text: str) -> None:
        if self.canvas is not None:
            self._lay.removeWidget(self.canvas)
            self.canvas.deleteLater()
            self.canvas = None
        self.message.setText(text)

"""The fingerprint plot: the model's learned 20 numbers for the selected materials.

The figure comes from ``retvis.render.fingerprint_figure`` (a matplotlib Figure, no
pyplot) when that is installed, or from a minimal bar chart until then. It is drawn to
an image off the GUI thread (:func:`render_image`, called by the fingerprint job; a
Figure with its own Agg canvas needs no pyplot state); the panel shows the image and
scales it while its size changes.
"""

from __future__ import annotations

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from numpy.typing import NDArray
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import QLabel, QSizePolicy, QVBoxLayout, QWidget

#: Resolution of the drawn plot, dots per inch (the pixel size is the panel's).
DPI = 100


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


def render_image(fingerprints: NDArray, names: list[str], size_px: tuple[int, int]) -> NDArray:
    """Draw the plot at ``size_px`` (width, height) pixels; RGBA (H, W, 4) uint8.

    Safe on a worker thread: the Figure has its own Agg canvas and no pyplot state.
    """
    w, h = (max(200, int(v)) for v in size_px)
    fig = make_figure(fingerprints, names)
    fig.set_size_inches(w / DPI, h / DPI)
    fig.set_dpi(DPI)
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba()).copy()


class FingerprintPanel(QWidget):
    """Shows fingerprints of up to a few materials; a message otherwise."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.message = QLabel("Fingerprints: select materials (needs a model).")
        self.message.setWordWrap(True)
        self.message.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.image = QLabel()
        self.image.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.image.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
        self.image.setMinimumSize(1, 1)
        self.image.hide()
        self._pixmap: QPixmap | None = None
        self._lay = QVBoxLayout(self)
        self._lay.setContentsMargins(0, 0, 0, 0)
        self._lay.addWidget(self.message)
        self._lay.addWidget(self.image, 1)
        self.setMinimumHeight(200)

    @property
    def has_plot(self) -> bool:
        """A fingerprint plot is shown."""
        return self._pixmap is not None

    def plot_size(self) -> tuple[int, int]:
        """Pixels (width, height) to draw the plot at: the room the panel has for it."""
        ratio = self.devicePixelRatioF()
        w = self.width()
        h = max(self.height() - self.message.sizeHint().height() - 6, 150)
        return int(w * ratio), int(h * ratio)

    def show_image(self, rgba: NDArray[np.uint8], names: list[str]) -> None:
        """Show a plot drawn by :func:`render_image` for the named materials."""
        rgba = np.ascontiguousarray(rgba)
        h, w = rgba.shape[:2]
        img = QImage(rgba.data, w, h, 4 * w, QImage.Format.Format_RGBA8888).copy()
        self._pixmap = QPixmap.fromImage(img)
        self._pixmap.setDevicePixelRatio(self.devicePixelRatioF())
        self.image.show()
        self._fit()
        QTimer.singleShot(0, self._fit)  # again once the layout has sized the label
        shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
        self.message.setText(f"Learned fingerprint (20 numbers before the output) of {shown}")

    def show_message(self, text: str) -> None:
        self._pixmap = None
        self.image.clear()
        self.image.hide()
        self.message.setText(text)

    def _fit(self) -> None:
        if self._pixmap is not None:
            ratio = self.devicePixelRatioF()
            size = self.image.size() * ratio
            if size.width() > 1 and size.height() > 1:
                pm = self._pixmap.scaled(
                    size,
                    Qt.AspectRatioMode.KeepAspectRatio,
                    Qt.TransformationMode.SmoothTransformation,
                )
                pm.setDevicePixelRatio(ratio)
                self.image.setPixmap(pm)
            else:  # not laid out yet: nothing rather than a clipped plot
                self.image.clear()

    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        self._fit()

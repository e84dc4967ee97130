"""File > Export Image: the 3D view's scene as a PNG of any size.

The picture is drawn from the view's own scene and camera at the chosen size
(:meth:`~retvis.gui.widgets.viewer.ViewerPanel.picture`), captioned like ``retvis
render``'s (:mod:`retvis.render.picture`), and written atomically. The choices and the
last folder are remembered (:class:`~retvis.gui.settings.ImageExportSettings`).
"""

from __future__ import annotations

import re
from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
)

from ...errors import RetvisError
from ...render.picture import MAX_SIDE, check_size, write_png
from ..settings import ImageExportSettings

#: Largest number a size box takes; sizes above :data:`~retvis.render.picture.MAX_SIDE`
#: are refused with a message rather than silently capped.
SPIN_MAX = 99_999


def default_file_name(name: str, mode: str) -> str:
    """``"FIQCEN_clean-energy-grid.png"``: the material and the view, safe as a file name."""
    stem = re.sub(r"[^\w.+-]+", "-", f"{name}-{mode.lower()}").strip("-.")
    return (stem or "retvis") + ".png"


class ExportImageDialog(QDialog):
    """Size, background and caption of a picture of the view, and where to write it.

    Signals
    -------
    written(str path)
        A picture was written.
    """

    written = Signal(str)

    def __init__(self, viewer, model=None, target: dict | None = None, parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export image")
        self.viewer, self.model, self.target = viewer, model, target
        self.settings = ImageExportSettings.load()
        w, h = (int(v) for v in viewer.active_plotter().window_size)
        self.width_box = self._side(w)
        self.height_box = self._side(h)
        self.transparent = QCheckBox("Transparent background")
        self.transparent.setChecked(self.settings.transparent)
        self.caption = QCheckBox("Name, model and colour scale")
        self.caption.setToolTip(
            "A band above the scene with the material's name and what is shown, and the colour bars"
        )
        self.caption.setChecked(self.settings.caption)
        folder = Path(self.settings.folder) if self.settings.folder else Path.home()
        file = default_file_name(viewer.scene_caption()[0], viewer.current_mode())
        self.path = QLineEdit(str(folder / file))
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        row = QHBoxLayout()
        row.addWidget(self.path, 1)
        row.addWidget(browse)
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setStyleSheet("color: #b00")
        form = QFormLayout()
        form.addRow("File", row)
        form.addRow("Width", self.width_box)
        form.addRow("Height", self.height_box)
        form.addRow(self.transparent)
        form.addRow(self.caption)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addWidget(self.message)
        lay.addWidget(self.buttons)
        self._check_size()

    def _side(self, value: int) -> QSpinBox:
        box = QSpinBox()
        box.setRange(1, SPIN_MAX)
        box.setSuffix(" px")
        box.setValue(value)
        box.setToolTip(f"Any size up to {MAX_SIDE} px (default: the view's)")
        box.valueChanged.connect(self._check_size)
        return box

    def size_px(self) -> tuple[int, int]:
        return self.width_box.value(), self.height_box.value()

    def _check_size(self, *_) -> bool:
        """Say why a size cannot be drawn, and refuse to save it."""
        try:
            check_size(*self.size_px())
            ok, text = True, ""
        except RetvisError as exc:
            ok, text = False, f"Cannot draw this size: {exc.reason}."
        self.message.setText(text)
        self.buttons.button(QDialogButtonBox.StandardButton.Save).setEnabled(ok)
        return ok

    def _browse(self) -> None:
        f, _ = QFileDialog.getSaveFileName(self, "Export image", self.path.text(), "PNG (*.png)")
        if f:
            self.path.setText(f)

    def export(self) -> Path:
        """Draw the view at the chosen size and write the PNG; returns its path.

        Raises
        ------
        RetvisError
            The size is out of bounds, or the view shows no scene.
        OSError
            The file cannot be written.
        """
        path = Path(self.path.text().strip()).expanduser()
        if path.suffix.lower() != ".png":
            path = path.with_name(path.name + ".png")
        title, subtitle = self.viewer.scene_caption(self.model, self.target)
        with_caption = self.caption.isChecked()
        img = self.viewer.picture(
            self.size_px(),
            caption=(title, subtitle) if with_caption else None,
            transparent=self.transparent.isChecked(),
            scales=with_caption,
        )
        write_png(path, img, title, subtitle)
        self.settings.transparent = self.transparent.isChecked()
        self.settings.caption = with_caption
        self.settings.folder = str(path.parent)
        self.settings.save()
        return path

    def accept(self) -> None:
        if not self._check_size():
            return
        try:
            path = self.export()
        except (RetvisError, OSError) as exc:
            self.message.setText(f"Cannot export: {getattr(exc, 'reason', None) or exc}")
            return
        self.written.emit(str(path))
        super().accept()

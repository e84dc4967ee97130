"""The Settings dialog: energy grid, computation (workers, cache, device) and viewer."""

from __future__ import annotations

import sys

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QLabel,
    QSpinBox,
    QVBoxLayout,
)

from ...core.grid import MAX_N, GridSpec
from ...errors import SpecError
from ..settings import AppSettings, default_workers


def torch_devices() -> list[str]:
    """Devices torch can use here ("cpu" always; "cuda", "mps" when available).

    Torch is only asked when a model has already loaded it: importing it just to fill
    a combo box would cost seconds.
    """
    out = ["cpu"]
    torch = sys.modules.get("torch")
    if torch is None:
        return out
    if torch.cuda.is_available():
        out.append("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        out.append("mps")
    return out


#: What the probe box shows for each :data:`retvis.core.grid.PROBES` entry.
PROBE_NAMES = {"sphere": "Lennard-Jones sphere", "CO2": "CO2 (TraPPE, with charges)"}


class SettingsDialog(QDialog):
    """Edit a copy of :class:`AppSettings`; :meth:`result_settings` returns it."""

    def __init__(self, settings: AppSettings, parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle("RetVis settings")
        self._base = settings
        grid = self._grid_group(settings.spec)
        comp = self._computation_group(settings)
        self.error = QLabel()
        self.error.setStyleSheet("color: #b00")
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok
            | QDialogButtonBox.StandardButton.Cancel
            | QDialogButtonBox.StandardButton.RestoreDefaults
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        buttons.button(QDialogButtonBox.StandardButton.RestoreDefaults).clicked.connect(
            self._defaults
        )
        lay = QVBoxLayout(self)
        lay.addWidget(grid)
        lay.addWidget(comp)
        lay.addWidget(self.error)
        lay.addWidget(buttons)

    def _grid_group(self, spec: GridSpec) -> QGroupBox:
        """The energy grid's settings (new computations; a loaded model uses its own)."""
        d = GridSpec()

        self.n = QSpinBox(minimum=2, maximum=MAX_N, value=spec.n)
        self.n.setToolTip(f"Grid points per axis (default {d.n}); a model needs its own n")
        self.cutoff = self._dspin(1.0, 30.0, spec.cutoff, " Å", f"default {d.cutoff} Å")
        self.eps = self._dspin(
            0.0, 2000.0, spec.probe_epsilon, " K", f"default {d.probe_epsilon} K"
        )
        self.sigma = self._dspin(0.5, 10.0, spec.probe_sigma, " Å", f"default {d.probe_sigma} Å")
        self.probe = QComboBox()
        for key, text in PROBE_NAMES.items():
            self.probe.addItem(text, key)
        self.probe.setToolTip(
            "Lennard-Jones sphere (docs/method.md, the shipped models), or TraPPE CO2 averaged "
            "over orientations with EQeq framework charges (for CO2; needs pyeqeq's data)"
        )
        self.probe.currentIndexChanged.connect(self._probe_changed)
        self.probe.setCurrentIndex(self.probe.findData(spec.probe))
        self._probe_changed()
        self.temperature = self._dspin(
            1.0, 2000.0, spec.temperature, " K", f"default {d.temperature} K"
        )
        self.mode = QComboBox()
        self.mode.addItems(["supercell", "cubic"])
        self.mode.setCurrentText(spec.mode)
        self.box_length = self._dspin(
            5.0, 200.0, spec.box_length, " Å", "cube side in the cubic mode"
        )
        self.endpoint = QCheckBox("Include the end point (published voxels' convention)")
        self.endpoint.setChecked(spec.endpoint)
        grid = QGroupBox("Energy grid (new computations; a loaded model uses its own)")
        f = QFormLayout(grid)
        f.addRow("Points per axis", self.n)
        f.addRow("Cutoff", self.cutoff)
        f.addRow("Probe", self.probe)
        f.addRow("Probe ε", self.eps)
        f.addRow("Probe σ", self.sigma)
        f.addRow("Temperature", self.temperature)
        f.addRow("Box", self.mode)
        f.addRow("Cube side", self.box_length)
        f.addRow(self.endpoint)
        return grid

    def _computation_group(self, settings: AppSettings) -> QGroupBox:
        """Grid workers, cache, the model's device and where the 3D viewer lives."""
        self.workers = QSpinBox(minimum=1, maximum=256, value=settings.workers)
        self.workers.setToolTip(f"Grid threads (suggested here: {default_workers()})")
        self.cache = QCheckBox("Keep computed grids in the cache")
        self.cache.setChecked(settings.use_cache)
        self.device = QComboBox()
        self.device.addItems(torch_devices())
        if settings.device not in torch_devices():
            self.device.addItem(settings.device)
        self.device.setCurrentText(settings.device)
        self.viewer = QComboBox()
        self.viewer.addItems(["auto", "docked", "window"])
        self.viewer.setCurrentText(settings.viewer)
        self.viewer.setToolTip(
            "Where the 3D viewer lives (applies at the next start); auto: "
            "its own window when OpenGL runs in software"
        )
        comp = QGroupBox("Computation")
        g = QFormLayout(comp)
        g.addRow("Grid workers", self.workers)
        g.addRow(self.cache)
        g.addRow("Model device", self.device)
        g.addRow("3D viewer", self.viewer)
        return comp

    @staticmethod
    def _dspin(lo, hi, value, suffix, tip) -> QDoubleSpinBox:
        s = QDoubleSpinBox(minimum=lo, maximum=hi, value=value, suffix=suffix, decimals=3)
        s.setToolTip(tip)
        return s

    def _probe_changed(self) -> None:
        sphere = self.probe.currentData() == "sphere"
        self.eps.setEnabled(sphere)
        self.sigma.setEnabled(sphere)

    def _defaults(self) -> None:
        d = GridSpec()
        self.n.setValue(d.n)
        self.probe.setCurrentIndex(self.probe.findData(d.probe))
        self.cutoff.setValue(d.cutoff)
        self.eps.setValue(d.probe_epsilon)
        self.sigma.setValue(d.probe_sigma)
        self.temperature.setValue(d.temperature)
        self.mode.setCurrentText(d.mode)
        self.box_length.setValue(d.box_length)
        self.endpoint.setChecked(d.endpoint)
        self.workers.setValue(default_workers())
        self.cache.setChecked(True)
        self.device.setCurrentText("cpu")
        self.viewer.setCurrentText("auto")

    def result_settings(self) -> AppSettings:
        """The edited settings.

        Raises
        ------
        SpecError
            The grid settings are inconsistent.
        """
        spec = self._base.spec.replace(
            n=self.n.value(),
            cutoff=self.cutoff.value(),
            probe_epsilon=self.eps.value(),
            probe_sigma=self.sigma.value(),
            probe=self.probe.currentData(),
            temperature=self.temperature.value(),
            mode=self.mode.currentText(),
            box_length=self.box_length.value(),
            endpoint=self.endpoint.isChecked(),
        )
        return AppSettings(
            spec=spec,
            workers=self.workers.value(),
            device=self.device.currentText(),
            use_cache=self.cache.isChecked(),
            model=self._base.model,
            viewer=self.viewer.currentText(),
        )

    def accept(self) -> None:
        try:
            self.result_settings()
        except SpecError as exc:
            self.error.setText(str(exc))
            return
        super().accept()

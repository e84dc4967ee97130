"""Train a model: runs ``retvis train`` as a child process, plots its JSON lines live.

Loss and R² curves update after every epoch; Stop writes ``RUN_DIR/STOP`` (then sends
SIGINT if the child has not stopped): the best checkpoint so far becomes the model.
A finished model is registered under a name in the user's models folder.
"""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Callable
from pathlib import Path

from matplotlib.backends.backend_qtagg import FigureCanvasQTAgg
from matplotlib.figure import Figure
from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDialog,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ...paths import data_dir
from ..training_runner import CliProcess

#: Export of the table's labelled materials: folder -> (count, message).
TableExport = Callable[[Path], tuple[int, str]]


def user_models_dir() -> Path:
    """Where registered models go (the ml package's user models folder)."""
    try:
        from ...ml.weights import user_models_dir as _umd
    except ImportError:
        return data_dir() / "models"
    return _umd()


class CurvesCanvas(FigureCanvasQTAgg):
    """Loss and R² per epoch, train and validation, one line style per ensemble member."""

    def __init__(self) -> None:
        self.figure_ = Figure(figsize=(6, 3), layout="constrained")
        super().__init__(self.figure_)
        self.ax_loss = self.figure_.add_subplot(1, 2, 1)
        self.ax_r2 = self.figure_.add_subplot(1, 2, 2)
        self.history: dict[int, list[dict]] = {}
        self._draw()

    def add(self, rec: dict) -> None:
        self.history.setdefault(int(rec.get("member", 0)), []).append(rec)
        self._draw()

    def _draw(self) -> None:
        for ax in (self.ax_loss, self.ax_r2):
            ax.clear()
        for m, recs in sorted(self.history.items()):
            ep = [r["epoch"] for r in recs]
            suffix = f" (member {m})" if len(self.history) > 1 else ""
            for key, ax, style in (
                ("train_loss", self.ax_loss, "-"),
                ("val_loss", self.ax_loss, "--"),
                ("r2_train", self.ax_r2, "-"),
                ("r2_val", self.ax_r2, "--"),
            ):
                ys = [r.get(key) for r in recs]
                pts = [(e, y) for e, y in zip(ep, ys, strict=True) if y is not None]
                if pts:
                    ax.plot(
                        *zip(*pts, strict=True),
                        style,
                        marker=".",
                        label=key.replace("_", " ") + suffix,
                    )
        self.ax_loss.set_title("loss (MSE)")
        self.ax_loss.set_xlabel("epoch")
        self.ax_r2.set_title("R²")
        self.ax_r2.set_xlabel("epoch")
        for ax in (self.ax_loss, self.ax_r2):
            if ax.lines:
                ax.legend(fontsize="x-small")
        self.draw_idle()


class TrainingDialog(QDialog):
    """Set up, run and watch a training run.

    Parameters
    ----------
    export_table : callable(folder) -> (count, message), optional
        Writes the table's labelled materials as ``voxels.npy``, ``names.json``,
        ``gridspec.json`` and ``labels.csv`` into a folder.

    Signals
    -------
    model_registered(str name)
        A trained model was copied into the user's models folder under this name.
    """

    model_registered = Signal(str)

    def __init__(self, export_table: TableExport | None = None, parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Train a model")
        self.resize(820, 720)
        self._export = export_table
        self.run_dir: Path | None = None
        self.final: dict | None = None
        self.records: list[dict] = []

        form = QFormLayout()
        self._add_data_rows(form, export_table is not None)
        self._add_recipe_rows(form)
        self._add_start_rows(form)
        self.name = QLineEdit(time.strftime("model-%Y%m%d-%H%M"))
        form.addRow("Register as", self.name)
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        self._add_run_area(lay)

        self.process = CliProcess(self)
        self.process.record.connect(self._on_record)
        self.process.text.connect(self.log.appendPlainText)
        self.process.finished.connect(self._on_finished)

    def _add_data_rows(self, form: QFormLayout, from_table: bool) -> None:
        """Where the labelled grids come from, and what the target is."""
        self.from_table = QRadioButton("Labelled materials in the table")
        self.from_folder = QRadioButton("A grid folder (retvis grid) and a labels CSV")
        group = QButtonGroup(self)
        group.addButton(self.from_table)
        group.addButton(self.from_folder)
        (self.from_table if from_table else self.from_folder).setChecked(True)
        self.from_table.setEnabled(from_table)
        self.voxels = QLineEdit()
        self.labels = QLineEdit()
        self.voxels.setPlaceholderText("folder holding voxels.npy and names.json")
        self.labels.setPlaceholderText("CSV with a name column and a numeric column")
        vb = QPushButton("Browse…")
        vb.clicked.connect(lambda: self._browse_dir(self.voxels))
        lb = QPushButton("Browse…")
        lb.clicked.connect(lambda: self._browse_file(self.labels))
        self.target = QLineEdit()
        self.target.setPlaceholderText("label column (default: 'value' or the only numeric one)")
        self.target_name = QLineEdit("uptake")
        self.target_name.setToolTip("What the model predicts, shown in the table's header")
        self.units = QLineEdit("mol/kg")
        form.addRow(self.from_table)
        form.addRow(self.from_folder)
        form.addRow("Grid folder", _row(self.voxels, vb))
        form.addRow("Labels CSV", _row(self.labels, lb))
        form.addRow("Target column", self.target)
        form.addRow("Predicts", self.target_name)
        form.addRow("Units", self.units)

    def _add_recipe_rows(self, form: QFormLayout) -> None:
        """Epochs, ensemble, batch, per volume, calibration: ``retvis train``'s defaults."""
        from ...ml.config import MIN_BATCH_SIZE, TrainConfig

        d = TrainConfig()  # the defaults of retvis train
        self.epochs = QSpinBox(minimum=1, maximum=10_000, value=d.epochs)
        self.ensemble = QSpinBox(minimum=1, maximum=20, value=d.ensemble)
        self.batch = QSpinBox(minimum=MIN_BATCH_SIZE, maximum=4096, value=d.batch_size)
        self.per_volume = QCheckBox("Learn per volume (target x framework density)")
        self.per_volume.setToolTip(
            "For a per-mass target such as an uptake in mol/kg: the network learns target x "
            "density, which the energy grid shows directly, and each prediction is divided "
            "by its structure's density (what it gained: docs/models.md). Leave it off for "
            "a target that is already per volume."
        )
        self.calibrate = QCheckBox("Calibrate on the validation set")
        self.calibrate.setChecked(True)
        self.calibrate.setToolTip(
            "After training, fit y = a + b x prediction on the validation structures (at "
            "least 20) and apply it to every prediction: an ensemble trained with dropout "
            "predicts too close to the mean (what it gained: docs/models.md)."
        )
        form.addRow("Epochs", self.epochs)
        form.addRow("Ensemble members", self.ensemble)
        form.addRow("Batch size", self.batch)
        form.addRow(self.per_volume)
        form.addRow(self.calibrate)

    def _add_start_rows(self, form: QFormLayout) -> None:
        """Where the weights start: the backbone (default), random, an installed model."""
        from ...app.models import available_models
        from ...ml.weights import FROM_BACKBONE

        self.init_from = QComboBox()
        self.init_from.addItem("RetVis backbone (pretrained)", FROM_BACKBONE)
        self.init_from.addItem("Random weights (train from scratch)", None)
        for name in available_models():
            self.init_from.addItem(f"Fine-tune {name}", name)
        self.init_from.setToolTip(
            "Where the network's weights start. The RetVis backbone was pretrained on "
            "quantities RetVis computes for every CoRE MOF (Henry coefficients, heats, pore "
            "geometry), so few labels of a new gas or condition go further; where no "
            "backbone reads the chosen grids, training starts from random weights. An "
            "installed model starts from its weights and grid standardization."
        )
        self.freeze_conv = QCheckBox("Train the fully connected head only")
        self.freeze_conv.setToolTip("Keep the fine-tuned model's convolution layers as they are")
        self.freeze_conv.setEnabled(True)  # the backbone is the default start
        self.init_from.currentIndexChanged.connect(
            lambda _i: self.freeze_conv.setEnabled(self.init_from.currentData() is not None)
        )
        form.addRow("Start from", self.init_from)
        form.addRow(self.freeze_conv)

    def _add_run_area(self, lay: QVBoxLayout) -> None:
        """Start, Stop, progress, status line, the live curves and the run's log."""
        self.start_button = QPushButton("Start")
        self.stop_button = QPushButton("Stop")
        self.stop_button.setEnabled(False)
        self.stop_button.setToolTip("Stop after the current batch; the best epoch so far is kept")
        self.close_button = QPushButton("Close")
        self.start_button.clicked.connect(self.start)
        self.stop_button.clicked.connect(self.stop)
        self.close_button.clicked.connect(self.close)
        self.progress = QProgressBar()
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.curves = CurvesCanvas()
        self.log = QPlainTextEdit(readOnly=True)
        self.log.setMaximumBlockCount(2000)
        buttons = QHBoxLayout()
        buttons.addWidget(self.start_button)
        buttons.addWidget(self.stop_button)
        buttons.addWidget(self.progress, 1)
        buttons.addWidget(self.close_button)
        lay.addLayout(buttons)
        lay.addWidget(self.status)
        lay.addWidget(self.curves, 3)
        lay.addWidget(self.log, 1)

    # -- set up ----------------------------------------------------------------------
    def _browse_dir(self, edit: QLineEdit) -> None:
        d = QFileDialog.getExistingDirectory(self, "Grid folder")
        if d:
            edit.setText(d)
            self.from_folder.setChecked(True)

    def _browse_file(self, edit: QLineEdit) -> None:
        f, _ = QFileDialog.getOpenFileName(self, "Labels", "", "CSV (*.csv)")
        if f:
            edit.setText(f)
            self.from_folder.setChecked(True)

    def model_name(self) -> str:
        return re.sub(r"[^A-Za-z0-9._-]+", "-", self.name.text().strip()) or "model"

    def start(self) -> bool:
        """Prepare the inputs and launch ``retvis train``; False (with a reason shown) if not."""
        if self.process.running():
            return False
        stamp = time.strftime("%Y%m%d-%H%M%S")
        self.run_dir = data_dir() / "runs" / f"{self.model_name()}-{stamp}"
        if self.from_table.isChecked():
            data = self.run_dir.parent / f".{self.run_dir.name}-data"
            n, msg = self._export(data)
            self.log.appendPlainText(msg)
            if n < 3:
                self.status.setText(f"Not enough labelled materials with a grid: {msg}")
                return False
            voxels, labels = data, data / "labels.csv"
        else:
            voxels, labels = Path(self.voxels.text()), Path(self.labels.text())
            if not (voxels / "voxels.npy").is_file():
                self.status.setText(f"No voxels.npy in {voxels}: choose a `retvis grid` folder")
                return False
            if not labels.is_file():
                self.status.setText(f"Labels file not found: {labels}")
                return False
        args = self.train_args(voxels, labels)
        self.records.clear()
        self.final = None
        self.curves.history.clear()
        self.progress.setRange(0, self.epochs.value() * self.ensemble.value())
        self.progress.setValue(0)
        self.process.start(args, stop_file=self.run_dir / "STOP")
        self.status.setText(f"Training… run folder {self.run_dir}")
        self.start_button.setEnabled(False)
        self.stop_button.setEnabled(True)
        return True

    def train_args(self, voxels: Path, labels: Path) -> list[str]:
        """The ``retvis train`` arguments of the dialog's settings."""
        args = [
            "train",
            str(voxels),
            str(labels),
            "-o",
            str(self.run_dir),
            "--epochs",
            str(self.epochs.value()),
            "--ensemble",
            str(self.ensemble.value()),
            "--batch-size",
            str(self.batch.value()),
            "--units",
            self.units.text(),
        ]
        if self.target.text().strip():
            args += ["--target", self.target.text().strip()]
        if self.target_name.text().strip():
            args += ["--target-name", self.target_name.text().strip()]
        if self.per_volume.isChecked():
            args.append("--per-volume")
        if not self.calibrate.isChecked():
            args.append("--no-calibrate")
        source = self.init_from.currentData()
        if source is None:
            args.append("--from-scratch")
        else:
            args += ["--init-from", source]
            if self.freeze_conv.isChecked():
                args.append("--freeze-conv")
        return args

    def stop(self) -> None:
        self.status.setText("Stopping after the current batch…")
        self.process.stop()

    # -- progress --------------------------------------------------------------------
    def _on_record(self, rec: dict) -> None:
        self.records.append(rec)
        if rec.get("event") == "epoch":
            self.curves.add(rec)
            done = int(rec.get("member", 0)) * self.epochs.value() + int(rec.get("epoch", 0))
            self.progress.setValue(min(done, self.progress.maximum()))
            r2 = rec.get("r2_val")
            self.status.setText(
                f"member {rec.get('member', 0)}, epoch {rec.get('epoch')}/{rec.get('epochs')}: "
                f"train loss {rec.get('train_loss', float('nan')):.4g}"
                + (f", validation R² {r2:.3f}" if isinstance(r2, (int, float)) else "")
            )
        elif rec.get("event") == "done":
            self.final = rec

    def _on_finished(self, code: int, reason: str) -> None:
        self.start_button.setEnabled(True)
        self.stop_button.setEnabled(False)
        final = self.final or {}
        if reason:
            self.status.setText(f"Training failed: {reason}")
        elif final.get("model"):
            name = self.register(Path(final["model"]))
            test = (final.get("metrics") or {}).get("test") or {}
            r2 = test.get("r2")
            self.status.setText(
                f"{final.get('status', 'finished')}: model registered as '{name}'"
                + (f" (test R² {r2:.3f})" if isinstance(r2, (int, float)) else "")
                + (f"; {final['note']}" if final.get("note") else "")
            )
            self.model_registered.emit(name)
        else:
            why = final.get("reason") or f"exit status {code}; see the log below"
            self.status.setText(f"No model was written: {why}")

    def register(self, model_dir: Path) -> str:
        """Copy a model folder into the user's models folder; returns its name."""
        root = user_models_dir()
        name = self.model_name()
        dest = root / name
        k = 2
        while dest.exists():
            dest = root / f"{name}-{k}"
            k += 1
        shutil.copytree(model_dir, dest)
        return dest.name

    def closeEvent(self, event) -> None:  # noqa: N802
        if self.process.running():
            self.process.stop()
            self.process.proc.waitForFinished(STOP_WAIT_MS)
            self.process.kill()
        super().closeEvent(event)


#: How long closing the dialog waits for a stopping child, ms.
STOP_WAIT_MS = 20_000


def _row(*widgets: QWidget) -> QWidget:
    w = QWidget()
    lay = QHBoxLayout(w)
    lay.setContentsMargins(0, 0, 0, 0)
    for x in widgets:
        lay.addWidget(x, 1 if isinstance(x, QLineEdit) else 0)
    return w

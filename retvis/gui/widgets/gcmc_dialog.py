"""Simulate uptake labels with GCMC: runs ``retvis label`` (RASPA3) as a child process.

The command appends one row per finished structure to a labels CSV; the dialog polls
that file and hands each new uptake to the main window, so labels appear in the table
while the rest still run. Stop sends SIGINT: finished rows are kept, and running the same
protocol again resumes.
"""

from __future__ import annotations

import csv
import time
from pathlib import Path

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
)

from ...core.guests import GUESTS
from ...paths import data_dir
from ..training_runner import CliProcess


class GcmcDialog(QDialog):
    """Run GCMC on a list of CIF files.

    Signals
    -------
    labelled(str name, float uptake_mol_kg, str protocol)
        A structure finished with an uptake.
    failed(str name, str reason)
        A structure's simulation failed.
    """

    labelled = Signal(str, float, str)
    failed = Signal(str, str)

    def __init__(self, files: list[Path], parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Simulate uptake (GCMC) — {len(files)} structure(s)")
        self.resize(640, 520)
        self.files = list(files)
        self.guest = QComboBox()
        self.guest.addItems(list(GUESTS))
        self.pressure = QDoubleSpinBox(
            minimum=1e-4, maximum=1000.0, value=5.8, decimals=4, suffix=" bar"
        )
        self.temperature = QDoubleSpinBox(minimum=1.0, maximum=1000.0, value=298.0, suffix=" K")
        self.init_cycles = QSpinBox(minimum=0, maximum=10**6, value=1000)
        self.cycles = QSpinBox(minimum=1, maximum=10**7, value=2000)
        self.jobs = QSpinBox(minimum=1, maximum=256, value=1)
        self.charges = QCheckBox("Framework charges (EQeq) and Ewald: needed for CO2")
        self.guest.currentTextChanged.connect(self._on_guest)
        self.form = form = QFormLayout()
        form.addRow("Guest", self.guest)
        form.addRow("Pressure", self.pressure)
        form.addRow("Temperature", self.temperature)
        form.addRow("Initialization cycles", self.init_cycles)
        form.addRow("Production cycles", self.cycles)
        form.addRow("Simulations at a time", self.jobs)
        form.addRow(self.charges)
        self.start_button = QPushButton("Start")
        self.stop_button = QPushButton("Stop")
        self.stop_button.setEnabled(False)
        self.start_button.clicked.connect(self.start)
        self.stop_button.clicked.connect(self.stop)
        self.progress = QProgressBar()
        self.progress.setRange(0, len(self.files))
        self.status = QLabel("RASPA3 Monte Carlo, UFF framework (docs/method.md §6).")
        self.status.setWordWrap(True)
        self.log = QPlainTextEdit(readOnly=True)
        self.log.setMaximumBlockCount(2000)
        row = QHBoxLayout()
        row.addWidget(self.start_button)
        row.addWidget(self.stop_button)
        row.addWidget(self.progress, 1)
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addLayout(row)
        lay.addWidget(self.status)
        lay.addWidget(self.log, 1)

        self.out: Path | None = None
        self.identity = ""  # the protocol identity of the run, set by start()
        self._seen: set[str] = set()
        self.process = CliProcess(self)
        self.process.text.connect(self.log.appendPlainText)
        self.process.finished.connect(self._on_finished)
        self._poll = QTimer(self, interval=1000)
        self._poll.timeout.connect(self._read_rows)

    def _on_guest(self, name: str) -> None:
        """A guest brings its usual pressure and, when it is charged, framework charges."""
        guest = GUESTS[name]
        self.pressure.setValue(guest.pressure / 1e5)
        self.charges.setChecked(guest.charged)

    def protocol_args(self) -> list[str]:
        """The protocol options of ``retvis label`` for the form; sets :attr:`identity`.

        Raises
        ------
        RetvisError
            A value the protocol refuses.
        """
        guest, t, p = self.guest.currentText(), self.temperature.value(), self.pressure.value()
        from ...sim.gcmc import Protocol
        from ...sim.units import parse_pressure, parse_temperature

        # the identity the command gives these arguments (parsed the same way)
        self.protocol = protocol = Protocol(
            guest=guest,
            temperature=parse_temperature(f"{t:g}K"),
            pressure=parse_pressure(f"{p:g}bar"),
            init_cycles=self.init_cycles.value(),
            cycles=self.cycles.value(),
            charges=self.charges.isChecked(),
        )
        self.identity = protocol.identity()
        args = ["--guest", guest, "--pressure", f"{p:g}bar", "--temperature", f"{t:g}K",
                "--init-cycles", str(self.init_cycles.value()), "--cycles",
                str(self.cycles.value()), "--jobs", str(self.jobs.value())]  # fmt: skip
        return args + (["--charges"] if self.charges.isChecked() else [])

    def command(self, protocol_args: list[str]) -> list[str]:
        """The CLI command to run; sets :attr:`out`, the labels table it appends to."""
        folder = data_dir() / "labels"
        folder.mkdir(parents=True, exist_ok=True)
        # one table per protocol: a rerun resumes it, and it trains as one set of labels
        self.out = folder / f"{self.identity}.csv"
        listing = folder / f".files-{time.strftime('%Y%m%d-%H%M%S')}.txt"
        listing.write_text("".join(f"{f}\n" for f in self.files), encoding="utf-8")
        return ["label", "--files-from", str(listing), "-o", str(self.out), "-q", *protocol_args]

    def start(self) -> bool:
        if self.process.running() or not self.files:
            return False
        from ...errors import RetvisError

        try:
            args = self.command(self.protocol_args())
        except RetvisError as exc:
            self.status.setText(f"Cannot start: {exc.reason}")
            return False
        self._seen.clear()
        self.progress.setValue(0)
        self.process.start(args)
        self._poll.start()
        self.start_button.setEnabled(False)
        self.stop_button.setEnabled(True)
        self.status.setText(f"Simulating… results go to {self.out}")
        return True

    def stop(self) -> None:
        self.status.setText("Stopping: finished structures are kept")
        self.process.interrupt()

    def _read_rows(self) -> None:
        if self.out is None or not self.out.is_file():
            return
        wanted = {f.stem for f in self.files}
        with open(self.out, newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
        for row in rows:
            name = row.get("name", "")
            if name not in wanted or name in self._seen or row.get("protocol") != self.identity:
                continue
            self._seen.add(name)
            if row.get("status") == "ok":
                try:
                    value = float(row["uptake_mol_kg"])
                except (KeyError, ValueError):
                    self.failed.emit(name, "no uptake_mol_kg in the labels table")
                    continue
                self.labelled.emit(name, value, f"GCMC {row.get('protocol', '')}".strip())
            else:
                self.failed.emit(name, row.get("reason") or row.get("status", "failed"))
        self.progress.setValue(len(self._seen))

    def _on_finished(self, code: int, reason: str) -> None:
        self._poll.stop()
        self._read_rows()
        self.start_button.setEnabled(True)
        self.stop_button.setEnabled(False)
        done = len(self._seen)
        self.status.setText(
            f"Finished {done} of {len(self.files)} structure(s)"
            + (f"; {reason}" if reason else f" (exit status {code})")
        )

    def closeEvent(self, event) -> None:  # noqa: N802
        if self.process.running():
            self.process.interrupt()
            self.process.proc.waitForFinished(10_000)
            self.process.kill()
        super().closeEvent(event)
